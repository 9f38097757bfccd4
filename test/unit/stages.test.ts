/** The stages of customer erase on stderr: listr2's list on a terminal, nothing off one or under --json. */
import assert from 'node:assert/strict'

import {createStages} from '../../src/lib/output/stages.js'
import {recordingStream as stream} from '../support/stream.js'

const TITLES = ['plan', 'guards', 'delete', 'shred', 'verify', 'certificate']

describe('erase stages', () => {
  it('on a terminal lists every stage in order and marks each finished one', async () => {
    const out = stream(true)
    const stages = createStages({titles: TITLES, stream: out.stream})
    for (const title of TITLES) await stages.begin(title)
    await stages.stop('done')
    const lines = out.text().split(/\r?\n/).filter(Boolean)
    const finished = lines.filter((l) => /^[✔√]/.test(l)).map((l) => l.slice(2).trim())
    assert.deepEqual(finished, TITLES)
    const started = lines.filter((l) => !/^[✔√]/.test(l)).map((l) => l.replace(/^\S+\s+/, '').trim())
    assert.deepEqual(started, TITLES)
  })

  it('has drawn a stage when begin resolves: a note the stage writes next stands under its line', async () => {
    const out = stream(true)
    const stages = createStages({titles: TITLES, stream: out.stream})
    await stages.begin('plan')
    await stages.begin('guards')
    await stages.begin('delete')
    out.stream.write('Crypto-shredding the customer key…\n')
    await stages.stop('done')
    const lines = out.text().split(/\r?\n/).filter(Boolean)
    const note = lines.indexOf('Crypto-shredding the customer key…')
    const finishedGuards = lines.findIndex((l) => /^[✔√] guards/.test(l))
    const startedDelete = lines.findIndex((l) => /^\S+ delete$/.test(l) && !/^[✔√]/.test(l))
    assert.ok(finishedGuards !== -1 && finishedGuards < note, lines.join('\n'))
    assert.ok(startedDelete !== -1 && startedDelete < note, lines.join('\n'))
  })

  it('on a terminal marks the stage that failed, and no later stage as finished', async () => {
    const out = stream(true)
    const stages = createStages({titles: TITLES, stream: out.stream})
    await stages.begin('plan')
    await stages.begin('guards')
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
    await stages.begin('plan')
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
      for (const title of TITLES) await stages.begin(title)
      await stages.stop('done')
      assert.equal(out.text(), '')
    }
  })
})
