/**
 * The one retry policy of custos's own retry loops (the storage pipeline's 429 policy in
 * throttling.ts, Blob Batch sub-requests in erase/batch.ts, the Key Vault purge in erase/shred.ts):
 * wait what the service asked for (`retry-after-ms`, `x-ms-retry-after-ms`, or `Retry-After` in
 * seconds or as an HTTP date), else exponential backoff with ±20 % jitter, never longer than the
 * cap; and every wait ends at once when the caller's AbortSignal fires (Ctrl-C), rejecting with
 * the signal's reason.
 */

export interface BackoffOptions {
  /** the first retry's delay before jitter */
  retryDelayInMs: number
  /** no wait is longer than this, whatever the service asks */
  maxRetryDelayInMs: number
}

export interface HeaderReader {
  get(name: string): string | undefined
}

const RETRY_AFTER_HEADERS = ['retry-after-ms', 'x-ms-retry-after-ms']

/** The wait an answer asks for, in ms, or undefined when it names none. */
export function retryAfterMs(headers: HeaderReader | undefined, now = Date.now()): number | undefined {
  if (!headers) return undefined
  for (const name of RETRY_AFTER_HEADERS) {
    const value = Number(headers.get(name))
    if (headers.get(name) !== undefined && Number.isFinite(value) && value >= 0) return value
  }

  const retryAfter = headers.get('retry-after')
  if (retryAfter === undefined) return undefined
  if (/^\s*\d+(\.\d+)?\s*$/.test(retryAfter)) return Number(retryAfter) * 1000
  const date = Date.parse(retryAfter)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

/**
 * The delay before retry number `retry` (1 for the first retry): exponential from
 * `retryDelayInMs`, jittered, then capped (the cap is applied after the jitter, so
 * `maxRetryDelayInMs` is a true maximum).
 */
export function backoffInMs(retry: number, options: BackoffOptions, random: () => number = Math.random): number {
  const jittered = options.retryDelayInMs * 2 ** (retry - 1) * (0.8 + random() * 0.4)
  return Math.round(Math.min(options.maxRetryDelayInMs, jittered))
}

/** The delay before retry number `retry`: what the answer's headers ask for, else {@link backoffInMs}; capped. */
export function retryDelayInMs(retry: number, options: BackoffOptions, headers?: HeaderReader): number {
  const asked = retryAfterMs(headers)
  return Math.min(options.maxRetryDelayInMs, asked ?? backoffInMs(retry, options))
}

/** Waits `ms`; rejects with the signal's reason as soon as `abortSignal` fires (also when it already has). */
export function sleep(ms: number, abortSignal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (abortSignal?.aborted) {
      reject(abortSignal.reason ?? new Error('aborted'))
      return
    }

    const onAbort = () => {
      clearTimeout(timer)
      reject(abortSignal?.reason ?? new Error('aborted'))
    }

    const timer = setTimeout(() => {
      abortSignal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    abortSignal?.addEventListener('abort', onAbort, {once: true})
  })
}
