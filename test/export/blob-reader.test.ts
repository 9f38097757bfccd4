/**
 * The lean reader of small blobs (azure/blob-reader.ts) against Azurite: the bytes and Content-MD5
 * of blobs with awkward names and of a snapshot, the errors the SDK would give (412 on a changed
 * ETag, 404, 403 for a wrong key — Azurite checks the signature), a body cut off half-way read again,
 * and the same x-ms-version and URL the SDK sends.
 */
import assert from 'node:assert/strict'
import {createHash, randomBytes} from 'node:crypto'
import {createServer, type IncomingHttpHeaders} from 'node:http'
import type {AddressInfo} from 'node:net'

import {
  AnonymousCredential,
  BlobServiceClient,
  ContainerClient,
  ContainerSASPermissions,
  StorageSharedKeyCredential,
} from '@azure/storage-blob'

import {BlobReader, type BlobReaderOptions} from '../../src/lib/azure/blob-reader.js'
import {startFaultProxy} from '../support/fault-proxy.js'
import {getTestAzurite, uniqueName} from '../support/env.js'

const RETRY = {maxTries: 3, retryDelayInMs: 10, maxRetryDelayInMs: 50, tryTimeoutInMs: 30_000}
const NAMES = ['plain.bin', 'with space/and deep/path.bin', 'ünïcødé/日本語.bin', '100%#?&=+.bin', "quote's (1)*!~.bin"]

function reader(endpoint: string, auth: BlobReaderOptions['auth']): BlobReader {
  return new BlobReader({endpoint, auth, retry: RETRY, userAgentPrefix: 'custos-test'})
}

