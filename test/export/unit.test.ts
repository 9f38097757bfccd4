import assert from 'node:assert/strict'
import {PassThrough} from 'node:stream'

import {canonicalJson, sha256Hex} from '../../src/lib/evidence/canonical.js'
import {sealDocument} from '../../src/lib/evidence/envelope.js'
import {ManifestWriter, SumsWriter, type ManifestObject} from '../../src/lib/export/manifest.js'
import {runOrdered} from '../../src/lib/pool.js'
import {unsafeNameReason} from '../../src/lib/evidence/layout.js'
import {exportPath, FolderConflictDetector} from '../../src/lib/export/paths.js'

async function* range(n: number): AsyncGenerator<number> {
  for (let i = 0; i < n; i++) yield i
}

describe('export building blocks', () => {
  it('refuses names that are unsafe as local paths and keeps awkward but safe ones', () => {
    const folder = {folder: true}
    for (const [name, why] of [
      ['../x', /"\.\." path segment/],
      ['a/../../etc/passwd', /"\.\." path segment/],
      ['./x', /"\." path segment/],
      ['/abs', /absolute path/],
      ['C:/windows', /drive letter/],
      [String.raw`a\..\b`, /backslash/],
      ['a//b', /empty path segment/],
      ['nul\0byte', /NUL/],
      [`${'z'.repeat(256)}/x`, /longer than|bytes long/],
    ] as const) {
      assert.match(unsafeNameReason(name, 1, folder) ?? 'accepted', why, name)
    }

    assert.equal(
      unsafeNameReason(`${'z'.repeat(256)}/x`, 1, {folder: false}),
      undefined,
      'an archive holds long segments',
    )
    for (const name of [
      'with space.txt',
      'ünïcødé/日本語.txt',
      '100%#?.txt',
      'a/b/c/d/e/f/g/h/i/j/k.txt',
      '...',
      '..a',
      'a..',
      'dir/',
    ]) {
      assert.equal(unsafeNameReason(name, 0, folder), undefined, name)
    }

    assert.match(unsafeNameReason('dir/', 5, folder)!, /ends with "\/" but holds data/)
  })

  it('maps versions and snapshots to their own trees so they never collide with current blobs', () => {
    assert.equal(exportPath('documents', 'a/b.txt', 'current'), 'documents/a/b.txt')
    assert.equal(
      exportPath('documents', 'a/b.txt', 'version', '2024-05-01T10:00:00.1234567Z'),
      'documents@versions/2024-05-01T10-00-00.1234567Z/a/b.txt',
    )
    assert.equal(
      exportPath('documents', 'a/b.txt', 'snapshot', '2024-05-01T10:00:00.1234567Z'),
      'documents@snapshots/2024-05-01T10-00-00.1234567Z/a/b.txt',
    )
  })

  it('finds a file that another blob needs as a folder, in listing order, with bounded memory', () => {
    const d = new FolderConflictDetector()
    const seen = ['a', 'a b', 'a-x', 'a.txt', 'a/b'].map((n) => d.check(n))
    assert.deepEqual(seen, [undefined, undefined, undefined, undefined, 'a'])
    const e = new FolderConflictDetector()
    assert.deepEqual(
      ['dir/', 'dir/x', 'dir/y/z', 'dirt'].map((n) => e.check(n)),
      [undefined, undefined, undefined, undefined],
    )
    const f = new FolderConflictDetector()
    assert.deepEqual(
      ['x', 'x'].map((n) => f.check(n)),
      [undefined, undefined],
      'a snapshot and its blob share a name',
    )
  })

  it('commits results in input order although work finishes out of order, never running ahead of the window', async () => {
    const committed: number[] = []
    let running = 0
    let maxRunning = 0
    let maxAhead = 0
    await runOrdered(
      range(200),
      {concurrency: 8, window: 20},
      async (i) => {
        running++
        maxRunning = Math.max(maxRunning, running)
        maxAhead = Math.max(maxAhead, i - committed.length)
        await new Promise((r) => setTimeout(r, (i * 7) % 5))
        running--
        return i * 2
      },
      async (i, doubled) => {
        assert.equal(doubled, i * 2)
        committed.push(i)
      },
    )
    assert.deepEqual(committed, [...Array.from({length: 200}).keys()])
    assert.ok(maxRunning <= 8)
    assert.ok(maxAhead < 20)
  })

  it('stops at the first failure, commits nothing after it, and lets running work settle', async () => {
    const committed: number[] = []
    let settled = 0
    await assert.rejects(
      runOrdered(
        range(100),
        {concurrency: 4, window: 50},
        async (i, signal) => {
          try {
            if (i === 10) throw new Error('object 10 is corrupt')
            await new Promise((r, reject) => {
              const t = setTimeout(r, 5)
              signal.addEventListener(
                'abort',
                () => {
                  clearTimeout(t)
                  reject(signal.reason)
                },
                {once: true},
              )
            })
            return i
          } finally {
            settled++
          }
        },
        async (i) => {
          committed.push(i)
        },
      ),
      /object 10 is corrupt/,
    )
    assert.ok(committed.every((i) => i < 10))
    assert.ok(settled <= 15)
  })

  it('streams the same SHA-256 that sealDocument computes, for 0, 1 and many objects', async () => {
    for (const n of [0, 1, 50]) {
      const out = new PassThrough()
      const chunks: Buffer[] = []
      out.on('data', (c: Buffer) => chunks.push(c))
      const writer = new ManifestWriter(out)
      const destination = {kind: 'folder' as const}
      await writer.begin({customer: 'acme', destination})
      const objects: ManifestObject[] = []
      for (let i = 0; i < n; i++) {
        const o: ManifestObject = {
          store: 'documents',
          name: `n ${i} "q" ü`,
          kind: 'current',
          path: `documents/n ${i}`,
          size: i,
          lastModified: '2024-01-01T00:00:00.000Z',
          sha256: sha256Hex(String(i)),
        }
        objects.push(o)
        await writer.add(o)
      }

      const tail = {
        options: {includeVersions: false, includeSnapshots: true},
        startedAt: '2024-01-01T00:00:00.000Z',
        stores: [],
        tool: 'custos test',
        verification: 'test',
      }
      const sealed = await writer.finish(tail)
      const doc = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        body: Record<string, unknown>
        sha256: string
        signed: boolean
        kind: string
      }
      const expected = await sealDocument('custos.export-manifest', {
        customer: 'acme',
        destination,
        objects,
        ...tail,
        totals: writer.totals,
      })
      assert.equal(sealed.sha256, expected.sha256)
      assert.equal(doc.sha256, expected.sha256)
      assert.equal(sha256Hex(canonicalJson(doc.body)), doc.sha256)
      assert.deepEqual(doc, JSON.parse(JSON.stringify(expected)))
    }
  })

  it("writes the export's SHA256SUMS in sha256sum's format: plain names as they are, odd names escaped, folder markers and unhashed objects left out", async () => {
    const out = new PassThrough()
    const chunks: Buffer[] = []
    out.on('data', (c: Buffer) => chunks.push(c))
    const sums = new SumsWriter(out)
    const h = 'a'.repeat(64)
    const object = (path: string, sha256?: string): ManifestObject => ({
      store: 'documents',
      name: path.slice('documents/'.length),
      kind: 'current',
      path,
      size: 1,
      lastModified: '2024-01-01T00:00:00.000Z',
      ...(sha256 ? {sha256} : {}),
    })
    await sums.add(object('documents/plain name.txt', h))
    await sums.add(object('documents/line\nbreak\\x', h))
    await sums.add(object('documents/folder/', h))
    await sums.add(object('documents/server-side-copy.txt'))
    await sums.finish()
    assert.equal(
      Buffer.concat(chunks).toString('utf8'),
      `${h}  documents/plain name.txt\n\\${h}  documents/line\\nbreak\\\\x\n`,
    )
  })
})
