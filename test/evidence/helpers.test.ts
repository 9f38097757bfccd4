import {strict as assert} from 'node:assert'
import {createHash} from 'node:crypto'
import {Readable, Writable} from 'node:stream'
import {pipeline} from 'node:stream/promises'

import {Sha256PassThrough} from '../../src/lib/evidence/digests.js'
import {sha256sums, sha256sumsLine} from '../../src/lib/evidence/sums.js'
import {escapeHtml} from '../../src/lib/output/html.js'

describe('evidence helpers written once', () => {
  it("escapeHtml escapes all five characters, ' included (the certificate page's copy did not)", () => {
    assert.equal(
      escapeHtml(`<a href="x" title='y'>&</a>`),
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
    )
    assert.equal(escapeHtml(42), '42')
  })

  it('SHA256SUMS escapes names with a backslash or a line break the way sha256sum does', () => {
    const h = 'a'.repeat(64)
    assert.equal(sha256sumsLine(h, 'acme/plain.json'), `${h}  acme/plain.json\n`)
    assert.equal(sha256sumsLine(h, 'odd\nname\\x'), `\\${h}  odd\\nname\\\\x\n`)
    assert.equal(
      sha256sums([
        {path: 'a', sha256: h},
        {path: 'b\r', sha256: h},
      ]),
      `${h}  a\n\\${h}  b\\r\n`,
    )
  })

  it('Sha256PassThrough passes the bytes on unchanged and gives their SHA-256 and count (archives, table CSVs)', async () => {
    const chunks = [Buffer.from('id,name\n'), Buffer.alloc(70_000, 7), Buffer.from('ünïcødé\n')]
    const passed: Buffer[] = []
    const measure = new Sha256PassThrough()
    await pipeline(
      Readable.from(chunks),
      measure,
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          passed.push(chunk)
          done()
        },
      }),
    )
    const all = Buffer.concat(chunks)
    assert.ok(Buffer.concat(passed).equals(all))
    assert.equal(measure.bytes, all.length)
    assert.equal(measure.sha256(), createHash('sha256').update(all).digest('hex'))
  })
})
