/**
 * A loopback Blob endpoint of the erase tests' own (node:http on 127.0.0.1, port 0) for what Azurite
 * lacks: versions, soft-deleted items, legal holds. It serves recorded real List Blobs bodies from
 * ../shared/azure-contracts/storage-blob-xml/ — byte for byte until something in them is deleted,
 * then the same body with the deleted <Blob> elements taken out — and answers Blob Batch requests
 * in the recorded multipart format (the recorded three-part response verbatim when asked). It
 * records every request, with the sub-requests of each batch parsed, so tests can assert exactly
 * what the real @azure/storage-blob client sent.
 *
 * The recorded bodies are served for whichever container the test's data map names (the SDK does not
 * check the `ContainerName` attribute). Authentication is not checked.
 */
import {randomUUID} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'
import {fileURLToPath} from 'node:url'

const CONTRACTS = fileURLToPath(new URL('../../../shared/azure-contracts/', import.meta.url))
const ACCOUNT = 'fakestorageaccount'
const KEY = Buffer.from('not-a-real-key-recorded-responses-only').toString('base64')

export function contract(path: string): string {
  return readFileSync(`${CONTRACTS}${path}`, 'utf8')
}

/** The List Blobs body inside a test-proxy recording (`Entries[i].ResponseBody`). */
export function recordedListBody(file: string): string {
  const recording = JSON.parse(contract(file)) as {
    Entries: Array<{RequestMethod: string; RequestUri: string; ResponseBody: unknown}>
  }
  const entry = recording.Entries.find((e) => e.RequestMethod === 'GET' && e.RequestUri.includes('comp=list'))
  if (!entry) throw new Error(`no List Blobs exchange in ${file}`)
  return String(entry.ResponseBody)
}

export interface SubRequest {
  contentId: number
  method: string
  /** the request line's target, as sent */
  target: string
  container: string
  name: string
  snapshot?: string
  versionId?: string
  deleteType?: string
  headers: Record<string, string>
}

export interface RecordedRequest {
  method: string
  path: string
  query: URLSearchParams
  headers: Record<string, string | string[] | undefined>
  /** parsed sub-requests of a Blob Batch POST */
  subRequests?: SubRequest[]
}

interface Entry {
  xml: string
  name: string
  snapshot?: string
  versionId?: string
  current: boolean
  deleted: boolean
  versionsOnly: boolean
}

interface Listing {
  head: string
  tail: string
  entries: Entry[]
  /** nothing deleted yet: serve the recorded body byte for byte */
  pristine: string
}

export interface ScriptedFailure {
  /** which sub-requests fail */
  match: (sub: SubRequest) => boolean
  status: number
  reason: string
  code: string
  /** how many times (then the sub-request succeeds) */
  times: number
  /** the object is gone after this answer (someone else deleted it) */
  thenGone?: boolean
}

export interface RecordedBlobServer {
  url: string
  connectionString: string
  requests: RecordedRequest[]
  /** Serves `xml` as the listing of `container`. */
  setListing(container: string, xml: string): void
  /** Sub-requests answered with a failure part, `times` times each. */
  failures: ScriptedFailure[]
  /** Containers with soft delete on: deletes keep the object as a soft-deleted entry (`x-ms-delete-type-permanent: false`). */
  softDelete: Set<string>
  /** Answer the next 3-part batch with the recorded response bytes (blob-batch-delete-response.multipart). */
  verbatimBatchResponse: boolean
  /**
   * Answers for the next batch requests as a whole, in order: `status` instead of a 202 (a server or
   * gateway timing out), after carrying the deletes out when `executed` (the answer was lost).
   */
  batchAnswers: Array<{status: number; executed?: boolean}>
  batches(): RecordedRequest[]
  close(): Promise<void>
}

const RECORDED_BOUNDARY = 'batchresponse_ca5a9f6c-5883-443e-82b1-263d2e8791ec'

