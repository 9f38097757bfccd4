/**
 * The Blob Batch body custos writes itself (batch-request.ts): the same parts the SDK's BlobBatch
 * writes for the same deletes, Shared Key signatures the SDK's own policy would compute, and
 * Azurite — which checks every part's signature — deleting with them and refusing a wrong key.
 */
import assert from 'node:assert/strict'

import type {AccessToken, TokenCredential} from '@azure/core-auth'
import {
  AnonymousCredential,
  BlobBatch,
  BlobServiceClient,
  ContainerClient,
  StorageSharedKeyCredential,
} from '@azure/storage-blob'

import {escapeBlobName} from '../../src/lib/azure/blob-url.js'
import {sharedKeyStringToSign} from '../../src/lib/azure/shared-key.js'
import {DeleteBatchRequest, type DeleteTarget} from '../../src/lib/erase/batch-request.js'
import {getTestAzurite, uniqueName} from '../support/env.js'
import {contract} from './recorded-server.js'

const KEY = new StorageSharedKeyCredential(
  'devstoreaccount1',
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==',
)
const NAMES = [
  'plain.txt',
  'with space/and deep/path.txt',
  'ünïcødé/日本語.txt',
  '100%#?&=+.txt',
  "quote's (1)*!~.txt",
  'a'.repeat(900),
]
const V = '2021-01-01T00:00:00.1234567Z'

const TARGETS: DeleteTarget[] = [
  ...NAMES.map((name) => ({name, includeSnapshots: true})),
  {name: 'snap.txt', snapshot: V},
  {name: 'ver/sion.txt', versionId: V},
  {name: 'purged.txt', versionId: V, permanent: true},
  {name: 'purged-snap.txt', snapshot: V, permanent: true},
]

/** The same deletes through the SDK's BlobBatch, as batch.ts used to build them. */
async function sdkBatch(container: ContainerClient, targets: DeleteTarget[]): Promise<BlobBatch> {
  const batch = new BlobBatch()
  for (const t of targets) {
    let blob = container.getBlobClient(t.name)
    if (t.snapshot) blob = blob.withSnapshot(t.snapshot)
    else if (t.versionId) blob = blob.withVersion(t.versionId)
    if (t.permanent) await batch.deleteBlob(`${blob.url}&deletetype=permanent`, blob.credential)
    else await batch.deleteBlob(blob, t.includeSnapshots ? {deleteSnapshots: 'include'} : {})
  }

  return batch
}

interface Part {
  contentId: string
  method: string
  path: string
  query: URLSearchParams
  headers: Map<string, string>
}

/** The parts of a batch body, in the recorded request's framing. */
function parts(body: string, contentType: string): Part[] {
  const boundary = /boundary=(\S+)/.exec(contentType)![1]
  assert.ok(body.endsWith(`--${boundary}--\r\n`), 'ends with the closing boundary and CRLF')
  return body
    .slice(0, -`--${boundary}--\r\n`.length)
    .split(`--${boundary}\r\n`)
    .slice(1)
    .map((text) => {
      const [envelope, request] = text.split('\r\n\r\n')
      assert.match(
        envelope,
        /^Content-Type: application\/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: \d+$/,
      )
      const [line, ...headerLines] = request.split('\r\n')
      const [method, target, version] = line.split(' ')
      assert.equal(version, 'HTTP/1.1')
      const url = new URL(target, 'http://x')
      return {
        contentId: /Content-ID: (\d+)/.exec(envelope)![1],
        method,
        path: url.pathname,
        query: url.searchParams,
        headers: new Map(headerLines.map((h) => [h.slice(0, h.indexOf(': ')), h.slice(h.indexOf(': ') + 2)])),
      }
    })
}

const sorted = (q: URLSearchParams) => [...q.entries()].sort(([a], [b]) => a.localeCompare(b))

