/**
 * `customer erase`: plan → guards → apply → crypto-shred → verify → certificate, with the audit
 * trail written before and after and a lock so that two erases of one customer never overlap.
 * The command file only parses flags and renders; everything happens here.
 */
import {randomUUID} from 'node:crypto'
import {setMaxListeners} from 'node:events'
import {existsSync} from 'node:fs'
import {chmod} from 'node:fs/promises'
import {basename, join, resolve} from 'node:path'

import {AuditedOperation} from '../audit/operation.js'
import {AuditTrail, referenceTo} from '../audit/trail.js'
import type {AzureClients} from '../azure/clients.js'
import {operatorIdentity} from '../azure/identity.js'
import type {DataMap} from '../datamap/types.js'
import {azureFailure, CustosError, ExitCode, isAbortError, refusedError} from '../errors.js'
import {keyVaultSigner} from '../evidence/signing.js'
import {PRIVATE_FILE_MODE, refuseOverwrite} from '../output/files.js'
import {createScratchDir} from '../output/scratch.js'
import {tracked, type Progress} from '../output/progress.js'
import {formatBytes, formatCount} from '../output/table.js'
import {scopesOf} from '../scope.js'
import type {
  CertificatePart,
  ErasePart,
  ErasePlanFile,
  EraseRun,
  KindVerification,
  PlanSection,
  Residual,
  StoreKind,
} from '../stores/kind.js'
import {storeKinds} from '../stores/kinds.js'
import {TOOL_VERSION} from '../version.js'
import {
  buildCertificateBody,
  certificateBaseFor,
  writeCertificate,
  type FailureSummary,
  type WrittenCertificate,
} from './certificate.js'
import type {CertificateDatabase} from './certificate-document.js'
import {checkExportGuard, refuseUnlessAllPass, type GuardVerdict} from './guards.js'
import {Journal, journalPathFor, type JournalFailure} from './journal.js'
import {acquireEraseLock} from './lock.js'
import {verifyPlanFile, writePlan, isUnfinishedPlan, type PlanKey, type PlanSummary, type StoreTotals} from './plan.js'
import {cryptoErasedStores, shredCustomerKey, type KeyShredResult} from './shred.js'
import type {ErasureVerification} from './verify.js'

export interface EraseHooks {
  progress(label: string, total?: number): Progress
  note(text: string): void
  /**
   * Called after each batch's journal line is written, while the erase lock is held; the run waits
   * for the promise (the crash and lock tests hold a run here, then kill or interrupt it).
   * `signal` aborts when the run is interrupted or loses its lock.
   */
  batchJournaled?(batchesWritten: number, signal: AbortSignal): Promise<void>
  /** an apply's step starts (the command shows the stages; the journal and records are unaffected) */
  stage?(name: (typeof ERASE_STAGES)[number]): Promise<void> | void
}

export const ERASE_STAGES = ['plan', 'guards', 'delete', 'shred', 'verify', 'certificate'] as const

export interface EraseOptions {
  customer: string
  /** plan only: write the plan (to `planOut`, or nowhere lasting for a dry run) and change nothing */
  planOnly: boolean
  /** apply this plan instead of making one */
  planPath?: string
  /** where to write a new plan */
  planOut?: string
  /** --yes: no confirmation */
  yes: boolean
  /** false with --no-export-required */
  exportRequired: boolean
  /** base path of the certificate files (`.json`, `.txt`, `.html` are appended) */
  certificateBase?: string
  /** the flag as the operator typed it (`-o` / `--output` / `--certificate-out`), for refusals */
  certificateFlag?: string
  /** replace a plan (`planOut`) or certificate files that exist (--force); otherwise that is refused (exit 3) before anything is read */
  force?: boolean
  /** batch requests in flight */
  concurrency: number
  /** attempts per throttled request */
  retries: number
  abortSignal?: AbortSignal
  /** asks the operator to type the customer id; required unless `yes` */
  confirm?: (summary: string) => Promise<boolean>
  hooks?: EraseHooks
  /** key delete poller interval */
  keyPollIntervalInMs?: number
  /** VACUUM the database tables emptied (--vacuum); the certificate says whether it ran */
  vacuum?: boolean
}

