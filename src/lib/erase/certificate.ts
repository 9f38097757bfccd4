/**
 * The deletion certificate: a sealed document (evidence/envelope.ts, kind
 * `custos.deletion-certificate`) with readable text and HTML renderings beside it. It says who
 * erased which customer when, how (per store: delete, purge; for the key: crypto-erase), how much,
 * under which request ids, what failed, what soft delete still keeps and until when, and what the
 * final listing found. Its SHA-256 covers the canonical JSON of the body; with `keys.signingKey`
 * configured, Key Vault signs that hash.
 *
 * Also here: the kind-specific consistency checks `certificate verify` runs on any sealed
 * document — that it names what it claims (totals equal the sum of their parts, every object
 * inside a store of the customer, …), beyond the hash and the signature.
 */
import {readFile, writeFile} from 'node:fs/promises'
import {basename} from 'node:path'

import type {AzureClients} from '../azure/clients.js'
import type {OperatorIdentity} from '../azure/identity.js'
import {CustosError, ExitCode} from '../errors.js'
import {
  EVIDENCE_KINDS,
  sealDocument,
  verifyDocument,
  type AuditReference,
  type SealedDocument,
  type VerifyDocumentOptions,
} from '../evidence/envelope.js'
import {signatureShapeProblem, type Signer} from '../evidence/signing.js'
import type {GuardVerdict} from './guards.js'
import type {BatchStats, StoreProgress} from './journal.js'
import type {PlanHeader, PlanStore, PlanTrailer, StoreTotals} from './plan.js'
import {renderCertificateHtml, renderCertificateText, type CertificateVerifyReport} from './render.js'
import type {CryptoErasedStore, KeyShredResult} from './shred.js'
import type {ErasureVerification, StoreVerification} from './verify.js'
import type {CertificatePart, KindVerification, Residual} from '../stores/kind.js'

export const CERTIFICATE_KIND = 'custos.deletion-certificate' as const

export interface Amount {
  items: number
  bytes: number
}

export type StoreMethod = 'delete' | 'purge' | 'crypto-erase'

export interface CertificateStore {
  store: string
  role: 'store' | 'backup'
  account: string
  container: string
  prefix: string
  layout: 'container-per-customer' | 'prefix-per-customer'
  /**
   * how the data went: `delete` (Delete Blob via Blob Batch), `purge` (permanent deletion of
   * soft-deleted snapshots and versions), `crypto-erase` (encrypted with the customer key, now destroyed)
   */
  methods: StoreMethod[]
  /** for `crypto-erase`: the encryption scope and the key it used */
  cryptoErase?: {encryptionScope: string; keyUri: string; effectiveFrom?: string}
  planned: Amount & {current: number; snapshots: number; versions: number; softDeleted: number}
  deleted: Amount
  /** already gone when their delete was sent (404), e.g. deleted by an interrupted run */
  alreadyGone: Amount
  /** soft-deleted snapshots and versions whose permanent deletion the service refused */
  retained: Amount
  failed: Amount
  /** soft-deleted base blobs listed in the plan: no API removes them before their retention ends */
  softDeletedBeforeErase: number
  /** deletes soft delete answered with "kept for its retention" */
  softDeleted: number
  purged: number
  batches: number
  requestIds: string[]
  /** what happened to the container: deleted once empty (container per customer), or never (shared) */
  containerDeletion: {action: 'deleted' | 'kept' | 'absent' | 'shared'; reason?: string; requestId?: string}
  exceptions: string[]
  verification: StoreVerification
}

/** A database store in the certificate: how its rows went, how many, and what was left. */
export type CertificateDatabase = PostgresCertificateDatabase | TableCertificateDatabase

