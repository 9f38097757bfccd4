import assert from 'node:assert/strict'
import {readFile} from 'node:fs/promises'
import {join} from 'node:path'

import {CustosError} from '../../src/lib/errors.js'
import {canonicalJson, sha256Hex} from '../../src/lib/evidence/canonical.js'
import {sealDocument, verifyDocument} from '../../src/lib/evidence/envelope.js'
import {exportCustomer} from '../../src/lib/export/export.js'
import type {ExportManifest} from '../../src/lib/export/manifest.js'
import type {BlobExportStore} from '../../src/lib/export/plan.js'
import {
  auditRecords,
  exists,
  makeFixture,
  makeMap,
  newTempDir,
  readTree,
  sha256,
  type ExportFixture,
} from './fixtures.js'

const ROOT_FILES = ['manifest.json', 'SHA256SUMS', '.custos-export-journal.jsonl']

describe('customer export --to DIR', () => {
  let fixture: ExportFixture
  let dir: string

  before(async () => {
    fixture = await makeFixture()
    dir = join(await newTempDir('folder'), 'acme')
  })

  it('writes files byte-identical to the source, with awkward names intact, and nothing of acme-corp', async () => {
    const summary = await exportCustomer(fixture.clients, fixture.map, 'acme', {target: {kind: 'folder', path: dir}})
    const files = await readTree(dir, ROOT_FILES)
    assert.deepEqual([...files.keys()].sort(), [...fixture.expected.keys()].sort())
    for (const [path, data] of fixture.expected)
      assert.ok(files.get(path)!.equals(data), `${path} differs from the source`)
    for (const path of files.keys()) assert.doesNotMatch(path, /acme-corp|acmex/)
    assert.equal(summary.verified, true)
    assert.equal(summary.totals.objects, fixture.expected.size)
    assert.equal(summary.transferred.objects, fixture.expected.size)
    assert.equal(summary.resumed, false)
  })

  it('writes a sealed, verifiable manifest in store/name order and a SHA256SUMS that matches the files', async () => {
    const text = await readFile(join(dir, 'manifest.json'), 'utf8')
    const manifest = JSON.parse(text) as ExportManifest
    const check = await verifyDocument(manifest)
    assert.deepEqual([check.ok, check.hash, check.signature], [true, 'valid', 'unsigned'])
    assert.equal(manifest.kind, 'custos.export-manifest')
    assert.equal(manifest.signed, false)
    // the same hash sealDocument gives: one sealed-document format
    assert.equal((await sealDocument('custos.export-manifest', manifest.body)).sha256, manifest.sha256)
    assert.equal(sha256Hex(canonicalJson(manifest.body)), manifest.sha256)
    const body = manifest.body
    assert.equal(body.customer, 'acme')
    assert.deepEqual(
      body.stores.map((s) => [s.name, (s as BlobExportStore).layout]),
      [
        ['attachments', 'prefix-per-customer'],
        ['documents', 'container-per-customer'],
      ],
    )
    assert.deepEqual(
      body.objects.map((o) => o.store),
      body.objects.map((o) => o.store).sort(),
      'objects are grouped by store in store-name order',
    )
    for (const o of body.objects) {
      const data = fixture.expected.get(o.path)!
      assert.equal(o.sha256, sha256(data), o.path)
      assert.equal(o.size, data.length)
      assert.ok(o.contentMD5, `${o.path} has the service's Content-MD5`)
      assert.ok(o.lastModified)
    }

    assert.equal(body.objects.find((o) => o.name === 'plain.txt')!.contentType, 'text/plain')
    assert.equal(body.totals.objects, fixture.expected.size)
    assert.equal(body.totals.withContentMD5, fixture.expected.size)
    const sums = (await readFile(join(dir, 'SHA256SUMS'), 'utf8')).trimEnd().split('\n')
    assert.equal(sums.length, fixture.expected.size)
    for (const line of sums) {
      const [hash, path] = [line.slice(0, 64), line.slice(66)]
      assert.equal(hash, sha256(await readFile(join(dir, path))), path)
    }
  })

  it('records the verified export in the audit trail, started before and succeeded after', async () => {
    const records = (await auditRecords(fixture)).filter((r) => r.action === 'export' && r.customer === 'acme')
    assert.deepEqual(
      records.map((r) => r.result),
      ['started', 'succeeded'],
    )
    const details = records[1].details as Record<string, unknown>
    assert.equal(details.verified, true)
    assert.equal(details.destination, 'folder')
    assert.equal(details.objects, fixture.expected.size)
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as ExportManifest
    assert.equal(details.manifestSha256, manifest.sha256)
    assert.equal(records[0].operationId, records[1].operationId)
  })

  it('runs again into the same folder without downloading anything and writes the same manifest', async () => {
    const before = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as ExportManifest
    const summary = await exportCustomer(fixture.clients, fixture.map, 'acme', {target: {kind: 'folder', path: dir}})
    assert.equal(summary.resumed, true)
    assert.equal(summary.transferred.objects, 0)
    assert.equal(summary.kept.objects, fixture.expected.size)
    const after = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as ExportManifest
    assert.equal(after.sha256, before.sha256)
  })

  it("exports acme-corp's data alone in both layouts", async () => {
    const corp = join(await newTempDir('corp'), 'out')
    await exportCustomer(fixture.clients, fixture.map, 'acme-corp', {target: {kind: 'folder', path: corp}})
    const files = await readTree(corp, ROOT_FILES)
    assert.deepEqual([...files.keys()].sort(), [
      'attachments/acme-corp/plain.txt',
      'attachments/acme-corp/secret.txt',
      'attachments/acme-corp/with space.txt',
      'documents/plain.txt',
      'documents/secret.txt',
      'documents/with space.txt',
    ])
  })

  it('--dry-run counts per store and writes nothing, not even an audit record', async () => {
    const target = join(await newTempDir('dry'), 'never')
    const before = (await auditRecords(fixture)).length
    const summary = await exportCustomer(fixture.clients, fixture.map, 'acme', {
      target: {kind: 'folder', path: target},
      dryRun: true,
    })
    assert.equal(summary.dryRun, true)
    assert.equal(await exists(target), false)
    assert.equal((await auditRecords(fixture)).length, before)
    const documents = summary.stores.find((s) => s.store === 'documents')!
    const attachments = summary.stores.find((s) => s.store === 'attachments')!
    const bytesOf = (prefix: string) =>
      [...fixture.expected].filter(([p]) => p.startsWith(prefix)).reduce((n, [, d]) => n + d.length, 0)
    assert.deepEqual(
      [documents.objects, documents.bytes],
      [[...fixture.expected.keys()].filter((p) => p.startsWith('documents/')).length, bytesOf('documents/')],
    )
    assert.deepEqual(
      [attachments.objects, attachments.bytes],
      [[...fixture.expected.keys()].filter((p) => p.startsWith('attachments/')).length, bytesOf('attachments/')],
    )
  })

  it('refuses a folder that is not empty and holds no custos export', async () => {
    const target = await newTempDir('busy')
    await import('node:fs/promises').then((fs) => fs.writeFile(join(target, 'mine.txt'), 'x'))
    await assert.rejects(
      exportCustomer(fixture.clients, fixture.map, 'acme', {target: {kind: 'folder', path: target}}),
      (error: CustosError) => {
        assert.equal(error.code, 'DestinationNotEmpty')
        assert.equal(error.exitCode, 3)
        return true
      },
    )
  })
})

