/** Small request/response helpers shared by the local server's handlers (no framework). */
import {randomUUID} from 'node:crypto'
import type {IncomingMessage, ServerResponse} from 'node:http'

import type {LocalAzureState} from './state.js'

const MAX_BODY_BYTES = 4 * 1024 * 1024

export interface RequestContext {
  req: IncomingMessage
  res: ServerResponse
  method: string
  url: URL
  /** path segments, URL-decoded, empty ones dropped (`//a/b/` → `['a', 'b']`) */
  segments: string[]
  /** `https://<host>:<port>` as the client addressed us; used for absolute links (kid, nextLink) */
  origin: string
  state: LocalAzureState
  requestId: string
  body(): Promise<Buffer>
}

export function createContext(req: IncomingMessage, res: ServerResponse, state: LocalAzureState): RequestContext {
  const host = req.headers.host ?? `127.0.0.1:${req.socket.localPort}`
  const raw = req.url ?? '/'
  // Concatenate rather than resolve: a path starting with `//` (the ARM SDKs send `//subscriptions/…` for a
  // resourceUri with a leading slash) would otherwise be read as a protocol-relative URL.
  const url = raw.startsWith('/') ? new URL(`https://${host}${raw}`) : new URL(raw)
  let cached: Promise<Buffer> | undefined
  return {
    req,
    res,
    method: (req.method ?? 'GET').toUpperCase(),
    url,
    segments: url.pathname
      .split('/')
      .filter(Boolean)
      .map((s) => safeDecode(s)),
    origin: `https://${host}`,
    state,
    requestId: randomUUID(),
    body: () => (cached ??= readBody(req)),
  }
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > MAX_BODY_BYTES) {
        reject(new Error('request body too large'))
        req.destroy()
        return
      }

      chunks.push(chunk)
    })
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

/** The request body parsed as JSON; `undefined` for an empty body; throws SyntaxError on bad JSON. */
export async function readJson(ctx: RequestContext): Promise<unknown> {
  const raw = await ctx.body()
  if (raw.length === 0) return undefined
  return JSON.parse(raw.toString('utf8'))
}

export function sendJson(
  ctx: RequestContext,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body)
  ctx.res.writeHead(status, {
    ...headers,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(text)),
  })
  ctx.res.end(text)
}

export function sendEmpty(ctx: RequestContext, status: number, headers: Record<string, string> = {}): void {
  ctx.res.writeHead(status, headers)
  ctx.res.end()
}

/** The bearer token of the request, or undefined when there is no `Authorization: Bearer …` header. */
export function bearerToken(ctx: RequestContext): string | undefined {
  const value = ctx.req.headers.authorization
  if (!value) return undefined
  const match = /^Bearer\s+(.+)$/i.exec(value.trim())
  return match ? match[1] : ''
}

/** Common no-cache headers every Azure service sends. */
export function serviceHeaders(ctx: RequestContext): Record<string, string> {
  const headers: Record<string, string> = {
    'Cache-Control': 'no-cache',
    Pragma: 'no-cache',
    Expires: '-1',
    'Strict-Transport-Security': 'max-age=31536000;includeSubDomains',
    'X-Content-Type-Options': 'nosniff',
    'x-ms-request-id': ctx.requestId,
  }
  const clientRequestId = ctx.req.headers['x-ms-client-request-id']
  if (typeof clientRequestId === 'string') headers['x-ms-client-request-id'] = clientRequestId
  return headers
}

/** base64url without padding */
export function b64url(data: Buffer): string {
  return data.toString('base64url')
}

export function fromB64url(text: string): Buffer {
  return Buffer.from(text, 'base64url')
}

/** Opaque, stateless page token (base64url JSON), shaped like Key Vault's `$skiptoken`. */
export function encodeSkipToken(offset: number): string {
  return Buffer.from(JSON.stringify({NextMarker: `2!${offset}!`, TargetLocation: 0})).toString('base64url')
}

/** The offset in a token made by {@link encodeSkipToken}; undefined when malformed. */
export function decodeSkipToken(token: string): number | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as {NextMarker?: unknown}
    const match = typeof parsed.NextMarker === 'string' ? /^2!(\d+)!$/.exec(parsed.NextMarker) : null
    return match ? Number(match[1]) : undefined
  } catch {
    return undefined
  }
}

/**
 * The request's own URL with `$skiptoken` replaced: a next-page link written the way ARM and Graph
 * write theirs (`$skiptoken=`, the dollar sign not percent-encoded).
 */
export function withSkipToken(ctx: RequestContext, token: string): string {
  const query = ctx.url.search
    .slice(1)
    .split('&')
    .filter((part) => part && !/^(\$|%24)skiptoken=/i.test(part))
  query.push(`$skiptoken=${token}`)
  return `${ctx.url.origin}${ctx.url.pathname}?${query.join('&')}`
}
