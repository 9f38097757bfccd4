/**
 * `--restore-sample N`: downloads N backups of a customer end to end (the newest, and others picked
 * at random while the listing streams by) and checks every byte against the hashes on record.
 * Bytes are hashed as they arrive and never written anywhere.
 */
import type {ContainerClient} from '@azure/storage-blob'

import {formatDuration} from '../duration.js'
import {fromAzureError} from '../errors.js'
import {Digests} from '../evidence/digests.js'
import type {ScopedBlob} from '../inventory/listing.js'
import {formatBytes} from '../output/table.js'
import {Examples, type CheckResult} from './model.js'

export interface RestoreCandidate {
  blob: ScopedBlob
  /** lower-case hex, from the manifest or the blob's `sha256` metadata */
  sha256?: string
}

/**
 * Keeps the newest backup and a uniform random sample of the others (reservoir sampling), so the
 * choice costs O(N) memory however many backups a customer has.
 */
export class RestoreSampler {
  private newest?: {candidate: RestoreCandidate; time: number}
  private readonly reservoir: RestoreCandidate[] = []
  private seen = 0

  constructor(
    private readonly size: number,
    private readonly random: () => number = Math.random,
  ) {}

  offer(candidate: RestoreCandidate, time: Date): void {
    if (this.size <= 0) return
    if (!this.newest || time.getTime() > this.newest.time) this.newest = {candidate, time: time.getTime()}
    this.seen++
    if (this.reservoir.length < this.size) this.reservoir.push(candidate)
    else {
      const j = Math.floor(this.random() * this.seen)
      if (j < this.size) this.reservoir[j] = candidate
    }
  }

  /** The newest backup first, then up to size-1 others. */
  pick(): RestoreCandidate[] {
    if (!this.newest) return []
    const newest = this.newest.candidate
    return [newest, ...this.reservoir.filter((c) => c !== newest).slice(0, this.size - 1)]
  }
}

export interface RestoreOutcome {
  name: string
  bytes: number
  ms: number
  size: 'ok' | 'mismatch'
  md5: 'ok' | 'mismatch' | 'absent'
  sha256: 'ok' | 'mismatch' | 'absent'
  error?: string
}

/** Downloads one backup and compares its bytes with Content-MD5 and the expected SHA-256. */
export async function restoreBackup(
  container: ContainerClient,
  candidate: RestoreCandidate,
  options: {abortSignal?: AbortSignal} = {},
): Promise<RestoreOutcome> {
  const {blob} = candidate
  const started = performance.now()
  const digests = new Digests()
  try {
    const response = await container
      .getBlobClient(blob.name)
      .download(0, undefined, {abortSignal: options.abortSignal, maxRetryRequests: 3})
    for await (const chunk of response.readableStreamBody ?? []) digests.update(chunk as Buffer)
  } catch (error) {
    const mapped = fromAzureError(error, `backup ${blob.name} in container ${blob.container}`)
    if ((mapped as {name?: string}).name === 'AbortError') throw mapped
    return {
      name: blob.name,
      bytes: digests.bytes,
      ms: performance.now() - started,
      size: 'mismatch',
      md5: 'absent',
      sha256: 'absent',
      error: (mapped as Error).message,
    }
  }

  const {md5, sha256, bytes} = digests.result()
  return {
    name: blob.name,
    bytes,
    ms: performance.now() - started,
    size: bytes === blob.size ? 'ok' : 'mismatch',
    md5: blob.contentMD5 ? (blob.contentMD5 === md5 ? 'ok' : 'mismatch') : 'absent',
    sha256: candidate.sha256 ? (candidate.sha256 === sha256 ? 'ok' : 'mismatch') : 'absent',
  }
}

/** The `restore` check of one customer from its download outcomes. */
export function restoreCheck(outcomes: RestoreOutcome[]): CheckResult {
  if (outcomes.length === 0) return {check: 'restore', status: 'fail', detail: 'no backup to restore'}
  const bytes = outcomes.reduce((n, o) => n + o.bytes, 0)
  const ms = outcomes.reduce((n, o) => n + o.ms, 0)
  const rate = `${formatBytes(bytes)} in ${formatDuration(ms)}, ${formatBytes(ms > 0 ? (bytes / ms) * 1000 : bytes)}/s`
  const failed = new Examples()
  const unverified = new Examples()
  for (const o of outcomes) {
    if (o.error) failed.add(`${o.name} (${o.error})`)
    else if (o.size === 'mismatch' || o.md5 === 'mismatch' || o.sha256 === 'mismatch') {
      const what = [
        o.size === 'mismatch' ? 'size' : '',
        o.md5 === 'mismatch' ? 'MD5' : '',
        o.sha256 === 'mismatch' ? 'SHA-256' : '',
      ]
        .filter(Boolean)
        .join(' and ')
      failed.add(`${o.name} (${what} mismatch)`)
    } else if (o.md5 === 'absent' && o.sha256 === 'absent') unverified.add(o.name)
  }

  if (failed.count > 0)
    return {
      check: 'restore',
      status: 'fail',
      detail: `${failed.count} of ${outcomes.length} restored backups are corrupt or unreadable: ${failed} (${rate})`,
    }
  if (unverified.count > 0)
    return {
      check: 'restore',
      status: 'warn',
      detail: `${outcomes.length} restored, but ${unverified} carry no MD5 or SHA-256 to compare with (${rate})`,
    }
  const hashes = [
    outcomes.some((o) => o.md5 === 'ok') ? 'MD5' : '',
    outcomes.some((o) => o.sha256 === 'ok') ? 'SHA-256' : '',
  ]
    .filter(Boolean)
    .join(' and ')
  return {check: 'restore', status: 'pass', detail: `${outcomes.length} restored end to end, ${hashes} match (${rate})`}
}
