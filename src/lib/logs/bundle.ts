/**
 * `logs bundle`: every log record that concerns one customer in a time range, from the archived
 * diagnostic logs (and the activity log and the Log Analytics workspace where configured), with
 * secrets and other customers' identifiers redacted, packed as a `.tar.gz`:
 *
 *   manifest.json                 sealed (custos.logs-manifest), signed with the Key Vault key if configured
 *   SHA256SUMS                    `sha256sum -c` format, for every file including manifest.json
 *   archive/<Category>.jsonl      one JSON record per line, per source and category
 *   activity-log/<Category>.jsonl
 *   workspace/<Table>.jsonl
 *
 * Memory stays flat: sources stream, kept records go to temp files on disk (spool.ts), the tar is
 * written entry by entry. With `share`, the archive is uploaded to the exports container and a
 * read-only HTTPS link that expires is returned. The audit trail gets a record before and after.
 */
import {existsSync, statSync} from 'node:fs'
import {basename, dirname, resolve} from 'node:path'

import {AuditedOperation} from '../audit/operation.js'
import {AuditTrail, referenceTo} from '../audit/trail.js'
import {parseAccount} from '../azure/account.js'
import type {AzureClients} from '../azure/clients.js'
import {operatorIdentity} from '../azure/identity.js'
import type {DataMap} from '../datamap/types.js'
import {configError, usageError} from '../errors.js'
import type {AuditReference} from '../evidence/envelope.js'
import {writeSealedPackage} from '../evidence/package-writer.js'
import {keyVaultSigner, type Signer} from '../evidence/signing.js'
import {refuseOverwrite} from '../output/files.js'
import {createScratchDir} from '../output/scratch.js'
import {describeScope} from '../scope.js'
import {TOOL_VERSION} from '../version.js'
import {listActivityRecords} from './activity.js'
import {readArchivedRecords, type ArchiveStats} from './archive.js'
import type {LogRecord} from './fields.js'
import type {MalformedLine} from './records.js'
import {BundleRedactor, redactionSummary, type RedactionSummary} from './redact.js'
import {customerSelector, type CustomerSelector} from './select.js'
import {requireExports, resolveLinkExpiry, shareFile, type ShareLink} from './share.js'
import {Spool, bundlePath, type BundleFile} from './spool.js'
import {queryWorkspaceRecords} from './workspace.js'

const MANIFEST_KIND = 'custos.logs-manifest'
const MAX_LEARNED_IDS = 100_000
const MAX_MALFORMED_SAMPLES = 20

export interface ArchiveSourceSummary {
  kind: 'archive'
  account: string
  container: string
  exists: boolean
  blobsRead: number
  bytesScanned: number
  lines: number
  parsed: number
  /** lines the byte prefilter proved cannot concern the customer */
  skipped: number
  /** records in the time range that were parsed */
  recordsInRange: number
  kept: number
  malformedLines: number
  outOfRange: number
  undated: number
}

export interface ActivitySourceSummary {
  kind: 'activity-log'
  subscription: string
  events: number
  kept: number
}

export interface WorkspaceSourceSummary {
  kind: 'workspace'
  workspace: string
  /** rows returned by the server-side prefilter */
  rows: number
  kept: number
}

export type SourceSummary = ArchiveSourceSummary | ActivitySourceSummary | WorkspaceSourceSummary

export interface LogsManifestBody {
  /** the bundle's own `logs.bundle started` record in the audit trail */
  audit?: AuditReference
  customer: string
  createdAt: string
  tool: string
  operator: string
  timeRange: {since: string; until: string; edgeHours: number}
  selection: {customerFields: string[]; scopes: string[]}
  sources: SourceSummary[]
  files: BundleFile[]
  records: number
  /** the redaction rules that ran over every kept record, in order, and the rule set's version */
  redaction: RedactionSummary
  /** redactions per rule id */
  redactions: Record<string, number>
  malformedLines: number
}

export interface LogsBundle {
  operationId: string
  customer: string
  since: string
  until: string
  /** absolute path of the .tar.gz */
  file: string
  bytes: number
  sha256: string
  records: number
  files: BundleFile[]
  sources: SourceSummary[]
  redaction: RedactionSummary
  redactions: Record<string, number>
  malformedLines: number
  /** the first malformed lines (source, line, reason) */
  malformedSamples: MalformedLine[]
  manifest: {sha256: string; signed: boolean; kid?: string}
  link?: ShareLink
}

