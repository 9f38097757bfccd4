/**
 * Azure Table storage as a store kind (the data map's `databases` with `engine: table`), presented
 * through the seam (../kind.ts).
 *
 * Export: one JSON-lines file per table (`<table>.jsonl`), each line one entity exactly as the
 * service returned it — `odata.etag`, the system properties and every `Property@odata.type`
 * annotation (entities.ts) — staged in the export's private folder and hashed while written, then
 * handed to the destination like the PostgreSQL kind's files. Table storage has no snapshot across
 * pages: each page is read as it is when its request is served.
 *
 * Erase: see erase.ts (fingerprint of keys, etags and the newest Timestamp; entity group
 * transactions of up to 100 per partition, each journaled; a table per customer deleted whole).
 * Residuals: none that custos can read — Table storage has no point-in-time restore or soft delete
 * for entities; the certificate says so, and that a geo-redundant account's secondary applies the
 * deletes asynchronously.
 */
import {createWriteStream} from 'node:fs'
import {mkdir} from 'node:fs/promises'
import {join} from 'node:path'
import {once} from 'node:events'

import type {AzureClients} from '../../azure/clients.js'
import type {DataMap} from '../../datamap/types.js'
import type {TableCertificateDatabase} from '../../erase/certificate-document.js'
import {CustosError, fromAzureError} from '../../errors.js'
import {Digests} from '../../evidence/digests.js'
import type {PlannedObject, StoreSummary, TableExportStore} from '../../export/plan.js'
import {exportPath} from '../../export/paths.js'
import type {TableStoreInventory} from '../../inventory/inventory.js'
import {PRIVATE_FILE_MODE} from '../../output/files.js'
import type {ErasePart, ExportPart, InventoryPart, KindExportOptions, StoreKind} from '../kind.js'
import {journaledErase} from '../journaled.js'
import {stagedExport} from '../staged.js'
import {parseAccount} from '../../azure/account.js'
import {EntityDigest, listEntityPages} from './entities.js'
import {applyTableErase, checkTablePlan, planTableErase, remainingEntities, type TableErasePlan} from './erase.js'
import {tableTargetOf, type TableDatabaseConfig} from './types.js'

const TABLE_BACKUPS_STATEMENT =
  'Azure Table storage keeps no point-in-time backups and no soft-deleted entities that custos could read or restore; on a geo-redundant account the secondary copy applies these deletes asynchronously (usually within minutes).'

/** The data map's `engine: table` entries. */
function tableDatabases(map: DataMap): TableDatabaseConfig[] {
  return map.databases.filter((d): d is TableDatabaseConfig => d.engine === 'table')
}

export class TableStoreKind implements StoreKind {
  readonly kind = 'table' as const
  readonly names: readonly string[]
  private readonly stores: TableDatabaseConfig[]

  constructor(
    private readonly clients: AzureClients,
    map: DataMap,
    private readonly customer: string,
  ) {
    this.stores = tableDatabases(map)
    this.names = this.stores.map((d) => d.name)
  }

  /** The customer's table names must be valid (a table per customer: ids of letters and digits). */
  async check(): Promise<void> {
    for (const store of this.stores) tableTargetOf(store, this.customer)
  }

  async inventory(options: {abortSignal?: AbortSignal}): Promise<InventoryPart> {
    const databases: TableStoreInventory[] = []
    for (const store of this.stores) {
      const target = tableTargetOf(store, this.customer)
      const digest = new EntityDigest()
      const listing = listEntityPages(this.client(store, target.table), target, {abortSignal: options.abortSignal})
      await this.azure(store, async () => {
        for await (const page of listing.pages) for (const entity of page) digest.add(entity)
      })
      const s = digest.result()
      databases.push({
        store: store.name,
        engine: 'table',
        database: parseAccount(store.account, 'table').name,
        scope: target.scope,
        exists: listing.exists(),
        tables: [{table: target.table, rows: s.entities, bytes: s.bytes}],
        rows: s.entities,
        bytes: s.bytes,
      })
    }

    return {databases}
  }

  export(): ExportPart {
    return stagedExport(
      this.stores,
      (d) => exportStoreOf(d, this.customer),
      (d, options) => this.listStore(d, options),
      this.customer,
    )
  }