describe('Blob Batch body written by custos', () => {
  it('has the framing of the recorded real request', () => {
    const recorded = contract('storage-blob-xml/blob-batch-delete-request.multipart')
    const boundary = /^--(\S+)\r\n/.exec(recorded)![1]
    const recordedParts = parts(recorded, `multipart/mixed; boundary=${boundary}`)
    assert.equal(recordedParts.length, 3)
    assert.equal(
      recordedParts[2].path,
      `/container163164553243504643/${escapeBlobName('å ä ö')}`,
      'names percent-encoded as the service saw them',
    )
    assert.deepEqual([...recordedParts[0].headers.keys()], ['Accept', 'x-ms-date', 'Authorization'])
  })

  it('writes the parts the SDK writes for the same deletes: paths, queries and headers', async () => {
    for (const container of [
      new ContainerClient('http://127.0.0.1:10000/devstoreaccount1/cont', KEY),
      new ContainerClient(
        'https://acct.blob.core.windows.net/cont?sv=2024-08-04&sp=d&sig=abc%2Bdef%3D',
        new AnonymousCredential(),
      ),
    ]) {
      const ours = await DeleteBatchRequest.create(container, TARGETS)
      const theirs = await sdkBatch(container, TARGETS)
      const a = parts(ours.getHttpRequestBody(), ours.getMultiPartContentType())
      const b = parts(theirs.getHttpRequestBody(), theirs.getMultiPartContentType())
      assert.equal(a.length, TARGETS.length)
      assert.equal(ours.getSubRequests().size, TARGETS.length)
      for (const [i, part] of a.entries()) {
        assert.equal(part.contentId, String(i))
        assert.equal(part.method, 'DELETE')
        assert.equal(part.path, b[i].path, `path of ${TARGETS[i].name.slice(0, 40)}`)
        assert.deepEqual(sorted(part.query), sorted(b[i].query))
        assert.deepEqual([...part.headers.keys()], [...b[i].headers.keys()], 'the same headers in the same order')
        assert.equal(part.headers.get('x-ms-delete-snapshots'), b[i].headers.get('x-ms-delete-snapshots'))
        assert.ok(!part.headers.has('x-ms-version'), 'parts carry no x-ms-version')
      }
    }
  })

  it('signs each part as the SDK signs it (same string to sign, same signature for the same date)', async () => {
    const container = new ContainerClient('http://127.0.0.1:10000/devstoreaccount1/cont', KEY)
    const theirs = await sdkBatch(container, TARGETS)
    for (const part of parts(theirs.getHttpRequestBody(), theirs.getMultiPartContentType())) {
      const search =
        part.query.size > 0
          ? `?${[...part.query.entries()].map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&')}`
          : ''
      const headers: Array<[string, string]> = [...part.headers.entries()].filter(([name]) => name !== 'Authorization')
      const signature = KEY.computeHMACSHA256(
        sharedKeyStringToSign('devstoreaccount1', 'DELETE', `${part.path}${search}`, headers),
      )
      assert.equal(`SharedKey devstoreaccount1:${signature}`, part.headers.get('Authorization'))
    }
  })

  it('puts the bearer token in every part and asks the credential once for a batch run', async () => {
    let calls = 0
    const credential: TokenCredential = {
      async getToken(scopes): Promise<AccessToken> {
        assert.deepEqual([scopes].flat(), ['https://storage.azure.com/.default'])
        calls++
        // the first token is about to expire, so the next batch gets a new one
        return {token: `token-${calls}`, expiresOnTimestamp: Date.now() + (calls === 1 ? 60_000 : 3_600_000)}
      },
    }
    const container = new ContainerClient('https://acct.blob.core.windows.net/cont', credential)
    const first = await DeleteBatchRequest.create(container, TARGETS.slice(0, 2))
    assert.deepEqual(
      parts(first.getHttpRequestBody(), first.getMultiPartContentType()).map((p) => p.headers.get('Authorization')),
      ['Bearer token-1', 'Bearer token-1'],
    )
    const [second, third] = await Promise.all([
      DeleteBatchRequest.create(container, TARGETS.slice(0, 1)),
      DeleteBatchRequest.create(container, TARGETS.slice(0, 1)),
    ])
    for (const batch of [second, third]) assert.match(batch.getHttpRequestBody(), /Authorization: Bearer token-2\r\n/)
    assert.equal(calls, 2, 'renewed once near expiry, shared by the two batches in flight')
  })

  it('deletes on Azurite, which checks every part, and is refused part by part with a wrong key', async () => {
    const azurite = getTestAzurite()
    const service = BlobServiceClient.fromConnectionString(azurite.connectionString('contosoprod'))
    const container = service.getContainerClient(uniqueName('batch-body'))
    await container.create()
    try {
      for (const name of NAMES) await container.getBlockBlobClient(name).upload('x', 1)
      const snapshot = (await container.getBlobClient(NAMES[0]).createSnapshot()).snapshot!

      const account = azurite.accounts.find((a) => a.name === 'contosoprod')!
      const right = new ContainerClient(container.url, new StorageSharedKeyCredential('contosoprod', account.key))
      // The batch request itself is signed right; only its parts carry signatures of a wrong key.
      const wrong = new ContainerClient(
        container.url,
        new StorageSharedKeyCredential('contosoprod', Buffer.from('not the key of contosoprod').toString('base64')),
      )
      const refused = await right.getBlobBatchClient().submitBatch(
        await DeleteBatchRequest.create(
          wrong,
          NAMES.map((name) => ({name, includeSnapshots: true})),
        ),
      )
      assert.deepEqual(
        refused.subResponses.map((s) => s.status),
        NAMES.map(() => 403),
      )
      assert.equal(refused.subResponses[0].errorCode, 'AuthorizationFailure')

      const deleted = await right.getBlobBatchClient().submitBatch(
        await DeleteBatchRequest.create(
          right,
          NAMES.map((name) => ({name, includeSnapshots: true})),
        ),
      )
      assert.deepEqual(
        deleted.subResponses.map((s) => s.status),
        NAMES.map(() => 202),
      )
      const left: string[] = []
      for await (const blob of container.listBlobsFlat({includeSnapshots: true})) left.push(blob.name)
      assert.deepEqual(left, [], `every blob and the snapshot ${snapshot} are gone`)
    } finally {
      await container.deleteIfExists()
    }
  })
})
