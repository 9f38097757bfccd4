/**
 * Deleting with the Blob Batch API: up to 256 delete sub-requests per request, base blobs with
 * `x-ms-delete-snapshots: include`, snapshots and versions by their ids, soft-deleted snapshots and
 * versions purged with `deletetype=permanent`. Throttling is retried with exponential backoff both
 * for the batch request (429) and for each sub-request inside a batch response (429/500/503), since
 * the service answers a batch with 202 even when parts of it were throttled. Per-item failures are
 * returned, never dropped; 404 means the item is already gone.
 */
import {basename} from 'node:path'

import type {BatchSubResponse, ContainerClient} from '@azure/storage-blob'

import type {AzureClients} from '../azure/clients.js'
import {retryDelayInMs, sleep, type HeaderReader} from '../azure/retry.js'
import {azureFailure, fromAzureError, isAbortError, serviceMessage} from '../errors.js'
import {TaskPool} from '../pool.js'
import {assertInScope, type Scope} from '../scope.js'
import {DeleteBatchRequest, type DeleteTarget} from './batch-request.js'
import {
  emptyStats,
  type BatchStats,
  type DeleteOp,
  type DeletePhase,
  type Journal,
  type JournalBatch,
  type JournalFailure,
} from './journal.js'
import {itemKey, readPlanItems, type PlanItem} from './plan.js'

/** The service's limit of sub-requests per batch. */
const BATCH_SIZE = 256

/** Sub-request statuses sent again with backoff: throttling and the service's own timeouts. */
const RETRYABLE = new Set([429, 500, 503])

/**
 * Statuses of the batch request itself that custos sends again: the SDK's retry policy already
 * retries 500 and 503 (and network errors); 429 and the timeouts of whatever stands in front of the
 * service (408 from a server that did not read the request in time, 502/504 from a gateway) it
 * passes on. Deletes are idempotent: what a lost attempt did comes back as 404, already gone.
 */
const RETRYABLE_BATCH = new Set([408, 429, 502, 504])

export interface SubmitBatchOptions {
  /** attempts per sub-request, including the first */
  maxTries: number
  retryDelayInMs: number
  maxRetryDelayInMs: number
  abortSignal?: AbortSignal
}

export type OpOutcome = 'deleted' | 'soft-deleted' | 'gone' | 'purged' | 'retained' | 'failed'

export interface OpResult {
  op: DeleteOp
  outcome: OpOutcome
  /** a 'gone' snapshot or version was confirmed with a direct delete */
  confirmed?: boolean
  status?: number
  code?: string
  message?: string
}

export interface BatchOutcome {
  /** x-ms-request-id of every batch request sent (one per attempt) */
  requestIds: string[]
  results: OpResult[]
}