/** A PostgreSQL database store in the certificate. */
export interface PostgresCertificateDatabase {
  store: string
  engine: 'postgresql'
  host: string
  database: string
  schema?: string
  isolation: 'shared' | 'schema' | 'database'
  method: 'SQL DELETE' | 'DROP SCHEMA' | 'DROP DATABASE'
  /** the plan's fingerprint of this store's rows */
  fingerprint: string
  /** per table in deletion order: rows planned and rows deleted (over every run of the plan) */
  tables: Array<{table: string; planned: number; deleted: number}>
  planned: {rows: number}
  deleted: {rows: number}
  /** the schema or database was already gone when this run came (an earlier run dropped it) */
  alreadyGone: boolean
  /** VACUUM (ANALYZE) after the deletes (--vacuum): whether it ran on every emptied table */
  vacuum: {requested: boolean; ran: boolean; skipped: string[]}
  verification: {result: 'empty' | 'residue'; remainingRows: number; schemaOrDatabaseExists?: boolean}
}

/**
 * An Azure Table storage store in the certificate: entities count as its rows, one `tables` entry
 * for the table; `backups` states what the service keeps that custos cannot read (no point-in-time
 * restore for tables).
 */
export interface TableCertificateDatabase {
  store: string
  engine: 'table'
  /** the table endpoint (never a key) */
  account: string
  table: string
  isolation: 'partition-key' | 'row-key-prefix' | 'table'
  partitionKey?: string
  rowKeyPrefix?: string
  method: 'entity group transactions' | 'delete table'
  fingerprint: string
  tables: Array<{table: string; planned: number; deleted: number}>
  planned: {rows: number}
  deleted: {rows: number}
  /** the table was already gone when this run came (an earlier run deleted it) */
  alreadyGone: boolean
  /** planned entities no journaled transaction of custos deleted (gone before, or by a run killed before journaling) */
  goneWithoutJournal: number
  backups: string
  verification: {result: 'empty' | 'residue'; remainingRows: number; tableExists: boolean}
}

export interface DeletionCertificateBody {
  title: 'Deletion certificate'
  customer: string
  operator: OperatorIdentity
  tool: {name: 'custos'; version: string}
  operationId: string
  /** the erase's own `erase.apply started` record in the audit trail */
  audit?: AuditReference
  startedAt: string
  finishedAt: string
  dataMap: string
  plan: {file: string; fingerprint: string; createdAt: string; items: number; bytes: number}
  guards: Array<Pick<GuardVerdict, 'guard' | 'ok' | 'message'> & {skipped?: boolean}>
  stores: CertificateStore[]
  /** database stores (only when the data map has databases) */
  databases?: CertificateDatabase[]
  /** what still holds the erased data and until when: the database servers' backups (never claimed gone) */
  residuals?: Residual[]
  key: KeyShredResult
  totals: {
    planned: Amount
    deleted: Amount
    alreadyGone: Amount
    retained: Amount
    failed: Amount
    softDeletedBeforeErase: number
  }
  verification: {
    result: ErasureVerification['result']
    checkedAt: string
    live: number
    retained: number
    permanentlyDeletedBy?: string
    /** database rows still found (only when the data map has databases) */
    remainingRows?: number
  }
  exceptions: string[]
  /** one sentence for readers: what this certificate does and does not prove */
  statement: string
}

export type DeletionCertificate = SealedDocument<DeletionCertificateBody>

export interface FailureSummary {
  store: string
  primary: boolean
  size: number
  text: string
}

export interface BuildCertificateInput {
  customer: string
  operator: OperatorIdentity
  toolVersion: string
  operationId: string
  startedAt: Date
  finishedAt: Date
  planPath: string
  header: PlanHeader
  trailer: PlanTrailer
  guards: GuardVerdict[]
  progress: (store: string) => StoreProgress
  failures: FailureSummary[]
  key: KeyShredResult
  /** stores proven to be encrypted with the shredded customer key */
  cryptoErased?: CryptoErasedStore[]
  verification: ErasureVerification
  audit?: AuditReference
  /** the other store kinds' certificate parts and verifications (databases) */
  parts?: Array<{part: CertificatePart; verification: KindVerification}>
  residuals?: Residual[]
}