export interface CreateLogsBundleOptions {
  customer: string
  since: Date
  /** exclusive */
  until: Date
  /** path of the .tar.gz; default ./logs-<customer>-<since>-<until>.tar.gz */
  output?: string
  /** replace `output` when it exists (--force); otherwise that is refused before anything is read */
  force?: boolean
  /** upload to the exports container and return a read-only link */
  share?: boolean
  /** lifetime of the link (at most 7 days); default exports.linkExpiry */
  linkExpiryInMs?: number
  abortSignal?: AbortSignal
  /** archive bytes downloaded (progress) */
  onBytes?: (bytes: number) => void
  /** a record was kept */
  onRecord?: (source: SourceSummary['kind']) => void
  /** a stage starts (progress notes) */
  onStage?: (text: string) => void
  /** default: the Key Vault signing key when keys.signingKey is configured; null: unsigned */
  signer?: Signer | null
  /** default: the audit trail of the data map */
  audit?: AuditTrail
  /** folder for temporary files; default the OS temp folder */
  tempDir?: string
  now?: () => Date
}

function compactTime(date: Date): string {
  return date
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replaceAll(/[-:]/g, '')
}

/** `logs-acme-20261101T000000Z-20261102T000000Z.tar.gz` */
export function defaultBundleName(customer: string, since: Date, until: Date): string {
  return `logs-${customer}-${compactTime(since)}-${compactTime(until)}.tar.gz`
}

/** Ids of other customers seen while scanning, for redaction. */
class IdLearner {
  readonly fromPaths = new Set<string>()
  private readonly inOther = new Set<string>()
  private readonly inKept = new Set<string>()

  constructor(private readonly selector: CustomerSelector) {}

  kept(record: LogRecord): void {
    for (const v of this.selector.fieldValues(record)) add(this.inKept, v)
    for (const id of this.selector.customersInPaths(record)) if (id !== this.selector.customer) add(this.fromPaths, id)
  }

  other(record: LogRecord): void {
    for (const v of this.selector.fieldValues(record)) if (v !== this.selector.customer) add(this.inOther, v)
  }

  /** Values of customer fields seen only in records that were not kept, plus ids read from paths. */
  ids(): Set<string> {
    const out = new Set(this.fromPaths)
    for (const v of this.inOther) if (!this.inKept.has(v)) out.add(v)
    return out
  }
}

function add(set: Set<string>, value: string): void {
  if (set.size < MAX_LEARNED_IDS) set.add(value)
}

/** Checks the request before any work: sources configured, range sane, --share possible. */
function checkRequest(map: DataMap, options: CreateLogsBundleOptions): {linkExpiryInMs?: number} {
  if (Number.isNaN(options.since.getTime()) || Number.isNaN(options.until.getTime()))
    throw usageError('--since and --until must be valid times.')
  if (options.since.getTime() >= options.until.getTime()) {
    throw usageError(
      `--since (${options.since.toISOString()}) must be before --until (${options.until.toISOString()}).`,
      'Write times as ISO 8601 (2026-11-01T00:00:00Z) or relative (-24h).',
    )
  }

  if (!map.logs?.archive && !map.logs?.workspace && !map.activityLog) {
    throw configError(
      'The data map names no log source.',
      [],
      'Add logs.archive (account, containers), logs.workspace or activityLog.subscription.',
    )
  }

  const folder = dirname(resolve(options.output ?? '.'))
  if (!existsSync(folder) || !statSync(folder).isDirectory())
    throw usageError(
      `The folder ${folder} for --output does not exist.`,
      'Create it, or pass --output with a path in an existing folder.',
    )
  if (!options.share) return {}
  requireExports(map)
  return {linkExpiryInMs: resolveLinkExpiry(map, options.linkExpiryInMs)}
}

/**
 * Collects, redacts, packs (and optionally shares) the customer's logs; see the module comment.
 * The steps, in order: check the request, record `started`, read each source into a spool,
 * redact into the final files, seal and pack, share, record the outcome.
 */
