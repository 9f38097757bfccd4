/**
 * What an export covers: every store of the customer in the data map (not backups), in store-name
 * order, each listed page by page in the service's order (List Blobs returns names in
 * lexicographic order, snapshots and versions of a name next to it). That order is the manifest's
 * order, so nothing is ever sorted in memory and a resumed run sees the same sequence.
 */
import type {ContainerClient} from '@azure/storage-blob'

import type {BlobReader} from '../azure/blob-reader.js'
import type {AzureClients} from '../azure/clients.js'
import type {DataMap, StoreConfig} from '../datamap/types.js'
import {ROOT_FILES} from '../evidence/layout.js'
import {fromAzureError, refusedError} from '../errors.js'
import {listScope, type ScopedBlob} from '../inventory/listing.js'
import {describeScope, scopeOf, scopesOf, type Scope} from '../scope.js'
import type {TableTarget} from '../stores/table/types.js'
import {assertSafeName, exportPath, FolderConflictDetector, type ExportObjectKind} from './paths.js'

export interface ExportContentOptions {
  includeVersions: boolean
  includeSnapshots: boolean
}

/** One store of the export, as it appears in the manifest (never a connection string). */
export type ExportStore = BlobExportStore | DatabaseExportStore | TableExportStore

/** A Table storage store in the manifest: the table and how the customer's entities were chosen. */
export interface TableExportStore extends Pick<TableTarget, 'table' | 'isolation' | 'partitionKey' | 'rowKeyPrefix'> {
  name: string
  engine: 'table'
  /** the table endpoint (never a key or SAS) */
  account: string
  /** how the entities were read */
  snapshot: string
}

export interface BlobExportStore {
  name: string
  account: string
  container: string
  prefix: string
  layout: 'container-per-customer' | 'prefix-per-customer'
}

/** A database store in the manifest: where the rows were read, and how the customer's were chosen. */
export interface DatabaseExportStore {
  name: string
  engine: 'postgresql'
  host: string
  database: string
  /** isolation schema: the customer's schema */
  schema?: string
  isolation: 'shared' | 'schema' | 'database'
  /** isolation shared: the column the customer's rows were selected by (exact match) */
  tenantColumn?: string
  /** how the tables were read together */
  snapshot: string
}

/** One object to export, as listed. */
export interface PlannedObject {
  store: string
  name: string
  kind: ExportObjectKind
  versionId?: string
  snapshot?: string
  /** relative path in the export (see paths.ts) */
  path: string
  size: number
  contentType?: string
  lastModified: string
  /** base64, as the service stores it */
  contentMD5?: string
  etag?: string
  /** a zero-length blob whose name ends in "/" */
  folderMarker: boolean
  /** hex SHA-256 known before the transfer (staged files); the read is checked against it */
  sha256?: string
  /** a database table's file: `schema.table` and its data rows */
  table?: string
  rows?: number
}

export interface StoreSource {
  store: BlobExportStore
  scope: Scope
  config: StoreConfig
  container: ContainerClient
  /** reads small objects (see azure/blob-reader.ts) */
  reader: BlobReader
}

export interface StoreSummary {
  store: string
  scope: string
  exists: boolean
  objects: number
  bytes: number
  versions: number
  snapshots: number
  /** database stores: the customer's rows (a dry run's bytes are the rows' approximate size) */
  rows?: number
}

/** The stores of a customer's export, sorted by store name. Checks the customer id first. */
export function exportSources(clients: AzureClients, map: DataMap, customer: string): StoreSource[] {
  scopesOf(map, customer, {backups: false}) // checks the id against idPattern before anything else
  const stores = [...map.stores].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  for (const s of stores) {
    if ((ROOT_FILES as readonly string[]).includes(s.name) || s.name.startsWith('.')) {
      throw refusedError(
        'StoreNameReserved',
        `Store ${s.name} cannot be exported: its name is used for a file at the root of every export.`,
        'Rename the store in the data map.',
      )
    }
  }

  return stores.map((config) => {
    const scope = scopeOf(config, customer)
    return {
      config,
      scope,
      container: clients.container(scope, config.account),
      reader: clients.blobReader(config.account),
      store: {
        name: config.name,
        account: scope.accountName,
        container: scope.container,
        prefix: scope.prefix,
        layout: scope.ownsContainer ? 'container-per-customer' : 'prefix-per-customer',
      },
    }
  })
}