const MAX_EXCEPTIONS_PER_STORE = 50

/** Builds the certificate body from the plan, the journal, the key and the final listing. */
export function buildCertificateBody(input: BuildCertificateInput): DeletionCertificateBody {
  const totalsByStore = new Map(input.trailer.stores.map((t) => [t.store, t]))
  const verificationByStore = new Map(input.verification.stores.map((v) => [v.store, v]))
  const stores = input.header.stores.map((ps) =>
    certificateStore(
      ps,
      totalsByStore.get(ps.store)!,
      input.progress(ps.store),
      input.failures.filter((f) => f.store === ps.store),
      verificationByStore.get(ps.store)!,
      input.cryptoErased?.find((c) => c.store === ps.store),
    ),
  )
  const sum = (pick: (s: CertificateStore) => Amount): Amount =>
    stores.reduce((a, s) => ({items: a.items + pick(s).items, bytes: a.bytes + pick(s).bytes}), {items: 0, bytes: 0})
  const exceptions = stores.flatMap((s) => s.exceptions.map((e) => `${s.store}: ${e}`))
  if (input.key.purgeRefused)
    exceptions.push(
      `key ${input.key.name}: purge refused (${input.key.purgeRefused.status}${input.key.purgeRefused.code ? ` ${input.key.purgeRefused.code}` : ''}); unrecoverable from ${input.key.scheduledPurgeDate ?? 'an unknown date'}`,
    )
  const v = input.verification
  const databases = (input.parts ?? []).flatMap((p) => p.part.databases ?? [])
  const others = (input.parts ?? []).map((p) => p.verification)
  const results = new Set([v.result, ...others.map((o) => o.result)])
  const result = results.has('residue') ? 'residue' : results.has('retained') ? 'retained' : 'empty'
  for (const d of databases)
    if (d.verification.result === 'residue')
      exceptions.push(`${d.store}: ${d.verification.remainingRows} row(s) of the customer are still in the database`)
  return {
    title: 'Deletion certificate',
    customer: input.customer,
    operator: input.operator,
    tool: {name: 'custos', version: input.toolVersion},
    operationId: input.operationId,
    ...(input.audit ? {audit: input.audit} : {}),
    startedAt: input.startedAt.toISOString(),
    finishedAt: input.finishedAt.toISOString(),
    dataMap: input.header.dataMap,
    plan: {
      file: basename(input.planPath),
      fingerprint: input.trailer.fingerprint,
      createdAt: input.header.createdAt,
      items: input.trailer.items,
      bytes: input.trailer.bytes,
    },
    guards: input.guards.map((g) => ({
      guard: g.guard,
      ok: g.ok,
      message: g.message,
      ...(g.skipped ? {skipped: true} : {}),
    })),
    stores,
    ...(input.parts && input.parts.length > 0 ? {databases} : {}),
    ...(input.residuals && input.residuals.length > 0 ? {residuals: input.residuals} : {}),
    key: input.key,
    totals: {
      planned: sum((s) => s.planned),
      deleted: sum((s) => s.deleted),
      alreadyGone: sum((s) => s.alreadyGone),
      retained: sum((s) => s.retained),
      failed: sum((s) => s.failed),
      softDeletedBeforeErase: stores.reduce((n, s) => n + s.softDeletedBeforeErase, 0),
    },
    verification: {
      result,
      checkedAt: v.checkedAt,
      live: v.live,
      retained: v.retained,
      ...(v.permanentlyDeletedBy ? {permanentlyDeletedBy: v.permanentlyDeletedBy} : {}),
      ...(others.length > 0 ? {remainingRows: others.reduce((n, o) => n + o.live, 0)} : {}),
    },
    exceptions,
    statement:
      statementFor(result, input.key) +
      (databases.length > 0
        ? ' Database rows were deleted (or their schema or database dropped) and counted again afterwards; the residuals name the backups that still hold them and until when.'
        : ''),
  }
}