/** Sends one logical batch (≤ 256 ops of one container), retrying throttled parts. */
async function submitDeleteBatch(
  container: ContainerClient,
  ops: DeleteOp[],
  options: SubmitBatchOptions,
): Promise<BatchOutcome> {
  if (ops.length > BATCH_SIZE) throw new RangeError(`a batch holds at most ${BATCH_SIZE} deletes, not ${ops.length}`)
  const batchClient = container.getBlobBatchClient()
  const requestIds: string[] = []
  const results: OpResult[] = []
  let pending = ops
  let lastFailure = new Map<DeleteOp, {status?: number; code?: string; message?: string}>()
  // the wait the last throttled answer asked for (Retry-After), read by retry.ts's policy
  let askedBy: HeaderReader | undefined
  for (let attempt = 1; pending.length > 0; attempt++) {
    if (attempt > 1) await sleep(retryDelayInMs(attempt - 1, options, askedBy), options.abortSignal)
    askedBy = undefined
    const batch = await DeleteBatchRequest.create(container, pending.map(deleteTarget))
    let subResponses: Array<BatchSubResponse | undefined>
    try {
      const response = await batchClient.submitBatch(batch, {abortSignal: options.abortSignal})
      if (response.requestId) requestIds.push(response.requestId)
      subResponses = response.subResponses
    } catch (error) {
      if (isAbortError(error)) throw error
      const status = (error as {statusCode?: number}).statusCode
      const code = (error as {code?: string}).code
      if (status === 404 && code === 'ContainerNotFound') {
        for (const op of pending) results.push({op, outcome: 'gone', status, code})
        return {requestIds, results}
      }

      if (status !== undefined && RETRYABLE_BATCH.has(status) && attempt < options.maxTries) {
        lastFailure = new Map(pending.map((op) => [op, {status, code}]))
        askedBy = (error as {response?: {headers?: HeaderReader}}).response?.headers
        continue
      }

      throw fromAzureError(
        error,
        `the batch delete in container ${container.containerName} of account ${container.accountName}`,
      )
    }

    const retry: DeleteOp[] = []
    for (const [i, op] of pending.entries()) {
      const sub = subResponses[i]
      if (!sub) {
        // The service dropped this part (no matching Content-ID): send it again.
        retry.push(op)
        lastFailure.set(op, {code: 'NoSubResponse', message: 'the batch response had no part for this delete'})
        continue
      }

      const status = sub.status
      if (status >= 200 && status < 300) {
        const soft = sub.headers.get('x-ms-delete-type-permanent') === 'false'
        results.push({op, outcome: op.permanent ? 'purged' : soft ? 'soft-deleted' : 'deleted', status})
      } else if (status === 404) {
        results.push({op, outcome: 'gone', status, ...(sub.errorCode ? {code: sub.errorCode} : {})})
      } else if (RETRYABLE.has(status)) {
        retry.push(op)
        lastFailure.set(op, describe(sub))
        askedBy ??= sub.headers
      } else {
        results.push({op, outcome: op.permanent ? 'retained' : 'failed', ...describe(sub)})
      }
    }

    pending = retry
    await confirmGone(container, results, options.abortSignal)
    if (pending.length > 0 && attempt >= options.maxTries) {
      for (const op of pending)
        results.push({
          op,
          outcome: 'failed',
          ...lastFailure.get(op),
          message: `${lastFailure.get(op)?.message ?? 'throttled'} (gave up after ${options.maxTries} attempts)`,
        })
      pending = []
    }
  }

  return {requestIds, results}
}

/**
 * A snapshot or version a batch reported as not found is deleted once more directly. On Azure this
 * answers 404 again (cheap, and rare: it happens for the batch in flight when a run was killed);
 * Azurite (3.35) does not decode the query of batch sub-requests, so there the batch 404s for every
 * `?snapshot=`/`?versionid=` delete and only the direct delete removes it.
 */
async function confirmGone(container: ContainerClient, results: OpResult[], abortSignal?: AbortSignal): Promise<void> {
  for (const r of results) {
    if (r.outcome !== 'gone' || r.confirmed || r.op.permanent || (!r.op.snapshot && !r.op.versionId)) continue
    r.confirmed = true
    const blob = r.op.snapshot
      ? container.getBlobClient(r.op.name).withSnapshot(r.op.snapshot)
      : container.getBlobClient(r.op.name).withVersion(r.op.versionId!)
    try {
      const response = await blob.delete({abortSignal})
      r.outcome = response._response.headers.get('x-ms-delete-type-permanent') === 'false' ? 'soft-deleted' : 'deleted'
      r.status = response._response.status
      delete r.code
    } catch (error) {
      if (isAbortError(error)) throw error
      if ((error as {statusCode?: number}).statusCode !== 404) {
        Object.assign(r, {
          outcome: 'failed',
          status: (error as {statusCode?: number}).statusCode,
          code: (error as {code?: string}).code,
          message: (error as Error).message.split('\n')[0],
        })
      }
    }
  }
}

function deleteTarget(op: DeleteOp): DeleteTarget {
  return {
    name: op.name,
    ...(op.snapshot ? {snapshot: op.snapshot} : op.versionId ? {versionId: op.versionId} : {}),
    ...(op.permanent ? {permanent: true} : {}),
    ...(op.mode === 'base' && !op.permanent ? {includeSnapshots: true} : {}),
  }
}

