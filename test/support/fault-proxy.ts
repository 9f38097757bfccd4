/**
 * A loopback fault proxy in front of Azurite, for the tests (test code: it lives here, not under
 * src/, so that it never ships in dist/): a plain `node:http` server that forwards every request
 * unchanged to the upstream Blob endpoint and, for a
 * configurable share of them, answers with what a busy or flaky Azure answers instead — 503
 * ServerBusy, 500 InternalError or 429 with `Retry-After`, a reset connection, a response cut off
 * mid-body, or a slow answer. Inside a Blob Batch it can throttle single sub-requests: the batch
 * still answers 202, but some parts say `503 ServerBusy` (what the service does under load).
 * (Blob storage itself throttles with 503 ServerBusy / 500 OperationTimedOut, and its SDK retries only
 * those; a 429 is worth injecting where custos retries it itself — Blob Batch requests — and shows
 * what happens when a gateway in front of storage answers 429.)
 *
 * Decisions come from a seeded generator, so a run with the same seed and the same request order
 * injects the same faults; `injected` counts what was done. Data maps point at the proxy with a
 * connection string whose BlobEndpoint is `proxy.endpoint(account)`: Shared Key signs the account
 * and the path, not the host, so signatures made for the proxy are valid upstream.
 *
 * `hold()` stops one chosen request (before it reaches Azurite, after Azurite answered but before
 * the client hears it, or half-way through the answer's body) and tells the test, which can then
 * kill the client at exactly that point — the crash points of the resume tests.
 *
 * Safety of batch faults: a throttled part must not be executed upstream (the client will send it
 * again). The proxy flips one character of that part's own Shared Key signature — same byte length,
 * so the outer request's signature (which covers Content-Length) stays valid — so upstream refuses
 * the part with 403 before doing anything, and the proxy replaces that 403 by 503 ServerBusy. A part
 * that upstream did not refuse is left as it was and counted in `injected.batchPartsNotDisarmed`
 * (the tests assert it stays 0). Altering a request line instead does not work: Azure and Azurite
 * then reject the whole batch.
 */