function certificateStore(
  ps: PlanStore,
  totals: StoreTotals,
  progress: StoreProgress,
  failures: FailureSummary[],
  verification: StoreVerification,
  crypto?: CryptoErasedStore,
): CertificateStore {
  const s: BatchStats = progress.stats
  const primaryFailures = failures.filter((f) => f.primary)
  const exceptions = failures.slice(0, MAX_EXCEPTIONS_PER_STORE).map((f) => f.text)
  if (failures.length > MAX_EXCEPTIONS_PER_STORE)
    exceptions.push(`… and ${failures.length - MAX_EXCEPTIONS_PER_STORE} more failed deletes (see the journal)`)
  for (const r of progress.retainedExamples)
    exceptions.push(
      `permanent deletion refused for ${r.key[0]}${r.key[1] ? ` (snapshot ${r.key[1]})` : ''}${r.key[2] ? ` (version ${r.key[2]})` : ''}: ${r.status}${r.code ? ` ${r.code}` : ''}`,
    )
  if (s.retained + s.purgeRefused > progress.retainedExamples.length)
    exceptions.push(
      `permanent deletion refused for ${s.retained + s.purgeRefused} object(s) in all; soft delete keeps them until the dates in the verification`,
    )
  if (progress.container?.result === 'kept')
    exceptions.push(`container ${ps.container} kept: ${progress.container.reason ?? 'not empty'}`)
  const methods: StoreMethod[] = []
  if (s.deleted + s.gone + s.followUps > 0 || totals.items === 0) methods.push('delete')
  if (s.purged > 0 || s.retained + s.purgeRefused > 0) methods.push('purge')
  if (crypto) methods.push('crypto-erase')
  return {
    store: ps.store,
    role: ps.role,
    account: ps.accountName,
    container: ps.container,
    prefix: ps.prefix,
    layout: ps.ownsContainer ? 'container-per-customer' : 'prefix-per-customer',
    methods,
    ...(crypto
      ? {
          cryptoErase: {
            encryptionScope: crypto.encryptionScope,
            keyUri: crypto.keyUri,
            ...(crypto.effectiveFrom ? {effectiveFrom: crypto.effectiveFrom} : {}),
          },
        }
      : {}),
    planned: {
      items: totals.items,
      bytes: totals.bytes,
      current: totals.current,
      snapshots: totals.snapshots,
      versions: totals.versions,
      softDeleted: totals.softDeleted,
    },
    deleted: {items: s.deleted, bytes: s.deletedBytes},
    alreadyGone: {items: s.gone, bytes: s.goneBytes},
    retained: {items: s.retained, bytes: s.retainedBytes},
    failed: {items: primaryFailures.length, bytes: primaryFailures.reduce((n, f) => n + f.size, 0)},
    softDeletedBeforeErase: totals.unpurgeable,
    softDeleted: s.softDeleted,
    purged: s.purged,
    batches: progress.batches,
    requestIds: progress.requestIds,
    containerDeletion: ps.ownsContainer
      ? {
          action: progress.container?.result ?? (ps.exists ? 'kept' : 'absent'),
          ...(progress.container?.reason ? {reason: progress.container.reason} : {}),
          ...(progress.container?.requestId ? {requestId: progress.container.requestId} : {}),
        }
      : {action: 'shared', reason: 'a container shared with other customers is never deleted'},
    exceptions,
    verification,
  }
}

function statementFor(result: ErasureVerification['result'], key: KeyShredResult): string {
  const keyText =
    key.state === 'purged'
      ? ' The customer key was deleted and purged (crypto-shredding).'
      : key.state === 'deleted-purge-pending'
        ? ` The customer key was deleted; purge protection keeps it recoverable until ${key.scheduledPurgeDate ?? 'its scheduled purge date'}.`
        : key.state === 'not-configured'
          ? ' No customer key is configured, so no crypto-shredding was done.'
          : ' The customer key was not found (already purged or never created).'
  if (result === 'empty')
    return `A final listing with versions, snapshots and soft-deleted items found nothing left of this customer.${keyText}`
  if (result === 'retained')
    return `A final listing found no live data of this customer; soft delete still keeps the objects counted as retained until the dates given, after which the service deletes them for good.${keyText}`
  return `A final listing still found live data of this customer (see verification); the erase is NOT complete.${keyText}`
}

