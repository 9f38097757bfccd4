/**
 * The contents check of `certificate verify` in-process, on small hand-made packages: what the
 * export and bundle suites (test/evidence/) do not reach cheaply — the cap on named paths, folder
 * markers, a FIFO, a second manifest.json entry, gzip told by its bytes, a document passed as before.
 */
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {sealDocument} from '../../src/lib/evidence/envelope.js'
import {detectEvidenceInput, verifyEvidence} from '../../src/lib/evidence/verify-package.js'
import {writeTarGz} from '../../src/lib/evidence/pack.js'

const sha256 = (data: string) => createHash('sha256').update(data).digest('hex')

const FILES: Record<string, string> = {
  'documents/a.txt': 'alpha',
  'documents/sub/b.txt': 'bravo',
  'attachments/acme/c.txt': 'charlie',
}

/** An export manifest (unsigned) listing FILES and, optionally, a folder marker. */
async function manifest(marker?: string): Promise<string> {
  const objects = Object.entries(FILES).map(([path, data]) => ({
    store: path.split('/')[0],
    name: path.slice(path.indexOf('/') + 1),
    kind: 'current',
    path,
    size: data.length,
    lastModified: '2026-11-22T10:00:00.000Z',
    sha256: sha256(data),
  }))
  if (marker)
    objects.push({
      store: 'documents',
      name: marker.slice('documents/'.length),
      kind: 'current',
      path: marker,
      size: 0,
      lastModified: '2026-11-22T10:00:00.000Z',
      sha256: sha256(''),
    })
  const doc = await sealDocument('custos.export-manifest', {
    customer: 'acme',
    destination: {kind: 'folder'},
    objects,
    stores: [
      {name: 'attachments', container: 'shared', prefix: 'acme/'},
      {name: 'documents', container: 'tenant-acme', prefix: ''},
    ],
    totals: {objects: objects.length, bytes: objects.reduce((n, o) => n + o.size, 0)},
  })
  return `${JSON.stringify(doc)}\n`
}

describe('certificate verify: contents of hand-made packages', () => {
  let dir: string

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'custos-contents-'))
  })

  after(async () => {
    await rm(dir, {recursive: true, force: true})
  })

  const folderWith = async (name: string, marker?: string) => {
    const root = join(dir, name)
    for (const [path, data] of Object.entries(FILES)) {
      await mkdir(join(root, path, '..'), {recursive: true})
      await writeFile(join(root, path), data)
    }

    await writeFile(join(root, 'manifest.json'), await manifest(marker))
    return root
  }

  it('names the first 20 extra files by path and counts all of them', async () => {
    const root = await folderWith('many')
    for (let i = 0; i < 25; i++) await writeFile(join(root, 'documents', `x${String(i).padStart(2, '0')}.txt`), 'x')
    const report = await verifyEvidence(root)
    assert.equal(report.status, 'altered')
    assert.equal(report.contents!.counts.extra, 25)
    assert.deepEqual(
      report.contents!.extra.map((e) => e.path),
      Array.from({length: 20}, (_, i) => `documents/x${String(i).padStart(2, '0')}.txt`),
    )
  })

  it('matches a folder marker with a folder, and names it missing when the folder is gone', async () => {
    const root = await folderWith('marker', 'documents/empty-folder/')
    await mkdir(join(root, 'documents', 'empty-folder'))
    const intact = await verifyEvidence(root)
    assert.equal(intact.status, 'unsigned', intact.reason)
    assert.deepEqual(intact.contents!.counts, {matched: 4, missing: 0, extra: 0, changed: 0})
    await rm(join(root, 'documents', 'empty-folder'), {recursive: true})
    const gone = await verifyEvidence(root)
    assert.deepEqual(gone.contents!.missing, ['documents/empty-folder/'])
  })

  it('names a FIFO as extra without opening it (it would block)', async function () {
    if (process.platform === 'win32') this.skip()
    const root = await folderWith('fifo')
    execFileSync('mkfifo', [join(root, 'documents', 'pipe')])
    const report = await verifyEvidence(root)
    assert.deepEqual(report.contents!.extra, [
      {path: 'documents/pipe', reason: 'a FIFO not in the manifest; not followed'},
    ])
  })

  it('verifies against the first manifest.json of a .tar.gz and names a second one as extra', async () => {
    const text = await manifest()
    const entries = [
      {name: 'manifest.json', content: text},
      ...Object.entries(FILES).map(([name, content]) => ({name, content})),
    ]
    const intact = join(dir, 'intact.bin') // gzip told by its magic bytes, not its name
    await writeTarGz(intact, entries)
    assert.equal(await detectEvidenceInput(intact), 'tar.gz')
    const ok = await verifyEvidence(intact)
    assert.equal(ok.status, 'unsigned', ok.reason)
    assert.equal(ok.contents!.format, 'tar.gz')
    const twice = join(dir, 'twice.tar.gz')
    await writeTarGz(twice, [...entries, {name: 'manifest.json', content: text.replace('alpha', 'ALPHA')}])
    const report = await verifyEvidence(twice)
    assert.equal(report.status, 'altered')
    assert.deepEqual(report.contents!.extra, [
      {path: 'manifest.json', reason: 'a second entry with a path already seen'},
    ])
  })

  it('still reads a .json document as a document', async () => {
    const file = join(dir, 'manifest.json')
    await writeFile(file, await manifest())
    assert.equal(await detectEvidenceInput(file), 'document')
    const report = await verifyEvidence(file)
    assert.equal(report.status, 'unsigned')
    assert.equal(report.contents, undefined)
  })
})