  erase(): ErasePart {
    const customer = this.customer
    return journaledErase<TableDatabaseConfig, TableErasePlan>({
      kind: 'table',
      customer,
      stores: this.stores,
      noun: 'table store',
      unchanged: "the customer's entities are those of the plan (or fewer, deleted by an earlier run of it)",
      plan: (store, options) => {
        const target = tableTargetOf(store, customer)
        return this.azure(store, () => planTableErase(this.client(store, target.table), store, customer, options))
      },
      check: (config, plan, run) =>
        this.azure(config, () =>
          checkTablePlan(this.client(config, plan.table), config, plan, {abortSignal: run.abortSignal}),
        ),
      applyLabel: (plan) => `Erasing ${plan.store}`,
      apply: (config, plan, run, onBatch) =>
        this.azure(config, () =>
          applyTableErase(this.client(config, plan.table), this.clients.tableService(config.account), config, plan, {
            abortSignal: run.abortSignal,
            onBatch,
          }),
        ),
      remaining: async (config, plan, options) => {
        const left = await this.azure(config, () =>
          remainingEntities(this.client(config, plan.table), config, customer, options),
        )
        return {rows: left.entities, exists: left.exists}
      },
      // no residual: Table storage has no backups custos can read; the certificate says so (TABLE_BACKUPS_STATEMENT)
      certificate(config, plan, journal, v): TableCertificateDatabase {
        const deleted = journal.rows.get(plan.store)?.get(plan.table) ?? 0
        const finished = journal.databases.get(plan.store)
        return {
          store: plan.store,
          engine: 'table',
          ...whereEntities(config, plan),
          method: plan.method === 'delete-table' ? 'delete table' : 'entity group transactions',
          fingerprint: plan.fingerprint,
          tables: [{table: plan.table, planned: plan.rows, deleted}],
          planned: {rows: plan.rows},
          deleted: {rows: deleted},
          alreadyGone: finished?.alreadyGone ?? false,
          goneWithoutJournal: Math.max(0, plan.rows - deleted - v.live),
          backups: TABLE_BACKUPS_STATEMENT,
          verification: {
            result: v.result === 'residue' ? 'residue' : 'empty',
            remainingRows: v.live,
            tableExists: Boolean(v.exists),
          },
        }
      },
    })
  }

  private client(store: TableDatabaseConfig, table: string) {
    return this.clients.tableClient(store.account, table)
  }

  /** Azure's errors in custos's terms (sign-in, missing role, unreachable), naming the store. */
  private async azure<T>(store: TableDatabaseConfig, work: () => Promise<T>): Promise<T> {
    try {
      return await work()
    } catch (error) {
      if (error instanceof CustosError) throw error
      throw fromAzureError(error, `table store ${store.name}`)
    }
  }

  private async listStore(store: TableDatabaseConfig, options: KindExportOptions): Promise<StoreSummary> {
    const target = tableTargetOf(store, this.customer)
    const summary: StoreSummary = {
      store: store.name,
      scope: target.scope,
      exists: true,
      objects: 0,
      bytes: 0,
      versions: 0,
      snapshots: 0,
      rows: 0,
    }
    const name = `${target.table}.jsonl`
    const client = this.client(store, target.table)
    const listing = listEntityPages(client, target, {abortSignal: options.abortSignal})
    if (options.dryRun || !options.staging) {
      const digest = new EntityDigest()
      await this.azure(store, async () => {
        for await (const page of listing.pages) for (const entity of page) digest.add(entity)
      })
      const s = digest.result()
      summary.exists = listing.exists()
      summary.objects = 1
      summary.bytes = s.bytes
      summary.rows = s.entities
      return summary
    }

    const dir = join(options.staging, store.name)
    await mkdir(dir, {recursive: true, mode: 0o700})
    const out = createWriteStream(join(dir, name), {flags: 'wx', mode: PRIVATE_FILE_MODE})
    const digests = new Digests()
    let rows = 0
    try {
      await this.azure(store, async () => {
        for await (const page of listing.pages) {
          for (const entity of page) {
            const line = Buffer.from(`${JSON.stringify(entity)}\n`)
            digests.update(line)
            rows++
            if (!out.write(line)) await once(out, 'drain')
          }
        }
      })
    } finally {
      out.end()
      await once(out, 'close')
    }

    const digest = digests.result()
    const object: PlannedObject = {
      store: store.name,
      name,
      kind: 'table',
      path: exportPath(store.name, name, 'current'),
      size: digest.bytes,
      contentType: 'application/x-ndjson; charset=utf-8',
      lastModified: options.now.toISOString(),
      sha256: digest.sha256,
      table: target.table,
      rows,
      folderMarker: false,
    }
    summary.exists = listing.exists()
    summary.objects = 1
    summary.bytes = object.size
    summary.rows = rows
    await options.onObject?.(object)
    return summary
  }
}

/** The manifest's entry for a table store (never a key or SAS). */
function exportStoreOf(config: TableDatabaseConfig, customer: string): TableExportStore {
  const target = tableTargetOf(config, customer)
  return {
    name: config.name,
    engine: 'table',
    ...whereEntities(config, target),
    snapshot: 'entities read page by page, as the service returned them (Table storage has no snapshot across pages)',
  }
}

/**
 * Where a table store keeps the customer's entities, as the manifest and the certificate say it:
 * the table endpoint (never a key or SAS), the table and the key that selects them.
 */
function whereEntities(
  config: TableDatabaseConfig,
  scope: Pick<TableErasePlan, 'table' | 'isolation' | 'partitionKey' | 'rowKeyPrefix'>,
) {
  return {
    account: parseAccount(config.account, 'table').endpoint,
    table: scope.table,
    isolation: scope.isolation,
    ...(scope.partitionKey === undefined ? {} : {partitionKey: scope.partitionKey}),
    ...(scope.rowKeyPrefix === undefined ? {} : {rowKeyPrefix: scope.rowKeyPrefix}),
  }
}
