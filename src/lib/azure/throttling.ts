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
 * The delay is retry.ts's policy: what the service asked for (`Retry-After` and its variants), else
 * exponential backoff from the clients' retry options, capped at `maxRetryDelayInMs`. An abort by
 * the caller stops the wait at once. Requests whose body is a one-shot stream cannot be sent again
 * and are not retried.
 */
import type {RequestPolicy, RequestPolicyFactory, WebResource} from '@azure/storage-blob'

import {retryDelayInMs, sleep, type HeaderReader} from './retry.js'

export interface ThrottlingRetryOptions {
  /** attempts per request, including the first */
  maxTries: number
  retryDelayInMs: number
  maxRetryDelayInMs: number
}

interface ErrorWith429 {
  statusCode?: number
  response?: {headers?: HeaderReader}
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

/** The storage pipeline policy (see the module comment); add it with `pipeline.factories.push()`. */
export function retryTooManyRequests(options: ThrottlingRetryOptions): RequestPolicyFactory {
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

            await sleep(retryDelayInMs(attempt, options, headers), request.abortSignal as AbortSignal | undefined)
          }
        },
      }
    },
  }
}
