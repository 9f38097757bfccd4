/**
 * `customer export`: copies every store of a customer (not backups) to a folder, an archive or the
 * exports container, verifies every object, writes a sealed manifest, and records the verified
 * export in the audit trail (`customer erase` looks for it).
 *
 * The run: one listing, spooled to a private temporary file, that counts, sums bytes and raises
 * every refusal before anything is written (this is all a dry run does) → open the destination
 * (resume state) → the spooled objects streamed through parallel transfers committed in listing
 * order (journal, manifest, SHA256SUMS as they go) → seal the manifest → make it visible → audit.
 */
import {randomUUID} from 'node:crypto'

import type {AzureClients} from '../azure/clients.js'
import {AuditTrail, referenceTo, type AuditReference} from '../audit/trail.js'
import type {DataMap} from '../datamap/types.js'
import {AuditedOperation, failureCode} from '../audit/operation.js'
import {keyVaultSigner} from '../evidence/signing.js'
import {TOOL_VERSION} from '../version.js'
import {ArchiveDestination, archiveFormatOf} from './archive.js'
import type {ExportDestination, TransferContext} from './destination.js'
import {FolderDestination} from './local-folder.js'
import {ManifestWriter, SumsWriter, type DestinationKind, type ManifestDestination} from './manifest.js'
import {runOrdered} from '../pool.js'
import type {StoreSummary} from './plan.js'
import {ServerSideDestination} from './server-side.js'
import {ListingSpool} from './spool.js'
import type {ExportPart} from '../stores/kind.js'
import {storeKinds} from '../stores/kinds.js'
import {assertCustomerId} from '../scope.js'

export type ExportTarget =
  | {kind: 'folder'; path: string}
  /** `force`: replace `path` when it exists (--force); otherwise that is refused (exit 3) */
  | {kind: 'archive'; path: string; force?: boolean; /** the flag that named `path`, for errors */ flag?: string}
  | {kind: 'server-side'; linkExpiryInMs: number; allowHttpOnLoopback?: boolean}

/** What the export reports (plain data, the command's JSON result). */
export interface ExportSummary {
  customer: string
  dryRun: boolean
  destination: {kind: DestinationKind; location: string}
  stores: StoreSummary[]
  /** `rows`: the database stores' rows (only when the data map has databases) */
  totals: {objects: number; bytes: number; versions: number; snapshots: number; rows?: number}
  /** moved over the network (or copied by the service) in this run */
  transferred: {objects: number; bytes: number}
  /** already finished by an earlier attempt and kept */
  kept: {objects: number; bytes: number}
  resumed: boolean
  /** every object matched its size and, where the service has one, its Content-MD5 */
  verified: boolean
  startedAt: string
  manifest?: {location: string; sha256: string; signed: boolean}
  link?: {url: string; expiresOn: string}
  notes: string[]
  durationMs: number
}

export interface ExportProgress {
  setTotal(bytes: number): void
  increment(bytes: number, objects?: number): void
  note(text: string): void
}

export interface ExportCustomerOptions {
  target: ExportTarget
  includeVersions?: boolean
  includeSnapshots?: boolean
  dryRun?: boolean
  concurrency?: number
  /** attempts per request (the client factory's retry policy); also retries of a broken download stream */
  retries?: number
  abortSignal?: AbortSignal
  progress?: ExportProgress
  now?: () => Date
}

const VERIFICATION = {
  local:
    'every object was downloaded once, its SHA-256 computed while it streamed, and its bytes checked against the size and, where the service has one, the Content-MD5',
  server:
    "every object was copied by the storage service (Content-MD5 checked in transit where the source has one); each copy's size and Content-MD5 were compared with the source; SHA-256 is not available because the bytes never reached custos",
}

function makeDestination(
  clients: AzureClients,
  map: DataMap,
  customer: string,
  target: ExportTarget,
): ExportDestination<unknown> {
  if (target.kind === 'folder') return new FolderDestination(target.path) as ExportDestination<unknown>
  if (target.kind === 'archive')
    return new ArchiveDestination(target.path, target.force, target.flag) as ExportDestination<unknown>
  return new ServerSideDestination(clients, map, customer, target) as ExportDestination<unknown>
}

