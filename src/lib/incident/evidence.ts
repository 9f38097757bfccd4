/**
 * `incident evidence`: a signed `.tar.gz` of what the logs say about the incident window (from a
 * look-back before detection until now), for each affected customer, built by the same code as
 * `logs bundle` and `access report`:
 *
 *   manifest.json                      sealed (custos.incident-evidence), signed when keys.signingKey is set
 *   SHA256SUMS                         `sha256sum -c` format, for every file including manifest.json
 *   incident.json                      the incident as folded from the trail, and its audit records
 *   customers/<id>/logs.tar.gz         that customer's log bundle (activity log, sign-ins, storage
 *                                      access), redacted, with its own sealed manifest
 *   customers/<id>/access-report.json  the access report limited to that customer, with findings
 *   customers/<id>/access-report.html
 *   access-review.json / .html         who could access the infrastructure and the data at collection
 *                                      time (`access review`), when the data map names something to review
 *
 * Nothing of customers outside the incident is read into it: each log bundle keeps only its
 * customer's records (src/lib/logs/select.ts) and redacts other customers' ids, and each access
 * report is limited with `customer`. The trail gets `incident.evidence` when the bundle is complete.
 */
import {stat, writeFile} from 'node:fs/promises'
import {createReadStream} from 'node:fs'
import {createHash} from 'node:crypto'
import {basename, join, resolve} from 'node:path'

import {renderAccessHtml} from '../access/render-html.js'
import {renderReviewHtml} from '../access/review/render.js'
import {reviewAccess, reviewScopes} from '../access/review/review.js'
import type {AccessReview} from '../access/review/types.js'
import {createAccessReport} from '../access/report.js'
import type {AccessReport, FindingType} from '../access/types.js'
import type {AuditRecord} from '../audit/trail.js'
import type {AzureClients} from '../azure/clients.js'
import {operatorIdentity} from '../azure/identity.js'
import type {DataMap} from '../datamap/types.js'
import {usageError} from '../errors.js'
import {keyVaultSigner, type Signer} from '../evidence/signing.js'
import {createLogsBundle, type LogsBundle, type SourceSummary as LogsSourceSummary} from '../logs/bundle.js'
import type {PackEntry} from '../evidence/pack.js'
import {writeSealedPackage} from '../evidence/package-writer.js'
import type {BundleFile} from '../logs/spool.js'
import {PRIVATE_FILE_MODE, refuseOverwrite} from '../output/files.js'
import {createScratchDir} from '../output/scratch.js'
import {assertCustomerId} from '../scope.js'
import {TOOL_VERSION} from '../version.js'
import {isIncidentRecord} from './fold.js'
import {IncidentLog} from './log.js'
import type {Incident} from './types.js'

const EVIDENCE_KIND = 'custos.incident-evidence'
export const DEFAULT_EVIDENCE_LOOKBACK_IN_MS = 24 * 3_600_000
/** New-IP findings compare with the IPs seen this long before the window. */
export const DEFAULT_KNOWN_IP_WINDOW_IN_MS = 7 * 86_400_000
// The access report's own defaults (custos access report --burst-failures / --burst-window).
const BURST_FAILURES = 5
const BURST_WINDOW_IN_MS = 10 * 60_000

export interface CollectEvidenceOptions {
  incident: string
  /** how long before detection the window starts; default 24 h */
  lookbackInMs?: number
  /** end of the window; default now */
  until?: Date
  /** only these affected customers; default every affected customer */
  customers?: string[]
  /** path of the .tar.gz; default ./incident-<id>-evidence-<time>.tar.gz */
  output?: string
  /** replace `output` when it exists (--force); otherwise that is refused before anything is read */
  force?: boolean
  /** window before `since` whose IPs count as known for new-IP findings; 0 turns them off */
  knownIpWindowInMs?: number
  abortSignal?: AbortSignal
  onStage?: (text: string) => void
  /** archive bytes read (progress) */
  onBytes?: (bytes: number) => void
  /** a log record was kept for a customer's bundle (progress) */
  onRecord?: () => void
  /** default: the Key Vault signing key when keys.signingKey is configured; null: unsigned */
  signer?: Signer | null
  tempDir?: string
  now?: () => Date
  log?: IncidentLog
}

export interface CustomerEvidence {
  customer: string
  logs: {
    path: string
    sha256: string
    bytes: number
    records: number
    manifestSha256: string
    signed: boolean
    files: BundleFile[]
    sources: LogsSourceSummary[]
    malformedLines: number
  }
  access: {
    path: string
    htmlPath: string
    sha256: string
    totals: AccessReport['totals']
    findings: Partial<Record<FindingType, number>>
    sources: AccessReport['sources']
  }
}

export interface IncidentEvidenceBody {
  incident: {
    id: string
    status: Incident['status']
    summary: string
    detectedAt: string
    deadline: string
    customers: string[]
    dataCategories: string[]
  }
  createdAt: string
  tool: string
  operator: string
  window: {since: string; until: string; lookbackInMs: number}
  customers: CustomerEvidence[]
  files: Array<{path: string; bytes: number; sha256: string}>
  /** the incident's records in the audit trail when the bundle was made */
  trail: {location: string; records: number; lastSeq: number; lastHash: string}
  /**
   * `access review` at collection time: its files and summary, or why it is missing (nothing in the
   * data map to review, or the review failed — the evidence is collected all the same)
   */
  accessReview?: {path: string; htmlPath: string; sha256: string; summary: AccessReview['summary']} | {skipped: string}
}

