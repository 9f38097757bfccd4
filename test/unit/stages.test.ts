/** The stages of customer erase on stderr: listr2's list on a terminal, nothing off one or under --json. */
import assert from 'node:assert/strict'

import {createStages} from '../../src/lib/output/stages.js'
import {recordingStream as stream} from '../support/stream.js'

const TITLES = ['plan', 'guards', 'delete', 'shred', 'verify', 'certificate']

describe('erase stages', () => {
  it('on a terminal lists every stage in order and marks each finished one', async () => {
    const out = stream(true)
    const stages = createStages({titles: TITLES, stream: out.stream})
    for (const title of TITLES) stages.begin(title)
    await stages.stop('done')
    const lines = out.text().split(/\r?\n/).filter(Boolean)
    const finished = lines.filter((l) => /^[✔√]/.test(l)).map((l) => l.slice(2).trim())
    assert.deepEqual(finished, TITLES)
    const started = lines.filter((l) => !/^[✔√]/.test(l)).map((l) => l.replace(/^\S+\s+/, '').trim())
    assert.deepEqual(started, TITLES)
  })

  it('on a terminal marks the stage that failed, and no later stage as finished', async () => {
    const out = stream(true)
    const stages = createStages({titles: TITLES, stream: out.stream})
    stages.begin('plan')
    stages.begin('guards')
    await stages.stop('failed')
    const text = out.text()
    assert.match(text, /[✔√] plan/)
    assert.doesNotMatch(text, /[✔√] guards/)
    assert.match(text, /guards/)
    assert.doesNotMatch(text, /delete|shred|verify|certificate/)
  })

  it('leaves Ctrl-C to custos (stop at a safe point, exit 130): the list adds no SIGINT listener', async () => {
    const before = process.listenerCount('SIGINT')
    const stages = createStages({titles: TITLES, stream: stream(true).stream})
    stages.begin('plan')
    await new Promise((resolve) => {
      setTimeout(resolve, 50)
    })
    assert.equal(process.listenerCount('SIGINT'), before)
    await stages.stop('done')
  })

  it('writes nothing when stderr is not a terminal (the progress lines stay) or under --json', async () => {
    for (const [isTTY, silent] of [
      [false, false],
      [true, true],
    ]) {
      const out = stream(isTTY)
      const stages = createStages({titles: TITLES, stream: out.stream, silent})
      for (const title of TITLES) stages.begin(title)
      await stages.stop('done')
      assert.equal(out.text(), '')
    }
  })
})