function toPlanned(blob: ScopedBlob): PlannedObject | undefined {
  if (blob.kind === 'deleted') return undefined
  const id = blob.kind === 'version' ? blob.versionId : blob.kind === 'snapshot' ? blob.snapshot : undefined
  return {
    store: blob.store,
    name: blob.name,
    kind: blob.kind,
    ...(blob.versionId ? {versionId: blob.versionId} : {}),
    ...(blob.snapshot ? {snapshot: blob.snapshot} : {}),
    path: exportPath(blob.store, blob.name, blob.kind, id),
    size: blob.size,
    ...(blob.contentType ? {contentType: blob.contentType} : {}),
    lastModified: blob.lastModified,
    ...(blob.contentMD5 ? {contentMD5: blob.contentMD5} : {}),
    ...(blob.etag ? {etag: blob.etag} : {}),
    folderMarker: blob.name.endsWith('/') && blob.size === 0,
  }
}

export interface ListExportOptions extends ExportContentOptions {
  abortSignal?: AbortSignal
  /** called once per store before its first object; `exists` is false for a missing container */
  onStore?: (source: StoreSource, exists: boolean) => void
}

/**
 * Streams every object of the export in manifest order. A missing container (a customer without
 * data in a container-per-customer store) is an empty store, as in `customer inventory`.
 */
async function* listExport(sources: StoreSource[], options: ListExportOptions): AsyncGenerator<PlannedObject> {
  for (const source of sources) {
    let exists: boolean
    try {
      exists = await source.container.exists({abortSignal: options.abortSignal})
    } catch (error) {
      throw fromAzureError(error, `container ${source.scope.container} in account ${source.scope.accountName}`)
    }

    options.onStore?.(source, exists)
    if (!exists) continue
    const listing = listScope(source.container, source.scope, {
      versions: options.includeVersions,
      snapshots: options.includeSnapshots,
      abortSignal: options.abortSignal,
    })
    try {
      for await (const blob of listing) {
        const planned = toPlanned(blob)
        if (!planned) continue
        // Without --include-versions the service lists only current blobs; with it, older versions come too.
        if (planned.kind === 'version' && !options.includeVersions) continue
        if (planned.kind === 'snapshot' && !options.includeSnapshots) continue
        yield planned
      }
    } catch (error) {
      throw fromAzureError(error, `store ${source.store.name} (${describeScope(source.scope)})`)
    }
  }
}

export interface PreflightOptions extends ExportContentOptions {
  /** refuse names that are not safe as local paths (every destination except server-side) */
  localPaths: boolean
  /** also refuse what a folder on this machine cannot hold (long segments, `a` beside `a/b`) */
  folder: boolean
  abortSignal?: AbortSignal
  /** receives every listed object in order (the spool the transfer reads instead of listing again) */
  onObject?: (object: PlannedObject) => void | Promise<void>
}

/**
 * The one listing of an export: counts and bytes per store (the dry run's answer and the progress
 * bar's total), and every refusal raised before anything is written. The objects it passes to
 * `onObject` are spooled and transferred as listed, so the names checked are the names written.
 */
export async function preflightExport(
  customer: string,
  sources: StoreSource[],
  options: PreflightOptions,
): Promise<StoreSummary[]> {
  const summaries: StoreSummary[] = []
  let current: StoreSummary | undefined
  const conflicts = new FolderConflictDetector()
  for await (const object of listExport(sources, {
    ...options,
    onStore(source, exists) {
      current = {
        store: source.store.name,
        scope: describeScope(source.scope),
        exists,
        objects: 0,
        bytes: 0,
        versions: 0,
        snapshots: 0,
      }
      summaries.push(current)
      conflicts.reset()
    },
  })) {
    if (options.localPaths) assertSafeName(customer, object.store, object.name, object.size, {folder: options.folder})
    if (options.folder && object.kind === 'current') {
      const other = conflicts.check(object.name)
      if (other !== undefined) {
        throw refusedError(
          'PathConflict',
          `Refused to export customer ${customer} to a folder: in store ${object.store}, blob ${JSON.stringify(other)} is a file and blob ${JSON.stringify(object.name)} needs it to be a folder.`,
          'Nothing was written. Export to --archive (which can hold both) or --server-side.',
        )
      }
    }

    current!.objects++
    current!.bytes += object.size
    if (object.kind === 'version') current!.versions++
    if (object.kind === 'snapshot') current!.snapshots++
    await options.onObject?.(object)
  }

  return summaries
}