export interface WrittenCertificate {
  json: string
  text: string
  html: string
  sha256: string
  signed: boolean
}

/** Seals the body (signing with `signer` when given) and writes `<base>.json`, `.txt` and `.html`. */
export async function writeCertificate(
  body: DeletionCertificateBody,
  base: string,
  signer?: Signer,
): Promise<{doc: DeletionCertificate; files: WrittenCertificate}> {
  const doc = await sealDocument(CERTIFICATE_KIND, body, signer)
  const files = {
    json: `${base}.json`,
    text: `${base}.txt`,
    html: `${base}.html`,
    sha256: doc.sha256,
    signed: doc.signed,
  }
  await writeFile(files.json, `${JSON.stringify(doc, null, 2)}\n`)
  await writeFile(files.text, renderCertificateText(doc))
  await writeFile(files.html, renderCertificateHtml(doc))
  return {doc, files}
}

/** `<plan without .json/.jsonl>.certificate` */
export function certificateBaseFor(planPath: string): string {
  return `${planPath.replace(/\.(jsonl?|ndjson)$/i, '')}.certificate`
}

// --------------------------------------------------------------------- consistency (verify)

export interface ConsistencyCheck {
  /** false when custos knows no checks for this kind */
  checked: boolean
  problems: string[]
  /** what was checked, for the report */
  checks: string[]
}

type Doc = Record<string, unknown>

/** Checks that a sealed document names what it claims, by kind. Never throws on odd shapes. */
export function checkConsistency(doc: unknown): ConsistencyCheck {
  const d = (doc ?? {}) as {kind?: string; body?: unknown}
  const body = (d.body ?? {}) as Doc
  try {
    switch (d.kind) {
      case CERTIFICATE_KIND: {
        return checkCertificate(body)
      }

      case 'custos.export-manifest': {
        return checkExportManifest(body)
      }

      case 'custos.logs-manifest': {
        return checkFileManifest(body)
      }

      default: {
        return {checked: false, problems: [], checks: []}
      }
    }
  } catch (error) {
    return {
      checked: true,
      problems: [`the document's body does not have the shape of a ${d.kind} (${(error as Error).message})`],
      checks: [],
    }
  }
}

function amount(v: unknown): Amount {
  const a = v as Amount
  if (!a || typeof a.items !== 'number' || typeof a.bytes !== 'number')
    throw new TypeError('an amount lacks items or bytes')
  return a
}