describe('lean reader of small blobs', () => {
  const azurite = () => getTestAzurite()
  const account = () => azurite().accounts.find((a) => a.name === 'contosoprod')!
  let container: ContainerClient
  const bodies = new Map<string, Buffer>()

  before(async () => {
    container = BlobServiceClient.fromConnectionString(azurite().connectionString('contosoprod')).getContainerClient(
      uniqueName('reader'),
    )
    await container.create()
    for (const name of NAMES) {
      const body = randomBytes(3000 + name.length)
      bodies.set(name, body)
      await container.getBlockBlobClient(name).uploadData(body)
    }
  })

  after(async () => {
    await container.deleteIfExists()
  })

  const sharedKey = () => ({sharedKey: new StorageSharedKeyCredential('contosoprod', account().key)})

  it('reads every blob byte for byte with its Content-MD5, and a snapshot as it was', async () => {
    const lean = reader(azurite().blobEndpoint('contosoprod'), sharedKey())
    for (const name of NAMES) {
      const read = await lean.read({container: container.containerName, name}, {maxRetryRequests: 0})
      assert.ok(read.body.equals(bodies.get(name)!), name)
      assert.equal(read.contentMD5, createHash('md5').update(bodies.get(name)!).digest('base64'), name)
    }

    const snapshot = (await container.getBlobClient(NAMES[0]).createSnapshot()).snapshot!
    await container.getBlockBlobClient(NAMES[0]).uploadData(Buffer.from('overwritten'))
    const old = await lean.read({container: container.containerName, name: NAMES[0], snapshot}, {maxRetryRequests: 0})
    assert.ok(old.body.equals(bodies.get(NAMES[0])!), 'the snapshot keeps the first bytes')
    const now = await lean.read({container: container.containerName, name: NAMES[0]}, {maxRetryRequests: 0})
    assert.equal(now.body.toString(), 'overwritten')
    await container.getBlockBlobClient(NAMES[0]).uploadData(bodies.get(NAMES[0])!)
  })

  it('fails as the SDK does: 412 for another ETag, 404 for a missing blob, 403 for a wrong key', async () => {
    const lean = reader(azurite().blobEndpoint('contosoprod'), sharedKey())
    await assert.rejects(
      lean.read(
        {container: container.containerName, name: NAMES[1], ifMatch: '"0x8D000000000000"'},
        {maxRetryRequests: 0},
      ),
      {statusCode: 412, code: 'ConditionNotMet'},
    )
    const etag = (await container.getBlobClient(NAMES[1]).getProperties()).etag!
    assert.equal(
      (await lean.read({container: container.containerName, name: NAMES[1], ifMatch: etag}, {maxRetryRequests: 0})).body
        .length,
      bodies.get(NAMES[1])!.length,
    )
    await assert.rejects(lean.read({container: container.containerName, name: 'missing.bin'}, {maxRetryRequests: 0}), {
      statusCode: 404,
      code: 'BlobNotFound',
    })
    const wrong = reader(azurite().blobEndpoint('contosoprod'), {
      sharedKey: new StorageSharedKeyCredential('contosoprod', Buffer.from('not the key').toString('base64')),
    })
    await assert.rejects(
      wrong.read({container: container.containerName, name: NAMES[0]}, {maxRetryRequests: 0}),
      (e: {statusCode?: number; message: string}) => e.statusCode === 403 && !e.message.includes('SharedKey'),
    )
  })

  it('reads with a SAS from the connection string', async () => {
    const sas = await container.generateSasUrl({
      permissions: ContainerSASPermissions.parse('r'),
      expiresOn: new Date(Date.now() + 3_600_000),
    })
    const lean = reader(azurite().blobEndpoint('contosoprod'), {sas: sas.split('?')[1]})
    assert.ok(
      (await lean.read({container: container.containerName, name: NAMES[2]}, {maxRetryRequests: 0})).body.equals(
        bodies.get(NAMES[2])!,
      ),
    )
  })

  it('reads a body that broke off half-way again, and gives up after maxRetryRequests', async () => {
    const proxy = await startFaultProxy({
      upstream: `http://127.0.0.1:${azurite().port}`,
      faults: (r) => (r.method === 'GET' && r.path.endsWith('.bin') ? {truncate: 1} : {}),
    })
    try {
      const lean = reader(proxy.endpoint('contosoprod'), sharedKey())
      await assert.rejects(lean.read({container: container.containerName, name: NAMES[3]}, {maxRetryRequests: 2}))
      assert.equal(proxy.requests.filter((r) => r.method === 'GET').length, 3, 'the first read and two more')
      let cut = 1
      proxy.setFaults((r) => (r.method === 'GET' && cut-- > 0 ? {truncate: 1} : {}))
      const read = await lean.read({container: container.containerName, name: NAMES[3]}, {maxRetryRequests: 2})
      assert.ok(read.body.equals(bodies.get(NAMES[3])!))
      assert.equal(proxy.injected.truncate, 4)
    } finally {
      await proxy.close()
    }
  })

  it('sends the x-ms-version and the URL the SDK sends for the same blob', async () => {
    const seen: Array<{url: string; headers: IncomingHttpHeaders}> = []
    const server = createServer((req, res) => {
      seen.push({url: req.url!, headers: req.headers})
      res.writeHead(200, {'content-length': '2', 'content-type': 'application/octet-stream', etag: '"0x1"'}).end('ok')
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/acct`
      const name = NAMES[4]
      await new ContainerClient(`${endpoint}/c1?sv=1&sig=x`, new AnonymousCredential())
        .getBlobClient(name)
        .withSnapshot('2021-01-01T00:00:00.1234567Z')
        .download(0)
      await reader(endpoint, {sas: 'sv=1&sig=x'}).read(
        {container: 'c1', name, snapshot: '2021-01-01T00:00:00.1234567Z'},
        {maxRetryRequests: 0},
      )
      assert.equal(seen.length, 2)
      assert.equal(seen[1].headers['x-ms-version'], seen[0].headers['x-ms-version'])
      assert.equal(seen[1].url, seen[0].url)
    } finally {
      server.close()
    }
  })

  it('gives up on a silent server after its time limit, reads again, and leaves no timer behind when aborted', async () => {
    let requests = 0
    const server = createServer(() => {
      requests++ // never answers
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/acct`
      const lean = new BlobReader({
        endpoint,
        auth: {sas: 'sv=1&sig=x'},
        retry: {...RETRY, tryTimeoutInMs: 200},
        userAgentPrefix: 'custos-test',
      })
      await assert.rejects(lean.read({container: 'c1', name: 'x.bin'}, {maxRetryRequests: 1}), {code: 'ETIMEDOUT'})
      assert.equal(requests, 2, 'the first try and one more')

      const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length
      const before = timers()
      const controller = new AbortController()
      const read = lean.read({container: 'c1', name: 'x.bin'}, {abortSignal: controller.signal, maxRetryRequests: 3})
      await new Promise((r) => setTimeout(r, 50))
      controller.abort()
      await assert.rejects(read, {name: 'AbortError'})
      assert.equal(requests, 3, 'an abort is not read again')
      assert.equal(timers(), before, 'no timer keeps the process alive after an aborted read')
    } finally {
      server.closeAllConnections()
      server.close()
    }
  })
})
