/**
 * The export journal keeps reading what the current version writes: a journal written here as
 * bytes (the header line, object lines, a torn last line) resumes with the objects it holds and the
 * start time of the first attempt.
 */
import {strict as assert} from 'node:assert'
import {readFileSync, writeFileSync} from 'node:fs'

import {ExportJournal, type JournalLine} from '../../src/lib/export/journal.js'

const HEADER =
  '{"type":"custos.export-journal","formatVersion":1,"customer":"acme","destination":"folder","includeVersions":false,"includeSnapshots":true,"startedAt":"2026-01-01T10:00:00.000Z"}'
const OBJECTS = [
  '{"store":"docs","name":"a.txt","kind":"current","path":"docs/acme/a.txt","size":3,"lastModified":"2026-01-01T09:00:00.000Z","sha256":"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad","etag":"0x8DC0A1"}',
  '{"store":"docs","name":"b.txt","kind":"snapshot","snapshot":"2026-01-01T08:00:00.0000000Z","path":"docs/acme/.snapshots/b.txt/2026-01-01T08-00-00.0000000Z","size":0,"lastModified":"2026-01-01T08:00:00.000Z","sha256":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}',
]
const SAME = {customer: 'acme', destination: 'folder', includeVersions: false, includeSnapshots: true}
import {tempFileEach} from '../support/temp.js'

describe('the export journal reads what the current version writes', () => {
  const temp = tempFileEach('export-journal-format-', '.custos-export-journal.jsonl')

  async function objectsOf(journal: ExportJournal): Promise<JournalLine[]> {
    const cursor = journal.cursor()
    const lines: JournalLine[] = []
    try {
      for (let line = await cursor.next(); line; line = await cursor.next()) lines.push(line)
    } finally {
      cursor.close()
    }

    return lines
  }

  it('resumes a journal with a torn last line: the objects it holds, the first start time, and appends after them', async () => {
    writeFileSync(temp.path, `${HEADER}\n${OBJECTS.join('\n')}\n{"store":"docs","name":"c.t`)
    const opened = await ExportJournal.open(temp.path, SAME, new Date('2026-02-02T00:00:00.000Z'))
    assert.equal(opened.resumed, true)
    assert.equal(opened.previousObjects, 2)
    assert.equal(opened.startedAt, '2026-01-01T10:00:00.000Z')
    const lines = await objectsOf(opened.journal)
    assert.deepEqual(
      lines.map((l) => l.entry),
      OBJECTS.map((o) => JSON.parse(o) as unknown),
    )
    assert.deepEqual(
      lines.map((l) => l.offset),
      [HEADER.length + 1, HEADER.length + 1 + OBJECTS[0].length + 1],
    )
    opened.journal.append({
      store: 'docs',
      name: 'c.txt',
      kind: 'current',
      path: 'docs/acme/c.txt',
      size: 1,
      lastModified: 'x',
    })
    await opened.journal.close()
    assert.equal(
      readFileSync(temp.path, 'utf8'),
      `${HEADER}\n${OBJECTS.join('\n')}\n{"store":"docs","name":"c.txt","kind":"current","path":"docs/acme/c.txt","size":1,"lastModified":"x"}\n`,
    )
  })

  it('an archive run starts its object lines over but keeps the header and its start time', async () => {
    writeFileSync(temp.path, `${HEADER}\n${OBJECTS.join('\n')}\n`)
    const opened = await ExportJournal.open(temp.path, SAME, new Date('2026-02-02T00:00:00.000Z'), {restart: true})
    assert.equal(opened.previousObjects, 2)
    assert.equal(opened.startedAt, '2026-01-01T10:00:00.000Z')
    await opened.journal.close()
    assert.equal(readFileSync(temp.path, 'utf8'), `${HEADER}\n`)
  })

  it('refuses (exit 3) a journal of another export or one it cannot read, and leaves it as it was', async () => {
    const text = `${HEADER}\n${OBJECTS[0]}\n{"torn`
    writeFileSync(temp.path, text)
    await assert.rejects(
      ExportJournal.open(temp.path, {...SAME, customer: 'globex'}, new Date()),
      (error: Error & {code?: string; exitCode?: number}) => {
        assert.equal(error.code, 'OtherExport')
        assert.equal(error.exitCode, 3)
        assert.match(error.message, /customer acme, folder, with snapshots/)
        return true
      },
    )
    assert.equal(readFileSync(temp.path, 'utf8'), text)
    writeFileSync(temp.path, `{not json\n${OBJECTS[0]}\n`)
    await assert.rejects(ExportJournal.open(temp.path, SAME, new Date()), {code: 'JournalUnreadable'})
  })
})
