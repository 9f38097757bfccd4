/**
 * The erase journal keeps reading what earlier versions wrote: a journal in the format before the
 * header line (a `start` line per run, a torn line the old code closed with a newline, a torn last
 * line), written here as bytes, resumes as it did — and a new journal starts with its header.
 */
import {strict as assert} from 'node:assert'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {emptyStats, Journal} from '../../src/lib/erase/journal.js'

const FP = 'a'.repeat(64)
const stats = (deleted: number) => ({...emptyStats(), deleted, deletedBytes: deleted * 10})

/** An erase journal as the code before the header line wrote it, line for line. */
const TODAY = [
  `{"type":"start","fingerprint":"${FP}","operationId":"op-1","time":"2026-01-01T10:00:00.000Z","pid":4101}`,
  JSON.stringify({
    type: 'batch',
    id: 'blobs-1',
    phase: 'blobs',
    store: 'docs',
    container: 'acme',
    time: '2026-01-01T10:00:01.000Z',
    requestIds: ['r-1'],
    keys: [['a.txt'], ['b.txt'], ['c.txt']],
    stats: stats(2),
    failed: [
      {
        key: ['c.txt'],
        mode: 'base',
        permanent: false,
        primary: true,
        kind: 'current',
        size: 10,
        status: 403,
        code: 'AuthorizationPermissionMismatch',
      },
    ],
    retained: [],
  }),
  // a run killed mid-line; the next run of the old code ended it with a newline
  '{"type":"batch","id":"blobs-2","phase":"blo',
  `{"type":"start","fingerprint":"${FP}","operationId":"op-2","time":"2026-01-01T11:00:00.000Z","pid":4102}`,
  JSON.stringify({
    type: 'batch',
    id: 'blobs-3',
    phase: 'blobs',
    store: 'docs',
    container: 'acme',
    time: '2026-01-01T11:00:01.000Z',
    requestIds: ['r-3'],
    keys: [['d.txt']],
    stats: stats(1),
    failed: [],
    retained: [],
  }),
  '{"type":"container","store":"docs","container":"acme","result":"kept","reason":"shared","time":"2026-01-01T11:00:02.000Z"}',
  '{"type":"key","state":"purged","time":"2026-01-01T11:00:03.000Z"}',
  '{"type":"finished","certificate":"/plans/acme.certificate.json","time":"2026-01-01T11:00:04.000Z"}',
]
import {tempFileEach} from '../support/temp.js'

describe('the erase journal reads the format of earlier versions', () => {
  const temp = tempFileEach('erase-journal-format-', 'acme.plan.json.journal.jsonl')

  it('a journal in the format before the header resumes: finished batches, failures to retry, the key and the certificate', async () => {
    // ... and a run killed while writing its last line
    const torn = '{"type":"batch","id":"blobs-4","phase":"blobs","store":"do'
    writeFileSync(temp.path, `${TODAY.join('\n')}\n${torn}`)
    const journal = await Journal.open(temp.path, FP, 'op-3')
    try {
      assert.deepEqual([...journal.finished].sort(), ['blobs-1', 'blobs-3'])
      assert.equal(journal.resumedBatches, 2)
      assert.equal(journal.resumed, true)
      assert.deepEqual(journal.progress('docs').stats.deleted, 3)
      assert.deepEqual(journal.progress('docs').requestIds, ['r-1', 'r-3'])
      assert.equal(journal.progress('docs').container?.result, 'kept')
      assert.deepEqual(journal.priorKey, {type: 'key', state: 'purged', time: '2026-01-01T11:00:03.000Z'})
      assert.deepEqual([...journal.certificates], ['/plans/acme.certificate.json'])
      const retry = journal.priorFailures('blobs')
      assert.deepEqual([...retry.keys()], ['blobs-1'])
      assert.deepEqual(
        retry.get('blobs-1')!.map((f) => f.key),
        [['c.txt']],
      )
    } finally {
      await journal.close()
    }

    // the torn last line is gone, the old lines are kept byte for byte, and this run's start line follows
    const lines = readFileSync(temp.path, 'utf8').split('\n')
    assert.deepEqual(lines.slice(0, TODAY.length), TODAY)
    assert.equal(lines.length, TODAY.length + 2)
    assert.deepEqual(
      {...(JSON.parse(lines[TODAY.length]) as object), time: 't', pid: 0},
      {type: 'start', fingerprint: FP, operationId: 'op-3', time: 't', pid: 0},
    )
    assert.equal(lines.at(-1), '')

    // and the journal so extended reads the same again
    const again = await Journal.open(temp.path, FP, 'op-4')
    assert.deepEqual([...again.finished].sort(), ['blobs-1', 'blobs-3'])
    await again.close()
  })

  it('a journal of another plan is refused (exit 3) and left as it was, with or without its header', async () => {
    const old = `${TODAY.join('\n')}\n{"type":"batch","id":"blo`
    writeFileSync(temp.path, old)
    await assert.rejects(
      Journal.open(temp.path, 'b'.repeat(64), 'op-9'),
      (error: Error & {code?: string; exitCode?: number}) => {
        assert.equal(error.code, 'JournalMismatch')
        assert.equal(error.exitCode, 3)
        assert.match(error.message, /fingerprint aaaaaaaaaaaa…/)
        return true
      },
    )
    assert.equal(readFileSync(temp.path, 'utf8'), old)

    const fresh = join(temp.dir, 'new.journal.jsonl')
    await (await Journal.open(fresh, FP, 'op-1')).close()
    const written = readFileSync(fresh, 'utf8')
    await assert.rejects(Journal.open(fresh, 'b'.repeat(64), 'op-2'), /belongs to another plan/)
    assert.equal(readFileSync(fresh, 'utf8'), written)
  })

  it('a new journal starts with a header naming its format, version and plan', async () => {
    const journal = await Journal.open(temp.path, FP, 'op-1')
    await journal.close()
    const [header, start] = readFileSync(temp.path, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    assert.deepEqual(header, {type: 'custos.erase-journal', formatVersion: 1, fingerprint: FP})
    assert.equal(start.type, 'start')
    assert.equal(start.operationId, 'op-1')
  })
})