import {randomUUID} from 'node:crypto'
import {
  createServer,
  request as httpRequest,
  Agent,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http'
import type {AddressInfo, Socket} from 'node:net'
import {seededRandom} from '../../src/lib/local/seeded-random.js'

export type FaultKind = 'serverBusy' | 'internalError' | 'tooManyRequests' | 'reset' | 'truncate' | 'delay'

/** Share (0..1) of requests answered with each fault; the shares add up to at most 1. */
export interface FaultRates {
  /** 503 ServerBusy with Retry-After (Azure Storage's throttling answer) */
  serverBusy?: number
  /** 500 InternalError */
  internalError?: number
  /** 429 TooManyRequests with Retry-After */
  tooManyRequests?: number
  /** the connection is destroyed before the request is forwarded */
  reset?: number
  /** the request is forwarded, but the response body is cut off half-way (downloads only: GET with a body) */
  truncate?: number
  /** the answer comes `delayInMs` late */
  delay?: number
}

/** What the proxy knows about a request when it decides (and what it records). */
export interface ProxiedRequest {
  seq: number
  method: string
  /** path without the query, percent-decoded */
  path: string
  query: URLSearchParams
  /** first path segment (Azurite's path-style account) */
  account: string
  /** sub-requests of a Blob Batch POST */
  subRequests?: BatchSubRequest[]
  /** the status the client got (undefined: connection reset or still open) */
  status?: number
  fault?: FaultKind
  /** when the request arrived and when its answer was complete (ms since the epoch) */
  receivedAt: number
  answeredAt?: number
  /** Content-IDs of batch parts answered 503 by the proxy */
  throttledParts?: number[]
}

export interface BatchSubRequest {
  contentId: number
  method: string
  /** path without query, percent-decoded */
  path: string
  query: URLSearchParams
}

/** The fault shares for one request. */
export type FaultPolicy = (request: ProxiedRequest) => FaultRates

export interface FaultProxyOptions {
  /** upstream origin, e.g. `http://127.0.0.1:10000` (any path is ignored) */
  upstream: string
  /** 0 = a free loopback port */
  port?: number
  /** seed of the fault generator (default 1) */
  seed?: number
  /** fault shares for every request, or per request (e.g. 429 only for batch requests) */
  faults?: FaultRates | FaultPolicy
  /** share of Blob Batch sub-requests answered 503 inside a 202 batch */
  batchPartFaults?: number
  delayInMs?: number
  /** the Retry-After value sent with 503 and 429 (default 1) */
  retryAfterSeconds?: number
  /** keep every request in `requests` (default true) */
  record?: boolean
}

export interface HoldOptions {
  /**
   * `request`: hold before forwarding; `response`: forward, then hold Azurite's answer; `body`: send
   * the answer's headers and the first half of its body, then hold the rest (default `request`)
   */
  stage?: HoldStage
  /** let this many matching requests pass first */
  skip?: number
}

/** A request stopped by {@link FaultProxy.hold}. */
export interface HeldRequest {
  request: ProxiedRequest
  /** lets it go on (forwards it, or delivers the held answer) */
  release(): void
  /** drops the connection instead */
  drop(): void
}

export type InjectedCounts = Record<FaultKind | 'batchParts' | 'batchPartsNotDisarmed', number>

export interface FaultProxy {
  /** http://127.0.0.1:<port> */
  url: string
  port: number
  /** the proxy's Blob endpoint for an Azurite account: `${url}/${account}` */
  endpoint(account: string): string
  /** a connection string for `account` with `key` that points at the proxy */
  connectionString(account: string, key: string): string
  /** what was injected so far, by kind */
  readonly injected: InjectedCounts
  /** every request seen (when `record`) */
  readonly requests: ProxiedRequest[]
  /** failures of the proxy itself (an upstream it could not reach): answered 502, never intended */
  readonly errors: string[]
  /** changes the fault shares from now on (the generator keeps its sequence) */
  setFaults(faults: FaultRates | FaultPolicy, batchPartFaults?: number): void
  /** resolves with the next matching request, which stays stopped until released or dropped */
  hold(match: (request: ProxiedRequest) => boolean, options?: HoldOptions): Promise<HeldRequest>
  /** releases everything held and stops listening */
  close(): Promise<void>
}

/** Deterministic fault sequences: the same seed injects the same faults. */
const seededGenerator = seededRandom

const FAULT_ORDER: FaultKind[] = ['serverBusy', 'internalError', 'tooManyRequests', 'reset', 'truncate', 'delay']

type HoldStage = 'request' | 'response' | 'body'

interface Waiter {
  match: (request: ProxiedRequest) => boolean
  stage: HoldStage
  skip: number
  resolve: (held: HeldRequest) => void
}

export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const upstream = new URL(options.upstream)
  const random = seededGenerator(options.seed ?? 1)
  let faults: FaultPolicy = policyOf(options.faults)
  let batchPartFaults = options.batchPartFaults ?? 0
  const delayInMs = options.delayInMs ?? 200
  const retryAfter = String(options.retryAfterSeconds ?? 1)
  const record = options.record ?? true
  const injected: InjectedCounts = {
    serverBusy: 0,
    internalError: 0,
    tooManyRequests: 0,
    reset: 0,
    truncate: 0,
    delay: 0,
    batchParts: 0,
    batchPartsNotDisarmed: 0,
  }
  const requests: ProxiedRequest[] = []
  const waiters: Waiter[] = []
  const held = new Set<() => void>()
  const sockets = new Set<Socket>()
  // No keep-alive upstream: a pooled connection that Azurite closed meanwhile would fail a request
  // with a fault of the proxy's own making (a 502 nobody asked for).
  const agent = new Agent({keepAlive: false})
  const errors: string[] = []
  let seq = 0

  const pickFault = (info: ProxiedRequest): FaultKind | undefined => {
    const rates = faults(info)
    const r = random()
    let edge = 0
    for (const kind of FAULT_ORDER) {
      edge += rates[kind] ?? 0
      if (r < edge) return kind
    }

    return undefined
  }

  /** The first waiter that wants this request at this stage (after its skips), removed. */
  const takeWaiter = (info: ProxiedRequest, stage: HoldStage): Waiter | undefined => {
    for (const [i, w] of waiters.entries()) {
      if (w.stage !== stage || !w.match(info)) continue
      if (w.skip > 0) {
        w.skip--
        continue
      }

      waiters.splice(i, 1)
      return w
    }

    return undefined
  }

  /** Stops here until the test releases (true) or drops (false) the request. */
  const pause = (waiter: Waiter, info: ProxiedRequest): Promise<boolean> =>
    new Promise((resolve) => {
      let done = false
      const finish = (go: boolean) => {
        if (done) return
        done = true
        held.delete(releaseOnClose)
        resolve(go)
      }

      const releaseOnClose = () => finish(true)
      held.add(releaseOnClose)
      waiter.resolve({request: info, release: () => finish(true), drop: () => finish(false)})
    })

  const server: Server = createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => {
      errors.push(`${req.method} ${req.url}: ${(error as Error).message}`)
      if (!res.headersSent) {
        res.statusCode = 502
        res.end()
      } else {
        res.destroy()
      }
    })
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://proxy.invalid')
    const path = safeDecode(url.pathname)
    const info: ProxiedRequest = {
      seq: ++seq,
      method: req.method ?? 'GET',
      path,
      query: url.searchParams,
      account: path.split('/')[1] ?? '',
      receivedAt: Date.now(),
    }
    res.once('close', () => (info.answeredAt = Date.now()))
    if (record) requests.push(info)
    const isBatch = info.method === 'POST' && url.searchParams.get('comp') === 'batch'
    let body: Buffer | undefined
    let boundary: string | undefined
    if (isBatch) {
      body = await readAll(req)
      boundary = /boundary=([^;\s]+)/i.exec(String(req.headers['content-type'] ?? ''))?.[1]
      if (boundary) info.subRequests = parseBatchRequest(body, boundary)
    }

    const waiter = takeWaiter(info, 'request')
    if (waiter && !(await pause(waiter, info))) {
      req.socket.destroy()
      return
    }

    const eligible = !waiter
    const fault = eligible ? pickFault(info) : undefined
    const reply = (status: number, code: string, message: string, extra: Record<string, string> = {}) => {
      info.fault = fault
      info.status = status
      injected[fault!]++
      const xml = `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${message}\nRequestId:${randomUUID()}\nTime:${new Date().toISOString()}</Message></Error>`
      res.writeHead(status, code, {
        'Content-Type': 'application/xml',
        'x-ms-error-code': code,
        'x-ms-request-id': randomUUID(),
        ...extra,
      })
      res.end(info.method === 'HEAD' ? undefined : xml)
      req.resume()
    }

    switch (fault) {
      case 'serverBusy': {
        return reply(503, 'ServerBusy', 'The server is busy.', {'Retry-After': retryAfter})
      }

      case 'internalError': {
        return reply(500, 'InternalError', 'The server encountered an internal error. Please retry the request.')
      }

      case 'tooManyRequests': {
        return reply(429, 'TooManyRequests', 'Too many requests.', {'Retry-After': retryAfter})
      }

      case 'reset': {
        info.fault = fault
        injected.reset++
        req.socket.destroy()
        return
      }

      case 'delay': {
        info.fault = fault
        injected.delay++
        await new Promise((r) => setTimeout(r, delayInMs))
        break
      }

      default:
    }

    // A cut-off body is recorded (and counted) only where there is a body to cut: see below.
    const truncate = fault === 'truncate' && info.method === 'GET'

    // Throttle some parts of a batch: alter them so upstream cannot execute them, answer them 503.
    let throttled: number[] = []
    if (body && boundary && info.subRequests && batchPartFaults > 0 && eligible) {
      throttled = info.subRequests.filter(() => random() < batchPartFaults).map((s) => s.contentId)
      if (throttled.length > 0) body = disarmParts(body, boundary, new Set(throttled))
    }

    const upstreamReq = httpRequest({
      host: upstream.hostname,
      port: upstream.port,
      method: info.method,
      path: req.url,
      headers: {...req.headers, host: upstream.host},
      agent,
    })
    const upstreamRes = await new Promise<IncomingMessage>((resolve, reject) => {
      upstreamReq.once('response', resolve)
      upstreamReq.once('error', reject)
      if (body) upstreamReq.end(body)
      else req.pipe(upstreamReq)
    })

    const answerWaiter = takeWaiter(info, 'response')
    const answerBody = answerWaiter || throttled.length > 0 ? await readAll(upstreamRes) : undefined
    if (answerWaiter && !(await pause(answerWaiter, info))) {
      req.socket.destroy()
      return
    }

    const headers = copyHeaders(upstreamRes.headers)
    info.status = upstreamRes.statusCode
    if (answerBody) {
      let out = answerBody
      if (throttled.length > 0 && upstreamRes.statusCode === 202) {
        const responseBoundary = /boundary=([^;\s]+)/i.exec(String(upstreamRes.headers['content-type'] ?? ''))?.[1]
        if (responseBoundary) {
          const rewritten = throttleParts(answerBody, responseBoundary, new Set(throttled))
          out = rewritten.body
          info.throttledParts = rewritten.throttled
          injected.batchParts += rewritten.throttled.length
          injected.batchPartsNotDisarmed += rewritten.notDisarmed
        }
      }

      headers['content-length'] = String(out.length)
      delete headers['transfer-encoding']
      res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.statusMessage, headers)
      res.end(out)
      return
    }

    res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.statusMessage, headers)
    const length = Number(upstreamRes.headers['content-length'] ?? 0)
    const bodyWaiter = length > 1 ? takeWaiter(info, 'body') : undefined
    if (bodyWaiter) {
      // Half the body goes out, then the answer stalls mid-body until the test releases it.
      const answer = await readAll(upstreamRes)
      const half = Math.floor(answer.length / 2)
      res.write(answer.subarray(0, half))
      if (await pause(bodyWaiter, info)) res.end(answer.subarray(half))
      else req.socket.destroy()
      return
    }

    if (truncate && length > 1) {
      info.fault = 'truncate'
      injected.truncate++
      let sent = 0
      const cut = Math.floor(length / 2)
      upstreamRes.on('data', (chunk: Buffer) => {
        if (sent >= cut) return
        const part = chunk.subarray(0, cut - sent)
        sent += part.length
        res.write(part)
        if (sent >= cut) {
          upstreamRes.destroy()
          res.socket?.destroy()
        }
      })
      return
    }

    upstreamRes.pipe(res)
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve())
  })
  const {port} = server.address() as AddressInfo
  const url = `http://127.0.0.1:${port}`

  return {
    url,
    port,
    injected,
    requests,
    errors,
    endpoint: (account) => `${url}/${account}`,
    connectionString: (account, key) =>
      `DefaultEndpointsProtocol=http;AccountName=${account};AccountKey=${key};BlobEndpoint=${url}/${account};`,
    setFaults(next, parts) {
      faults = policyOf(next)
      if (parts !== undefined) batchPartFaults = parts
    },
    hold(match, holdOptions = {}) {
      return new Promise((resolve) =>
        waiters.push({match, stage: holdOptions.stage ?? 'request', skip: holdOptions.skip ?? 0, resolve}),
      )
    },
    async close() {
      for (const release of held) release()
      waiters.length = 0
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        for (const s of sockets) s.destroy()
      })
      agent.destroy()
    },
  }
}