export async function createLogsBundle(
  clients: AzureClients,
  map: DataMap,
  options: CreateLogsBundleOptions,
): Promise<LogsBundle> {
  const now = options.now ?? (() => new Date())
  const selector = customerSelector(map, options.customer)
  const {linkExpiryInMs} = checkRequest(map, options)
  const customer = selector.customer
  const output = resolve(options.output ?? defaultBundleName(customer, options.since, options.until))
  refuseOverwrite([output], '--output', options.force)
  const range = {since: options.since.toISOString(), until: options.until.toISOString()}
  const operation = await AuditedOperation.start(options.audit ?? new AuditTrail(clients), {
    action: 'logs.bundle',
    customer,
    details: {...range, share: Boolean(options.share)},
  })
  const scratch = await createScratchDir('logs', options.tempDir)
  const spool = new Spool(scratch.path)
  try {
    const scan: Scan = {clients, options, selector, spool, learner: new IdLearner(selector), malformedSamples: []}
    const sources = [
      ...(map.logs?.archive ? await readArchive(scan, map.logs.archive) : []),
      ...(map.activityLog ? [await readActivityLog(scan, map.activityLog.subscription)] : []),
      ...(map.logs?.workspace ? [await readWorkspace(scan, map.logs.workspace)] : []),
    ]
    const redacted = await redact(scan, [...(map.customers.known ?? []), ...scan.learner.ids()])
    const malformedLines = sources.reduce((n, s) => n + (s.kind === 'archive' ? s.malformedLines : 0), 0)
    const body: LogsManifestBody = {
      audit: referenceTo(operation.started),
      customer,
      createdAt: now().toISOString(),
      tool: `custos ${TOOL_VERSION}`,
      operator: (await operatorIdentity(clients)).name,
      timeRange: {...range, edgeHours: 1},
      selection: {
        customerFields: [...selector.customerFields],
        scopes: selector.scopes.map((s) => `${s.store}: ${describeScope(s)}`),
      },
      sources,
      files: redacted.files,
      records: redacted.records,
      redaction: redactionSummary(),
      redactions: redacted.redactor.counts,
      malformedLines,
    }
    const {manifest, packed} = await seal(scan, output, body, now())
    const link = options.share
      ? await share(clients, map, options, {
          operation,
          customer,
          file: output,
          sha256: packed.sha256,
          linkExpiryInMs: linkExpiryInMs!,
          now,
        })
      : undefined
    const result: LogsBundle = {
      operationId: operation.operationId,
      customer,
      ...range,
      file: packed.path,
      bytes: packed.bytes,
      sha256: packed.sha256,
      records: redacted.records,
      files: redacted.files,
      sources,
      redaction: body.redaction,
      redactions: redacted.redactor.counts,
      malformedLines,
      malformedSamples: scan.malformedSamples,
      manifest: {
        sha256: manifest.sha256,
        signed: manifest.signed,
        ...(manifest.signature ? {kid: manifest.signature.kid} : {}),
      },
      ...(link ? {link} : {}),
    }
    await operation.succeeded({
      ...range,
      file: basename(packed.path),
      sha256: packed.sha256,
      records: redacted.records,
      files: redacted.files.length,
      malformedLines,
      redactions: Object.values(redacted.redactor.counts).reduce((a, b) => a + b, 0),
      signed: manifest.signed,
      shared: Boolean(link),
    })
    return result
  } catch (error) {
    await spool.abort()
    await operation.failed(error, {...range, error: (error as Error)?.message ?? String(error)})
    throw error
  } finally {
    await scratch.remove()
  }
}

/** What the steps that read the sources share: where kept records go and what was learnt on the way. */
interface Scan {
  clients: AzureClients
  options: CreateLogsBundleOptions
  selector: CustomerSelector
  spool: Spool
  learner: IdLearner
  malformedSamples: MalformedLine[]
}

/** Keeps a record that concerns the customer, or learns the other customer ids in one that does not. */
async function sift(
  scan: Scan,
  source: SourceSummary['kind'],
  category: () => string,
  record: LogRecord,
  raw: string,
): Promise<boolean> {
  if (!scan.selector.match(record)) {
    scan.learner.other(record)
    return false
  }

  scan.learner.kept(record)
  await scan.spool.add(bundlePath(source, category()), raw)
  scan.options.onRecord?.(source)
  return true
}

/** Step 1: the archived diagnostic logs, container by container (only the hours of the range). */
async function readArchive(
  scan: Scan,
  archive: NonNullable<NonNullable<DataMap['logs']>['archive']>,
): Promise<ArchiveSourceSummary[]> {
  const {clients, options, selector} = scan
  const accountName = parseAccount(archive.account).name
  const summaries: ArchiveSourceSummary[] = []
  for (const container of archive.containers) {
    options.onStage?.(`Reading ${container} in ${accountName}`)
    const stream = readArchivedRecords({
      clients,
      account: archive.account,
      container,
      since: options.since,
      until: options.until,
      abortSignal: options.abortSignal,
      onBytes: options.onBytes,
      needles: selector.needles,
      anchors: selector.anchors,
      onMalformed: (info) => {
        if (scan.malformedSamples.length < MAX_MALFORMED_SAMPLES) scan.malformedSamples.push(info)
      },
    })
    let kept = 0
    for await (const item of stream) {
      const category = () =>
        typeof item.record.category === 'string' ? item.record.category : container.replace(/^insights-(logs-)?/, '')
      if (await sift(scan, 'archive', category, item.record, item.raw)) kept++
    }

    summaries.push(archiveSummary(accountName, stream.stats, kept))
  }

  return summaries
}

