/**
 * Helpers for the local Azure server's contract tests: raw HTTPS requests, SDK client factories, the
 * contract samples (read in place from ../shared/azure-contracts/) and a JSON shape comparison.
 */
import {strict as assert} from 'node:assert'
import {readFileSync} from 'node:fs'
import {request} from 'node:https'
import {dirname, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

import {KeyVaultManagementClient} from '@azure/arm-keyvault'
import {MonitorClient} from '@azure/arm-monitor'
import {StorageManagementClient} from '@azure/arm-storage'
import {CryptographyClient, KeyClient} from '@azure/keyvault-keys'
import {LogsQueryClient} from '@azure/monitor-query-logs'

import {LOCAL_DEVELOPMENT_TOKEN, LocalDevelopmentCredential} from '../../src/lib/azure/credential.js'
import {LOCAL_SUBSCRIPTION_ID, type LocalAzureServer} from '../../src/lib/local/azure-server/index.js'

const here = dirname(fileURLToPath(import.meta.url))
const CONTRACTS = process.env.CUSTOS_AZURE_CONTRACTS ?? resolve(here, '../../../shared/azure-contracts')

/** A contract sample, parsed, read in place. */
export function sample<T = any>(relativePath: string): T {
  return JSON.parse(readFileSync(resolve(CONTRACTS, relativePath), 'utf8')) as T
}

/** `responses.<status>.body` of a spec example. */
export function exampleBody<T = any>(relativePath: string, status = '200'): T {
  return sample(relativePath).responses[status].body as T
}

/** The entries of a test-proxy recording. */
export function recording(relativePath: string): Array<{
  RequestUri: string
  RequestMethod: string
  RequestBody: any
  StatusCode: number
  ResponseHeaders: Record<string, string>
  ResponseBody: any
}> {
  return sample(relativePath).Entries
}

export interface RawResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  text: string
  json: any
}

/** One HTTPS request trusting the server's certificate; `token: null` sends no Authorization header. */
export function rawRequest(
  server: LocalAzureServer,
  method: string,
  url: string,
  options: {token?: string | null; body?: unknown} = {},
): Promise<RawResponse> {
  const token = options.token === undefined ? LOCAL_DEVELOPMENT_TOKEN : options.token
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body)
  return new Promise((resolvePromise, reject) => {
    const req = request(
      url,
      {
        method,
        ca: server.caCertificatePem,
        headers: {
          accept: 'application/json',
          ...(token === null ? {} : {authorization: `Bearer ${token}`}),
          ...(payload === undefined
            ? {'content-length': '0'}
            : {'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload))}),
        },
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          let json: unknown
          try {
            json = text ? JSON.parse(text) : undefined
          } catch {
            json = undefined
          }

          resolvePromise({status: res.statusCode ?? 0, headers: res.headers, text, json})
        })
      },
    )
    req.on('error', reject)
    if (payload !== undefined) req.write(payload)
    req.end()
  })
}

const credential = new LocalDevelopmentCredential()

function common(server: LocalAzureServer) {
  return {tlsOptions: {ca: server.caCertificatePem}, retryOptions: {maxRetries: 0}}
}

export function keyClient(server: LocalAzureServer, vaultUrl: string): KeyClient {
  return new KeyClient(vaultUrl, credential, {...common(server), disableChallengeResourceVerification: true})
}

export function cryptographyClient(server: LocalAzureServer, keyId: string): CryptographyClient {
  return new CryptographyClient(keyId, credential, {...common(server), disableChallengeResourceVerification: true})
}

function arm(server: LocalAzureServer) {
  return {...common(server), endpoint: server.url, credentialScopes: [`${server.url}/.default`]}
}

export function storageManagement(
  server: LocalAzureServer,
  subscription = LOCAL_SUBSCRIPTION_ID,
): StorageManagementClient {
  return new StorageManagementClient(credential, subscription, arm(server))
}

export function monitorClient(server: LocalAzureServer, subscription = LOCAL_SUBSCRIPTION_ID): MonitorClient {
  return new MonitorClient(credential, subscription, arm(server))
}

export function keyVaultManagement(
  server: LocalAzureServer,
  subscription = LOCAL_SUBSCRIPTION_ID,
): KeyVaultManagementClient {
  return new KeyVaultManagementClient(credential, subscription, arm(server))
}

export function logsQueryClient(server: LocalAzureServer): LogsQueryClient {
  return new LogsQueryClient(credential, {...common(server), endpoint: `${server.url}/v1`})
}

function kind(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'array'
  return typeof value
}

/**
 * Differences in *shape* between `actual` and `expected` (values ignored): `missing <path>`,
 * `extra <path>`, `type <path>: <actual> != <expected>`. Arrays of equal length compare element by
 * element; otherwise every actual element is compared with the first expected one.
 */
export function shapeDiff(actual: unknown, expected: unknown, path = '$'): string[] {
  const a = kind(actual)
  const e = kind(expected)
  if (a !== e) return [`type ${path}: ${a} != ${e}`]
  if (a === 'array') {
    const act = actual as unknown[]
    const exp = expected as unknown[]
    if (act.length === 0 || exp.length === 0) return []
    return act.flatMap((item, i) => shapeDiff(item, exp.length === act.length ? exp[i] : exp[0], `${path}[${i}]`))
  }

  if (a !== 'object') return []
  const act = actual as Record<string, unknown>
  const exp = expected as Record<string, unknown>
  const out: string[] = []
  for (const key of Object.keys(exp)) if (!(key in act)) out.push(`missing ${path}.${key}`)
  for (const key of Object.keys(act)) {
    if (!(key in exp)) out.push(`extra ${path}.${key}`)
    else out.push(...shapeDiff(act[key], exp[key], `${path}.${key}`))
  }

  return out
}

/** Asserts that the shape differences between `actual` and the sample are exactly `differences` (any order). */
export function assertShape(actual: unknown, expected: unknown, differences: string[] = []): void {
  assert.deepEqual([...shapeDiff(actual, expected)].sort(), [...differences].sort())
}

/** Drains an async iterable. */
export async function all<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const item of iterable) out.push(item)
  return out
}