export interface ErasePlanResult {
  file?: string
  fingerprint: string
  createdAt: string
  items: number
  bytes: number
  stores: StoreTotals[]
  key: PlanKey
  /** the other store kinds' plans (databases: rows per table), when the data map has them */
  sections?: PlanSection[]
}

export interface EraseApplyResult {
  journal: string
  resumed: boolean
  stores: Array<{
    store: string
    deleted: number
    deletedBytes: number
    alreadyGone: number
    retained: number
    failed: number
    softDeleted: number
    purged: number
    batches: number
    container?: string
  }>
  failures: number
}

/** What `customer erase --json` prints. */
export interface EraseOutcome {
  customer: string
  mode: 'plan' | 'apply'
  operationId: string
  plan: ErasePlanResult
  guards: GuardVerdict[]
  apply?: EraseApplyResult
  key?: KeyShredResult
  verification?: ErasureVerification
  /** the database stores as the certificate states them (when the data map has databases) */
  databases?: CertificateDatabase[]
  /** what still holds the erased data, until when (database backups) */
  residuals?: Residual[]
  certificate?: WrittenCertificate
  /** 0 done, 1 the final listing found residue or items failed */
  exitCode: 0 | 1
}

const silentHooks: EraseHooks = {progress: () => ({increment() {}, setTotal() {}, note() {}, stop() {}}), note() {}}

function planResult(summary: PlanSummary, file?: string): ErasePlanResult {
  return {
    ...(file ? {file} : {}),
    fingerprint: summary.trailer.fingerprint,
    createdAt: summary.header.createdAt,
    items: summary.trailer.items,
    bytes: summary.trailer.bytes,
    stores: summary.trailer.stores,
    key: summary.header.key,
    ...(summary.header.sections ? {sections: summary.header.sections} : {}),
  }
}

export function defaultPlanPath(customer: string, now = new Date()): string {
  return resolve(
    `custos-erase-${customer}-${now
      .toISOString()
      .replaceAll(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z')}.plan.json`,
  )
}

/** Plans, and unless `planOnly`, applies the erase of one customer. */
export async function eraseCustomer(clients: AzureClients, map: DataMap, options: EraseOptions): Promise<EraseOutcome> {
  scopesOf(map, options.customer) // checks the customer id before anything else
  const kinds = storeKinds(clients, map, options.customer)
  // every kind's own check (a database's catalog: a map that would erase too little or too much) first
  for (const kind of kinds) await kind.check({abortSignal: options.abortSignal})
  const erasing: Kinds = kinds.map((kind) => ({kind, part: kind.erase()}))
  return options.planOnly ? planErase(clients, map, options, erasing) : applyErase(clients, map, options, erasing)
}

/** The store kinds of the erase, each with its erase part. The blob kind comes first (kinds.ts). */
type Kinds = Array<{kind: StoreKind; part: ErasePart}>

function sectionOf(summary: PlanSummary, kind: StoreKind): PlanSection | undefined {
  return summary.header.sections?.find((s) => s.kind === kind.kind)
}

async function makePlan(
  clients: AzureClients,
  map: DataMap,
  options: EraseOptions,
  path: string,
  operationId: string,
  trail: AuditTrail,
  kinds: Kinds,
): Promise<PlanSummary> {
  const hooks = options.hooks ?? silentHooks
  const operation = await AuditedOperation.start(trail, {action: 'erase.plan', customer: options.customer, operationId})
  const progress = hooks.progress(`Listing ${options.customer}`)
  try {
    const sections: PlanSection[] = []
    for (const {part} of kinds) {
      const section = await part.plan({abortSignal: options.abortSignal})
      if (section) sections.push(section)
    }

    const summary = await tracked(progress, () =>
      writePlan(clients, map, options.customer, {
        sections,
        path,
        abortSignal: options.abortSignal,
        onItem: () => progress.increment(1, 1),
      }),
    )
    // A plan replaced with --force keeps the mode of the file it replaced; plans are private.
    await chmod(path, PRIVATE_FILE_MODE)
    await operation.succeeded({
      plan: basename(path),
      fingerprint: summary.trailer.fingerprint,
      items: summary.trailer.items,
      bytes: summary.trailer.bytes,
      ...rowsOf(summary),
    })
    return summary
  } catch (error) {
    await operation.failed(error, {error: (error as Error).message})
    throw error
  }
}