/** Step 2: the activity log of the configured subscription. */
async function readActivityLog(scan: Scan, subscription: string): Promise<ActivitySourceSummary> {
  const {options} = scan
  options.onStage?.(`Reading the activity log of subscription ${subscription}`)
  const summary: ActivitySourceSummary = {kind: 'activity-log', subscription, events: 0, kept: 0}
  for await (const item of listActivityRecords(scan.clients, subscription, options.since, options.until, {
    abortSignal: options.abortSignal,
  })) {
    summary.events++
    if (await sift(scan, 'activity-log', () => item.category, item.record, item.raw)) summary.kept++
  }

  return summary
}

/** Step 3: the Log Analytics workspace (the query is generated from the same selection rule). */
async function readWorkspace(scan: Scan, workspace: string): Promise<WorkspaceSourceSummary> {
  const {options} = scan
  options.onStage?.(`Querying Log Analytics workspace ${workspace}`)
  const summary: WorkspaceSourceSummary = {kind: 'workspace', workspace, rows: 0, kept: 0}
  for await (const item of queryWorkspaceRecords(
    scan.clients,
    workspace,
    scan.selector.customer,
    options.since,
    options.until,
    {abortSignal: options.abortSignal},
  )) {
    summary.rows++
    if (await sift(scan, 'workspace', () => item.category, item.record, item.raw)) summary.kept++
  }

  return summary
}

/** Step 4: redacts the spooled records into the final files (other customers' ids become placeholders). */
async function redact(scan: Scan, otherCustomers: string[]) {
  scan.options.onStage?.("Redacting secrets and other customers' identifiers")
  const redactor = new BundleRedactor(scan.selector.customer, otherCustomers)
  const files = await scan.spool.finish(redactor)
  return {redactor, files, records: files.reduce((n, f) => n + f.records, 0)}
}

/** Step 5: the sealed (and, with a signing key, signed) manifest, SHA256SUMS and the .tar.gz. */
async function seal(scan: Scan, output: string, body: LogsManifestBody, mtime: Date) {
  const {options, spool} = scan
  options.onStage?.('Writing the manifest and the archive')
  const signer = options.signer === null ? undefined : (options.signer ?? keyVaultSigner(scan.clients))
  return writeSealedPackage(output, {
    kind: MANIFEST_KIND,
    body,
    signer,
    files: body.files,
    entries: body.files.map((f) => ({name: f.path, file: spool.finalPath(f.path)})),
    mtime,
    abortSignal: options.abortSignal,
  })
}

/** Step 6 (--share): uploads the bundle to the exports container and records the read link. */
async function share(
  clients: AzureClients,
  map: DataMap,
  options: CreateLogsBundleOptions,
  bundle: {
    operation: AuditedOperation
    customer: string
    file: string
    sha256: string
    linkExpiryInMs: number
    now: () => Date
  },
): Promise<ShareLink> {
  options.onStage?.('Uploading to the exports container')
  const link = await shareFile(clients, map, bundle.file, {
    blobName: `logs/${bundle.customer}/${compactTime(bundle.now())}/${basename(bundle.file)}`,
    expiresInMs: bundle.linkExpiryInMs,
    metadata: {sha256: bundle.sha256, custosoperation: bundle.operation.operationId},
    abortSignal: options.abortSignal,
    now: bundle.now(),
  })
  await bundle.operation.record('share-link', 'recorded', {
    what: 'logs bundle',
    account: link.account,
    container: link.container,
    blob: link.blob,
    expiresOn: link.expiresOn,
    permissions: link.permissions,
    protocol: link.protocol,
    sha256: bundle.sha256,
  })
  return link
}

function archiveSummary(account: string, stats: ArchiveStats, kept: number): ArchiveSourceSummary {
  return {
    kind: 'archive',
    account,
    container: stats.container,
    exists: stats.exists,
    blobsRead: stats.blobsRead,
    bytesScanned: stats.bytes,
    lines: stats.lines,
    parsed: stats.parsed,
    skipped: stats.skipped,
    recordsInRange: stats.records,
    kept,
    malformedLines: stats.malformed,
    outOfRange: stats.outOfRange,
    undated: stats.undated,
  }
}
