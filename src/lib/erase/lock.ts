/**
 * One erase per customer at a time: a blob `locks/erase-<customer>` in the lock container (`audit.lockContainer`), held by
 * a 60-second lease that is renewed every 20 seconds while the run lasts (a failed renewal is tried
 * again; the lock counts as lost only when the service says so or 60 s pass without one). A second run finds the
 * lease taken and is refused (exit 3) with the holder's name, host, process and start time.
 *
 * A run killed with SIGKILL cannot release its lease; it expires after 60 s. When the holder ran on
 * this very host and its process no longer exists, the lease is broken at once instead of making
 * the resuming run wait — the only case where the holder is provably gone.
 */
import {hostname} from 'node:os'
import {readFileSync} from 'node:fs'

import type {BlobLeaseClient, BlockBlobClient} from '@azure/storage-blob'

import type {AzureClients} from '../azure/clients.js'
import {fromAzureError, refusedError} from '../errors.js'

const LOCK_LEASE_SECONDS = 60
const RENEW_EVERY_MS = 20_000

export interface LockHolder {
  holder: string
  host: string
  pid: string
  operationid: string
  started: string
}

export interface EraseLock {
  /** `locks/erase-<customer>` */
  blobName: string
  /** where the lock lives, for messages */
  location: string
  leaseId: string
  /** aborted when the lease is lost (renewal failed): the run must stop */
  lost: AbortSignal
  release(): Promise<void>
}

export interface AcquireLockOptions {
  operationId: string
  /** the operator, recorded in the lock's metadata */
  holder: string
  renewEveryInMs?: number
  abortSignal?: AbortSignal
}

export function lockBlobName(customer: string): string {
  return `locks/erase-${customer}`
}

/** Takes the erase lock of a customer or refuses naming who holds it. */
export async function acquireEraseLock(
  clients: AzureClients,
  customer: string,
  options: AcquireLockOptions,
): Promise<EraseLock> {
  const audit = clients.map.audit
  const container = clients.blobService(audit.account).getContainerClient(audit.lockContainer)
  const blobName = lockBlobName(customer)
  const location = `${blobName} in container ${audit.lockContainer} of account ${container.accountName}`
  const blob = container.getBlockBlobClient(blobName)
  try {
    await container.createIfNotExists({abortSignal: options.abortSignal})
    await createLockBlob(blob, options.abortSignal)
    const lease = blob.getBlobLeaseClient()
    let acquired = await tryAcquire(lease, options.abortSignal)
    if (!acquired) {
      const holder = await readHolder(blob)
      if (holder && isDeadLocalHolder(holder)) {
        await lease.breakLease(0, {abortSignal: options.abortSignal})
        acquired = await tryAcquire(lease, options.abortSignal)
      }

      if (!acquired) {
        const who = holder
          ? `held by ${holder.holder} on ${holder.host} (process ${holder.pid}, operation ${holder.operationid}) since ${holder.started}`
          : 'held by another run'
        throw refusedError(
          'EraseLocked',
          `Another erase of customer ${customer} is running: the lock ${location} is ${who}.`,
          `Wait for that run to finish. If it died, its lease expires within ${LOCK_LEASE_SECONDS} s; then run again to resume.`,
        )
      }
    }

    const leaseId = lease.leaseId
    const meta: LockHolder = {
      holder: options.holder,
      host: hostname(),
      pid: String(process.pid),
      operationid: options.operationId,
      started: new Date().toISOString(),
    }
    await blob.setMetadata(toMetadata(meta), {conditions: {leaseId}, abortSignal: options.abortSignal})
    const lost = new AbortController()
    // A renewal that fails for a passing reason (a reset connection, a slow or busy service) is
    // tried again at the next tick; the lock is lost when the service says the lease is gone, or
    // when no renewal has succeeded for as long as the lease lasts.
    let renewedAt = Date.now()
    let renewing = false
    const timer = setInterval(() => {
      if (renewing || lost.signal.aborted) return
      renewing = true
      lease
        .renewLease()
        .then(() => {
          renewedAt = Date.now()
        })
        .catch((error: unknown) => {
          const status = (error as {statusCode?: number}).statusCode
          const gone = status === 404 || status === 409 || status === 412
          if (gone || Date.now() - renewedAt >= LOCK_LEASE_SECONDS * 1000) {
            const why = gone
              ? `the service no longer knows the lease (${describeError(error)})`
              : `no renewal succeeded for ${LOCK_LEASE_SECONDS} s (last: ${describeError(error)})`
            lost.abort(Object.assign(new Error(`lost the erase lock ${location}: ${why}`), {name: 'AbortError'}))
          }
        })
        .finally(() => {
          renewing = false
        })
    }, options.renewEveryInMs ?? RENEW_EVERY_MS)
    timer.unref()
    let released = false
    return {
      blobName,
      location,
      leaseId,
      lost: lost.signal,
      async release() {
        if (released) return
        released = true
        clearInterval(timer)
        try {
          await lease.releaseLease()
        } catch {
          // an expired or broken lease is released already
        }
      },
    }
  } catch (error) {
    throw fromAzureError(error, `the erase lock ${location}`)
  }
}

function describeError(error: unknown): string {
  const {statusCode, code, message} = error as {statusCode?: number; code?: string; message?: string}
  return [statusCode, code, message?.split('\n')[0]].filter(Boolean).join(' ') || 'no detail'
}

async function createLockBlob(blob: BlockBlobClient, abortSignal?: AbortSignal): Promise<void> {
  try {
    await blob.upload('', 0, {conditions: {ifNoneMatch: '*'}, abortSignal})
  } catch (error) {
    const status = (error as {statusCode?: number}).statusCode
    // 409: it exists; 412: it exists and is leased. Either way there is a lock blob to lease.
    if (status !== 409 && status !== 412) throw error
  }
}

async function tryAcquire(lease: BlobLeaseClient, abortSignal?: AbortSignal): Promise<boolean> {
  try {
    await lease.acquireLease(LOCK_LEASE_SECONDS, {abortSignal})
    return true
  } catch (error) {
    if ((error as {statusCode?: number}).statusCode === 409) return false
    throw error
  }
}

async function readHolder(blob: BlockBlobClient): Promise<LockHolder | undefined> {
  try {
    const m = (await blob.getProperties()).metadata ?? {}
    if (!m.holder || !m.host || !m.pid) return undefined
    return {holder: m.holder, host: m.host, pid: m.pid, operationid: m.operationid ?? '?', started: m.started ?? '?'}
  } catch {
    return undefined
  }
}

function toMetadata(holder: LockHolder): Record<string, string> {
  // Metadata values must be ASCII.
  return Object.fromEntries(Object.entries(holder).map(([k, v]) => [k, v.replaceAll(/[^\u0020-\u007E]/g, '?')]))
}

/** The holder ran here and its process is gone (or a zombie). */
function isDeadLocalHolder(holder: LockHolder): boolean {
  if (holder.host !== hostname()) return false
  const pid = Number(holder.pid)
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false
  try {
    process.kill(pid, 0)
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH'
  }

  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2)[0] === 'Z'
  } catch {
    return false
  }
}
