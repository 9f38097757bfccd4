/**
 * `custos certificate verify` on what carries a sealed manifest inside it — an export folder, a
 * .tar.gz or .zip export, a logs bundle, an incident-evidence bundle — checks every file against
 * that manifest. Real exports and bundles are made against Azurite (and the local Azure server for
 * the signing key), then altered the way someone with the files could: a file swapped, deleted or
 * added, an archive entry changed, a record appended with SHA256SUMS made to match.
 */
import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {createWriteStream} from 'node:fs'
import {appendFile, copyFile, cp, mkdir, readFile, rm, symlink, truncate, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {pipeline} from 'node:stream/promises'
import {createGzip, gunzipSync} from 'node:zlib'

import tar from 'tar-stream'
import yauzl from 'yauzl'
import yazl from 'yazl'

import {AzureClients} from '../../src/lib/azure/clients.js'
import {validateDataMap} from '../../src/lib/datamap/load.js'
import type {CertificateVerifyReport} from '../../src/lib/evidence/verify-document.js'
import {sealDocument} from '../../src/lib/evidence/envelope.js'
import {exportCustomer} from '../../src/lib/export/export.js'
import {
  startLocalAzureServer,
  LOCAL_SUBSCRIPTION_ID,
  type LocalAzureServer,
} from '../../src/lib/local/azure-server/index.js'
import {createLogsBundle} from '../../src/lib/logs/bundle.js'
import {writeTarGz} from '../../src/lib/evidence/pack.js'
import {runCli} from '../support/cli.js'
import {getTestAzurite, uniqueName} from '../support/env.js'
import {makeFixture, newTempDir, type ExportFixture} from '../export/fixtures.js'
import {hourPath, signIn, storageRead} from '../logs/fixtures.js'

type Report = CertificateVerifyReport & {contents: NonNullable<CertificateVerifyReport['contents']>}

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex')

async function verify(path: string, extra: string[] = []): Promise<{code: number | null; report: Report}> {
  // The exports here are made without a signing key: unsigned manifests are accepted only when asked.
  const result = await runCli(['certificate', 'verify', path, '--json', '--allow-unsigned', ...extra], {
    timeoutInMs: 60_000,
  })
  assert.ok(result.stdout.trim().startsWith('{'), `no JSON on stdout: ${result.stdout}${result.stderr}`)
  return {code: result.code, report: result.json<Report>()}
}

function assertIntact(code: number | null, report: Report, files: number): void {
  assert.equal(report.status, 'unsigned', report.reason)
  assert.equal(code, 0)
  assert.equal(report.valid, true)
  assert.equal(report.contents.checked, true)
  assert.equal(report.contents.files, files)
  assert.deepEqual(report.contents.counts, {matched: files, missing: 0, extra: 0, changed: 0})
  assert.deepEqual([report.contents.missing, report.contents.extra, report.contents.changed], [[], [], []])
}

function assertAltered(code: number | null, report: Report): void {
  assert.equal(report.status, 'altered')
  assert.equal(report.valid, false)
  assert.equal(code, 1)
  assert.equal(report.hash, 'valid', 'the manifest itself is intact; its files are not')
}

interface TarItem {
  header: Partial<tar.Header> & Pick<tar.Header, 'mode' | 'name' | 'type'>
  data: Buffer
}

function readTarGzSync(file: Buffer): Promise<TarItem[]> {
  return new Promise((resolve, reject) => {
    const items: TarItem[] = []
    const extract = tar.extract()
    extract.on('entry', (header, stream, next) => {
      const parts: Buffer[] = []
      stream.on('data', (c: unknown) => parts.push(c as Buffer))
      stream.on('end', () => {
        items.push({header, data: Buffer.concat(parts)})
        next()
      })
    })
    extract.on('finish', () => resolve(items))
    extract.on('error', reject)
    extract.end(gunzipSync(file))
  })
}

/** Writes `items` as a .tar.gz, the way someone repacking an archive would. */
async function writeTarGzItems(path: string, items: TarItem[]): Promise<void> {
  const pack = tar.pack()
  const done = pipeline(pack, createGzip(), createWriteStream(path))
  for (const {header, data} of items)
    await new Promise<void>((resolve, reject) => {
      pack.entry({...header, size: data.length}, data, (error) => (error ? reject(error) : resolve()))
    })
  pack.finalize()
  await done
}

async function readZipItems(path: string): Promise<Array<{name: string; data: Buffer}>> {
  const zip = await yauzl.openPromise(path, {lazyEntries: true})
  const out: Array<{name: string; data: Buffer}> = []
  for await (const entry of zip.eachEntry()) {
    const chunks: Buffer[] = []
    if (!entry.fileName.endsWith('/'))
      for await (const c of await zip.openReadStreamPromise(entry)) chunks.push(c as Buffer)
    out.push({name: entry.fileName, data: Buffer.concat(chunks)})
  }

  zip.close()
  return out
}

async function writeZipItems(path: string, items: Array<{name: string; data: Buffer}>): Promise<void> {
  const zip = new yazl.ZipFile()
  for (const {name, data} of items) {
    if (name.endsWith('/')) zip.addEmptyDirectory(name)
    else zip.addBuffer(data, name)
  }

  zip.end()
  await pipeline(zip.outputStream, createWriteStream(path))
}

/** The same bytes with one changed in the middle: same size, another SHA-256. */
function flipped(data: Buffer): Buffer {
  const copy = Buffer.from(data)
  copy[copy.length >> 1] ^= 0xff
  return copy
}

describe('certificate verify on export folders, archives and bundles', function () {
  this.timeout(120_000)
  let fixture: ExportFixture
  let work: string
  let folder: string
  let tgz: string
  let zip: string
  let objects: number

  before(async () => {
    fixture = await makeFixture()
    work = await newTempDir('verify-contents')
    folder = join(work, 'acme')
    tgz = join(work, 'acme.tar.gz')
    zip = join(work, 'acme.zip')
    await exportCustomer(fixture.clients, fixture.map, 'acme', {target: {kind: 'folder', path: folder}})
    await exportCustomer(fixture.clients, fixture.map, 'acme', {target: {kind: 'archive', path: tgz}})
    await exportCustomer(fixture.clients, fixture.map, 'acme', {target: {kind: 'archive', path: zip}})
    objects = fixture.expected.size
  })

  after(async () => {
    if (work) await rm(work, {recursive: true, force: true})
  })

  const copyOf = async (label: string) => {
    const dir = join(work, label)
    await cp(folder, dir, {recursive: true, verbatimSymlinks: true})
    return dir
  }

  describe('an export folder', () => {
    it('verifies an untouched export folder: every file matches the manifest (exit 0)', async () => {
      const {code, report} = await verify(folder)
      assertIntact(code, report, objects)
      assert.equal(report.kind, 'custos.export-manifest')
      assert.equal(report.contents.format, 'folder')
      assert.equal(report.contents.sums.checked, true)
      assert.equal(report.contents.sums.disagreeing, 0)
    })

    it('names a file swapped for other bytes of the same size as changed (exit 1)', async () => {
      const dir = await copyOf('swapped')
      const path = 'documents/plain.txt'
      const original = fixture.expected.get(path)!
      await writeFile(join(dir, path), flipped(original))
      const {code, report} = await verify(dir)
      assertAltered(code, report)
      assert.deepEqual(
        report.contents.changed.map((c) => c.path),
        [path],
      )
      const [change] = report.contents.changed
      assert.match(change.reason, /SHA-256/)
      assert.equal(change.expected.sha256, sha256(original))
      assert.equal(change.actual.sha256, sha256(flipped(original)))
      assert.equal(change.actual.size, original.length)
      assert.deepEqual(report.contents.counts, {matched: objects - 1, missing: 0, extra: 0, changed: 1})
      assert.match(report.reason!, /1 changed/)
    })

    it('names a file that grew as changed by its size', async () => {
      const dir = await copyOf('grown')
      const path = 'attachments/acme/with space.txt'
      await appendFile(join(dir, path), 'one more line\n')
      const {code, report} = await verify(dir)
      assertAltered(code, report)
      assert.deepEqual(
        report.contents.changed.map((c) => [c.path, c.actual.size - c.expected.size]),
        [[path, 14]],
      )
      assert.match(report.contents.changed[0].reason, /bytes where the manifest lists/)
    })

    it('names a deleted file as missing (exit 1)', async () => {
      const dir = await copyOf('deleted')
      const path = 'documents/ünïcødé/日本語/файл.txt'
      await rm(join(dir, path))
      const {code, report} = await verify(dir)
      assertAltered(code, report)
      assert.deepEqual(report.contents.missing, [path])
      assert.deepEqual(report.contents.counts, {matched: objects - 1, missing: 1, extra: 0, changed: 0})
    })

    it('names an added file as extra (exit 1), even one in a folder of its own', async () => {
      const dir = await copyOf('added')
      await writeFile(join(dir, 'documents', 'planted.txt'), 'not exported by custos')
      await mkdir(join(dir, 'elsewhere'))
      await writeFile(join(dir, 'elsewhere', 'x.bin'), 'x')
      const {code, report} = await verify(dir)
      assertAltered(code, report)
      assert.deepEqual(report.contents.extra, [
        {path: 'documents/planted.txt', reason: 'not in the manifest'},
        {path: 'elsewhere/x.bin', reason: 'not in the manifest'},
      ])
      assert.deepEqual(report.contents.counts, {matched: objects, missing: 0, extra: 2, changed: 0})
    })

    it('never follows a symbolic link: one added is extra, one in place of a file is changed', async () => {
      const dir = await copyOf('symlinks')
      const secret = join(work, 'outside.txt')
      await writeFile(secret, 'outside the export')
      await symlink(secret, join(dir, 'documents', 'link.txt'))
      await rm(join(dir, 'documents', 'plain.txt'))
      await symlink(join(folder, 'documents', 'plain.txt'), join(dir, 'documents', 'plain.txt'))
      const {code, report} = await verify(dir)
      assertAltered(code, report)
      assert.deepEqual(
        report.contents.extra.map((e) => e.path),
        ['documents/link.txt'],
      )
      assert.match(report.contents.extra[0].reason, /symbolic link/)
      assert.deepEqual(
        report.contents.changed.map((c) => c.path),
        ['documents/plain.txt'],
      )
      assert.match(report.contents.changed[0].reason, /symbolic link .*not followed/)
    })

    it('reports SHA256SUMS made to agree with a swapped file, but judges by the manifest', async () => {
      const dir = await copyOf('sums')
      const path = 'documents/hash#tag.txt'
      const swapped = flipped(fixture.expected.get(path)!)
      await writeFile(join(dir, path), swapped)
      const sums = await readFile(join(dir, 'SHA256SUMS'), 'utf8')
      await writeFile(join(dir, 'SHA256SUMS'), sums.replace(sha256(fixture.expected.get(path)!), sha256(swapped)))
      const {code, report} = await verify(dir)
      assertAltered(code, report)
      assert.deepEqual(
        report.contents.changed.map((c) => c.path),
        [path],
      )
      assert.equal(report.contents.sums.disagreeing, 1)
      assert.match(report.contents.sums.disagreements[0], /hash#tag\.txt: another SHA-256/)
    })

    it('says a folder without manifest.json is not a verifiable export (exit 1)', async () => {
      const dir = await copyOf('no-manifest')
      await rm(join(dir, 'manifest.json'))
      const {code, report} = await verify(dir)
      assert.equal(code, 1)
      assert.equal(report.status, 'altered')
      assert.match(report.reason!, /holds no manifest\.json/)
      assert.equal(report.contents.checked, false)
    })

    it('prints the differences by name in text mode', async () => {
      const dir = await copyOf('text')
      await rm(join(dir, 'documents/empty.txt'))
      await writeFile(join(dir, 'documents/new.txt'), 'new')
      const result = await runCli(['certificate', 'verify', dir, '--allow-unsigned'], {timeoutInMs: 60_000})
      assert.equal(result.code, 1, result.stderr)
      assert.match(result.stdout, /ALTERED/)
      assert.match(result.stdout, /missing: documents\/empty\.txt/)
      assert.match(result.stdout, /extra: {3}documents\/new\.txt \(not in the manifest\)/)
    })
  })

  describe('an export archive', () => {
    it('verifies an untouched .tar.gz and .zip export (exit 0)', async () => {
      for (const [file, format] of [
        [tgz, 'tar.gz'],
        [zip, 'zip'],
      ] as const) {
        const {code, report} = await verify(file)
        assertIntact(code, report, objects)
        assert.equal(report.contents.format, format)
        assert.equal(report.contents.sums.checked, true)
      }
    })

    it('names a .tar.gz entry changed, and an entry with ".." as unsafe (exit 1)', async () => {
      const items = await readTarGzSync(await readFile(tgz))
      const path = 'documents/big/large.bin'
      const edited = items.map((i) => (i.header.name === path ? {...i, data: flipped(i.data)} : i))
      edited.splice(1, 0, {header: {name: '../escape.txt', type: 'file', mode: 0o644}, data: Buffer.from('x')})
      const file = join(work, 'edited.tar.gz')
      await writeTarGzItems(file, edited)
      const {code, report} = await verify(file)
      assertAltered(code, report)
      assert.deepEqual(
        report.contents.changed.map((c) => [c.path, c.reason]),
        [[path, "its SHA-256 is not the manifest's"]],
      )
      assert.deepEqual(
        report.contents.extra.map((e) => e.path),
        ['../escape.txt'],
      )
      assert.match(report.contents.extra[0].reason, /unsafe path/)
      assert.deepEqual(report.contents.counts, {matched: objects - 1, missing: 0, extra: 1, changed: 1})
    })

    it('names a .zip entry changed (exit 1), whatever the file is called', async () => {
      const items = await readZipItems(zip)
      const path = 'attachments/acme/percent%20and%25.txt'
      assert.ok(items.some((i) => i.name === path))
      const file = join(work, 'edited-zip.dat') // told by its magic bytes, not its name
      await writeZipItems(
        file,
        items.map((i) => (i.name === path ? {...i, data: flipped(i.data)} : i)),
      )
      const {code, report} = await verify(file)
      assertAltered(code, report)
      assert.equal(report.contents.format, 'zip')
      assert.deepEqual(
        report.contents.changed.map((c) => c.path),
        [path],
      )
      assert.deepEqual(report.contents.counts, {matched: objects - 1, missing: 0, extra: 0, changed: 1})
    })

    it('says an archive cut short cannot be read to its end (exit 1)', async () => {
      const file = join(work, 'cut.tar.gz')
      await copyFile(tgz, file)
      await truncate(file, 4096)
      const {code, report} = await verify(file)
      assert.equal(code, 1)
      assert.equal(report.status, 'altered')
      assert.match(report.reason!, /cannot be read to its end|holds no manifest/)
    })
  })
})

describe('certificate verify on a signed logs bundle and an incident-evidence bundle', function () {
  this.timeout(120_000)
  const BASE = Date.UTC(2026, 10, 22, 10)
  let server: LocalAzureServer
  let dir: string
  let config: string
  let bundle: string

  before(async () => {
    const azurite = getTestAzurite()
    server = await startLocalAzureServer({port: 0})
    dir = await newTempDir('verify-bundle')
    const caPath = join(dir, 'ca.pem')
    await writeFile(caPath, server.caCertificatePem)
    const vault = await server.addVault({name: 'kv-verify'})
    const signIns = uniqueName('insights-logs-signinlogs')
    const reads = uniqueName('insights-logs-storageread')
    const raw = {
      stores: [{name: 'documents', account: azurite.connectionString('contosoprod'), container: 'tenant-{customer}'}],
      keys: {vault, signingKey: 'custos-evidence'},
      logs: {archive: {account: azurite.connectionString('contosologs'), containers: [signIns, reads]}},
      audit: {account: azurite.connectionString('contosoaudit'), container: uniqueName('audit')},
      azure: {
        credential: 'local',
        caCertificate: caPath,
        resourceManager: server.url,
        subscription: LOCAL_SUBSCRIPTION_ID,
      },
    }
    config = join(dir, 'custos.json')
    await writeFile(config, JSON.stringify(raw))
    const map = validateDataMap(structuredClone(raw), config)
    const clients = new AzureClients(map)
    await clients.keyClient().createRsaKey('custos-evidence', {keySize: 2048, keyOps: ['sign', 'verify']})
    const logs = clients.blobService(map.logs!.archive!.account)
    const hour = hourPath(new Date(BASE))
    const write = async (container: string, name: string, lines: unknown[]) => {
      const c = logs.getContainerClient(container)
      await c.createIfNotExists()
      const body = lines.map((l) => `${JSON.stringify(l)}\n`).join('')
      await c.getBlockBlobClient(name).upload(body, Buffer.byteLength(body))
    }

    await write(signIns, `tenantId=11111111-1111-1111-1111-222222222222/${hour}`, [
      signIn(new Date(BASE + 60_000), 'acme'),
      signIn(new Date(BASE + 120_000), 'globex'),
    ])
    await write(
      reads,
      `resourceId=/SUBSCRIPTIONS/X/RESOURCEGROUPS/Y/PROVIDERS/MICROSOFT.STORAGE/STORAGEACCOUNTS/CONTOSOPROD/BLOBSERVICES/DEFAULT/${hour}`,
      [
        storageRead(new Date(BASE + 180_000), 'contosoprod', 'tenant-acme', 'contracts/a.pdf'),
        storageRead(new Date(BASE + 240_000), 'contosoprod', 'tenant-acme', 'contracts/b.pdf'),
        storageRead(new Date(BASE + 300_000), 'contosoprod', 'tenant-globex', 'x.pdf'),
      ],
    )
    const made = await createLogsBundle(clients, map, {
      customer: 'acme',
      since: new Date(BASE),
      until: new Date(BASE + 3_600_000),
      output: join(dir, 'acme-logs.tar.gz'),
      tempDir: dir,
    })
    assert.ok(
      made.files.some((f) => f.path === 'archive/StorageRead.jsonl'),
      JSON.stringify(made.files),
    )
    assert.equal(made.manifest.signed, true)
    bundle = made.file
  })

  after(async () => {
    await server?.close()
    if (dir) await rm(dir, {recursive: true, force: true})
  })

  it('verifies an untouched logs bundle, signature included (exit 0)', async () => {
    const {code, report} = await verify(bundle, ['--config', config])
    assert.equal(code, 0, report.reason)
    assert.deepEqual([report.status, report.signature, report.kind], ['valid', 'valid', 'custos.logs-manifest'])
    assert.equal(report.contents.checked, true)
    assert.equal(report.contents.counts.matched, report.contents.files)
    assert.deepEqual(report.contents.counts, {matched: report.contents.files, missing: 0, extra: 0, changed: 0})
    assert.equal(report.contents.sums.disagreeing, 0)
  })

  it('names the record file a line was appended to, though SHA256SUMS was made to match (exit 1)', async () => {
    const items = await readTarGzSync(await readFile(bundle))
    const path = 'archive/StorageRead.jsonl'
    const target = items.find((i) => i.header.name === path)!
    const appended = Buffer.concat([target.data, Buffer.from(`${JSON.stringify({time: '2026-11-22T10:30:00Z'})}\n`)])
    target.data = appended
    const sums = items.find((i) => i.header.name === 'SHA256SUMS')!
    sums.data = Buffer.from(
      items
        .filter((i) => i.header.name !== 'SHA256SUMS')
        .map((i) => `${sha256(i.data)}  ${i.header.name}\n`)
        .join(''),
    )
    const file = join(dir, 'appended.tar.gz')
    await writeTarGzItems(file, items)
    const {code, report} = await verify(file, ['--config', config])
    assertAltered(code, report)
    assert.equal(report.signature, 'valid', 'the manifest is still the signed one')
    assert.deepEqual(
      report.contents.changed.map((c) => c.path),
      [path],
    )
    assert.equal(report.contents.changed[0].actual.size, appended.length)
    assert.equal(report.contents.sums.disagreeing, 1, 'the regenerated SHA256SUMS is reported, not trusted')
  })

  it('checks an incident-evidence bundle against its manifest the same way', async () => {
    const files = [
      {path: 'incident.json', data: Buffer.from('{"incident":{"id":"inc-1"}}\n')},
      {path: 'customers/acme/access-report.json', data: Buffer.from('{"totals":{}}\n')},
    ]
    const doc = await sealDocument('custos.incident-evidence', {
      incident: {id: 'inc-1'},
      files: files.map((f) => ({path: f.path, bytes: f.data.length, sha256: sha256(f.data)})),
    })
    const manifest = `${JSON.stringify(doc, null, 2)}\n`
    const pack = async (name: string, edit: (data: Buffer) => Buffer) =>
      (
        await writeTarGz(join(dir, name), [
          {name: 'manifest.json', content: manifest},
          ...files.map((f) => ({name: f.path, content: edit(f.data)})),
        ])
      ).path
    const intact = await verify(await pack('evidence.tar.gz', (d) => d))
    assertIntact(intact.code, intact.report, 2)
    assert.equal(intact.report.kind, 'custos.incident-evidence')
    const edited = await verify(await pack('evidence-edited.tar.gz', flipped))
    assertAltered(edited.code, edited.report)
    assert.equal(edited.report.contents.counts.changed, 2)
  })
})