/**
 * An existing plan is replaced only with --force (exit 3 otherwise), except a plan cut short by a
 * kill while listing (no trailer, no journal): that one is made again, as before.
 */
async function refuseExistingPlan(path: string, customer: string, force?: boolean): Promise<void> {
  const unfinished = (await isUnfinishedPlan(path, customer)) && !existsSync(journalPathFor(path))
  refuseOverwrite([path], '--plan-out', force || unfinished)
}

/** `{rows}` planned in the database stores, for the audit trail; nothing for a blob-only plan. */
function rowsOf(summary: PlanSummary): {rows?: number} {
  const sections = summary.header.sections ?? []
  if (sections.length === 0) return {}
  return {rows: sections.flatMap((s) => s.stores).reduce((n, st) => n + (typeof st.rows === 'number' ? st.rows : 0), 0)}
}

async function planErase(
  clients: AzureClients,
  map: DataMap,
  options: EraseOptions,
  kinds: Kinds,
): Promise<EraseOutcome> {
  const operationId = randomUUID()
  const trail = new AuditTrail(clients)
  if (options.planOut) await refuseExistingPlan(resolve(options.planOut), options.customer, options.force)

  // a dry run's plan lasts only as long as the run (a killed run's folder is swept by the next one)
  const scratch = options.planOut ? undefined : await createScratchDir('erase-plan')
  const path = options.planOut ? resolve(options.planOut) : join(scratch!.path, 'plan.json')
  try {
    const summary = await makePlan(clients, map, options, path, operationId, trail, kinds)
    const guards: GuardVerdict[] = [
      await checkExportGuard(clients, map, options.customer, {required: options.exportRequired}),
    ]
    const run = {
      plan: {path, summary, fresh: true, resumed: false},
      planOnly: true,
      abortSignal: options.abortSignal,
      progress: (options.hooks ?? silentHooks).progress,
    }
    for (const {kind, part} of kinds) guards.push(...(await part.guard(sectionOf(summary, kind), run)))
    return {
      customer: options.customer,
      mode: 'plan',
      operationId,
      plan: planResult(summary, options.planOut ? path : undefined),
      guards,
      exitCode: 0,
    }
  } finally {
    await scratch?.remove()
  }
}

/** What every step of an apply shares. */
interface ApplyContext {
  clients: AzureClients
  map: DataMap
  options: EraseOptions
  kinds: Kinds
  customer: string
  hooks: EraseHooks
  operationId: string
  trail: AuditTrail
  planPath: string
  certificateBase: string
  certificateFiles: string[]
  /** aborts on Ctrl-C and when the erase lock is lost */
  signal: AbortSignal
}

/**
 * Applies a plan (made here, or given with --plan): plan → journal → guards → confirmation →
 * `started` record → every kind's deletes → crypto-shredding → verification → certificate →
 * `succeeded`/`failed` record; the erase lock is held throughout.
 */