function checkCertificate(b: Doc): ConsistencyCheck {
  const problems: string[] = []
  const checks: string[] = []
  const customer = b.customer as string
  const stores = b.stores as Doc[]
  if (typeof customer !== 'string' || !Array.isArray(stores)) throw new TypeError('customer or stores missing')
  const totals = b.totals as Record<string, unknown>
  for (const field of ['planned', 'deleted', 'alreadyGone', 'retained', 'failed'] as const) {
    const sum = stores.reduce<Amount>(
      (a, s) => ({items: a.items + amount(s[field]).items, bytes: a.bytes + amount(s[field]).bytes}),
      {items: 0, bytes: 0},
    )
    const t = amount(totals[field])
    if (t.items !== sum.items || t.bytes !== sum.bytes)
      problems.push(
        `totals.${field} (${t.items} items, ${t.bytes} bytes) is not the sum over the stores (${sum.items} items, ${sum.bytes} bytes)`,
      )
  }

  checks.push('totals equal the sum of the per-store counts')
  for (const s of stores) {
    const planned = amount(s.planned).items
    const accounted =
      amount(s.deleted).items +
      amount(s.alreadyGone).items +
      amount(s.retained).items +
      amount(s.failed).items +
      (s.softDeletedBeforeErase as number)
    if (planned !== accounted)
      problems.push(
        `store ${String(s.store)}: ${planned} planned items, but deleted + already gone + retained + failed + soft-deleted before = ${accounted}`,
      )
    const container = String(s.container)
    const prefix = String(s.prefix ?? '')
    if (!container.includes(customer) && !prefix.split('/').includes(customer))
      problems.push(`store ${String(s.store)}: scope ${container}/${prefix} does not name customer ${customer}`)
    const v = s.verification as Doc | undefined
    if (v && (v.live as number) > 0 && v.result !== 'residue')
      problems.push(
        `store ${String(s.store)}: verification found ${String(v.live)} live object(s) but says "${String(v.result)}"`,
      )
  }

  checks.push('every store accounts for each planned item and names the customer in its scope')
  const plan = b.plan as Doc
  const plannedTotal = amount(totals.planned)
  if (plan && (plan.items !== plannedTotal.items || plan.bytes !== plannedTotal.bytes))
    problems.push(`the plan's ${String(plan.items)} items / ${String(plan.bytes)} bytes differ from totals.planned`)
  checks.push('the plan totals equal the planned totals')
  const v = b.verification as Doc
  const databases = (b.databases as Doc[] | undefined) ?? []
  for (const d of databases) {
    const tables = (d.tables as Doc[]) ?? []
    const deleted = tables.reduce((n, t) => n + (t.deleted as number), 0)
    const planned = tables.reduce((n, t) => n + (t.planned as number), 0)
    if ((d.deleted as Doc)?.rows !== deleted)
      problems.push(`database ${String(d.store)}: deleted.rows is not the sum over its tables (${deleted})`)
    if ((d.planned as Doc)?.rows !== planned)
      problems.push(`database ${String(d.store)}: planned.rows is not the sum over its tables (${planned})`)
    const dv = d.verification as Doc | undefined
    if (dv && (dv.remainingRows as number) > 0 && dv.result !== 'residue')
      problems.push(
        `database ${String(d.store)}: ${String(dv.remainingRows)} row(s) remain but the result says "${String(dv.result)}"`,
      )
  }

  if (databases.length > 0) checks.push('every database store accounts for its rows per table')
  const storeResults = new Set([
    ...stores.map((s) => (s.verification as Doc | undefined)?.result),
    ...databases.map((d) => (d.verification as Doc | undefined)?.result),
  ])
  const expected = storeResults.has('residue') ? 'residue' : storeResults.has('retained') ? 'retained' : 'empty'
  if (v?.result !== expected)
    problems.push(`verification.result is "${String(v?.result)}" but the stores' results make it "${expected}"`)
  const live = stores.reduce((n, s) => n + (((s.verification as Doc | undefined)?.live as number) ?? 0), 0)
  if (v?.live !== live) problems.push(`verification.live (${String(v?.live)}) is not the sum over the stores (${live})`)
  checks.push('the verification result agrees with the per-store listings')
  const key = b.key as Doc | undefined
  if (key?.name && !String(key.name).includes(customer))
    problems.push(`the key ${String(key.name)} does not name customer ${customer}`)
  if (key?.state === 'purged' && !key.unrecoverableFrom)
    problems.push('the key is said to be purged but carries no date')
  if (key?.state === 'deleted-purge-pending' && !key.scheduledPurgeDate)
    problems.push('the key purge is pending but no scheduled purge date is given')
  checks.push('the key names the customer and its state carries its date')
  if (typeof b.startedAt === 'string' && typeof b.finishedAt === 'string' && b.startedAt > b.finishedAt)
    problems.push('the erase finished before it started')
  return {checked: true, problems, checks}
}

