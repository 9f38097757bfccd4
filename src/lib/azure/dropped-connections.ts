/**
 * A connection dropped in the middle of a download must be resumed, not reported as an operator's
 * interruption.
 *
 * `@azure/storage-blob` resumes a broken download body from where it stopped (a ranged GET, up to
 * `maxRetryRequests` times) when the body stream fails with an error. But Node reports a connection
 * closed mid-body first with an `aborted` event on the response, and the SDK's
 * RetriableReadableStream turns that event into an AbortError and gives up — so every reader of
 * large blobs (export, logs bundle, backup restore samples) failed as if the operator had pressed
 * Ctrl-C (measured through the fault proxy with storage-blob 12.32 on Node 20; small bodies that
 * arrive before the SDK listens happened to be resumed).
 *
 * This policy hands the SDK each download body through a stream that has no `aborted` event: the
 * drop then reaches the SDK as the ECONNRESET error Node emits right after it, and the SDK resumes.
 * An abort by the caller's AbortSignal still arrives as an AbortError and still stops the download.
 */
import {PassThrough} from 'node:stream'

import type {RequestPolicyFactory} from '@azure/storage-blob'

/** `source` re-emitted without its `aborted` event; errors, backpressure and destroy are kept. */
function withoutAbortedEvent(source: NodeJS.ReadableStream): NodeJS.ReadableStream {
  const body = new PassThrough()
  const readable = source as NodeJS.ReadableStream & {destroy?: (error?: Error) => void; readableEnded?: boolean}
  source.on('error', (error: Error) => body.destroy(error))
  // A consumer that gives up on the body (the SDK does before resuming) releases the connection.
  body.on('close', () => {
    if (!readable.readableEnded) readable.destroy?.()
  })
  source.pipe(body)
  return body
}

/** A storage pipeline policy (see the module comment); add it with `pipeline.factories.push()`. */
export const resumeDroppedDownloads: RequestPolicyFactory = {
  create(nextPolicy) {
    return {
      async sendRequest(request) {
        const response = await nextPolicy.sendRequest(request)
        if (response.readableStreamBody) response.readableStreamBody = withoutAbortedEvent(response.readableStreamBody)
        return response
      },
    }
  },
}
