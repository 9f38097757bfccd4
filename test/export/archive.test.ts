import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {createReadStream} from 'node:fs'
import {readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {pipeline} from 'node:stream/promises'
import {createGunzip} from 'node:zlib'

import tar from 'tar-stream'

import {CustosError} from '../../src/lib/errors.js'
import {verifyDocument} from '../../src/lib/evidence/envelope.js'
import {exportCustomer} from '../../src/lib/export/export.js'
import type {ExportManifest} from '../../src/lib/export/manifest.js'
import {exists, makeFixture, newTempDir, readTree, sha256, type ExportFixture} from './fixtures.js'

/** Reads a .tar.gz back with tar-stream, independently of custos's own manifest. */
async function readTarGz(file: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>()
  const extract = tar.extract()
  const done = (async () => {
    for await (const entry of extract) {
      const chunks: Buffer[] = []
      for await (const chunk of entry) chunks.push(chunk as Buffer)
      if (entry.header.type === 'file') out.set(entry.header.name, Buffer.concat(chunks))
    }
  })()
  await pipeline(createReadStream(file), createGunzip(), extract)
  await done
  return out
}

function hasUnzip(): boolean {
  try {
    execFileSync('unzip', ['-v'], {stdio: 'ignore'})
    return true
  } catch {
    return false
  }
}

describe('customer export --archive', () => {
  let fixture: ExportFixture

  before(async () => {
    fixture = await makeFixture()
  })

  it('writes a .tar.gz whose entries are byte-identical to the source, names intact, nothing of acme-corp', async () => {
    const file = join(await newTempDir('tgz'), 'acme.tar.gz')
    const summary = await exportCustomer(fixture.clients, fixture.map, 'acme', {
      target: {kind: 'archive', path: file},
      concurrency: 4,
    })
    assert.equal(summary.destination.kind, 'tar.gz')
    assert.equal(summary.verified, true)
    const entries = await readTarGz(file)
    const manifestInside = entries.get('manifest.json')!
    const sumsInside = entries.get('SHA256SUMS')!
    entries.delete('manifest.json')
    entries.delete('SHA256SUMS')
    assert.deepEqual([...entries.keys()].sort(), [...fixture.expected.keys()].sort())
    for (const [path, data] of fixture.expected) assert.ok(entries.get(path)!.equals(data), `${path} differs`)
    for (const path of entries.keys()) assert.doesNotMatch(path, /acme-corp|acmex/)
    // the manifest inside is the one beside, and it verifies
    assert.ok(manifestInside.equals(await readFile(`${file}.manifest.json`)))
    const manifest = JSON.parse(manifestInside.toString('utf8')) as ExportManifest
    assert.equal((await verifyDocument(manifest)).ok, true)
    assert.equal(manifest.body.destination.kind, 'tar.gz')
    for (const line of sumsInside.toString('utf8').trimEnd().split('\n')) {
      assert.equal(line.slice(0, 64), sha256(entries.get(line.slice(66))!), line.slice(66))
    }

    assert.equal(await exists(`${file}.custos-partial`), false)
  })

  it('writes a .zip whose files (read back by unzip) are byte-identical to the source', async function () {
    if (!hasUnzip()) this.skip()
    const dir = await newTempDir('zip')
    const file = join(dir, 'acme.zip')
    const summary = await exportCustomer(fixture.clients, fixture.map, 'acme', {target: {kind: 'archive', path: file}})
    assert.equal(summary.destination.kind, 'zip')
    const out = join(dir, 'extracted')
    execFileSync('unzip', ['-q', file, '-d', out])
    const files = await readTree(out, ['manifest.json', 'SHA256SUMS'])
    assert.deepEqual([...files.keys()].sort(), [...fixture.expected.keys()].sort())
    for (const [path, data] of fixture.expected) assert.ok(files.get(path)!.equals(data), `${path} differs`)
    execFileSync('sha256sum', ['--quiet', '-c', 'SHA256SUMS'], {cwd: out})
    const manifest = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8')) as ExportManifest
    assert.equal((await verifyDocument(manifest)).ok, true)
  })

  it('refuses to write a finished archive again without force; with force writes it from the start, with the same manifest body', async () => {
    const file = join(await newTempDir('again'), 'acme.tar.gz')
    await exportCustomer(fixture.clients, fixture.map, 'acme', {target: {kind: 'archive', path: file}})
    const first = JSON.parse(await readFile(`${file}.manifest.json`, 'utf8')) as ExportManifest
    await assert.rejects(
      exportCustomer(fixture.clients, fixture.map, 'acme', {target: {kind: 'archive', path: file}}),
      (e: unknown) =>
        e instanceof CustosError && e.code === 'DestinationExists' && e.exitCode === 3 && /--force/.test(e.hint!),
    )
    const summary = await exportCustomer(fixture.clients, fixture.map, 'acme', {
      target: {kind: 'archive', path: file, force: true},
    })
    assert.equal(summary.resumed, true)
    assert.match(summary.notes.join('\n'), /Archive exports cannot resume/)
    assert.equal(summary.transferred.objects, fixture.expected.size)
    const second = JSON.parse(await readFile(`${file}.manifest.json`, 'utf8')) as ExportManifest
    assert.equal(second.sha256, first.sha256)
    assert.equal((await readTarGz(file)).size, fixture.expected.size + 2)
  })

  it('refuses to overwrite a file it did not write', async () => {
    const file = join(await newTempDir('foreign'), 'precious.zip')
    await import('node:fs/promises').then((fs) => fs.writeFile(file, 'mine'))
    await assert.rejects(
      exportCustomer(fixture.clients, fixture.map, 'acme', {target: {kind: 'archive', path: file}}),
      /Refused to overwrite/,
    )
    assert.equal(await readFile(file, 'utf8'), 'mine')
  })
})