export interface IncidentEvidence {
  incident: string
  file: string
  bytes: number
  sha256: string
  window: {since: string; until: string}
  customers: Array<{customer: string; records: number; findings: number; signIns: number; operations: number}>
  manifest: {sha256: string; signed: boolean; kid?: string}
  /** seq of the incident.evidence record */
  seq: number
}

function compactTime(date: Date): string {
  return date
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replaceAll(/[-:]/g, '')
}

async function fileDigest(path: string): Promise<{bytes: number; sha256: string}> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer)
  return {bytes: (await stat(path)).size, sha256: hash.digest('hex')}
}

function countFindings(report: AccessReport): Partial<Record<FindingType, number>> {
  const out: Partial<Record<FindingType, number>> = {}
  for (const f of report.findings) out[f.type] = (out[f.type] ?? 0) + 1
  return out
}

/** Which affected customers the bundle covers; a usage error for a customer the incident does not name. */
function chooseCustomers(map: DataMap, incident: Incident, requested?: string[]): string[] {
  if (incident.customers.length === 0) {
    throw usageError(
      `Incident ${incident.id} names no affected customer, so there is no customer's evidence to collect.`,
      `Add them first: custos incident update ${incident.id} --customer <id>`,
    )
  }

  if (!requested || requested.length === 0) return [...incident.customers]
  const chosen = [...new Set(requested.map((c) => assertCustomerId(c, map.customers.idPattern)))]
  const foreign = chosen.filter((c) => !incident.customers.includes(c))
  if (foreign.length > 0)
    throw usageError(
      `Incident ${incident.id} does not name ${foreign.join(', ')} as affected.`,
      `Affected: ${incident.customers.join(', ')}. Evidence is collected only for affected customers.`,
    )
  return chosen
}