function policyOf(faults: FaultRates | FaultPolicy | undefined): FaultPolicy {
  if (typeof faults === 'function') return faults
  const fixed = {...faults}
  return () => fixed
}

function safeDecode(path: string): string {
  try {
    return decodeURIComponent(path)
  } catch {
    return path
  }
}

function readAll(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    stream.on('data', (c: Buffer) => chunks.push(c))
    stream.once('end', () => resolve(Buffer.concat(chunks)))
    stream.once('error', reject)
  })
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade'])

function copyHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name)) continue
    out[name] = value
  }

  return out
}

interface Part {
  /** byte offsets of the part's text between two boundary lines */
  start: number
  end: number
  text: string
}

/** The parts of a multipart body (latin1 keeps one character per byte, so offsets are byte offsets). */
function multipartParts(body: Buffer, boundary: string): Part[] {
  const text = body.toString('latin1')
  const delimiter = `--${boundary}`
  const parts: Part[] = []
  let at = text.indexOf(delimiter)
  while (at >= 0) {
    const start = at + delimiter.length
    if (text.startsWith('--', start)) break
    const next = text.indexOf(delimiter, start)
    const end = next === -1 ? text.length : next
    parts.push({start, end, text: text.slice(start, end)})
    at = next
  }

  return parts
}

