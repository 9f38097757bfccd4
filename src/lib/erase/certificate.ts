/**
 * Builds the deletion certificate of an erase run and writes it: a sealed document
 * (evidence/envelope.ts, kind `custos.deletion-certificate`, shape in certificate-document.ts) with
 * readable text and HTML renderings beside it. It says who erased which customer when, how (per
 * store: delete, purge; for the key: crypto-erase), how much, under which request ids, what failed,
 * what soft delete still keeps and until when, and what the final listing found. Its SHA-256 covers
 * the canonical JSON of the body; with `keys.signingKey` configured, Key Vault signs that hash.
 *
 * Verifying a certificate (or any sealed document) is evidence/'s work: evidence/verify-document.ts.
 */
import {writeFile} from 'node:fs/promises'
import {basename} from 'node:path'

import type {OperatorIdentity} from '../azure/identity.js'
import {sealDocument, type AuditReference} from '../evidence/envelope.js'
import type {Signer} from '../evidence/signing.js'
import type {CertificatePart, KindVerification, Residual} from '../stores/kind.js'
import {
  CERTIFICATE_KIND,
  type Amount,
  type CertificateStore,
  type DeletionCertificate,
  type DeletionCertificateBody,
  type StoreMethod,
} from './certificate-document.js'
import type {GuardVerdict} from './guards.js'
import type {BatchStats, StoreProgress} from './journal.js'
import type {PlanHeader, PlanStore, PlanTrailer, StoreTotals} from './plan.js'
import {renderCertificateHtml, renderCertificateText} from './render-certificate.js'
import type {CryptoErasedStore, KeyShredResult} from './shred.js'
import type {ErasureVerification, StoreVerification} from './verify.js'

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