function describe(sub: BatchSubResponse): {status: number; code?: string; message?: string} {
  const message = serviceMessage(sub.bodyAsText) ?? sub.statusMessage
  return {status: sub.status, ...(sub.errorCode ? {code: sub.errorCode} : {}), ...(message ? {message} : {})}
}

/**
 * The delete sub-requests a plan item needs in one phase. `softStores` are the stores where soft
 * delete was seen (only there is a purge phase worth its requests).
 */
function opsFor(item: PlanItem, phase: DeletePhase, softStores: ReadonlySet<string>): DeleteOp[] {
  const base = {store: item.store, container: item.container, name: item.name, size: item.size, kind: item.kind}
  switch (phase) {
    case 'snapshots': {
      return item.kind === 'snapshot'
        ? [{...base, snapshot: item.snapshot, mode: 'snapshot', permanent: false, primary: true}]
        : []
    }

    case 'blobs': {
      // For a versioned blob this only turns its current version into a previous one (same id);
      // the version delete of the next phase is what removes the data, so that one counts.
      return item.kind === 'current' ? [{...base, mode: 'base', permanent: false, primary: !item.versionId}] : []
    }

    case 'versions': {
      if (item.kind === 'version' || (item.kind === 'current' && item.versionId)) {
        return [{...base, versionId: item.versionId, mode: 'version', permanent: false, primary: true}]
      }

      return []
    }

    case 'purge': {
      if (!softStores.has(item.store)) return []
      const primary = item.kind === 'deleted'
      if (item.snapshot) return [{...base, snapshot: item.snapshot, mode: 'snapshot', permanent: true, primary}]
      if (item.versionId) return [{...base, versionId: item.versionId, mode: 'version', permanent: true, primary}]
      return []
    }
  }
}

export interface PhaseContext {
  clients: AzureClients
  planPath: string
  journal: Journal
  scopes: ReadonlyMap<string, Scope>
  accounts: ReadonlyMap<string, string>
  softStores: ReadonlySet<string>
  /** batch requests in flight */
  concurrency: number
  submit: SubmitBatchOptions
  /** after each journaled batch (progress) */
  onBatch?: (line: JournalBatch) => void
  /** after each batch that needs no request (journaled by an earlier run) */
  onSkip?: (ops: DeleteOp[]) => void
  /** awaited after each journaled batch (test hook: pause to be killed) */
  afterBatch?: () => Promise<void>
}

/**
 * Runs one phase over the whole plan, streaming: failures an earlier run left are retried first,
 * then the plan is cut into batches of ≤ 256 ops of one store; batches the journal already holds
 * are skipped, the others sent `concurrency` at a time and journaled as they finish.
 */
export async function runPhase(ctx: PhaseContext, phase: DeletePhase): Promise<void> {
  const pool = new TaskPool(ctx.concurrency)
  try {
    for (const [batchId, failures] of ctx.journal.priorFailures(phase)) {
      const ops = failures.map((f) => opFromFailure(f, f.store, f.container))
      await pool.run(() => runBatch(ctx, phase, batchId, ops, true))
    }

    let seq = 0
    let current: DeleteOp[] = []
    const flush = async () => {
      if (current.length === 0) return
      const ops = current
      current = []
      const id = `${phase}-${++seq}`
      if (ctx.journal.finished.has(id)) {
        ctx.onSkip?.(ops)
        return
      }

      await pool.run(() => runBatch(ctx, phase, id, ops, false))
    }

    for await (const item of readPlanItems(ctx.planPath)) {
      for (const op of opsFor(item, phase, ctx.softStores)) {
        if (current.length > 0 && (current[0].store !== op.store || current.length >= BATCH_SIZE)) await flush()
        current.push(op)
      }
    }

    await flush()
  } finally {
    // batches already sent finish and are journaled, whatever stopped the phase
    await pool.settle()
  }

  await pool.drain()
}

function opFromFailure(f: JournalFailure, store: string, container: string): DeleteOp {
  const [name, snapshot, versionId] = f.key
  return {
    store,
    container,
    name,
    ...(snapshot ? {snapshot} : {}),
    ...(versionId ? {versionId} : {}),
    mode: f.mode,
    permanent: f.permanent,
    size: f.size,
    primary: f.primary,
    kind: f.kind,
  }
}

