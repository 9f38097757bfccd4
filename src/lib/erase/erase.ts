/**
 * `customer erase`: plan → guards → apply → crypto-shred → verify → certificate, with the audit
 * trail written before and after and a lock so that two erases of one customer never overlap.
 * The command file only parses flags and renders; everything happens here.
 */
import {randomUUID} from 'node:crypto'
import {setMaxListeners} from 'node:events'
import {existsSync} from 'node:fs'
import {chmod, mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {basename, join, resolve} from 'node:path'

import {AuditTrail, referenceTo, type AuditResult} from '../audit/trail.js'
import type {AzureClients} from '../azure/clients.js'
import {operatorIdentity} from '../azure/identity.js'
import {refuseDatabaseStores} from '../stores/pending.js'
import type {DataMap} from '../datamap/types.js'
import {azureFailure, CustosError, ExitCode, fromAzureError, isAbortError, refusedError} from '../errors.js'
import {keyVaultSigner} from '../evidence/signing.js'
import {listScope} from '../inventory/listing.js'
import {PRIVATE_FILE_MODE, refuseOverwrite} from '../output/files.js'
import {tracked, type Progress} from '../output/progress.js'
import {formatBytes, formatCount} from '../output/table.js'
import {scopesOf, type Scope} from '../scope.js'
import {TOOL_VERSION} from '../version.js'
import {runPhase, type PhaseContext} from './batch.js'
import {
  buildCertificateBody,
  certificateBaseFor,
  writeCertificate,
  type FailureSummary,
  type WrittenCertificate,
} from './certificate.js'
import {
  checkExportGuard,
  checkFingerprintGuard,
  checkHoldGuard,
  refuseUnlessAllPass,
  type GuardVerdict,
} from './guards.js'
import {Journal, PHASES, journalPathFor, type JournalBatch, type JournalFailure} from './journal.js'
import {acquireEraseLock} from './lock.js'
import {
  readPlanItems,
  storeConfigs,
  verifyPlanFile,
  writePlan,
  isUnfinishedPlan,
  type PlanKey,
  type PlanSummary,
  type StoreTotals,
} from './plan.js'
import {cryptoErasedStores, shredCustomerKey, type KeyShredResult} from './shred.js'
import {verifyErasure, type ErasureVerification} from './verify.js'

export interface EraseHooks {
  progress(label: string, total?: number): Progress
  note(text: string): void
  /**
   * Called after each batch's journal line is written, while the erase lock is held; the run waits
   * for the promise (the crash and lock tests hold a run here, then kill or interrupt it).
   * `signal` aborts when the run is interrupted or loses its lock.
   */
  batchJournaled?(batchesWritten: number, signal: AbortSignal): Promise<void>
}

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
}

export interface ErasePlanResult {
  file?: string
  fingerprint: string
  createdAt: string
  items: number
  bytes: number
  stores: StoreTotals[]
  key: PlanKey
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
  refuseDatabaseStores(map, 'erase') // again here, for every caller besides the command (demo)
  return options.planOnly ? planErase(clients, map, options) : applyErase(clients, map, options)
}