/** The sub-requests of a Blob Batch body: Content-ID, method, path and query of each part. */
function parseBatchRequest(body: Buffer, boundary: string): BatchSubRequest[] {
  const out: BatchSubRequest[] = []
  for (const part of multipartParts(body, boundary)) {
    const contentId = Number(/Content-ID:\s*(\d+)/i.exec(part.text)?.[1] ?? Number.NaN)
    const line = /\r\n(GET|PUT|DELETE|HEAD|POST) (\S+) HTTP\/1\.1\r\n/.exec(part.text)
    if (!line || Number.isNaN(contentId)) continue
    const target = new URL(line[2], 'http://proxy.invalid')
    out.push({
      contentId,
      method: line[1],
      path: safeDecode(Buffer.from(target.pathname, 'latin1').toString('latin1')),
      query: target.searchParams,
    })
  }

  return out
}

/**
 * Flips one character of the Shared Key signature of each chosen part (same length): upstream
 * refuses those parts with 403 AuthorizationFailure before executing them.
 */
function disarmParts(body: Buffer, boundary: string, contentIds: Set<number>): Buffer {
  const out = Buffer.from(body)
  for (const part of multipartParts(body, boundary)) {
    const contentId = Number(/Content-ID:\s*(\d+)/i.exec(part.text)?.[1] ?? Number.NaN)
    if (!contentIds.has(contentId)) continue
    const sig = /\r\nAuthorization: SharedKey [^:\r\n]+:(\S)/.exec(part.text)
    if (!sig) continue
    const at = part.start + sig.index + sig[0].length - 1
    out.write(sig[1] === 'A' ? 'B' : 'A', at, 'latin1')
  }

  return out
}