async function runBatch(
  ctx: PhaseContext,
  phase: DeletePhase,
  id: string,
  ops: DeleteOp[],
  retry: boolean,
): Promise<void> {
  const store = ops[0].store
  const scope = ctx.scopes.get(store)
  const account = ctx.accounts.get(store)
  if (!scope || !account) throw new Error(`store ${store} of the plan is not in the data map`)
  // The last check before anything is deleted: every name against the scope the data map draws.
  for (const op of ops) {
    if (op.store !== store) throw new Error('a batch mixes stores')
    assertInScope(scope, op.container, op.name)
  }

  const container = ctx.clients.container(scope, account)
  const outcome = await submitDeleteBatch(container, ops, ctx.submit)
  const line = journalLine(id, phase, store, scope.container, ops, outcome, retry)
  await ctx.journal.appendBatch(line)
  ctx.onBatch?.(line)
  const refusal = accessRefusal(line)
  if (refusal) {
    throw azureFailure(
      'DeleteDenied',
      `Every delete of batch ${id} in store ${store} (container ${scope.container} of account ${container.accountName}) was refused with ${refusal}: the credential custos uses there may not delete blobs, so the erase stopped instead of sending the rest.`,
      `Give it a role that allows deleting (Storage Blob Data Owner or Contributor; a SAS needs the d, x and y permissions), then apply the same plan again: the journal (${basename(ctx.journal.path)}) sends the refused deletes first.`,
    )
  }

  await ctx.afterBatch?.()
}

/**
 * When every delete of a batch came back 401 or 403, the credential lacks the right to delete: no
 * later batch would fare better, and carrying on would only collect a failure per planned item
 * (millions, for a large customer). Returns the status and code to name, or undefined.
 */
function accessRefusal(line: JournalBatch): string | undefined {
  if (line.failed.length === 0 || line.failed.length !== line.keys.length) return undefined
  if (!line.failed.every((f) => f.status === 401 || f.status === 403)) return undefined
  const first = line.failed[0]
  return `${first.status}${first.code ? ` ${first.code}` : ''}`
}

/** Folds the results of one batch into its journal line. */
function journalLine(
  id: string,
  phase: DeletePhase,
  store: string,
  container: string,
  ops: DeleteOp[],
  outcome: BatchOutcome,
  retry: boolean,
): JournalBatch {
  const stats: BatchStats = emptyStats()
  const failed: JournalFailure[] = []
  const retained: JournalBatch['retained'] = []
  for (const r of outcome.results) {
    const op = r.op
    switch (r.outcome) {
      case 'deleted':
      case 'soft-deleted':
      case 'purged': {
        if (op.primary) {
          stats.deleted++
          stats.deletedBytes += op.size
        } else if (!op.permanent) {
          stats.followUps++
        }

        if (r.outcome === 'soft-deleted') stats.softDeleted++
        if (r.outcome === 'purged') stats.purged++
        break
      }

      case 'gone': {
        if (op.primary) {
          stats.gone++
          stats.goneBytes += op.size
        }

        break
      }

      case 'retained': {
        if (op.primary) {
          stats.retained++
          stats.retainedBytes += op.size
        } else {
          stats.purgeRefused++
        }

        retained.push({key: itemKey(op), status: r.status ?? 0, ...(r.code ? {code: r.code} : {})})
        break
      }

      case 'failed': {
        failed.push({
          key: itemKey(op),
          mode: op.mode,
          permanent: op.permanent,
          primary: op.primary,
          kind: op.kind,
          size: op.size,
          ...(r.status ? {status: r.status} : {}),
          ...(r.code ? {code: r.code} : {}),
          ...(r.message ? {message: r.message} : {}),
        })
        break
      }
    }
  }

  return {
    type: 'batch',
    id,
    phase,
    store,
    container,
    ...(retry ? {retry: true as const} : {}),
    time: new Date().toISOString(),
    requestIds: outcome.requestIds,
    keys: ops.map((op) => itemKey(op)),
    stats,
    failed,
    retained,
  }
}
