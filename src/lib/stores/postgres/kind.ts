/**
 * PostgreSQL databases as a store kind (the data map's `databases` with `engine: postgresql`),
 * presented through the seam (../kind.ts).
 *
 * Export: each database's tables are read in one repeatable-read snapshot (export.ts) into files
 * staged in the export's private temporary folder, hashed while they are written; the staged
 * files are then handed to the destination (folder, archive, exports container) like any other
 * object and checked against their size and SHA-256 as they are read. Staging keeps the snapshot
 * short (the transaction ends when the last table is on disk, not when the last byte reached an
 * upload) and gives every destination the size it needs up front (a tar header does).
 */
import {createWriteStream} from 'node:fs'
import {mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import type {AzureClients} from '../../azure/clients.js'
import {readFlexibleServer} from '../../azure/postgres-server.js'
import type {DataMap} from '../../datamap/types.js'
import {postgresDatabases} from '../../datamap/databases.js'
import type {CertificateDatabase} from '../../erase/certificate-document.js'
import {Digests} from '../../evidence/digests.js'
import type {DatabaseExportStore, PlannedObject, StoreSummary} from '../../export/plan.js'
import {exportPath} from '../../export/paths.js'
import {PRIVATE_FILE_MODE} from '../../output/files.js'
import type {ErasePart, ExportPart, InventoryPart, KindExportOptions, Residual, StoreKind} from '../kind.js'
import {
  applyErase as applyDatabaseErase,
  checkPlan,
  planErase,
  remainingAfterErase,
  type PostgresErasePlan,
} from './erase.js'
import {journaledErase} from '../journaled.js'
import {stagedExport} from '../staged.js'
import {backupResidual} from './residuals.js'
import type {ConnectOptions} from './connection.js'
import {exportCustomer} from './export.js'
import {inventoryCustomer} from './inventory.js'
import {openTarget, targetOf} from './target.js'
import type {PostgresDatabaseConfig} from './types.js'

const SCHEMA_FILE = 'schema.json'

export class PostgresStoreKind implements StoreKind {
  readonly kind = 'postgresql' as const
  readonly names: readonly string[]
  private readonly databases: PostgresDatabaseConfig[]
  private readonly connect: ConnectOptions

  constructor(
    private readonly clients: AzureClients,
    map: DataMap,
    private readonly customer: string,
  ) {
    this.databases = postgresDatabases(map)
    this.names = this.databases.map((d) => d.name)
    this.connect = clients.postgresConnectOptions()
  }

  /** Opens every database once: the catalog check refuses an unsafe map (exit 3) before anything runs. */
  async check(options: {abortSignal?: AbortSignal}): Promise<void> {
    for (const database of this.databases) {
      options.abortSignal?.throwIfAborted()
      const opened = await openTarget(database, this.customer, this.connect)
      await opened.close()
    }
  }

  async inventory(): Promise<InventoryPart> {
    const databases = []
    for (const database of this.databases)
      databases.push(await inventoryCustomer(database, this.customer, this.connect))
    return {databases}
  }

  export(): ExportPart {
    return stagedExport(
      this.databases,
      (d) => exportStoreOf(d, this.customer),
      (d, options) => this.listDatabase(d, options),
      this.customer,
    )
  }

  erase(): ErasePart {
    const connect = this.connect
    return journaledErase<PostgresDatabaseConfig, PostgresErasePlan>({
      kind: 'postgresql',
      customer: this.customer,
      stores: this.databases,
      noun: 'database',
      unchanged: "the customer's rows are those of the plan (or fewer, deleted by an earlier run of it)",
      plan: (database) => planErase(database, this.customer, connect),
      check: (config, plan) => checkPlan(config, plan, connect),
      applyLabel: (plan) => `Erasing the rows of ${plan.store}`,
      async apply(config, plan, run, onBatch) {
        const result = await applyDatabaseErase(config, plan, {
          ...connect,
          vacuum: run.vacuum,
          abortSignal: run.abortSignal,
          onBatch,
        })
        return {...result, vacuum: {requested: run.vacuum, ...result.vacuum}}
      },
      remaining: (config, plan) => remainingAfterErase(config, plan, connect),
      residual: (config, erasedAt) => this.residualOf(config, erasedAt),
      certificate(config, plan, journal, v): CertificateDatabase {
        const deletedRows = journal.rows.get(plan.store) ?? new Map<string, number>()
        const finished = journal.databases.get(plan.store)
        const tables = plan.tables.map((t) => ({
          table: t.table,
          planned: t.rows,
          deleted: deletedRows.get(t.table) ?? 0,
        }))
        return {
          store: plan.store,
          engine: 'postgresql',
          host: config.host,
          database: plan.database,
          ...(plan.schema === undefined ? {} : {schema: plan.schema}),
          isolation: plan.isolation,
          method: METHOD[plan.method],
          fingerprint: plan.fingerprint,
          tables,
          planned: {rows: plan.rows},
          deleted: {rows: tables.reduce((n, t) => n + t.deleted, 0)},
          alreadyGone: finished?.alreadyGone ?? false,
          vacuum: {
            requested: finished?.vacuum.requested ?? false,
            ran: finished?.vacuum.ran ?? false,
            skipped: finished?.vacuum.skipped ?? [],
          },
          verification: {
            result: v.result === 'residue' ? 'residue' : 'empty',
            remainingRows: v.live,
            ...(plan.method === 'delete' ? {} : {schemaOrDatabaseExists: Boolean(v.exists)}),
          },
        }
      },
    })
  }

  /**
   * The date until which the server's point-in-time-restore backups can bring the rows back
   * (residuals.ts). Read over Resource Manager; when it cannot be read the certificate says so and
   * names the longest retention Azure allows instead of a date — never that the backups are gone.
   */
  private async residualOf(config: PostgresDatabaseConfig, erasedAt: Date): Promise<Residual> {
    const unknown = (why: string): Residual => ({
      store: config.name,
      kind: 'point-in-time-restore',
      holder: config.resourceId ?? config.host,
      statement: `The erased rows remain in the point-in-time-restore backups of server ${config.host} for its backup retention (7 to 35 days on Azure); the exact date is unknown: ${why}.`,
    })
    if (!config.resourceId) return unknown('the data map gives no resourceId for this database')
    try {
      const residual = backupResidual(await readFlexibleServer(this.clients, config.resourceId), erasedAt)
      return {
        store: config.name,
        kind: 'point-in-time-restore',
        holder: config.resourceId,
        until: residual.restorableUntil,
        retentionDays: residual.retentionDays,
        geoRedundant: residual.geoRedundant,
        statement: residual.statement,
      }
    } catch (error) {
      return unknown(`the server could not be read (${(error as Error).message})`)
    }
  }

  private async listDatabase(config: PostgresDatabaseConfig, options: KindExportOptions): Promise<StoreSummary> {
    const target = targetOf(config, this.customer)
    const summary: StoreSummary = {
      store: config.name,
      scope: `${config.host}/${target.database}${target.schema === undefined ? '' : `/${target.schema}`}`,
      exists: true,
      objects: 0,
      bytes: 0,
      versions: 0,
      snapshots: 0,
      rows: 0,
    }
    if (options.dryRun || !options.staging) {
      // a dry run reads no row data: the tables' counts and approximate sizes, and schema.json
      const inventory = await inventoryCustomer(config, this.customer, this.connect)
      summary.objects = inventory.tables.length + 1
      summary.bytes = inventory.bytes
      summary.rows = inventory.rows
      return summary
    }

    const dir = join(options.staging, config.name)
    await mkdir(dir, {recursive: true, mode: 0o700})
    const time = options.now.toISOString()
    const result = await exportCustomer(
      config,
      this.customer,
      (file) => createWriteStream(join(dir, file), {flags: 'wx', mode: PRIVATE_FILE_MODE}),
      {...this.connect, abortSignal: options.abortSignal},
    )
    const schemaText = `${JSON.stringify(result.schema, null, 2)}\n`
    await writeFile(join(dir, SCHEMA_FILE), schemaText, {flag: 'wx', mode: PRIVATE_FILE_MODE})
    const schemaDigest = new Digests()
    schemaDigest.update(Buffer.from(schemaText))
    const schema = schemaDigest.result()
    const objects: PlannedObject[] = [
      {
        store: config.name,
        name: SCHEMA_FILE,
        kind: 'schema',
        path: exportPath(config.name, SCHEMA_FILE, 'current'),
        size: schema.bytes,
        contentType: 'application/json',
        lastModified: time,
        sha256: schema.sha256,
        folderMarker: false,
      },
      ...result.tables.map((t): PlannedObject => ({
        store: config.name,
        name: t.name,
        kind: 'table',
        path: exportPath(config.name, t.name, 'current'),
        size: t.bytes,
        contentType: 'text/csv; charset=utf-8',
        lastModified: time,
        sha256: t.sha256,
        table: t.table,
        rows: t.rows,
        folderMarker: false,
      })),
    ]
    for (const object of objects) {
      summary.objects++
      summary.bytes += object.size
      await options.onObject?.(object)
    }

    summary.rows = result.rows
    return summary
  }
}

const METHOD = {
  delete: 'SQL DELETE',
  'drop-schema': 'DROP SCHEMA',
  'drop-database': 'DROP DATABASE',
} as const satisfies Record<PostgresErasePlan['method'], CertificateDatabase['method']>

/** The manifest's entry for a database store (never a password or a token). */
function exportStoreOf(config: PostgresDatabaseConfig, customer: string): DatabaseExportStore {
  const target = targetOf(config, customer)
  return {
    name: config.name,
    engine: 'postgresql',
    host: config.host,
    database: target.database,
    ...(target.schema === undefined ? {} : {schema: target.schema}),
    isolation: config.isolation,
    ...(config.isolation === 'shared' ? {tenantColumn: config.tenantColumn!} : {}),
    snapshot: 'one REPEATABLE READ READ ONLY transaction for all tables',
  }
}