async function applyErase(
  clients: AzureClients,
  map: DataMap,
  options: EraseOptions,
  kinds: Kinds,
): Promise<EraseOutcome> {
  const {customer} = options
  const operationId = randomUUID()
  const startedAt = new Date()
  const operator = await operatorIdentity(clients)
  const {planPath, certificateBase, certificateFiles} = await checkBeforeLocking(options)

  const lock = await acquireEraseLock(clients, customer, {
    operationId,
    holder: operator.name,
    abortSignal: options.abortSignal,
  })
  const signal = options.abortSignal ? AbortSignal.any([options.abortSignal, lock.lost]) : lock.lost
  // Every request in flight listens on it (up to --concurrency batches plus their retries).
  setMaxListeners(Math.max(64, options.concurrency * 4), signal)
  const ctx: ApplyContext = {
    clients,
    map,
    options,
    kinds,
    customer,
    hooks: options.hooks ?? silentHooks,
    operationId,
    trail: new AuditTrail(clients),
    planPath,
    certificateBase,
    certificateFiles,
    signal,
  }
  let journal: Journal | undefined
  /** the `erase.apply` operation, from its `started` record until its outcome is recorded */
  let operation: AuditedOperation | undefined
  try {
    await ctx.hooks.stage?.('plan')
    const {summary, fresh} = await loadOrMakePlan(ctx)
    journal = await openJournal(ctx, summary)
    const planFile: ErasePlanFile = {path: planPath, summary, fresh, resumed: journal.resumed}
    await ctx.hooks.stage?.('guards')
    const guards = await runGuards(ctx, planFile)
    await confirmOrRefuse(ctx, summary, guards)
    operation = await AuditedOperation.start(ctx.trail, {
      action: 'erase.apply',
      customer,
      operationId,
      details: {
        plan: basename(planPath),
        fingerprint: summary.trailer.fingerprint,
        items: summary.trailer.items,
        bytes: summary.trailer.bytes,
        ...rowsOf(summary),
        resumed: journal.resumed,
      },
    })
    await ctx.hooks.stage?.('delete')
    await deleteInEveryKind(ctx, planFile, journal)
    await ctx.hooks.stage?.('shred')
    const key = await shredKey(ctx, journal)
    await ctx.hooks.stage?.('verify')
    const checked = await verifyEveryKind(ctx, summary, journal)
    await ctx.hooks.stage?.('certificate')
    const failures = failureSummaries(journal)
    const body = buildCertificateBody({
      customer,
      operator,
      toolVersion: TOOL_VERSION,
      operationId,
      startedAt,
      finishedAt: new Date(),
      planPath,
      header: summary.header,
      trailer: summary.trailer,
      guards,
      progress: (store) => journal!.progress(store),
      failures,
      key,
      cryptoErased: await cryptoErasedStores(clients, customer, key, {abortSignal: signal}),
      verification: checked.verification,
      audit: referenceTo(operation.started),
      parts: checked.parts,
      residuals: checked.residuals,
    })
    const files = await certify(ctx, body, journal)
    const ok = body.verification.result !== 'residue' && failures.length === 0
    const outcome = operation
    operation = undefined // the outcome below is the record of this run
    await outcome.succeeded(outcomeDetails(planPath, summary, body, failures, key, files), ok ? 'succeeded' : 'failed')
    return applyResult(ctx, {summary, guards, journal, body, checked, key, files, failures, ok})
  } catch (error) {
    await operation?.failed(error, {
      reason: isAbortError(error) ? 'interrupted' : ((error as CustosError).code ?? 'error'),
      message: (error as Error).message,
    })

    if (isAbortError(error) && lock.lost.aborted) {
      throw azureFailure(
        'EraseLockLost',
        `The erase of ${customer} stopped: ${(lock.lost.reason as Error).message}.`,
        'Run again with the same plan to resume; the journal keeps what was done.',
        lock.lost.reason,
      )
    }

    throw error
  } finally {
    await journal?.close()
    await lock.release()
  }
}

/**
 * What an apply refuses before anything is locked or listed: a run nobody can confirm, and plan or
 * certificate files it would replace without --force. Returns where the plan and certificate go.
 */
async function checkBeforeLocking(
  options: EraseOptions,
): Promise<{planPath: string; certificateBase: string; certificateFiles: string[]}> {
  const {customer} = options
  if (!options.yes && !options.confirm)
    throw new CustosError('Refusing to erase without --yes: nobody can type the confirmation here.', {
      code: 'ConfirmationRequired',
      exitCode: ExitCode.usage,
      hint: 'Add --yes (for jobs), or use --dry-run / --plan-out to only plan.',
    })
  // An existing plan or certificate is replaced only with --force (a finished erase's certificate is
  // evidence) — checked before anything is locked or listed, except that a re-run of a plan (which
  // retries what failed) replaces the certificate its earlier run wrote: its journal says so (openJournal).
  const planPath = resolve(options.planPath ?? options.planOut ?? defaultPlanPath(customer))
  const certificateBase = options.certificateBase ?? certificateBaseFor(planPath)
  const certificateFiles = ['.json', '.txt', '.html'].map((extension) => `${certificateBase}${extension}`)
  if (!options.planPath) {
    await refuseExistingPlan(planPath, customer, options.force)
    refuseOverwrite(certificateFiles, options.certificateFlag ?? '--certificate-out', options.force)
  }

  return {planPath, certificateBase, certificateFiles}
}

