/**
 * Versions, soft-deleted items and legal holds, which Azurite lacks: the real @azure/storage-blob
 * client against a loopback server that serves the recorded real List Blobs and Blob Batch
 * responses (recorded-server.ts). The assertions are on the exact requests sent.
 */
import assert from 'node:assert/strict'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {AzureClients} from '../../src/lib/azure/clients.js'
import {validateDataMap} from '../../src/lib/datamap/load.js'
import type {DataMap} from '../../src/lib/datamap/types.js'
import {verifyEvidenceFile} from '../../src/lib/evidence/verify-document.js'
import {eraseCustomer, type EraseHooks, type EraseOptions} from '../../src/lib/erase/erase.js'
import {verifyErasure} from '../../src/lib/erase/verify.js'
import {CustosError} from '../../src/lib/errors.js'
import {startLocalAzureServer, type LocalAzureServer} from '../../src/lib/local/azure-server/index.js'
import {scopesOf} from '../../src/lib/scope.js'
import {getTestAzurite, uniqueName} from '../support/env.js'
import {
  contract,
  recordedListBody,
  startRecordedBlobServer,
  type RecordedBlobServer,
  type SubRequest,
} from './recorded-server.js'

const THREE_VERSIONS = contract('storage-blob-xml/list-blobs-three-versions.xml')
const SNAPSHOT_AND_VERSION = contract('storage-blob-xml/list-blobs-include-snapshots-and-versions.xml')
const SOFT_DELETED = contract('storage-blob-xml/list-blobs-include-deleted-soft-deleted.xml')
const VERSIONS_ONLY = recordedListBody('storage-blob-xml/recorded-list-include-deletedwithversions.json')
const PLAIN_BLOB = contract('storage-blob-xml/list-blobs-after-undelete.xml')

/** `count` blobs in the recorded shape of one plain blob (list-blobs-after-undelete.xml), renamed. */
function manyBlobs(count: number, name = (i: number) => `blob-${String(i).padStart(5, '0')}`): string {
  const start = PLAIN_BLOB.indexOf('<Blob>')
  const end = PLAIN_BLOB.indexOf('</Blob>') + '</Blob>'.length
  const blob = PLAIN_BLOB.slice(start, end)
  const blobs = Array.from({length: count}, (_, i) =>
    blob.replace(/<Name>[^<]*<\/Name>/, `<Name>${name(i)}</Name>`),
  ).join('')
  return PLAIN_BLOB.slice(0, start) + blobs + PLAIN_BLOB.slice(end)
}

interface Fixture {
  server: RecordedBlobServer
  map: DataMap
  clients: AzureClients
  dir: string
}

/** A data map whose stores are containers `<prefix>-{customer}` on the recorded server (audit on Azurite). */
function fixture(
  server: RecordedBlobServer,
  stores: Record<string, string>,
  extra: Record<string, unknown> = {},
  storeExtra: Record<string, unknown> = {},
): Fixture {
  const dir = mkdtempSync(join(tmpdir(), 'custos-recorded-'))
  for (const [prefix, xml] of Object.entries(stores)) server.setListing(`${prefix}-acme`, xml)
  const raw = {
    stores: Object.keys(stores).map((prefix) => ({
      name: prefix,
      account: server.connectionString,
      container: `${prefix}-{customer}`,
      ...storeExtra,
    })),
    audit: {account: getTestAzurite().connectionString('contosoaudit'), container: uniqueName('audit')},
    ...extra,
  }
  const map = validateDataMap(raw, join(dir, 'custos.yaml'))
  return {
    server,
    map,
    clients: new AzureClients(map, {retry: {maxTries: 3, retryDelayInMs: 20, maxRetryDelayInMs: 100}}),
    dir,
  }
}

function options(f: Fixture, extra: Partial<EraseOptions> = {}): EraseOptions {
  return {
    customer: 'acme',
    planOnly: false,
    planOut: join(f.dir, 'acme.plan.json'),
    yes: true,
    exportRequired: false,
    concurrency: 1,
    retries: 4,
    ...extra,
  }
}