describe('customer export --include-snapshots', () => {
  it('adds snapshots under <store>@snapshots/<time>/ with the bytes they had, beside the current blobs', async () => {
    const base = makeMap()
    const docs = base.container(base.tenantTemplate.replace('{customer}', 'snapco'))
    await docs.createIfNotExists()
    const blob = docs.getBlockBlobClient('letters/offer.txt')
    await blob.uploadData(Buffer.from('version one'))
    const {snapshot} = await blob.createSnapshot()
    await blob.uploadData(Buffer.from('version two, longer'))
    const shared = base.container(base.shared)
    await shared.createIfNotExists()
    await shared.getBlockBlobClient('snapco/a.txt').uploadData(Buffer.from('attachment'))
    await shared.getBlockBlobClient('snapco-other/a.txt').uploadData(Buffer.from('not ours'))
    await shared.getBlockBlobClient('snapco-other/a.txt').createSnapshot()

    const plain = join(await newTempDir('snap'), 'out')
    await exportCustomer(base.clients, base.map, 'snapco', {target: {kind: 'folder', path: plain}})
    assert.deepEqual([...(await readTree(plain, ROOT_FILES)).keys()].sort(), [
      'attachments/snapco/a.txt',
      'documents/letters/offer.txt',
    ])

    const dir = join(await newTempDir('snap'), 'out')
    const summary = await exportCustomer(base.clients, base.map, 'snapco', {
      target: {kind: 'folder', path: dir},
      includeSnapshots: true,
    })
    const files = await readTree(dir, ROOT_FILES)
    const snapshotPath = `documents@snapshots/${snapshot!.replaceAll(':', '-')}/letters/offer.txt`
    assert.deepEqual(
      [...files.keys()].sort(),
      ['attachments/snapco/a.txt', 'documents/letters/offer.txt', snapshotPath].sort(),
    )
    assert.equal(files.get('documents/letters/offer.txt')!.toString(), 'version two, longer')
    assert.equal(files.get(snapshotPath)!.toString(), 'version one')
    assert.equal(summary.totals.snapshots, 1)
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as ExportManifest
    const entry = manifest.body.objects.find((o) => o.kind === 'snapshot')!
    assert.deepEqual([entry.name, entry.snapshot, entry.path], ['letters/offer.txt', snapshot, snapshotPath])
    assert.deepEqual(manifest.body.options, {includeVersions: false, includeSnapshots: true})

    // the journal of a run without snapshots is not resumed by a run with them
    await assert.rejects(
      exportCustomer(base.clients, base.map, 'snapco', {target: {kind: 'folder', path: plain}, includeSnapshots: true}),
      /belongs to another export/,
    )
  })
})