/** The plan given with --plan, checked whole against the data map; or a new one, made now. */
async function loadOrMakePlan(ctx: ApplyContext): Promise<{summary: PlanSummary; fresh: boolean}> {
  const {options, planPath} = ctx
  if (options.planPath) {
    const names = ctx.kinds.map(({kind}) => ({kind: kind.kind, names: kind.names}))
    return {summary: await verifyPlanFile(planPath, ctx.map, ctx.customer, undefined, names), fresh: false}
  }

  const summary = await makePlan(ctx.clients, ctx.map, options, planPath, ctx.operationId, ctx.trail, ctx.kinds)
  ctx.hooks.note(`Plan written to ${planPath}; if this run is interrupted, resume with --plan ${planPath} --yes.`)
  return {summary, fresh: true}
}

/** The plan's journal: what earlier runs did; the certificate they wrote may be replaced by this run. */
async function openJournal(ctx: ApplyContext, summary: PlanSummary): Promise<Journal> {
  const journal = await Journal.open(journalPathFor(ctx.planPath), summary.trailer.fingerprint, ctx.operationId)
  try {
    const earlier = new Set([...journal.certificates].map((file) => resolve(file)))
    if (!earlier.has(resolve(ctx.certificateFiles[0])))
      refuseOverwrite(ctx.certificateFiles, ctx.options.certificateFlag ?? '--certificate-out', ctx.options.force)
  } catch (error) {
    await journal.close()
    throw error
  }

  if (journal.resumed)
    ctx.hooks.note(`Resuming: the journal ${journal.path} holds ${journal.resumedBatches} finished batch(es).`)
  return journal
}

/** The export guard, then every kind's own guards (holds, the plan's fingerprint). */
async function runGuards(ctx: ApplyContext, plan: ErasePlanFile): Promise<GuardVerdict[]> {
  const guards: GuardVerdict[] = [
    await checkExportGuard(ctx.clients, ctx.map, ctx.customer, {required: ctx.options.exportRequired}),
  ]
  for (const {kind, part} of ctx.kinds)
    guards.push(
      ...(await part.guard(sectionOf(plan.summary, kind), {
        plan,
        abortSignal: ctx.signal,
        progress: ctx.hooks.progress,
      })),
    )
  return guards
}

/** Refuses (exit 3, audited) when a guard refuses or the typed id does not match. */
async function confirmOrRefuse(ctx: ApplyContext, summary: PlanSummary, guards: GuardVerdict[]): Promise<void> {
  try {
    refuseUnlessAllPass(ctx.customer, guards)
    if (!ctx.options.yes && !(await ctx.options.confirm!(describePlan(summary)))) {
      throw refusedError(
        'NotConfirmed',
        `Erase of customer ${ctx.customer} not confirmed: the typed id did not match.`,
        'Nothing was deleted.',
      )
    }
  } catch (error) {
    await AuditedOperation.refused(ctx.trail, {
      action: 'erase.apply',
      customer: ctx.customer,
      operationId: ctx.operationId,
      details: {
        plan: basename(ctx.planPath),
        fingerprint: summary.trailer.fingerprint,
        reason: (error as CustosError).code,
        message: (error as Error).message,
      },
    })
    throw error
  }
}