function parseListing(xml: string): Listing {
  const start = xml.indexOf('<Blobs>') + '<Blobs>'.length
  const end = xml.indexOf('</Blobs>')
  const entries: Entry[] = []
  for (const m of xml.slice(start, end).matchAll(/<Blob>[\s\S]*?<\/Blob>/g)) {
    const chunk = m[0]
    const tag = (t: string) => new RegExp(`<${t}>([^<]*)</${t}>`).exec(chunk)?.[1]
    entries.push({
      xml: chunk,
      name: tag('Name')!,
      snapshot: tag('Snapshot'),
      versionId: tag('VersionId'),
      current: tag('IsCurrentVersion') === 'true',
      deleted: tag('Deleted') === 'true',
      versionsOnly: tag('HasVersionsOnly') === 'true',
    })
  }

  return {head: xml.slice(0, start), tail: xml.slice(end), entries, pristine: xml}
}

function render(listing: Listing, prefix: string | null): string {
  const entries = listing.entries.filter((e) => !prefix || e.name.startsWith(prefix))
  if (entries.length === listing.entries.length && listing.pristine) return listing.pristine
  return `${listing.head}${entries.map((e) => e.xml).join('')}${listing.tail}`
}

function errorXml(code: string, message: string, requestId: string): string {
  return `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${message}\nRequestId:${requestId}\nTime:${new Date().toISOString()}</Message></Error>`
}

/** Parses a Blob Batch request body into its sub-requests. */
function parseBatchBody(body: string, boundary: string, account: string): SubRequest[] {
  const subs: SubRequest[] = []
  for (const part of body.split(`--${boundary}`).slice(1)) {
    if (part.startsWith('--')) break
    const [envelope, request] = part.split('\r\n\r\n')
    const contentId = Number(/Content-ID: (\d+)/.exec(envelope)?.[1])
    const lines = request.split('\r\n')
    const [method, target] = lines[0].split(' ')
    const headers: Record<string, string> = {}
    for (const line of lines.slice(1)) {
      const i = line.indexOf(': ')
      if (i > 0) headers[line.slice(0, i).toLowerCase()] = line.slice(i + 2)
    }

    const url = new URL(target, 'http://x')
    const segments = url.pathname.split('/').filter(Boolean)
    if (segments[0] === account) segments.shift()
    subs.push({
      contentId,
      method,
      target,
      container: decodeURIComponent(segments[0]),
      name: segments.slice(1).map(decodeURIComponent).join('/'),
      ...(url.searchParams.get('snapshot') ? {snapshot: url.searchParams.get('snapshot')!} : {}),
      ...(url.searchParams.get('versionid') ? {versionId: url.searchParams.get('versionid')!} : {}),
      ...(url.searchParams.get('deletetype') ? {deleteType: url.searchParams.get('deletetype')!} : {}),
      headers,
    })
  }

  return subs
}