async function makePlan(
  clients: AzureClients,
  map: DataMap,
  options: EraseOptions,
  path: string,
  operationId: string,
  trail: AuditTrail,
): Promise<PlanSummary> {
  const hooks = options.hooks ?? silentHooks
  await trail.append({action: 'erase.plan', result: 'started', customer: options.customer, operationId})
  const progress = hooks.progress(`Listing ${options.customer}`)
  try {
    const summary = await tracked(progress, () =>
      writePlan(clients, map, options.customer, {
        path,
        abortSignal: options.abortSignal,
        onItem: () => progress.increment(1, 1),
      }),
    )
    // A plan replaced with --force keeps the mode of the file it replaced; plans are private.
    await chmod(path, PRIVATE_FILE_MODE)
    await trail.append({
      action: 'erase.plan',
      result: 'succeeded',
      customer: options.customer,
      operationId,
      details: {
        plan: basename(path),
        fingerprint: summary.trailer.fingerprint,
        items: summary.trailer.items,
        bytes: summary.trailer.bytes,
      },
    })
    return summary
  } catch (error) {
    await appendQuietly(trail, {
      action: 'erase.plan',
      result: isRefusal(error) ? 'refused' : 'failed',
      customer: options.customer,
      operationId,
      details: {error: (error as Error).message},
    })
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

async function planErase(clients: AzureClients, map: DataMap, options: EraseOptions): Promise<EraseOutcome> {
  const operationId = randomUUID()
  const trail = new AuditTrail(clients)
  if (options.planOut) await refuseExistingPlan(resolve(options.planOut), options.customer, options.force)

  const scratch = options.planOut ? undefined : await mkdtemp(join(tmpdir(), 'custos-plan-'))
  const path = options.planOut ? resolve(options.planOut) : join(scratch!, 'plan.json')
  try {
    const summary = await makePlan(clients, map, options, path, operationId, trail)
    const guards = [
      await checkExportGuard(clients, map, options.customer, {required: options.exportRequired}),
      await checkHoldGuard(clients, map, scopesOf(map, options.customer), readPlanItems(path), {
        abortSignal: options.abortSignal,
      }),
      {guard: 'fingerprint' as const, ok: true, skipped: true, message: 'checked when the plan is applied'},
    ]
    return {
      customer: options.customer,
      mode: 'plan',
      operationId,
      plan: planResult(summary, options.planOut ? path : undefined),
      guards,
      exitCode: 0,
    }
  } finally {
    if (scratch) await rm(scratch, {recursive: true, force: true})
  }
}

async function applyErase(clients: AzureClients, map: DataMap, options: EraseOptions): Promise<EraseOutcome> {
  const {customer} = options
  const hooks = options.hooks ?? silentHooks
  const scopes = scopesOf(map, customer)
  const operationId = randomUUID()
  const startedAt = new Date()
  const operator = await operatorIdentity(clients)
  const trail = new AuditTrail(clients)
  if (!options.yes && !options.confirm)
    throw new CustosError('Refusing to erase without --yes: nobody can type the confirmation here.', {
      code: 'ConfirmationRequired',
      exitCode: ExitCode.usage,
      hint: 'Add --yes (for jobs), or use --dry-run / --plan-out to only plan.',
    })
  // An existing plan or certificate is replaced only with --force (a finished erase's certificate is
  // evidence) — checked before anything is locked or listed, except that a re-run of a plan (which
  // retries what failed) replaces the certificate its earlier run wrote: its journal says so, below.
  const planPath = resolve(options.planPath ?? options.planOut ?? defaultPlanPath(customer))
  const certificateBase = options.certificateBase ?? certificateBaseFor(planPath)
  const certificateFiles = ['.json', '.txt', '.html'].map((extension) => `${certificateBase}${extension}`)
  if (!options.planPath) {
    await refuseExistingPlan(planPath, customer, options.force)
    refuseOverwrite(certificateFiles, '--certificate-out', options.force)
  }

  const lock = await acquireEraseLock(clients, customer, {
    operationId,
    holder: operator.name,
    abortSignal: options.abortSignal,
  })
  const signal = options.abortSignal ? AbortSignal.any([options.abortSignal, lock.lost]) : lock.lost
  // Every request in flight listens on it (up to --concurrency batches plus their retries).
  setMaxListeners(Math.max(64, options.concurrency * 4), signal)
  let journal: Journal | undefined
  let started = false
  let audited = false
  try {
    let summary: PlanSummary
    let fresh = false
    if (options.planPath) {
      summary = await verifyPlanFile(planPath, map, customer)
    } else {
      summary = await makePlan(clients, map, options, planPath, operationId, trail)
      fresh = true
      hooks.note(`Plan written to ${planPath}; if this run is interrupted, resume with --plan ${planPath} --yes.`)
    }

    journal = await Journal.open(journalPathFor(planPath), summary.trailer.fingerprint, operationId)
    const earlier = new Set([...journal.certificates].map((file) => resolve(file)))
    if (!earlier.has(resolve(certificateFiles[0])))
      refuseOverwrite(certificateFiles, '--certificate-out', options.force)
    if (journal.resumed)
      hooks.note(`Resuming: the journal ${journal.path} holds ${journal.resumedBatches} finished batch(es).`)

    const guards: GuardVerdict[] = [
      await checkExportGuard(clients, map, customer, {required: options.exportRequired}),
      await checkHoldGuard(clients, map, scopes, readPlanItems(planPath), {abortSignal: signal}),
    ]
    if (guards.some((g) => !g.ok)) {
      guards.push({guard: 'fingerprint', ok: true, skipped: true, message: 'not checked (refused already)'})
    } else if (fresh) {
      guards.push({
        guard: 'fingerprint',
        ok: true,
        message: `plan made by this run (fingerprint ${summary.trailer.fingerprint.slice(0, 12)}…)`,
      })
    } else {
      const progress = hooks.progress('Comparing with the plan', summary.trailer.items)
      const resumed = journal.resumed
      guards.push(
        await tracked(progress, () =>
          checkFingerprintGuard(clients, map, scopes, planPath, summary, {
            resumed,
            abortSignal: signal,
            onItem: () => progress.increment(1, 1),
          }),
        ),
      )
    }

    try {
      refuseUnlessAllPass(customer, guards)
      if (!options.yes && !(await options.confirm!(describePlan(summary)))) {
        throw refusedError(
          'NotConfirmed',
          `Erase of customer ${customer} not confirmed: the typed id did not match.`,
          'Nothing was deleted.',
        )
      }
    } catch (error) {
      audited = true
      await trail.append({
        action: 'erase.apply',
        result: 'refused',
        customer,
        operationId,
        details: {
          plan: basename(planPath),
          fingerprint: summary.trailer.fingerprint,
          reason: (error as CustosError).code,
          message: (error as Error).message,
        },
      })
      throw error
    }

    const startedRecord = await trail.append({
      action: 'erase.apply',
      result: 'started',
      customer,
      operationId,
      details: {
        plan: basename(planPath),
        fingerprint: summary.trailer.fingerprint,
        items: summary.trailer.items,
        bytes: summary.trailer.bytes,
        resumed: journal.resumed,
      },
    })
    started = true

    await deleteEverything(clients, map, scopes, planPath, summary, journal, options, hooks, signal)
    for (const [i, scope] of scopes.entries()) {
      if (scope.ownsContainer && summary.header.stores[i].exists)
        await deleteOwnedContainer(clients, scope, storeConfigs(map)[i].config.account, journal, signal)
    }

    hooks.note(
      map.keys?.customerKey ? 'Crypto-shredding the customer key…' : 'No customer key configured: no crypto-shredding.',
    )
    let key = await shredCustomerKey(clients, customer, {
      abortSignal: signal,
      pollIntervalInMs: options.keyPollIntervalInMs,
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

    const cryptoErased = await cryptoErasedStores(clients, customer, key, {abortSignal: signal})

    hooks.note('Verifying: listing every scope again…')
    const verification = await verifyErasure(clients, map, scopes, {abortSignal: signal})

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
      cryptoErased,
      verification,
      audit: referenceTo(startedRecord),
    })
    const {files} = await writeCertificate(body, certificateBase, keyVaultSigner(clients))
    // Private like everything custos writes, also where --force replaced files of another mode.
    await Promise.all([files.json, files.text, files.html].map((file) => chmod(file, PRIVATE_FILE_MODE)))
    await journal.append({
      type: 'finished',
      time: new Date().toISOString(),
      certificate: files.json,
      sha256: files.sha256,
    })
    const failed = failures.filter((f) => f.primary).length
    const ok = verification.result !== 'residue' && failures.length === 0
    audited = true
    await trail.append({
      action: 'erase.apply',
      result: ok ? 'succeeded' : 'failed',
      customer,
      operationId,
      details: {
        plan: basename(planPath),
        fingerprint: summary.trailer.fingerprint,
        deleted: body.totals.deleted.items,
        deletedBytes: body.totals.deleted.bytes,
        alreadyGone: body.totals.alreadyGone.items,
        failed,
        verification: verification.result,
        key: key.state,
        certificate: basename(files.json),
        certificateSha256: files.sha256,
        signed: files.signed,
      },
    })
    return {
      customer,
      mode: 'apply',
      operationId,
      plan: planResult(summary, planPath),
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
      verification,
      certificate: files,
      exitCode: ok ? 0 : 1,
    }
  } catch (error) {
    if (started && !audited) {
      const result: AuditResult = isRefusal(error) ? 'refused' : 'failed'
      await appendQuietly(trail, {
        action: 'erase.apply',
        result,
        customer,
        operationId,
        details: {
          reason: isAbortError(error) ? 'interrupted' : ((error as CustosError).code ?? 'error'),
          message: (error as Error).message,
        },
      })
    }

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

async function deleteEverything(
  clients: AzureClients,
  map: DataMap,
  scopes: Scope[],
  planPath: string,
  summary: PlanSummary,
  journal: Journal,
  options: EraseOptions,
  hooks: EraseHooks,
  signal: AbortSignal,
): Promise<void> {
  const unpurgeable = summary.trailer.stores.reduce((n, s) => n + s.unpurgeable, 0)
  const progress = hooks.progress(`Erasing ${options.customer}`, summary.trailer.items - unpurgeable)
  const softStores = new Set(summary.trailer.stores.filter((s) => s.softDeleted > 0).map((s) => s.store))
  const ctx: PhaseContext = {
    clients,
    planPath,
    journal,
    scopes: new Map(scopes.map((s) => [s.store, s])),
    accounts: new Map(storeConfigs(map).map(({config}) => [config.name, config.account])),
    softStores,
    concurrency: options.concurrency,
    submit: {
      maxTries: options.retries,
      retryDelayInMs: clients.retry.retryDelayInMs,
      maxRetryDelayInMs: clients.retry.maxRetryDelayInMs,
      abortSignal: signal,
    },
    onBatch: (line: JournalBatch) => progress.increment(primaryDone(line), primaryDone(line)),
    onSkip: (ops) => {
      const n = ops.filter((op) => op.primary).length
      progress.increment(n, n)
    },
    afterBatch: async () => {
      await hooks.batchJournaled?.(journal.batchesWritten, signal)
    },
  }
  await tracked(progress, async () => {
    for (const phase of PHASES) {
      if (phase === 'purge') for (const p of journal.stores.values()) if (p.softDeleteSeen) softStores.add(p.store)
      await runPhase(ctx, phase)
    }
  })
}

function primaryDone(line: JournalBatch): number {
  return line.stats.deleted + line.stats.gone + line.stats.retained + line.failed.filter((f) => f.primary).length
}

/** Deletes a container-per-customer container once nothing live is left in it. */
async function deleteOwnedContainer(
  clients: AzureClients,
  scope: Scope,
  account: string,
  journal: Journal,
  signal: AbortSignal,
): Promise<void> {
  if (!scope.ownsContainer) return // a shared container is never deleted
  if (journal.progress(scope.store).container?.result === 'deleted') return
  const container = clients.container(scope, account)
  const base = {
    type: 'container' as const,
    store: scope.store,
    container: scope.container,
    time: new Date().toISOString(),
  }
  let live = 0
  try {
    for await (const blob of listScope(container, scope, {
      versions: true,
      snapshots: true,
      deleted: true,
      pageSize: 50,
      abortSignal: signal,
    })) {
      if (blob.kind !== 'deleted') {
        live++
        break
      }
    }
  } catch (error) {
    if ((error as {statusCode?: number}).statusCode === 404) return journal.appendContainer({...base, result: 'absent'})
    throw fromAzureError(error, `container ${scope.container} in account ${scope.accountName} (store ${scope.store})`)
  }

  if (live > 0) return journal.appendContainer({...base, result: 'kept', reason: 'live objects remain in it'})
  try {
    const response = await container.delete({abortSignal: signal})
    await journal.appendContainer({
      ...base,
      result: 'deleted',
      ...(response.requestId ? {requestId: response.requestId} : {}),
    })
  } catch (error) {
    if ((error as {statusCode?: number}).statusCode === 404) return journal.appendContainer({...base, result: 'absent'})
    throw fromAzureError(error, `container ${scope.container} in account ${scope.accountName} (store ${scope.store})`)
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
export function describePlan(summary: PlanSummary): string {
  const lines = [
    `Erase customer ${summary.header.customer}: ${formatCount(summary.trailer.items)} objects, ${formatBytes(summary.trailer.bytes)} (plan ${summary.trailer.fingerprint.slice(0, 12)}…)`,
  ]
  for (const s of summary.trailer.stores) {
    const ps = summary.header.stores.find((p) => p.store === s.store)
    lines.push(
      `  ${s.store}: ${ps ? `${ps.accountName}/${ps.container}/${ps.prefix}` : ''} ${formatCount(s.items)} objects, ${formatBytes(s.bytes)}`,
    )
  }

  const k = summary.header.key
  lines.push(
    k.state === 'not-configured'
      ? '  no customer key configured'
      : `  customer key ${k.name}: ${k.state} (will be deleted and purged)`,
  )
  return lines.join('\n')
}

function isRefusal(error: unknown): boolean {
  return error instanceof CustosError && error.exitCode === ExitCode.refused
}

async function appendQuietly(trail: AuditTrail, entry: Parameters<AuditTrail['append']>[0]): Promise<void> {
  try {
    await trail.append(entry)
  } catch {
    // the original error matters more than a failed audit record about it
  }
}