/** Every kind deletes what the plan lists, journaling as it goes. */
async function deleteInEveryKind(ctx: ApplyContext, plan: ErasePlanFile, journal: Journal): Promise<void> {
  const {hooks, signal} = ctx
  const run: EraseRun = {
    customer: ctx.customer,
    plan,
    concurrency: ctx.options.concurrency,
    retries: ctx.options.retries,
    journal,
    abortSignal: signal,
    progress: hooks.progress,
    note: hooks.note,
    batchJournaled: async () => {
      await hooks.batchJournaled?.(journal.batchesWritten, signal)
    },
    vacuum: Boolean(ctx.options.vacuum),
  }
  for (const {kind, part} of ctx.kinds) await part.apply(sectionOf(plan.summary, kind), run)
}

/** Crypto-shredding: the customer key deleted and purged; journaled. */
async function shredKey(ctx: ApplyContext, journal: Journal): Promise<KeyShredResult> {
  ctx.hooks.note(
    ctx.map.keys?.customerKey
      ? 'Crypto-shredding the customer key…'
      : 'No customer key configured: no crypto-shredding.',
  )
  let key = await shredCustomerKey(ctx.clients, ctx.customer, {
    abortSignal: ctx.signal,
    pollIntervalInMs: ctx.options.keyPollIntervalInMs,
  })
  // A run killed after crypto-shredding journaled the purge; this run then finds no key at all.
  // The certificate reports what was done to the key, not that it "was not found".
  if (key.state === 'absent' && journal.priorKey?.state === 'purged')
    key = {...key, state: 'purged', unrecoverableFrom: journal.priorKey.time}
  await journal.append({
    type: 'key',
    time: new Date().toISOString(),
    state: key.state,
    ...(key.scheduledPurgeDate ? {scheduledPurgeDate: key.scheduledPurgeDate} : {}),
  })
  return key
}

/** Every kind counts what is left, names its residuals and its part of the certificate. */
async function verifyEveryKind(
  ctx: ApplyContext,
  summary: PlanSummary,
  journal: Journal,
): Promise<{
  verification: ErasureVerification
  residuals: Residual[]
  parts: Array<{part: CertificatePart; verification: KindVerification}>
}> {
  ctx.hooks.note('Verifying: listing every scope again…')
  const verifications: KindVerification[] = []
  for (const {kind, part} of ctx.kinds)
    verifications.push(await part.verify(sectionOf(summary, kind), {abortSignal: ctx.signal}))
  const erasedAt = new Date()
  const residuals: Residual[] = []
  const parts: Array<{part: CertificatePart; verification: KindVerification}> = []
  for (const [i, {kind, part}] of ctx.kinds.entries()) {
    residuals.push(...(await part.residuals(sectionOf(summary, kind), erasedAt)))
    const certificatePart = part.certificate(sectionOf(summary, kind), journal, verifications[i])
    if (Object.keys(certificatePart).length > 0) parts.push({part: certificatePart, verification: verifications[i]})
  }

  // the blob kind is always first (kinds.ts); its listing is the certificate's object verification
  return {verification: verifications[0] as ErasureVerification, residuals, parts}
}

type CertificateBody = ReturnType<typeof buildCertificateBody>

/** Seals and writes the certificate (private files) and journals it. */
async function certify(ctx: ApplyContext, body: CertificateBody, journal: Journal): Promise<WrittenCertificate> {
  const {files} = await writeCertificate(body, ctx.certificateBase, keyVaultSigner(ctx.clients))
  // Private like everything custos writes, also where --force replaced files of another mode.
  await Promise.all([files.json, files.text, files.html].map((file) => chmod(file, PRIVATE_FILE_MODE)))
  await journal.append({
    type: 'finished',
    time: new Date().toISOString(),
    certificate: files.json,
    sha256: files.sha256,
  })
  return files
}