/** Collects, seals and packs the evidence of one incident; see the module comment. */
export async function collectIncidentEvidence(
  clients: AzureClients,
  map: DataMap,
  options: CollectEvidenceOptions,
): Promise<IncidentEvidence> {
  const now = options.now ?? (() => new Date())
  const log = options.log ?? new IncidentLog(clients, map)
  const incident = await log.get(options.incident)
  const customers = chooseCustomers(map, incident, options.customers)
  const lookbackInMs = options.lookbackInMs ?? DEFAULT_EVIDENCE_LOOKBACK_IN_MS
  const since = new Date(Date.parse(incident.detectedAt) - lookbackInMs)
  const until = options.until ?? now()
  if (since.getTime() >= until.getTime())
    throw usageError(
      `The evidence window ${since.toISOString()} – ${until.toISOString()} is empty.`,
      'Give --until after the detection time minus --lookback.',
    )
  const signer = options.signer === null ? undefined : (options.signer ?? keyVaultSigner(clients))
  const output = resolve(options.output ?? `incident-${incident.id}-evidence-${compactTime(now())}.tar.gz`)
  refuseOverwrite([output], '--output', options.force)
  const scratch = await createScratchDir('incident', options.tempDir)
  const workDir = scratch.path
  try {
    const entries: PackEntry[] = []
    const files: IncidentEvidenceBody['files'] = []
    const addFile = async (path: string, file: string): Promise<string> => {
      const digest = await fileDigest(file)
      files.push({path, ...digest})
      entries.push({name: path, file})
      return digest.sha256
    }

    const perCustomer: CustomerEvidence[] = []
    for (const customer of customers) {
      options.onStage?.(`Collecting the logs of ${customer}`)
      const bundle: LogsBundle = await createLogsBundle(clients, map, {
        customer,
        since,
        until,
        output: join(workDir, `${customer}-logs.tar.gz`),
        signer: signer ?? null,
        audit: log.trail,
        abortSignal: options.abortSignal,
        onBytes: options.onBytes,
        onRecord: options.onRecord,
        onStage: options.onStage,
        tempDir: workDir,
        now,
      })
      options.onStage?.(`Building the access report of ${customer}`)
      const report = await createAccessReport(clients, map, {
        since,
        until,
        customer,
        burstFailures: BURST_FAILURES,
        burstWindowInMs: BURST_WINDOW_IN_MS,
        lookbackInMs: options.knownIpWindowInMs ?? DEFAULT_KNOWN_IP_WINDOW_IN_MS,
        abortSignal: options.abortSignal,
        now: until,
      })
      const reportJson = join(workDir, `${customer}-access-report.json`)
      const reportHtml = join(workDir, `${customer}-access-report.html`)
      await writeFile(reportJson, `${JSON.stringify(report, null, 2)}\n`, {mode: PRIVATE_FILE_MODE})
      await writeFile(reportHtml, renderAccessHtml(report), {mode: PRIVATE_FILE_MODE})
      const dir = `customers/${customer}`
      await addFile(`${dir}/logs.tar.gz`, bundle.file)
      const reportSha256 = await addFile(`${dir}/access-report.json`, reportJson)
      await addFile(`${dir}/access-report.html`, reportHtml)
      perCustomer.push({
        customer,
        logs: {
          path: `${dir}/logs.tar.gz`,
          sha256: bundle.sha256,
          bytes: bundle.bytes,
          records: bundle.records,
          manifestSha256: bundle.manifest.sha256,
          signed: bundle.manifest.signed,
          files: bundle.files,
          sources: bundle.sources,
          malformedLines: bundle.malformedLines,
        },
        access: {
          path: `${dir}/access-report.json`,
          htmlPath: `${dir}/access-report.html`,
          sha256: reportSha256,
          totals: report.totals,
          findings: countFindings(report),
          sources: report.sources,
        },
      })
    }

    const accessReview = await collectAccessReview(clients, map, until, workDir, addFile, options)

    // The incident as the trail says it, with its records (hash-chained, so they tie the bundle to the trail).
    options.onStage?.('Writing the manifest and the archive')
    const records: AuditRecord[] = []
    for await (const {record} of log.trail.read())
      if (isIncidentRecord(record) && record.details.incident === incident.id) records.push(record)
    const incidentJson = join(workDir, 'incident.json')
    await writeFile(incidentJson, `${JSON.stringify({incident, records}, null, 2)}\n`, {
      mode: PRIVATE_FILE_MODE,
    })
    await addFile('incident.json', incidentJson)

    const last = records.at(-1)
    const body: IncidentEvidenceBody = {
      incident: {
        id: incident.id,
        status: incident.status,
        summary: incident.summary,
        detectedAt: incident.detectedAt,
        deadline: incident.deadline,
        customers: incident.customers,
        dataCategories: incident.facts.dataCategories ?? [],
      },
      createdAt: now().toISOString(),
      tool: `custos ${TOOL_VERSION}`,
      operator: (await operatorIdentity(clients)).name,
      window: {since: since.toISOString(), until: until.toISOString(), lookbackInMs},
      customers: perCustomer,
      files,
      trail: {
        location: log.trail.location,
        records: records.length,
        lastSeq: last?.seq ?? 0,
        lastHash: last?.hash ?? '',
      },
      ...(accessReview ? {accessReview} : {}),
    }
    const {manifest, packed} = await writeSealedPackage(output, {
      kind: EVIDENCE_KIND,
      body,
      signer,
      files,
      entries,
      mtime: now(),
      abortSignal: options.abortSignal,
    })

    const window = {since: body.window.since, until: body.window.until}
    const summary = perCustomer.map((c) => ({
      customer: c.customer,
      records: c.logs.records,
      findings: c.access.totals.findings,
      signIns: c.access.totals.signIns,
      operations: c.access.totals.operations,
    }))
    const record = await log.recordEvidence(
      incident,
      {
        file: basename(packed.path),
        sha256: packed.sha256,
        bytes: packed.bytes,
        manifestSha256: manifest.sha256,
        signed: manifest.signed,
        ...(manifest.signature ? {kid: manifest.signature.kid} : {}),
        window,
        customers: summary.map(({customer, records, findings}) => ({customer, records, findings})),
      },
      now(),
    )
    return {
      incident: incident.id,
      file: packed.path,
      bytes: packed.bytes,
      sha256: packed.sha256,
      window,
      customers: summary,
      manifest: {
        sha256: manifest.sha256,
        signed: manifest.signed,
        ...(manifest.signature ? {kid: manifest.signature.kid} : {}),
      },
      seq: record.seq,
    }
  } finally {
    await scratch.remove()
  }
}

/**
 * The bundle's access-review section: who could reach the infrastructure and the data when the
 * evidence was collected. Undefined when the data map names nothing to review; a failed review is
 * noted (`skipped`) rather than failing the evidence, which matters more.
 */
async function collectAccessReview(
  clients: AzureClients,
  map: DataMap,
  now: Date,
  workDir: string,
  addFile: (path: string, file: string) => Promise<string>,
  options: CollectEvidenceOptions,
): Promise<IncidentEvidenceBody['accessReview']> {
  try {
    reviewScopes(map)
  } catch {
    return undefined
  }

  options.onStage?.('Reviewing who can access the infrastructure and the data')
  let review: AccessReview
  try {
    review = await reviewAccess(clients, map, {failOn: 'low', now, abortSignal: options.abortSignal})
  } catch (error) {
    if (options.abortSignal?.aborted) throw error
    return {skipped: `the access review failed: ${(error as Error).message.split('\n')[0]}`}
  }

  const json = join(workDir, 'access-review.json')
  const html = join(workDir, 'access-review.html')
  await writeFile(json, `${JSON.stringify(review, null, 2)}\n`, {mode: PRIVATE_FILE_MODE})
  await writeFile(html, renderReviewHtml(review), {mode: PRIVATE_FILE_MODE})
  const sha256 = await addFile('access-review.json', json)
  await addFile('access-review.html', html)
  return {path: 'access-review.json', htmlPath: 'access-review.html', sha256, summary: review.summary}
}
