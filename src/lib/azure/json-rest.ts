/**
 * A JSON REST client on the core pipeline, for the few Azure calls custos makes without an SDK
 * client: Microsoft.Authorization role assignments and definitions (two GETs) and Microsoft Graph
 * (getByIds, transitiveMembers, users). It gets the same retry policy (network errors, 5xx,
 * 429/503 after Retry-After), user agent, TLS options and credential as every SDK client
 * (clients.ts), so behaviour and error mapping are the same; errors are RestErrors with the
 * service's status and error code, mapped by errors.ts `fromAzureError`.
 *
 * Why not `@azure/arm-authorization`: Graph needs this client anyway (there is no lean Graph SDK
 * for JavaScript), and the two Authorization reads do not justify a second dependency.
 */
import type {TokenCredential} from '@azure/core-auth'
import {
  bearerTokenAuthenticationPolicy,
  createHttpHeaders,
  createPipelineRequest,
  RestError,
} from '@azure/core-rest-pipeline'

import {createCorePipeline, type CorePipelineOptions, type SendRequest} from './pipeline.js'

export interface JsonRestClientOptions extends CorePipelineOptions {
  /** e.g. https://management.azure.com or https://graph.microsoft.com/v1.0 (no trailing slash) */
  endpoint: string
  credential: TokenCredential
  /** token scope, e.g. https://graph.microsoft.com/.default */
  scope: string
}

export interface JsonRequestOptions {
  abortSignal?: AbortSignal
  /** query parameters, added to those `path` already carries */
  query?: Record<string, string>
}

export class JsonRestClient {
  /** requests sent (attempts after retries not counted): for the bench's request budget */
  requests = 0
  private readonly sendRequest: SendRequest

  constructor(private readonly options: JsonRestClientOptions) {
    this.sendRequest = createCorePipeline(
      options,
      bearerTokenAuthenticationPolicy({credential: options.credential, scopes: options.scope}),
    )
  }

  get endpoint(): string {
    return this.options.endpoint
  }

  /** `path` relative to the endpoint (starting with `/`), or an absolute link the service returned (nextLink). */
  async get<T>(path: string, options: JsonRequestOptions = {}): Promise<T> {
    return this.send<T>('GET', path, undefined, options)
  }

  async post<T>(path: string, body: unknown, options: JsonRequestOptions = {}): Promise<T> {
    return this.send<T>('POST', path, body, options)
  }

  private async send<T>(method: 'GET' | 'POST', path: string, body: unknown, options: JsonRequestOptions): Promise<T> {
    const url = new URL(/^https?:\/\//i.test(path) ? path : `${this.options.endpoint}${path}`)
    for (const [name, value] of Object.entries(options.query ?? {})) url.searchParams.set(name, value)
    const headers = createHttpHeaders({accept: 'application/json'})
    if (body !== undefined) headers.set('content-type', 'application/json')
    const request = createPipelineRequest({
      url: url.toString(),
      method,
      headers,
      ...(body === undefined ? {} : {body: JSON.stringify(body)}),
      ...(options.abortSignal ? {abortSignal: options.abortSignal} : {}),
    })
    this.requests++
    const response = await this.sendRequest(request)
    const text = response.bodyAsText ?? ''
    let parsed: unknown
    try {
      parsed = text ? JSON.parse(text) : undefined
    } catch {
      parsed = undefined
    }

    if (response.status < 200 || response.status >= 300) {
      const error = (parsed as {error?: {code?: string; message?: string}} | undefined)?.error
      throw new RestError(error?.message ?? `${method} ${url.pathname} answered ${response.status}`, {
        code: error?.code,
        statusCode: response.status,
        request,
        response,
      })
    }

    if (parsed === undefined)
      throw new RestError(`${method} ${url.pathname} answered without a JSON body`, {
        statusCode: response.status,
        request,
        response,
      })
    return parsed as T
  }
}
