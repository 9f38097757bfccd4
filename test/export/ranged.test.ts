/**
 * Large objects are read in ranges, several at once, and still hashed in order: the bytes on disk,
 * the SHA-256 and the MD5 must be exactly those of a single sequential read, whatever order the
 * ranges arrive in. Runs through the fault proxy, which records every request (to count and time
 * the ranges) and can hold or cut one off.
 */
import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {readFile} from 'node:fs/promises'
import {join} from 'node:path'

import type {ContainerClient} from '@azure/storage-blob'

import {AzureClients} from '../../src/lib/azure/clients.js'
import {validateDataMap} from '../../src/lib/datamap/load.js'
import {CustosError} from '../../src/lib/errors.js'
import {exportCustomer} from '../../src/lib/export/export.js'
import type {ExportManifest} from '../../src/lib/export/manifest.js'
import type {PlannedObject} from '../../src/lib/export/plan.js'
import type {VerifiedDigest} from '../../src/lib/evidence/digests.js'
import {downloadRangesToFile} from '../../src/lib/export/transfer.js'
import {startFaultProxy, type FaultProxy, type ProxiedRequest} from '../support/fault-proxy.js'
import {seededRandom} from '../../src/lib/local/seeded-random.js'
import {getTestAzurite, uniqueName} from '../support/env.js'
import {newTempDir, readTree} from './fixtures.js'

const RANGE = 64 * 1024

function bytes(length: number, seed: number): Buffer {
  const random = seededRandom(seed)
  const data = Buffer.allocUnsafe(length)
  for (let i = 0; i < length; i++) data[i] = Math.floor(random() * 256)
  return data
}

/** The most requests that were open at the same moment. */
function mostInFlight(requests: ProxiedRequest[]): number {
  const events = requests
    .flatMap((r) => [
      [r.receivedAt, 1],
      [r.answeredAt ?? Number.MAX_SAFE_INTEGER, -1],
    ])
    .sort((a, b) => a[0] - b[0] || a[1] - b[1])
  let open = 0
  let most = 0
  for (const [, delta] of events) most = Math.max(most, (open += delta))
  return most
}

