/**
 * The core-rest-pipeline that custos's own HTTP clients (blob-reader.ts, json-rest.ts) send
 * through: the same retries (network errors, 5xx, 429/503 after Retry-After), user agent and TLS
 * options as every SDK client that clients.ts makes, plus the policy that signs each request.
 */
import {
  createDefaultHttpClient,
  createPipelineFromOptions,
  type PipelinePolicy,
  type PipelineRequest,
  type PipelineResponse,
  type TlsSettings,
} from '@azure/core-rest-pipeline'

export interface CorePipelineOptions {
  retry: {maxTries: number; retryDelayInMs: number; maxRetryDelayInMs: number}
  userAgentPrefix: string
  tls?: TlsSettings
}

/** Sends one request through the pipeline (its retries included) and answers with the last response. */
export type SendRequest = (request: PipelineRequest) => Promise<PipelineResponse>

/**
 * A pipeline with the client settings of `options` and, when given, `sign` in the Sign phase
 * (a bearer token or shared-key policy; a SAS travels in the URL instead).
 */
export function createCorePipeline(options: CorePipelineOptions, sign?: PipelinePolicy): SendRequest {
  const pipeline = createPipelineFromOptions({
    retryOptions: {
      maxRetries: options.retry.maxTries - 1,
      retryDelayInMs: options.retry.retryDelayInMs,
      maxRetryDelayInMs: options.retry.maxRetryDelayInMs,
    },
    userAgentOptions: {userAgentPrefix: options.userAgentPrefix},
    ...(options.tls ? {tlsOptions: options.tls} : {}),
  })
  if (sign) pipeline.addPolicy(sign, {phase: 'Sign'})
  const httpClient = createDefaultHttpClient()
  return (request) => pipeline.sendRequest(httpClient, request)
}