function checkExportManifest(b: Doc): ConsistencyCheck {
  const problems: string[] = []
  const checks: string[] = []
  const objects = b.objects as Doc[]
  const totals = b.totals as Record<string, number>
  const customer = b.customer as string
  const stores = (b.stores as Doc[]) ?? []
  if (!Array.isArray(objects) || !totals || typeof customer !== 'string')
    throw new TypeError('customer, objects or totals missing')
  const count = {objects: 0, bytes: 0, current: 0, versions: 0, snapshots: 0, withContentMD5: 0}
  const byName = new Map(stores.map((s) => [String(s.name ?? s.store), s]))
  let outside = 0
  for (const o of objects) {
    count.objects++
    count.bytes += o.size as number
    if (o.kind === 'current') count.current++
    else if (o.kind === 'version') count.versions++
    else if (o.kind === 'snapshot') count.snapshots++
    if (o.contentMD5) count.withContentMD5++
    const store = byName.get(String(o.store))
    if (!store || !String(o.name).startsWith(String(store.prefix ?? ''))) {
      outside++
      if (outside <= 5)
        problems.push(`object ${String(o.store)}:${String(o.name)} is not inside a store of the manifest`)
    }
  }

  if (outside > 5) problems.push(`… ${outside} objects outside the manifest's stores in all`)
  for (const k of Object.keys(count) as Array<keyof typeof count>) {
    if (totals[k] !== undefined && totals[k] !== count[k])
      problems.push(`totals.${k} is ${totals[k]} but the objects add up to ${count[k]}`)
  }

  checks.push('totals equal the sum over the objects', 'every object lies inside one of the stores named')
  for (const s of stores) {
    if (s.engine !== undefined) {
      // a database store: its rows are the customer's by the tenant column, its schema or its database
      const named =
        s.engine === 'table'
          ? s.isolation === 'partition-key'
            ? s.partitionKey === customer || String(s.partitionKey ?? '').includes(customer)
            : s.isolation === 'row-key-prefix'
              ? String(s.rowKeyPrefix ?? '').endsWith(`${customer}|`)
              : String(s.table ?? '').includes(customer)
          : s.isolation === 'shared'
            ? typeof s.tenantColumn === 'string' && s.tenantColumn.length > 0
            : s.isolation === 'schema'
              ? String(s.schema ?? '').includes(customer)
              : String(s.database ?? '').includes(customer)
      if (!named)
        problems.push(
          `database store ${String(s.name)}: isolation ${String(s.isolation)} does not say how the rows are customer ${customer}'s`,
        )
      continue
    }

    const container = String(s.container ?? '')
    const prefix = String(s.prefix ?? '')
    if (!container.includes(customer) && !prefix.split('/').includes(customer))
      problems.push(
        `store ${String(s.name ?? s.store)}: scope ${container}/${prefix} does not name customer ${customer}`,
      )
  }

  checks.push(
    'every store names the customer in its scope (database stores: tenant column, schema or database; table stores: partition key, row-key prefix or table)',
  )
  return {checked: true, problems, checks}
}

/** Manifests that list files with sizes (log bundles): totals against the files, where present. */
function checkFileManifest(b: Doc): ConsistencyCheck {
  const files = (b.files ?? b.objects) as Doc[] | undefined
  const totals = b.totals as Record<string, number> | undefined
  if (!Array.isArray(files) || !totals) return {checked: false, problems: [], checks: []}
  const problems: string[] = []
  const n = files.length
  const bytes = files.reduce((a, f) => a + ((f.size as number) ?? 0), 0)
  const countField = totals.files !== undefined ? 'files' : totals.objects !== undefined ? 'objects' : undefined
  if (countField && totals[countField] !== n)
    problems.push(`totals.${countField} is ${totals[countField]} but ${n} are listed`)
  if (totals.bytes !== undefined && totals.bytes !== bytes)
    problems.push(`totals.bytes is ${totals.bytes} but the listed sizes add up to ${bytes}`)
  return {checked: true, problems, checks: ['totals equal the sum over the listed files']}
}