const line = (s: SubRequest) =>
  `${s.container} ${s.name}${s.snapshot ? ` snapshot=${s.snapshot}` : ''}${s.versionId ? ` versionid=${s.versionId}` : ''}${s.deleteType ? ` deletetype=${s.deleteType}` : ''}${s.headers['x-ms-delete-snapshots'] ? ` [delete-snapshots: ${s.headers['x-ms-delete-snapshots']}]` : ''}`

describe('customer erase against recorded Azure responses (versions, soft delete, holds)', function () {
  this.timeout(60_000)
  let server: RecordedBlobServer

  beforeEach(async () => {
    server = await startRecordedBlobServer()
  })

  afterEach(async () => {
    await server.close()
  })

  it('deletes snapshots by snapshot id, base blobs with their snapshots, then every version by version id — as the exact sub-requests show', async () => {
    const f = fixture(server, {v: THREE_VERSIONS, s: SNAPSHOT_AND_VERSION, h: VERSIONS_ONLY, d: SOFT_DELETED})
    server.verbatimBatchResponse = true // the three version deletes of store v get the recorded 3-part response
    const result = await eraseCustomer(f.clients, f.map, options(f))

    const sent = server.batches().map((b) => b.subRequests!.map(line))
    assert.deepEqual(sent, [
      // snapshots by id, before their base blobs
      ['s-acme blob159210827274103375 snapshot=2020-06-14T04:17:52.7817774Z'],
      // base blobs (with any snapshot); for versioned blobs this makes the current version a previous one
      ['v-acme blob159218742269309927 [delete-snapshots: include]'],
      ['s-acme blob159210827274103375 [delete-snapshots: include]'],
      ['h-acme blockblob167485778692601129 [delete-snapshots: include]'],
      // every version by id, the former current ones included
      [
        'v-acme blob159218742269309927 versionid=2020-06-15T02:17:02.7893828Z',
        'v-acme blob159218742269309927 versionid=2020-06-15T02:17:03.0755841Z',
        'v-acme blob159218742269309927 versionid=2020-06-15T02:17:03.6740094Z',
      ],
      ['s-acme blob159210827274103375 versionid=2020-06-14T04:17:52.7827774Z'],
      ['h-acme blockblob167485778692601129 versionid=2023-01-27T22:16:27.0352673Z'],
    ])
    // The SDK puts the version id in the sub-request line exactly like the recorded request does for names.
    assert.ok(
      server
        .batches()[4]
        .subRequests!.every((s) =>
          /^\/fakestorageaccount\/v-acme\/blob159218742269309927\?versionid=2020-06-15T02%3A17%3A0/.test(s.target),
        ),
    )
    // No DELETE outside a batch: the recorded responses never answered 404 for a snapshot or version.
    assert.equal(server.requests.filter((r) => r.method === 'DELETE' && !r.query.get('restype')).length, 0)

    assert.equal(result.exitCode, 0)
    const cert = JSON.parse(readFileSync(result.certificate!.json, 'utf8')) as {
      body: {
        stores: Array<{
          store: string
          planned: {items: number}
          deleted: {items: number}
          alreadyGone: {items: number}
          softDeletedBeforeErase: number
          requestIds: string[]
        }>
      }
    }
    assert.deepEqual(
      cert.body.stores.map((s) => [
        s.store,
        s.planned.items,
        s.deleted.items,
        s.alreadyGone.items,
        s.softDeletedBeforeErase,
      ]),
      [
        ['v', 3, 3, 0, 0],
        ['s', 2, 2, 0, 0],
        ['h', 1, 1, 0, 0], // HasVersionsOnly: the base delete 404s, the version delete removes it
        ['d', 1, 0, 0, 1], // soft-deleted base blob: no API removes it before its retention ends
      ],
    )
    const check = await verifyEvidenceFile(result.certificate!.json)
    assert.deepEqual([check.status, check.consistency.problems], ['unsigned', []])
  })

  it('lists what soft delete still keeps with its permanent-deletion date (recorded soft-deleted listing)', async () => {
    const f = fixture(server, {d: SOFT_DELETED})
    const now = new Date('2026-11-23T10:00:00Z')
    const verification = await verifyErasure(f.clients, f.map, scopesOf(f.map, 'acme'), {now})
    assert.equal(verification.result, 'retained')
    assert.equal(verification.live, 0)
    assert.equal(verification.retained, 1)
    const [example] = verification.stores[0].examples
    assert.deepEqual(
      {
        name: example.name,
        kind: example.kind,
        deletedOn: example.deletedOn,
        remainingRetentionDays: example.remainingRetentionDays,
        by: example.permanentlyDeletedBy,
      },
      {
        name: 'blob158224819384806465',
        kind: 'deleted',
        deletedOn: '2020-02-21T01:23:17.000Z',
        remainingRetentionDays: 6,
        by: '2026-11-29T23:59:59.000Z',
      },
    )
  })

  it('cuts batches at 256 sub-requests, reports a non-retryable failure (exit 1) and counts a 404 as already gone', async () => {
    const f = fixture(server, {p: manyBlobs(600)})
    server.failures.push(
      {
        match: (s) => s.name === 'blob-00100',
        status: 409,
        reason: 'There is currently a lease on the blob and no lease ID was specified in the request.',
        code: 'LeaseIdMissing',
        times: 99,
      },
      {
        match: (s) => s.name === 'blob-00300',
        status: 404,
        reason: 'The specified blob does not exist.',
        code: 'BlobNotFound',
        times: 1,
        thenGone: true,
      },
    )
    const result = await eraseCustomer(f.clients, f.map, options(f))
    assert.deepEqual(
      server.batches().map((b) => b.subRequests!.length),
      [256, 256, 88],
    )
    assert.equal(result.exitCode, 1)
    assert.equal(result.verification!.result, 'residue')
    assert.equal(result.verification!.live, 1)
    const body = (
      JSON.parse(readFileSync(result.certificate!.json, 'utf8')) as {
        body: {
          totals: {deleted: {items: number}; failed: {items: number}; alreadyGone: {items: number}}
          exceptions: string[]
        }
      }
    ).body
    assert.deepEqual([body.totals.deleted.items, body.totals.failed.items, body.totals.alreadyGone.items], [598, 1, 1])
    assert.ok(
      body.exceptions.some((e) => e.includes('blob-00100') && e.includes('409 LeaseIdMissing')),
      body.exceptions.join('\n'),
    )
    assert.ok(body.exceptions.some((e) => e.includes('container p-acme kept')))

    // A re-run retries only the failed item (the journal holds the rest), and now it goes.
    server.failures.length = 0
    const before = server.batches().length
    const again = await eraseCustomer(
      f.clients,
      f.map,
      options(f, {planOut: undefined, planPath: join(f.dir, 'acme.plan.json')}),
    )
    assert.deepEqual(
      server
        .batches()
        .slice(before)
        .map((b) => b.subRequests!.map((s) => s.name)),
      [['blob-00100']],
    )
    assert.equal(again.exitCode, 0)
    assert.equal(again.verification!.result, 'empty')
  })

  it('stops (exit 4) after a batch whose every delete is refused with 403, and a re-run with delete rights finishes', async () => {
    const f = fixture(server, {p: manyBlobs(600)})
    server.failures.push({
      match: () => true,
      status: 403,
      reason: 'This request is not authorized to perform this operation using this permission.',
      code: 'AuthorizationPermissionMismatch',
      times: 10_000,
    })
    const error = await eraseCustomer(f.clients, f.map, options(f)).then(
      () => assert.fail('the erase went on'),
      (error_: unknown) => error_ as CustosError,
    )
    assert.ok(error instanceof CustosError, String(error))
    assert.equal(error.code, 'DeleteDenied')
    assert.equal(error.exitCode, 4)
    assert.match(
      error.message,
      /^Every delete of batch blobs-1 in store p \(container p-acme of account fakestorageaccount\) was refused with 403 AuthorizationPermissionMismatch/,
    )
    assert.match(error.hint ?? '', /acme\.plan\.json\.journal\.jsonl/)
    assert.deepEqual(
      server.batches().map((b) => b.subRequests!.length),
      [256],
      'nothing sent after the refused batch',
    )

    // With the right granted, the same plan resumes: the refused deletes first, then the rest.
    server.failures.length = 0
    const again = await eraseCustomer(
      f.clients,
      f.map,
      options(f, {planOut: undefined, planPath: join(f.dir, 'acme.plan.json')}),
    )
    assert.deepEqual(
      server
        .batches()
        .slice(1)
        .map((b) => [b.subRequests!.length, b.subRequests![0].name]),
      [
        [256, 'blob-00000'],
        [256, 'blob-00256'],
        [88, 'blob-00512'],
      ],
    )
    assert.equal(again.exitCode, 0)
    assert.equal(again.verification!.result, 'empty')
  })

  it('a 403 on some deletes of a batch is reported per item, and the erase carries on', async () => {
    const f = fixture(server, {p: manyBlobs(300)})
    server.failures.push({
      match: (s) => s.name === 'blob-00007',
      status: 403,
      reason: 'This request is not authorized to perform this operation.',
      code: 'AuthorizationFailure',
      times: 10,
    })
    const result = await eraseCustomer(f.clients, f.map, options(f))
    assert.deepEqual(
      server.batches().map((b) => b.subRequests!.length),
      [256, 44],
    )
    assert.equal(result.exitCode, 1)
    assert.equal(result.verification!.live, 1)
  })

  it('retries throttled sub-requests (503, 500, 429 inside a 202 batch response) with backoff, sending only those again', async () => {
    const f = fixture(server, {p: manyBlobs(5)})
    server.failures.push(
      {match: (s) => s.name === 'blob-00002', status: 503, reason: 'The server is busy.', code: 'ServerBusy', times: 2},
      {
        match: (s) => s.name === 'blob-00003',
        status: 429,
        reason: 'Too many requests.',
        code: 'TooManyRequests',
        times: 1,
      },
      {
        match: (s) => s.name === 'blob-00004',
        status: 500,
        reason: 'Operation could not be completed within the specified time.',
        code: 'OperationTimedOut',
        times: 1,
      },
    )
    const result = await eraseCustomer(f.clients, f.map, options(f))
    assert.deepEqual(
      server.batches().map((b) => b.subRequests!.map((s) => s.name)),
      [
        ['blob-00000', 'blob-00001', 'blob-00002', 'blob-00003', 'blob-00004'],
        ['blob-00002', 'blob-00003', 'blob-00004'],
        ['blob-00002'],
      ],
    )
    assert.equal(result.exitCode, 0)
    const journal = readFileSync(join(f.dir, 'acme.plan.json.journal.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as {type: string; requestIds?: string[]; stats?: {deleted: number}})
    const batch = journal.find((l) => l.type === 'batch')!
    assert.equal(batch.requestIds!.length, 3, 'one logical batch, three requests')
    assert.equal(batch.stats!.deleted, 5)
  })

  it('sends a batch again after 408, 502 or 504 for the whole request; deletes a lost answer had done count as already gone', async () => {
    const f = fixture(server, {p: manyBlobs(5)})
    server.batchAnswers.push({status: 408}, {status: 504, executed: true}, {status: 502})
    const result = await eraseCustomer(f.clients, f.map, options(f))
    const sent = server.batches().map((b) => b.subRequests!.map((s) => s.name).join(','))
    assert.equal(sent.length, 4)
    assert.ok(
      sent.every((names) => names === sent[0]),
      'the same five deletes each time',
    )
    assert.equal(result.exitCode, 0)
    assert.equal(result.verification!.result, 'empty')
    const body = (
      JSON.parse(readFileSync(result.certificate!.json, 'utf8')) as {
        body: {totals: {deleted: {items: number}; alreadyGone: {items: number}}}
      }
    ).body
    assert.deepEqual([body.totals.deleted.items, body.totals.alreadyGone.items], [0, 5])
  })

  it('purges what soft delete kept (deletetype=permanent) and records refusals as retained', async () => {
    const f = fixture(server, {v: THREE_VERSIONS, w: THREE_VERSIONS})
    server.softDelete.add('v-acme').add('w-acme')
    server.failures.push({
      match: (s) => s.container === 'w-acme' && s.deleteType === 'permanent',
      status: 403,
      reason: 'This request is not authorized to perform this operation.',
      code: 'AuthorizationPermissionMismatch',
      times: 99,
    })
    const result = await eraseCustomer(f.clients, f.map, options(f))
    const purges = server.batches().flatMap((b) => b.subRequests!.filter((s) => s.deleteType === 'permanent').map(line))
    assert.deepEqual(purges, [
      'v-acme blob159218742269309927 versionid=2020-06-15T02:17:02.7893828Z deletetype=permanent',
      'v-acme blob159218742269309927 versionid=2020-06-15T02:17:03.0755841Z deletetype=permanent',
      'v-acme blob159218742269309927 versionid=2020-06-15T02:17:03.6740094Z deletetype=permanent',
      'w-acme blob159218742269309927 versionid=2020-06-15T02:17:02.7893828Z deletetype=permanent',
      'w-acme blob159218742269309927 versionid=2020-06-15T02:17:03.0755841Z deletetype=permanent',
      'w-acme blob159218742269309927 versionid=2020-06-15T02:17:03.6740094Z deletetype=permanent',
    ])
    const body = (
      JSON.parse(readFileSync(result.certificate!.json, 'utf8')) as {
        body: {
          stores: Array<{store: string; methods: string[]; purged: number; softDeleted: number; exceptions: string[]}>
        }
      }
    ).body
    const [v, w] = body.stores
    // soft delete answered every delete with x-ms-delete-type-permanent: false, the versioned base blob's too (as recorded)
    assert.deepEqual([v.methods, v.purged, v.softDeleted], [['delete', 'purge'], 3, 4])
    assert.deepEqual([w.methods, w.purged], [['delete', 'purge'], 0])
    assert.ok(
      w.exceptions.some(
        (e) => e.includes('permanent deletion refused') && e.includes('403 AuthorizationPermissionMismatch'),
      ),
      w.exceptions.join('\n'),
    )
  })

  it('refuses (exit 3) on a legal hold in the listing before sending any delete', async () => {
    // The recorded three-version listing with one element added: <LegalHold>true</LegalHold> in the
    // middle version's Properties, where List Blobs puts it with include=legalhold.
    const held = THREE_VERSIONS.replace(
      '<VersionId>2020-06-15T02:17:03.0755841Z</VersionId><Properties>',
      '<VersionId>2020-06-15T02:17:03.0755841Z</VersionId><Properties><LegalHold>true</LegalHold>',
    )
    assert.notEqual(held, THREE_VERSIONS)
    const f = fixture(server, {v: held})
    let error: CustosError | undefined
    try {
      await eraseCustomer(f.clients, f.map, options(f))
    } catch (error_) {
      error = error_ as CustosError
    }

    assert.equal(error?.exitCode, 3)
    assert.equal(error?.code, 'HoldPresent')
    assert.ok(
      error!.details.some((d) =>
        d.includes('blob159218742269309927 (version 2020-06-15T02:17:03.0755841Z): legal hold'),
      ),
      error!.details.join('\n'),
    )
    const list = server.requests.find((r) => r.query.get('comp') === 'list')!
    assert.match(list.query.get('include') ?? '', /legalhold/)
    assert.equal(server.batches().length, 0)
    assert.equal(server.requests.filter((r) => r.method === 'DELETE' || r.method === 'POST').length, 0)
  })

  describe('container-level holds from the resource manager (local Azure server)', () => {
    let azure: LocalAzureServer

    before(async () => {
      azure = await startLocalAzureServer({port: 0})
    })

    after(async () => {
      await azure.close()
    })

    it('refuses (exit 3) when the container has a legal hold or an immutability policy, naming the tags, before any delete', async () => {
      const account = azure.state.addStorageAccount({name: 'fakestorageaccount'}) as {id: string}
      azure.state.addBlobContainer({
        accountId: account.id,
        name: 'v-acme',
        legalHoldTags: ['case4711'],
        immutabilityPolicy: {days: 100, state: 'Locked'},
      })
      const dir = mkdtempSync(join(tmpdir(), 'custos-ca-'))
      writeFileSync(join(dir, 'ca.pem'), azure.caCertificatePem)
      const f = fixture(
        server,
        {v: THREE_VERSIONS},
        {azure: {credential: 'local', caCertificate: join(dir, 'ca.pem'), resourceManager: azure.url}},
        {resourceId: account.id},
      )
      let error: CustosError | undefined
      try {
        await eraseCustomer(f.clients, f.map, options(f))
      } catch (error_) {
        error = error_ as CustosError
      }

      assert.equal(error?.code, 'HoldPresent')
      assert.ok(
        error!.details.some((d) =>
          /container v-acme in account fakestorageaccount: legal hold \(tags: case4711\); immutability policy \(Locked, 100 days/.test(
            d,
          ),
        ),
        error!.details.join('\n'),
      )
      assert.ok(
        azure.requests.some((r) => r.method === 'GET' && r.path.endsWith('/blobServices/default/containers/v-acme')),
      )
      assert.equal(server.batches().length, 0)
    })
  })

  it('a journal-driven re-run sends no delete for the batches an interrupted run finished', async () => {
    const f = fixture(server, {p: manyBlobs(600)})
    const abort = new AbortController()
    // Held after its first journaled batch (the lock still held) until the abort below.
    const holdAfterFirstBatch: EraseHooks = {
      progress: () => ({increment() {}, setTotal() {}, note() {}, stop() {}}),
      note() {},
      // (on a loaded machine the abort below can come before the first batch is journaled: then the
      // signal is aborted already, and waiting for its 'abort' event would wait for ever)
      batchJournaled: (_batches, signal) =>
        new Promise((_resolve, reject) => {
          if (signal.aborted) reject(signal.reason)
          else signal.addEventListener('abort', () => reject(signal.reason), {once: true})
        }),
    }
    const first = eraseCustomer(f.clients, f.map, options(f, {hooks: holdAfterFirstBatch, abortSignal: abort.signal}))
    while (server.batches().length === 0) await new Promise((r) => setTimeout(r, 20))
    await new Promise((r) => setTimeout(r, 100))
    abort.abort(Object.assign(new Error('killed'), {name: 'AbortError'}))
    await assert.rejects(first, (e: Error) => e.name === 'AbortError')
    const firstBatch = new Set(server.batches()[0].subRequests!.map((s) => s.name))
    assert.equal(firstBatch.size, 256)

    const before = server.batches().length
    const again = await eraseCustomer(
      f.clients,
      f.map,
      options(f, {planOut: undefined, planPath: join(f.dir, 'acme.plan.json')}),
    )
    const resent = server
      .batches()
      .slice(before)
      .flatMap((b) => b.subRequests!.map((s) => s.name))
    assert.deepEqual(
      resent.filter((n) => firstBatch.has(n)),
      [],
    )
    assert.equal(resent.length, 600 - 256)
    assert.equal(again.apply!.resumed, true)
    assert.equal(again.verification!.result, 'empty')
  })
})