/** Exports one customer. Throws CustosError (refusals, integrity, Azure) or an AbortError. */
export async function exportCustomer(
  clients: AzureClients,
  map: DataMap,
  customer: string,
  options: ExportCustomerOptions,
): Promise<ExportSummary> {
  assertCustomerId(customer, map.customers.idPattern)
  const kinds = storeKinds(clients, map, customer)
  // every kind's own check (a database's catalog) before anything is listed or written
  for (const kind of kinds) await kind.check({abortSignal: options.abortSignal})
  const parts = kinds.map((kind) => kind.export())
  const spool = options.dryRun ? undefined : await ListingSpool.create()
  try {
    return await exportWithSpool(clients, map, customer, options, parts, spool)
  } finally {
    for (const part of parts) await part.close().catch(() => {})
    await spool?.remove()
  }
}

async function exportWithSpool(
  clients: AzureClients,
  map: DataMap,
  customer: string,
  options: ExportCustomerOptions,
  parts: ExportPart[],
  spool: ListingSpool | undefined,
): Promise<ExportSummary> {
  const now = options.now ?? (() => new Date())
  const began = Date.now()
  const includeVersions = options.includeVersions ?? false
  const includeSnapshots = options.includeSnapshots ?? false
  const concurrency = options.concurrency ?? 16
  const progress = options.progress
  const partOf = new Map<string, ExportPart>()
  for (const part of parts) for (const store of part.stores()) partOf.set(store.name, part)
  const local = options.target.kind !== 'server-side'
  const destinationKind: DestinationKind =
    options.target.kind === 'archive' ? archiveFormatOf(options.target.path, options.target.flag) : options.target.kind
  // constructing a destination writes nothing; it refuses a missing exports section before the listing
  const destination = makeDestination(clients, map, customer, options.target)

  const stores: StoreSummary[] = []
  for (const part of parts) {
    stores.push(
      ...(await part.list({
        includeVersions,
        includeSnapshots,
        localPaths: local,
        folder: options.target.kind === 'folder',
        dryRun: Boolean(options.dryRun),
        abortSignal: options.abortSignal,
        onObject: spool ? (object) => spool.add(object) : undefined,
        now: now(),
        ...(spool ? {staging: spool.dir} : {}),
      })),
    )
  }

  await spool?.close()
  const totals: ExportSummary['totals'] = stores.reduce(
    (t, s) => ({
      objects: t.objects + s.objects,
      bytes: t.bytes + s.bytes,
      versions: t.versions + s.versions,
      snapshots: t.snapshots + s.snapshots,
    }),
    {objects: 0, bytes: 0, versions: 0, snapshots: 0},
  )
  const rowStores = stores.filter((s) => s.rows !== undefined)
  if (rowStores.length > 0) totals.rows = rowStores.reduce((n, s) => n + s.rows!, 0)
  const summary: ExportSummary = {
    customer,
    dryRun: Boolean(options.dryRun),
    destination: {
      kind: destinationKind,
      location:
        options.target.kind === 'server-side'
          ? `${map.exports?.container ?? '(exports not configured)'}/${customer}/…`
          : options.target.path,
    },
    stores,
    totals,
    transferred: {objects: 0, bytes: 0},
    kept: {objects: 0, bytes: 0},
    resumed: false,
    verified: false,
    startedAt: now().toISOString(),
    notes: [],
    durationMs: 0,
  }
  if (options.dryRun) {
    summary.durationMs = Date.now() - began
    return summary
  }

  const audit = new AuditTrail(clients)
  const operationId = randomUUID()
  const opened = await destination.open({customer, includeVersions, includeSnapshots}, now())
  summary.destination.location = destination.location
  summary.resumed = opened.resumed
  summary.startedAt = opened.startedAt
  summary.notes.push(...opened.notes)
  for (const note of opened.notes) progress?.note(note)
  const auditBase = {
    destination: destinationKind,
    location: destination.location,
    objects: totals.objects,
    bytes: totals.bytes,
    includeVersions,
    includeSnapshots,
    ...(totals.rows === undefined ? {} : {rows: totals.rows}),
  }
  let auditReference: AuditReference
  let operation: AuditedOperation
  try {
    operation = await AuditedOperation.start(audit, {
      action: 'export',
      customer,
      operationId,
      details: {...auditBase, resumed: opened.resumed},
    })
    // The manifest names the record of the attempt that started this export, so that a resumed
    // run writes the same manifest as the first one would have.
    const first = opened.resumed ? await firstAttemptOf(audit, customer, destination.location) : undefined
    auditReference = referenceTo(first ?? operation.started)
  } catch (error) {
    await destination.abort(error)
    throw error
  }

  progress?.setTotal(totals.bytes)
  const context: TransferContext = {
    customer,
    reader: (store) => partOf.get(store)!.reader(store),
    maxRetryRequests: Math.max((options.retries ?? clients.retry.maxTries) - 1, 0),
    concurrency,
    onBytes: (n) => progress?.increment(n),
  }
  const manifest = new ManifestWriter(destination.manifestSink())
  const sumsSink = destination.sumsSink()
  const sums = sumsSink ? new SumsWriter(sumsSink) : undefined
  const manifestDestination: ManifestDestination =
    destination instanceof ServerSideDestination ? destination.manifestDestination : {kind: destinationKind}
  try {
    await manifest.begin({audit: auditReference, customer, destination: manifestDestination})
    const listing = spool!.read()
    await runOrdered(
      destination.annotate(listing),
      {concurrency, window: destination.window(concurrency), abortSignal: options.abortSignal},
      async (item, signal) => {
        const result = await destination.work(item, context, signal)
        return {result, kept: Boolean(item.reuse) || (result as {kept?: boolean}).kept === true}
      },
      async (item, {result, kept}, signal) => {
        const entry = await destination.commit(item, result, context, signal)
        await manifest.add(entry)
        await sums?.add(entry)
        if (item.reuse) progress?.increment(entry.size, 1)
        else progress?.increment(0, 1)
        const bucket = kept ? summary.kept : summary.transferred
        bucket.objects++
        bucket.bytes += entry.size
      },
    )
    await sums?.finish()
    const sealed = await manifest.finish(
      {
        options: {includeVersions, includeSnapshots},
        startedAt: opened.startedAt,
        stores: parts.flatMap((part) => part.stores()),
        tool: `custos ${TOOL_VERSION}`,
        verification: local ? VERIFICATION.local : VERIFICATION.server,
      },
      keyVaultSigner(clients),
    )
    const finished = await destination.finish({manifestSha256: sealed.sha256})
    summary.verified = true
    summary.manifest = {location: finished.manifestLocation, sha256: sealed.sha256, signed: sealed.signed}
    if (finished.link) summary.link = finished.link
    summary.totals = {
      objects: manifest.totals.objects,
      bytes: manifest.totals.bytes,
      versions: manifest.totals.versions,
      snapshots: manifest.totals.snapshots,
      ...(totals.rows === undefined ? {} : {rows: totals.rows}),
    }
  } catch (error) {
    await destination.abort(error)
    await operation.failed(error, {
      ...auditBase,
      verified: false,
      error: failureCode(error),
      transferredObjects: summary.transferred.objects,
    })
    throw error
  }

  summary.durationMs = Date.now() - began
  await operation.succeeded({
    ...auditBase,
    objects: summary.totals.objects,
    bytes: summary.totals.bytes,
    versions: summary.totals.versions,
    snapshots: summary.totals.snapshots,
    ...(summary.totals.rows === undefined ? {} : {rows: summary.totals.rows}),
    verified: true,
    manifestSha256: summary.manifest!.sha256,
    manifestLocation: summary.manifest!.location,
    signed: summary.manifest!.signed,
    resumed: summary.resumed,
    transferredObjects: summary.transferred.objects,
    keptObjects: summary.kept.objects,
    ...(summary.link ? {linkExpiresOn: summary.link.expiresOn} : {}),
  })
  return summary
}

/** The trusted `started` record of the first attempt of a resumed export into `location`. */
async function firstAttemptOf(audit: AuditTrail, customer: string, location: string) {
  return audit.findLatest(
    (r) =>
      r.action === 'export' &&
      r.result === 'started' &&
      r.customer === customer &&
      (r.details as {location?: unknown; resumed?: unknown} | undefined)?.location === location &&
      (r.details as {resumed?: unknown}).resumed === false,
  )
}