/** What the `erase.apply` outcome record says (a later erase's guards and `backups verify` read it). */
function outcomeDetails(
  planPath: string,
  summary: PlanSummary,
  body: CertificateBody,
  failures: FailureSummary[],
  key: KeyShredResult,
  files: WrittenCertificate,
): Record<string, unknown> {
  return {
    plan: basename(planPath),
    fingerprint: summary.trailer.fingerprint,
    deleted: body.totals.deleted.items,
    deletedBytes: body.totals.deleted.bytes,
    alreadyGone: body.totals.alreadyGone.items,
    failed: failures.filter((f) => f.primary).length,
    verification: body.verification.result,
    ...(body.databases ? {deletedRows: body.databases.reduce((n, d) => n + d.deleted.rows, 0)} : {}),
    // backups verify flags a retired customer's database backups only past these dates
    ...(body.residuals
      ? {residuals: body.residuals.map((r) => ({store: r.store, ...(r.until ? {until: r.until} : {})}))}
      : {}),
    key: key.state,
    certificate: basename(files.json),
    certificateSha256: files.sha256,
    signed: files.signed,
  }
}

/** What an applied erase returns to the command, from its certificate and journal. */
function applyResult(
  ctx: ApplyContext,
  run: {
    summary: PlanSummary
    guards: GuardVerdict[]
    journal: Journal
    body: CertificateBody
    checked: Awaited<ReturnType<typeof verifyEveryKind>>
    key: KeyShredResult
    files: WrittenCertificate
    failures: FailureSummary[]
    ok: boolean
  },
): EraseOutcome {
  const {summary, guards, journal, body, checked, key, files, failures, ok} = run
  return {
    customer: ctx.customer,
    mode: 'apply',
    operationId: ctx.operationId,
    plan: planResult(summary, ctx.planPath),
    guards,
    apply: {
      journal: journal.path,
      resumed: journal.resumed,
      stores: body.stores.map((s) => ({
        store: s.store,
        deleted: s.deleted.items,
        deletedBytes: s.deleted.bytes,
        alreadyGone: s.alreadyGone.items,
        retained: s.retained.items,
        failed: s.failed.items,
        softDeleted: s.softDeleted,
        purged: s.purged,
        batches: s.batches,
        container: s.containerDeletion.action,
      })),
      failures: failures.length,
    },
    key,
    verification: checked.verification,
    ...(body.databases ? {databases: body.databases} : {}),
    ...(body.residuals ? {residuals: body.residuals} : {}),
    certificate: files,
    exitCode: ok ? 0 : 1,
  }
}

function failureSummaries(journal: Journal): FailureSummary[] {
  return [...journal.unresolved.values()].map((f: JournalFailure & {store: string; phase: string}) => ({
    store: f.store,
    primary: f.primary,
    size: f.size,
    text: `${f.phase} ${f.key[0]}${f.key[1] ? ` (snapshot ${f.key[1]})` : ''}${f.key[2] ? ` (version ${f.key[2]})` : ''} failed: ${f.status ?? ''}${f.code ? ` ${f.code}` : ''}${f.message ? `: ${f.message}` : ''}`.replaceAll(
      /\s+/g,
      ' ',
    ),
  }))
}

/** The lines shown before the operator types the customer id. */
function describePlan(summary: PlanSummary): string {
  const lines = [
    `Erase customer ${summary.header.customer}: ${formatCount(summary.trailer.items)} objects, ${formatBytes(summary.trailer.bytes)} (plan ${summary.trailer.fingerprint.slice(0, 12)}…)`,
  ]
  for (const s of summary.trailer.stores) {
    const ps = summary.header.stores.find((p) => p.store === s.store)
    lines.push(
      `  ${s.store}: ${ps ? `${ps.accountName}/${ps.container}/${ps.prefix}` : ''} ${formatCount(s.items)} objects, ${formatBytes(s.bytes)}`,
    )
  }

  for (const section of summary.header.sections ?? []) {
    for (const st of section.stores) {
      const tables = Array.isArray(st.tables) ? st.tables.length : 0
      lines.push(
        `  ${st.store}: ${section.kind} ${String(st.database ?? '')}${st.schema ? `/${String(st.schema)}` : ''} ${formatCount(Number(st.rows ?? 0))} rows in ${tables} table(s) (${String(st.method ?? '')})`,
      )
    }
  }

  const k = summary.header.key
  lines.push(
    k.state === 'not-configured'
      ? '  no customer key configured'
      : `  customer key ${k.name}: ${k.state} (will be deleted and purged)`,
  )
  return lines.join('\n')
}