// ---------------------------------------------------------------------------- verify a file

/**
 * Verifies any sealed document file (deletion certificate, export manifest, logs manifest): its
 * hash, its signature (with `clients`, to fetch the public key) and that it names what it claims.
 */
export async function verifyEvidenceFile(
  path: string,
  clients?: AzureClients,
  options: VerifyDocumentOptions = {},
): Promise<CertificateVerifyReport> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    throw new CustosError(`The file ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}).`, {
      code: 'FileUnreadable',
      exitCode: ExitCode.usage,
      hint: 'Pass the .json file of a certificate or manifest.',
    })
  }

  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (error) {
    return {
      file: path,
      ...unreadableDocument(
        `the file is not valid JSON (${(error as Error).message.split('\n')[0]}): it was altered or is not a custos document`,
      ),
    }
  }

  // A signature that is not what custos writes is named in one line (exit 1) before verification.
  const signature = (doc as {signature?: unknown} | null)?.signature
  const malformed = signature === undefined || signature === null ? undefined : signatureShapeProblem(signature)
  if (malformed)
    throw new CustosError(`${path} is malformed: ${malformed}; it was altered or is not a custos document.`, {
      code: 'MalformedDocument',
      exitCode: ExitCode.findings,
      hint: 'Verify the copy custos wrote; an altered document proves nothing.',
    })
  return {file: path, ...(await verifySealedDocument(doc, clients, options))}
}

/** Nothing to check against: the consistency part of a report on what could not be read. */
export const CONSISTENCY_NOT_CHECKED: ConsistencyCheck = {checked: false, problems: [], checks: []}

/** The report on a document (or a package's manifest) that cannot be read as one: altered, nothing checked. */
export function unreadableDocument(reason: string): Omit<CertificateVerifyReport, 'file'> {
  return {
    kind: 'unknown',
    valid: false,
    status: 'altered',
    hash: 'invalid',
    signature: 'unverifiable',
    reason,
    consistency: CONSISTENCY_NOT_CHECKED,
  }
}

/**
 * The verdict on one sealed document (parsed JSON of unknown shape): hash, kind, signature and its
 * key, the document's own audit record, and that it names what it claims. Shared by document files
 * and the manifests inside export folders, archives and bundles.
 */
export async function verifySealedDocument(
  doc: unknown,
  clients?: AzureClients,
  options: VerifyDocumentOptions = {},
): Promise<Omit<CertificateVerifyReport, 'file'>> {
  const check = await verifyDocument(doc, clients, {allowUnsigned: options.allowUnsigned ?? true})
  const d = doc as Partial<SealedDocument<unknown>>
  const consistency = check.hash === 'valid' ? checkConsistency(doc) : CONSISTENCY_NOT_CHECKED
  const auditGone = check.audit?.status === 'missing' || check.audit?.status === 'untrusted'
  const status: CertificateVerifyReport['status'] =
    check.hash === 'invalid' || check.signature === 'invalid' || !EVIDENCE_KINDS.has(check.kind) || auditGone
      ? 'altered'
      : consistency.problems.length > 0
        ? 'inconsistent'
        : check.signature === 'unverifiable'
          ? 'unverifiable'
          : check.signature === 'unsigned'
            ? 'unsigned'
            : 'valid'
  const signedBy = d?.signature && typeof d.signature === 'object' ? d.signature.kid : undefined
  return {
    kind: check.kind,
    valid: status === 'valid' || (status === 'unsigned' && check.ok),
    status,
    hash: check.hash,
    signature: check.signature,
    ...(typeof d?.sha256 === 'string' ? {sha256: d.sha256} : {}),
    ...(typeof signedBy === 'string' ? {signedBy: `${String(d.signature!.alg)} ${signedBy}`} : {}),
    ...(check.reason ? {reason: check.reason} : {}),
    ...(check.audit ? {audit: check.audit} : {}),
    consistency,
  }
}
