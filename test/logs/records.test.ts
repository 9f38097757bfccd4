import assert from 'node:assert/strict'

import {newRecordStreamStats, parseRecordStream, type MalformedLine} from '../../src/lib/logs/records.js'
import {realSignIns} from './fixtures.js'

/** Splits `text` into chunks of `size` bytes (so lines and multi-byte characters straddle chunks). */
async function* chunks(text: string, size: number): AsyncGenerator<Buffer> {
  const buf = Buffer.from(text, 'utf8')
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size)
}

async function collect(text: string, size: number, options: {needles?: string[]; anchors?: string[]} = {}) {
  const stats = newRecordStreamStats()
  const malformed: MalformedLine[] = []
  const out = []
  for await (const r of parseRecordStream(chunks(text, size), {
    source: 't',
    stats,
    onMalformed: (m) => malformed.push(m),
    ...options,
  }))
    out.push(r)
  return {out, stats, malformed}
}

describe('logs: parsing archived record streams', () => {
  const records = realSignIns()
  const lines = records.map((r) => JSON.stringify(r))

  it('yields every JSON line whatever the chunk size, with line numbers and raw text', async () => {
    const text = `\uFEFF${lines.join('\n')}\n\n  \n`
    for (const size of [1, 7, 64, 4096, 1 << 20]) {
      const {out, stats} = await collect(text, size)
      assert.equal(out.length, lines.length, `chunk size ${size}`)
      assert.deepEqual(
        out.map((r) => r.line),
        lines.map((_, i) => i + 1),
      )
      assert.equal(out[3].raw, lines[3])
      assert.deepEqual(out[0].record, records[0])
      assert.equal(stats.malformed, 0)
    }
  })

  it('counts truncated and non-JSON lines as malformed and carries on', async () => {
    const text = [lines[0], lines[1].slice(0, 200), 'garbage', '[1,2]', lines[2], lines[3].slice(0, 50)].join('\r\n')
    const {out, stats, malformed} = await collect(text, 100)
    assert.deepEqual(
      out.map((r) => r.line),
      [1, 5],
    )
    assert.equal(stats.malformed, 4)
    assert.deepEqual(
      malformed.map((m) => m.line),
      [2, 3, 4, 6],
    )
  })

  it("never quotes a malformed line in its reason (it may be another customer's record, with its IPs and secrets)", async () => {
    // V8's JSON.parse messages quote up to ten characters on each side of the error
    const broken = JSON.stringify(records[0]).replace(
      '"resultType":',
      '"resultType": tenant-globex 10.1.2.3 sig=SECRET,',
    )
    const {malformed} = await collect([broken, 'globex says hello'].join('\n'), 1 << 20)
    assert.equal(malformed.length, 2)
    for (const m of malformed) {
      assert.match(m.reason, /^not valid JSON \(/)
      for (const leak of ['globex', 'hello', '10.1', 'SECRET', 'tenant']) assert.ok(!m.reason.includes(leak), m.reason)
    }
  })

  it('reads the old {"records": [...]} wrapper, pretty-printed, without a line layout', async () => {
    const text = JSON.stringify({records: records.slice(0, 4)}, null, 2)
    for (const size of [3, 500, 1 << 20]) {
      const {out, stats} = await collect(text, size)
      assert.equal(out.length, 4, `chunk size ${size}`)
      assert.deepEqual(out[2].record, records[2])
      assert.equal(stats.malformed, 0)
    }

    const truncated = await collect(text.slice(0, -300), 500)
    assert.equal(truncated.out.length, 3)
    assert.equal(truncated.stats.malformed, 1)
  })

  it('expands a one-line {"records": [...]} wrapper among JSON lines', async () => {
    const text = `${lines[0]}\n${JSON.stringify({records: [records[1], records[2]]})}\n${lines[3]}\n`
    const {out} = await collect(text, 50)
    assert.deepEqual(
      out.map((r) => r.record.properties),
      [records[0], records[1], records[2], records[3]].map((r) => r.properties),
    )
  })

  it(
    String.raw`parses only lines with a needle, still counts skipped truncated lines, and always parses \u escapes`,
    async () => {
      const mark = (i: number, id: string) =>
        JSON.stringify({...records[i], properties: {...records[i].properties, customerId: id}})
      const escaped = mark(4, 'acme').replace('"acme"', String.raw`"\u0061cme"`)
      const text = [
        mark(0, 'acme'),
        mark(1, 'acme-corp'),
        mark(2, 'globex'),
        mark(3, 'acme').slice(0, 100),
        escaped,
        'x',
      ].join('\n')
      const {out, stats} = await collect(text, 1000, {needles: ['"acme"']})
      assert.deepEqual(
        out.map((r) => r.line),
        [1, 5],
      )
      assert.equal((out[1].record.properties as {customerId: string}).customerId, 'acme')
      assert.equal(stats.skipped, 4)
      assert.equal(stats.parsed, 2)
      assert.equal(stats.malformed, 2)
    },
  )

  it('gives the same records with or without anchors, wherever needles fall (chunk edges included)', async () => {
    const needles = ['"acme"', 'tenant-acme', 'TENANT-ACME', 'attachments/acme/']
    const texts = [
      '"acme"',
      '"acme-corp"',
      'tenant-acme',
      'tenant-acme-corp',
      'TENANT-ACME',
      'x-acme"',
      '"acmeacme"',
      'attachments/acme/',
      'attachments/acmex',
      'acme',
      'ACME',
    ]
    let seed = 7
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31
    const lines: string[] = []
    for (let i = 0; i < 400; i++) {
      const parts = Array.from({length: 1 + Math.floor(random() * 3)}, () => texts[Math.floor(random() * texts.length)])
      lines.push(
        JSON.stringify({
          time: '2026-11-22T10:00:00Z',
          n: i,
          a: parts.join(' '),
          pad: 'p'.repeat(Math.floor(random() * 300)),
        }),
      )
    }

    const text = lines.join('\n')
    const plain = await collect(text, 1 << 20, {needles})
    const expectedLines = lines.map((l, i) => (needles.some((n) => l.includes(n)) ? i + 1 : 0)).filter(Boolean)
    assert.deepEqual(
      plain.out.map((r) => r.line),
      expectedLines,
    )
    for (const size of [97, 1000, 1 << 20]) {
      const anchored = await collect(text, size, {needles, anchors: ['acme', 'ACME']})
      assert.deepEqual(
        anchored.out.map((r) => r.line),
        expectedLines,
        `chunk size ${size}`,
      )
    }
  })
})