describe('customer export refusals and integrity', () => {
  it('refuses names that are unsafe as local paths before anything is written', async () => {
    const base = makeMap()
    const docs = base.container(base.tenantTemplate.replace('{customer}', 'badco'))
    await docs.createIfNotExists()
    await docs.getBlockBlobClient('fine.txt').upload('ok', 2)
    await docs.getBlockBlobClient('/abs/path.txt').upload('x', 1)
    for (const target of [
      {kind: 'folder' as const, path: join(await newTempDir('unsafe'), 'out')},
      {kind: 'archive' as const, path: join(await newTempDir('unsafe'), 'out.zip')},
    ]) {
      await assert.rejects(exportCustomer(base.clients, base.map, 'badco', {target}), (error: CustosError) => {
        assert.equal(error.code, 'UnsafeBlobName')
        assert.equal(error.exitCode, 3)
        assert.match(error.message, /"\/abs\/path\.txt"/)
        assert.match(error.message, /absolute path/)
        return true
      })
      assert.equal(await exists(target.path), false, `${target.path} must not exist`)
    }

    assert.equal((await auditRecords(base)).length, 0)
  })

  it('refuses a folder export where one blob is a file and another needs it as a folder', async () => {
    const base = makeMap()
    const docs = base.container(base.tenantTemplate.replace('{customer}', 'clash'))
    await docs.createIfNotExists()
    await docs.getBlockBlobClient('report').upload('file', 4)
    await docs.getBlockBlobClient('report-2024.txt').upload('between', 7)
    await docs.getBlockBlobClient('report/2024.txt').upload('nested', 6)
    const path = join(await newTempDir('clash'), 'out')
    await assert.rejects(
      exportCustomer(base.clients, base.map, 'clash', {target: {kind: 'folder', path}}),
      /blob "report" is a file and blob "report\/2024.txt" needs it to be a folder/,
    )
    assert.equal(await exists(path), false)
    // an archive can hold both
    const archive = join(await newTempDir('clash'), 'out.tar.gz')
    const summary = await exportCustomer(base.clients, base.map, 'clash', {target: {kind: 'archive', path: archive}})
    assert.equal(summary.totals.objects, 3)
  })

  it('detects a corrupted byte (Content-MD5 mismatch), exits 4 naming the blob, and leaves no manifest', async () => {
    const base = makeMap()
    const docs = base.container(base.tenantTemplate.replace('{customer}', 'corrupt'))
    await docs.createIfNotExists()
    for (let i = 0; i < 5; i++) await docs.getBlockBlobClient(`ok-${i}.txt`).uploadData(Buffer.alloc(1000, i))
    const bad = docs.getBlockBlobClient('broken/data.bin')
    await bad.uploadData(Buffer.alloc(5000, 7))
    // What a flipped bit at rest looks like to a reader: the bytes no longer match the stored Content-MD5.
    const md5 = (await bad.getProperties()).contentMD5!
    md5[0] ^= 0x01
    await bad.setHTTPHeaders({blobContentMD5: md5, blobContentType: 'application/octet-stream'})
    for (const target of [
      {kind: 'folder' as const, path: join(await newTempDir('corrupt'), 'out')},
      {kind: 'archive' as const, path: join(await newTempDir('corrupt'), 'out.tar.gz')},
    ]) {
      await assert.rejects(exportCustomer(base.clients, base.map, 'corrupt', {target}), (error: CustosError) => {
        assert.equal(error.code, 'IntegrityMismatch')
        assert.equal(error.exitCode, 4)
        assert.match(error.message, /"broken\/data\.bin"/)
        return true
      })
      if (target.kind === 'folder') {
        assert.equal(await exists(join(target.path, 'manifest.json')), false)
        assert.equal(await exists(join(target.path, 'documents/broken/data.bin')), false)
      } else {
        assert.equal(await exists(target.path), false)
        assert.equal(await exists(`${target.path}.manifest.json`), false)
      }
    }

    const records = (await auditRecords(base)).filter((r) => r.customer === 'corrupt')
    assert.deepEqual(
      records.map((r) => r.result),
      ['started', 'failed', 'started', 'failed'],
    )
    assert.equal((records[1].details as Record<string, unknown>).error, 'IntegrityMismatch')
    assert.equal((records[1].details as Record<string, unknown>).verified, false)
  })
})
