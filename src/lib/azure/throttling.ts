/**
 * A 429 Too Many Requests from blob storage is retried, after the time it asks for.
 *
 * `@azure/storage-blob`'s retry policy retries network errors, 500 and 503 only (Azure Storage
 * throttles with 503 ServerBusy), so a 429 — which a gateway, firewall or proxy in front of storage
 * answers, and Blob Batch answers under load — ended the whole export or bundle at once.
 *
 * Where this policy sits matters, and is why an earlier attempt that looked at `response.status`
 * never saw a 429: storage-blob wraps the `RequestPolicyFactory`s added to a pipeline into one
 * core pipeline policy *without a phase*, which runs outside the Deserialize phase — so by the time
 * a 429 comes back to it, the deserialization policy has already turned it into a thrown
 * `RestError` with `statusCode: 429`. The policy therefore retries on that error (and on a plain
 * 429 response too, should an operation ever accept one).
 *
 * The delay is what the service asked for (`retry-after-ms`, `x-ms-retry-after-ms`, or
 * `Retry-After` in seconds or as an HTTP date), else exponential backoff from the clients' retry
 * options, capped at `maxRetryDelayInMs`. An abort by the caller stops the wait at once. Requests
 * whose body is a one-shot stream cannot be sent again and are not retried.
 */
import type {RequestPolicy, RequestPolicyFactory, WebResource} from '@azure/storage-blob'

export interface ThrottlingRetryOptions {
  /** attempts per request, including the first */
  maxTries: number
  retryDelayInMs: number
  maxRetryDelayInMs: number
}

interface HeaderReader {
  get(name: string): string | undefined
}

interface ErrorWith429 {
  statusCode?: number
  response?: {headers?: HeaderReader}
}

const RETRY_AFTER_HEADERS = ['retry-after-ms', 'x-ms-retry-after-ms']

/** The wait a 429 asks for, in ms, or undefined when it names none. */
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

/** Whether a request can be sent again: its body is absent, text, bytes, or made anew per attempt. */
function canResend(request: WebResource): boolean {
  const body = request.body as unknown
  if (
    body === undefined ||
    body === null ||
    typeof body === 'string' ||
    typeof body === 'function' ||
    Buffer.isBuffer(body) ||
    body instanceof ArrayBuffer ||
    ArrayBuffer.isView(body)
  )
    return true
  return false
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason ?? new Error('aborted'))
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal?.reason ?? new Error('aborted'))
    }

    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, {once: true})
  })
}

/** The storage pipeline policy (see the module comment); add it with `pipeline.factories.push()`. */
export function retryTooManyRequests(options: ThrottlingRetryOptions): RequestPolicyFactory {
  const backoff = (attempt: number) =>
    Math.min(options.maxRetryDelayInMs, options.retryDelayInMs * 2 ** (attempt - 1) * (0.8 + Math.random() * 0.4))
  return {
    create(nextPolicy): RequestPolicy {
      return {
        async sendRequest(request) {
          for (let attempt = 1; ; attempt++) {
            const last = attempt >= options.maxTries || !canResend(request)
            let headers: HeaderReader | undefined
            try {
              const response = await nextPolicy.sendRequest(request)
              if (response.status !== 429 || last) return response
              headers = response.headers
            } catch (error) {
              const status = (error as ErrorWith429 | undefined)?.statusCode
              if (status !== 429 || last) throw error
              headers = (error as ErrorWith429).response?.headers
            }

            const asked = retryAfterMs(headers)
            await sleep(
              Math.min(options.maxRetryDelayInMs, asked ?? backoff(attempt)),
              request.abortSignal as AbortSignal | undefined,
            )
          }
        },
      }
    },
  }
}
