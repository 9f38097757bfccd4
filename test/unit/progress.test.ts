/** The plain progress lines (stderr not a terminal) read like a person wrote them. */
import assert from 'node:assert/strict'

import {createProgress, type ProgressOptions} from '../../src/lib/output/progress.js'
import {recordingStream} from '../support/stream.js'

function lines(options: Omit<ProgressOptions, 'stream'>, work: (p: ReturnType<typeof createProgress>) => void) {
  const {stream, text} = recordingStream(false)
  const progress = createProgress({...options, stream, lineIntervalInMs: 3_600_000})
  work(progress)
  return text().split('\n').filter(Boolean)
}

describe('plain progress lines', () => {
  it('say "acme: listed 1 object" in the singular, with a whole rate', () => {
    const out = lines({label: 'Listing acme', unit: 'items'}, (p) => {
      p.increment(1, 1)
      p.stop('done')
    })
    assert.equal(out.length, 2)
    for (const line of out) assert.match(line, /^acme: listed 1 object \([\d,]+\/s\)(, done)?$/)
    assert.match(out[1], /, done$/)
  })

  it('count in the plural with thousands separators, and out of a known total with a percentage', () => {
    const out = lines({label: 'Erasing acme', unit: 'items', total: 4000}, (p) => {
      p.increment(1, 1)
      p.increment(1999, 1999)
      p.stop('stopped')
    })
    assert.match(out.at(-1)!, /^acme: erased 2,000 of 4,000 objects \(50%, [\d,]+\/s\), stopped$/)
  })

  it('humanise sizes and rates where the unit is bytes, and name the items as asked', () => {
    const out = lines({label: 'Scanning logs for acme', unit: 'bytes', noun: 'record'}, (p) => {
      p.increment(3 * 1024 * 1024, 0)
      p.increment(0, 2)
      p.stop('done')
    })
    assert.match(out.at(-1)!, /^Scanning logs for acme: 3\.0 MiB, 2 records \([\d.]+ (B|KiB|MiB|GiB)\/s\), done$/)
    assert.doesNotMatch(out.join('\n'), /\d\.\d{2,}/)
  })

  it('write nothing for a run that did nothing, and nothing at all when silent', () => {
    assert.deepEqual(
      lines({label: 'Listing acme', unit: 'items'}, (p) => p.stop('stopped')),
      [],
    )
    assert.deepEqual(
      lines({label: 'Listing acme', unit: 'items', silent: true}, (p) => {
        p.increment(5, 5)
        p.note('a note')
        p.stop('done')
      }),
      [],
    )
  })
})