describe('customer export: large objects read in ranges, several at once', function () {
  this.timeout(60_000)
  let proxy: FaultProxy
  let clients: AzureClients
  let container: ContainerClient
  let direct: ContainerClient
  let configRaw: Record<string, unknown>
  const template = `${uniqueName('rg').slice(0, 20)}-{customer}`

  before(async () => {
    const azurite = getTestAzurite()
    proxy = await startFaultProxy({upstream: azurite.blobEndpoint('contosoprod')})
    const key = azurite.accounts.find((a) => a.name === 'contosoprod')!.key
    configRaw = {
      stores: [{name: 'documents', account: proxy.connectionString('contosoprod', key), container: template}],
      audit: {account: azurite.connectionString('contosoaudit'), container: uniqueName('audit')},
    }
    clients = new AzureClients(validateDataMap(structuredClone(configRaw), 'ranged-test.json'), {
      retry: {maxTries: 4, retryDelayInMs: 10, maxRetryDelayInMs: 50},
    })
    container = clients
      .blobService(proxy.connectionString('contosoprod', key))
      .getContainerClient(template.replace('{customer}', 'big'))
    direct = clients
      .blobService(azurite.connectionString('contosoprod'))
      .getContainerClient(template.replace('{customer}', 'big'))
    await direct.create()
  })

  afterEach(() => proxy.setFaults({}))

  after(async () => {
    await proxy?.close()
  })

  /** Uploads `data` in one Put Blob (so the service keeps its Content-MD5) and returns it as listed. */
  async function put(name: string, data: Buffer, into = direct): Promise<PlannedObject> {
    await into.getBlockBlobClient(name).uploadData(data, {maxSingleShotSize: 64 * 1024 * 1024})
    const p = await into.getBlobClient(name).getProperties()
    return {
      store: 'documents',
      name,
      kind: 'current',
      path: `documents/${name}`,
      size: data.length,
      lastModified: p.lastModified!.toISOString(),
      contentMD5: Buffer.from(p.contentMD5!).toString('base64'),
      etag: p.etag,
      folderMarker: false,
    }
  }

  const reads = (name: string, from: number) =>
    proxy.requests.slice(from).filter((r) => r.method === 'GET' && r.path.endsWith(`/${name}`))

  async function download(object: PlannedObject, file: string, onBytes?: (n: number) => void): Promise<VerifiedDigest> {
    return downloadRangesToFile(container.getBlobClient(object.name), object, file, {
      customer: 'big',
      maxRetryRequests: 3,
      rangeSize: RANGE,
      parallel: 4,
      onBytes,
    })
  }

  it('writes the exact bytes and the hashes of a sequential read, with four ranges in flight', async () => {
    const data = bytes(16 * RANGE + 1234, 1)
    const object = await put('odd-size.bin', data)
    const file = join(await newTempDir('ranged'), 'odd-size.bin')
    const first = proxy.requests.length
    let counted = 0
    const digest = await download(object, file, (n) => (counted += n))

    assert.ok((await readFile(file)).equals(data), 'the file holds the blob, byte for byte')
    assert.equal(digest.sha256, createHash('sha256').update(data).digest('hex'))
    assert.equal(digest.md5, object.contentMD5)
    assert.equal(digest.bytes, data.length)
    assert.equal(counted, data.length, 'progress counted every byte once')
    const gets = reads(object.name, first)
    assert.equal(gets.length, 17, 'one request per 64 KiB range')
    assert.ok(gets.every((r) => r.status === 206))
    assert.ok(mostInFlight(gets) >= 2, `ranges were read in parallel (at most ${mostInFlight(gets)} at once)`)
  })

  it('finishes a range whose body is cut off mid-stream and still hashes in order', async () => {
    const data = bytes(6 * RANGE, 2)
    const object = await put('cut.bin', data)
    const file = join(await newTempDir('ranged-cut'), 'cut.bin')
    let cut = 0
    proxy.setFaults((r) => (r.method === 'GET' && r.path.endsWith('/cut.bin') && cut++ === 2 ? {truncate: 1} : {}))
    const digest = await download(object, file)
    assert.ok(
      proxy.requests.some((r) => r.fault === 'truncate' && r.path.endsWith('/cut.bin')),
      'a range was cut off',
    )
    assert.ok((await readFile(file)).equals(data))
    assert.equal(digest.sha256, createHash('sha256').update(data).digest('hex'))
  })

  it('refuses a blob whose bytes do not match its Content-MD5 (IntegrityMismatch, exit 4)', async () => {
    const data = bytes(5 * RANGE, 3)
    let object = await put('flipped.bin', data)
    const md5 = Buffer.from(object.contentMD5!, 'base64')
    md5[0] ^= 0x01
    await direct
      .getBlobClient('flipped.bin')
      .setHTTPHeaders({blobContentMD5: md5, blobContentType: 'application/octet-stream'})
    const p = await direct.getBlobClient('flipped.bin').getProperties()
    object = {...object, contentMD5: md5.toString('base64'), etag: p.etag}
    await assert.rejects(
      download(object, join(await newTempDir('ranged-md5'), 'flipped.bin')),
      (error: CustosError) => {
        assert.equal(error.code, 'IntegrityMismatch')
        assert.equal(error.exitCode, 4)
        assert.match(error.message, /"flipped\.bin".*MD5/)
        return true
      },
    )
  })

  it('stops with ChangedDuringExport when the blob is overwritten between two of its ranges', async () => {
    const data = bytes(8 * RANGE, 4)
    const object = await put('changing.bin', data)
    const held = proxy.hold((r) => r.method === 'GET' && r.path.endsWith('/changing.bin'), {skip: 5})
    const run = download(object, join(await newTempDir('ranged-change'), 'changing.bin'))
    const request = await held
    await direct.getBlockBlobClient('changing.bin').uploadData(bytes(8 * RANGE, 5))
    request.release()
    await assert.rejects(run, (error: CustosError) => {
      assert.equal(error.code, 'ChangedDuringExport')
      assert.match(error.message, /"changing\.bin"/)
      return true
    })
  })

  it('a range that fails while another is half-way through its body: the first error is reported, and no descriptor is closed under the others', async () => {
    const data = bytes(8 * RANGE, 7)
    const object = await put('stalled.bin', data)
    const match = (r: ProxiedRequest) => r.method === 'GET' && r.path.endsWith('/stalled.bin')
    // One range stalls half-way through its body; the fifth request waits until the blob has changed.
    const stalled = proxy.hold(match, {stage: 'body'})
    const late = proxy.hold(match, {skip: 4})
    const run = download(object, join(await newTempDir('ranged-stall'), 'stalled.bin'))
    const [body, request] = await Promise.all([stalled, late])
    await direct.getBlockBlobClient('stalled.bin').uploadData(bytes(8 * RANGE, 8))
    request.release()
    // The 412 aborts the stalled range mid-body. A write stream on the shared descriptor closed it
    // when it was destroyed, and closing it again at the end threw EBADF over the 412.
    await assert.rejects(run, (error: CustosError) => {
      assert.equal(error.code, 'ChangedDuringExport')
      return true
    })
    body.release()
  })

  it('customer export --to reads a blob over 16 MiB in ranges; the file and the manifest match a sequential read', async () => {
    const data = bytes(20 * 1024 * 1024 + 7, 6)
    const huge = clients
      .blobService(getTestAzurite().connectionString('contosoprod'))
      .getContainerClient(template.replace('{customer}', 'huge'))
    await huge.create()
    await put('large/twenty.bin', data, huge)
    await huge.getBlockBlobClient('small.txt').uploadData(Buffer.from('small'))
    const map = validateDataMap(structuredClone(configRaw), 'ranged-test.json')
    const dir = join(await newTempDir('ranged-export'), 'out')
    const first = proxy.requests.length
    const summary = await exportCustomer(clients, map, 'huge', {target: {kind: 'folder', path: dir}, concurrency: 4})
    assert.equal(summary.verified, true)
    const tree = await readTree(dir, ['manifest.json', 'SHA256SUMS', '.custos-export-journal.jsonl'])
    assert.ok(tree.get('documents/large/twenty.bin')!.equals(data))
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as ExportManifest
    const entry = manifest.body.objects.find((o) => o.name === 'large/twenty.bin')!
    assert.equal(entry.sha256, createHash('sha256').update(data).digest('hex'))
    assert.equal(entry.size, data.length)
    const gets = reads('large/twenty.bin', first)
    assert.equal(gets.length, 3, 'three 8 MiB ranges')
    assert.ok(gets.every((r) => r.status === 206))
  })
})