export async function startRecordedBlobServer(): Promise<RecordedBlobServer> {
  const listings = new Map<string, Listing>()
  const deletedContainers = new Set<string>()
  const requests: RecordedRequest[] = []
  const recordedResponse = contract('storage-blob-xml/blob-batch-delete-response.multipart')
  const self: Omit<RecordedBlobServer, 'url' | 'connectionString' | 'close'> = {
    requests,
    failures: [],
    softDelete: new Set(),
    verbatimBatchResponse: false,
    batchAnswers: [],
    setListing(container, xml) {
      listings.set(container, parseListing(xml))
    },
    batches: () => requests.filter((r) => r.subRequests),
  }

  /** Applies one delete to the listing state: the part's status line, error code and soft-delete flag. */
  const applyDelete = (sub: SubRequest): {status: number; reason: string; code?: string; soft?: boolean} => {
    const listing = listings.get(sub.container)
    if (!listing || deletedContainers.has(sub.container))
      return {status: 404, reason: 'The specified container does not exist.', code: 'ContainerNotFound'}
    const scripted = self.failures.find((f) => f.times > 0 && f.match(sub))
    if (scripted) {
      scripted.times--
      if (scripted.thenGone) {
        listing.entries = listing.entries.filter((e) => e.name !== sub.name)
        listing.pristine = ''
      }

      return {status: scripted.status, reason: scripted.reason, code: scripted.code}
    }

    const same = (e: Entry) => e.name === sub.name
    const notFound = {status: 404, reason: 'The specified blob does not exist.', code: 'BlobNotFound'}
    const soft = self.softDelete.has(sub.container) && sub.deleteType !== 'permanent'
    const remove = (e: Entry) => {
      listing.pristine = ''
      if (!soft) {
        listing.entries.splice(listing.entries.indexOf(e), 1)
        return
      }

      // What the service lists for a soft-deleted object (see list-blobs-include-deleted-soft-deleted.xml).
      e.deleted = true
      e.xml = e.xml
        .replace('</Name>', '</Name><Deleted>true</Deleted>')
        .replace(
          '</Properties>',
          `<DeletedTime>${new Date().toUTCString()}</DeletedTime><RemainingRetentionDays>7</RemainingRetentionDays></Properties>`,
        )
    }

    const accepted = {status: 202, reason: 'Accepted', soft}
    if (sub.deleteType === 'permanent') {
      const e = listing.entries.find(
        (x) => same(x) && x.deleted && (sub.snapshot ? x.snapshot === sub.snapshot : x.versionId === sub.versionId),
      )
      if (!e) return notFound
      remove(e)
      return {status: 202, reason: 'Accepted'}
    }

    if (sub.snapshot) {
      const e = listing.entries.find((x) => same(x) && !x.deleted && x.snapshot === sub.snapshot)
      if (!e) return notFound
      remove(e)
      return accepted
    }

    if (sub.versionId) {
      const e = listing.entries.find((x) => same(x) && !x.deleted && !x.snapshot && x.versionId === sub.versionId)
      if (!e) return notFound
      remove(e)
      return accepted
    }

    const base = listing.entries.find(
      (x) => same(x) && !x.deleted && !x.snapshot && !x.versionsOnly && (!x.versionId || x.current),
    )
    if (!base) return notFound
    const snapshots = listing.entries.filter((x) => same(x) && x.snapshot && !x.deleted)
    if (snapshots.length > 0 && sub.headers['x-ms-delete-snapshots'] !== 'include')
      return {
        status: 409,
        reason: 'This operation is not permitted because the blob has snapshots.',
        code: 'SnapshotsPresent',
      }
    for (const s of snapshots) remove(s)
    if (base.versionId) {
      // With versioning on, the current version becomes a previous version.
      base.current = false
      base.xml = base.xml.replace('<IsCurrentVersion>true</IsCurrentVersion>', '')
      listing.pristine = ''
    } else {
      remove(base)
    }

    return accepted
  }

  const handle = async (req: IncomingMessage, res: ServerResponse, body: string) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const segments = url.pathname.split('/').filter(Boolean)
    if (segments[0] === ACCOUNT) segments.shift()
    const q = url.searchParams
    const record: RecordedRequest = {method: req.method ?? 'GET', path: url.pathname, query: q, headers: req.headers}
    requests.push(record)
    const requestId = randomUUID()
    const common = {'x-ms-request-id': requestId, 'x-ms-version': '2020-10-02', Server: 'Windows-Azure-Blob/1.0'}
    const container = segments[0] ? decodeURIComponent(segments[0]) : undefined
    const send = (status: number, headers: Record<string, string>, text = '') => {
      res.writeHead(status, {...common, ...headers, 'Content-Length': String(Buffer.byteLength(text))})
      res.end(text)
    }

    const missing = () =>
      send(
        404,
        {'x-ms-error-code': 'ContainerNotFound', 'Content-Type': 'application/xml'},
        errorXml('ContainerNotFound', 'The specified container does not exist.', requestId),
      )
    if (!container && q.get('comp') === 'list') {
      return send(
        200,
        {'Content-Type': 'application/xml'},
        `<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="http://127.0.0.1/${ACCOUNT}/"><Containers /><NextMarker /></EnumerationResults>`,
      )
    }

    if (!container) return send(400, {'x-ms-error-code': 'InvalidUri'})
    const listing = listings.get(container)
    const exists = listing && !deletedContainers.has(container)
    if (q.get('restype') === 'container' && q.get('comp') === 'batch' && req.method === 'POST') {
      if (!exists) return missing()
      const boundary = /boundary=(\S+)/.exec(String(req.headers['content-type']))![1]
      const subs = parseBatchBody(body, boundary, ACCOUNT)
      record.subRequests = subs
      const answer = self.batchAnswers.shift()
      if (answer) {
        if (answer.executed) for (const sub of subs) applyDelete(sub)
        return send(answer.status, {'Content-Type': 'text/plain'}, `${answer.status} from the test server`)
      }

      if (self.verbatimBatchResponse && subs.length === 3) {
        self.verbatimBatchResponse = false
        for (const sub of subs) applyDelete(sub)
        return send(202, {'Content-Type': `multipart/mixed; boundary=${RECORDED_BOUNDARY}`}, recordedResponse)
      }

      const boundaryOut = `batchresponse_${randomUUID()}`
      const parts = subs.map((sub) => {
        const r = applyDelete(sub)
        const id = randomUUID()
        const head = `--${boundaryOut}\r\nContent-Type: application/http\r\nContent-ID: ${sub.contentId}\r\n\r\nHTTP/1.1 ${r.status} ${r.reason}\r\n`
        if (r.status === 202)
          return `${head}x-ms-delete-type-permanent: ${r.soft ? 'false' : 'true'}\r\nx-ms-request-id: ${id}\r\nx-ms-version: 2020-10-02\r\nServer: Windows-Azure-Blob/1.0\r\n\r\n`
        const xml = errorXml(r.code!, r.reason, id)
        return `${head}x-ms-error-code: ${r.code}\r\nx-ms-request-id: ${id}\r\nx-ms-version: 2020-10-02\r\nContent-Length: ${Buffer.byteLength(xml)}\r\nContent-Type: application/xml\r\nServer: Windows-Azure-Blob/1.0\r\n\r\n${xml}\r\n`
      })
      return send(
        202,
        {'Content-Type': `multipart/mixed; boundary=${boundaryOut}`},
        `${parts.join('')}--${boundaryOut}--`,
      )
    }

    if (q.get('restype') === 'container' && q.get('comp') === 'list') {
      if (!exists) return missing()
      return send(200, {'Content-Type': 'application/xml'}, render(listing, q.get('prefix')))
    }

    if (q.get('restype') === 'container' && !q.get('comp')) {
      if (!exists) return missing()
      if (req.method === 'DELETE') {
        deletedContainers.add(container)
        return send(202, {})
      }

      return send(200, {
        'Last-Modified': new Date().toUTCString(),
        ETag: '"0x8D00000000000000"',
        'x-ms-lease-status': 'unlocked',
        'x-ms-lease-state': 'available',
        'x-ms-has-immutability-policy': 'false',
        'x-ms-has-legal-hold': 'false',
      })
    }

    return send(400, {'x-ms-error-code': 'UnsupportedByThisTestServer'})
  }

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on(
      'end',
      () =>
        void handle(req, res, Buffer.concat(chunks).toString('utf8')).catch((error: unknown) => {
          res.writeHead(500)
          res.end(String(error))
        }),
    )
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  const url = `http://127.0.0.1:${port}/${ACCOUNT}`
  return {
    ...self,
    get verbatimBatchResponse() {
      return self.verbatimBatchResponse
    },
    set verbatimBatchResponse(v: boolean) {
      self.verbatimBatchResponse = v
    },
    url,
    connectionString: `DefaultEndpointsProtocol=http;AccountName=${ACCOUNT};AccountKey=${KEY};BlobEndpoint=${url};`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