/** Replaces the 403 answers of the disarmed parts of a batch response by `503 ServerBusy`. */
function throttleParts(
  body: Buffer,
  boundary: string,
  contentIds: Set<number>,
): {body: Buffer; throttled: number[]; notDisarmed: number} {
  const text = body.toString('latin1')
  let out = ''
  let last = 0
  let notDisarmed = 0
  const throttled: number[] = []
  for (const part of multipartParts(body, boundary)) {
    const contentId = Number(/Content-ID:\s*(\d+)/i.exec(part.text)?.[1] ?? Number.NaN)
    if (!contentIds.has(contentId)) continue
    if (!/\r\nHTTP\/1\.1 403 /.test(part.text)) {
      notDisarmed++
      continue
    }

    throttled.push(contentId)
    const replacement =
      `\r\nContent-Type: application/http\r\nContent-ID: ${contentId}\r\n\r\n` +
      `HTTP/1.1 503 The server is busy.\r\nx-ms-error-code: ServerBusy\r\nx-ms-request-id: ${randomUUID()}\r\nContent-Length: 0\r\n\r\n`
    out += text.slice(last, part.start) + replacement
    last = part.end
  }

  out += text.slice(last)
  return {body: Buffer.from(out, 'latin1'), throttled, notDisarmed}
}
