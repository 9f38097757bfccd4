/**
 * The one framing of custos's journals (src/lib/output/jsonl-journal.ts): a header line with the
 * format and its version, a torn last line cut on resume (never the header), lines read with their
 * offsets, and the two durability policies.
 */
import {strict as assert} from 'node:assert'
import {readFileSync, statSync, writeFileSync} from 'node:fs'

import {JsonlJournal, type Durability} from '../../src/lib/output/jsonl-journal.js'

const FORMAT = {format: 'custos.test-journal', formatVersion: 1}
import {tempFileEach} from '../support/temp.js'

describe('JSON Lines journals (src/lib/output/jsonl-journal.ts)', () => {
  const temp = tempFileEach('jsonl-journal-test-', 'j.jsonl')

  async function readBack(journal: JsonlJournal): Promise<unknown[]> {
    const values: unknown[] = []
    for await (const {value} of journal.lines()) values.push(value)
    return values
  }

  for (const durability of ['each-line', 'buffered'] as Durability[]) {
    it(`a new journal starts with its header, and lines appended (${durability}) are read back in order`, async () => {
      const journal = await JsonlJournal.open(temp.path, {...FORMAT, header: {customer: 'acme'}, durability})
      assert.equal(journal.created, true)
      await journal.beginAppending()
      await journal.append({n: 1})
      await journal.append({n: 2})
      await journal.flush()
      assert.deepEqual(await readBack(journal), [{n: 1}, {n: 2}])
      await journal.close()
      assert.equal(
        readFileSync(temp.path, 'utf8'),
        '{"type":"custos.test-journal","formatVersion":1,"customer":"acme"}\n{"n":1}\n{"n":2}\n',
      )
      assert.equal(statSync(temp.path).mode & 0o777, 0o600)
    })
  }

  it('reopened, it keeps the header it had and cuts a torn last line before appending', async () => {
    const header = '{"type":"custos.test-journal","formatVersion":1,"customer":"acme"}\n'
    writeFileSync(temp.path, `${header}{"n":1}\n{"n":2}\n{"n":3,"torn`)
    const journal = await JsonlJournal.open(temp.path, {
      ...FORMAT,
      header: {customer: 'other'},
      durability: 'each-line',
    })
    assert.equal(journal.created, false)
    assert.deepEqual(journal.header, {type: 'custos.test-journal', formatVersion: 1, customer: 'acme'})
    assert.equal(journal.headerBytes, Buffer.byteLength(header))
    // nothing changes before the caller accepts the journal
    assert.match(readFileSync(temp.path, 'utf8'), /"torn$/)
    await journal.beginAppending()
    await journal.append({n: 3})
    await journal.close()
    assert.equal(readFileSync(temp.path, 'utf8'), `${header}{"n":1}\n{"n":2}\n{"n":3}\n`)
  })

  it('a torn line longer than the read window is cut whole, keeping every complete line before it', async () => {
    const header = '{"type":"custos.test-journal","formatVersion":1}\n'
    writeFileSync(temp.path, `${header}{"n":1}\n{"big":"${'x'.repeat(300 * 1024)}`)
    const journal = await JsonlJournal.open(temp.path, {...FORMAT, header: {}, durability: 'each-line'})
    await journal.beginAppending()
    await journal.close()
    assert.equal(readFileSync(temp.path, 'utf8'), `${header}{"n":1}\n`)
  })

  it('a journal without the header (an earlier format) opens with none, and its first line is read like the others', async () => {
    writeFileSync(temp.path, '{"type":"start","fingerprint":"f"}\nnot json\n{"type":"batch"}\n')
    const journal = await JsonlJournal.open(temp.path, {...FORMAT, header: {}, durability: 'each-line'})
    assert.equal(journal.header, undefined)
    assert.deepEqual(journal.firstLine, {type: 'start', fingerprint: 'f'})
    assert.equal(journal.headerBytes, 0)
    const lines: Array<{value: unknown; offset: number}> = []
    for await (const line of journal.lines()) lines.push(line)
    assert.deepEqual(lines, [
      {value: {type: 'start', fingerprint: 'f'}, offset: 0},
      {value: undefined, offset: 35},
      {value: {type: 'batch'}, offset: 44},
    ])
    await journal.close()
  })

  it('a file with no complete line (killed while writing the header) starts over', async () => {
    writeFileSync(temp.path, '{"type":"custos.test-jou')
    const journal = await JsonlJournal.open(temp.path, {...FORMAT, header: {customer: 'acme'}, durability: 'buffered'})
    assert.equal(journal.created, true)
    await journal.close()
    assert.equal(
      readFileSync(temp.path, 'utf8'),
      '{"type":"custos.test-journal","formatVersion":1,"customer":"acme"}\n',
    )
  })

  it('truncateAt drops the lines from an offset on, never the header', async () => {
    const journal = await JsonlJournal.open(temp.path, {...FORMAT, header: {}, durability: 'buffered'})
    await journal.beginAppending()
    journal.append({n: 1}).catch(() => {})
    journal.append({n: 2}).catch(() => {})
    await journal.flush()
    const offsets: number[] = []
    for await (const {offset} of journal.lines()) offsets.push(offset)
    await journal.truncateAt(offsets[1])
    assert.deepEqual(await readBack(journal), [{n: 1}])
    await journal.truncateAt(0)
    assert.deepEqual(await readBack(journal), [])
    await journal.close()
    assert.equal(readFileSync(temp.path, 'utf8'), '{"type":"custos.test-journal","formatVersion":1}\n')
  })
})
