/**
 * The output layer of BaseCommand (print, table, artefact, info, progress, stage): a human gets the
 * result on stdout and notes on stderr; under --json stdout holds the one JSON document and stderr
 * stays empty — without the command asking jsonEnabled() itself.
 */
import {strict as assert} from 'node:assert'

import {Config} from '@oclif/core'

import {BaseCommand} from '../../src/base-command.js'
import {ROOT} from '../support/cli.js'

class Sample extends BaseCommand<typeof Sample> {
  static override id = 'sample'

  public async run(): Promise<{wrote: string}> {
    const progress = this.progress({label: 'Counting', unit: 'items', lineIntervalInMs: 0})
    progress.increment(3, 3)
    progress.stop()
    this.progress({label: 'Quiet anyway', unit: 'items', lineIntervalInMs: 0}, true).increment(1, 1)
    const n = await this.stage(
      'Reading',
      async () => 2,
      (r) => `${r} things`,
    )
    this.table(['name', 'count'], [['a', n]], {title: 'Things'})
    this.print('All good.')
    this.info('a note')
    this.artefact('Wrote out.txt (2 things).')
    return {wrote: 'out.txt'}
  }
}

async function capture(argv: string[]): Promise<{stdout: string; stderr: string}> {
  const config = await Config.load(ROOT)
  const out: string[] = []
  const err: string[] = []
  const {write: writeOut} = process.stdout
  const {write: writeErr} = process.stderr
  process.stdout.write = ((chunk: string) => out.push(String(chunk)) > 0) as typeof process.stdout.write
  process.stderr.write = ((chunk: string) => err.push(String(chunk)) > 0) as typeof process.stderr.write
  try {
    await Sample.run(argv, config)
  } finally {
    process.stdout.write = writeOut
    process.stderr.write = writeErr
  }

  return {stdout: out.join(''), stderr: err.join('')}
}

describe('BaseCommand output layer', () => {
  it('prints the table and text on stdout, progress, stages, notes and written files on stderr', async () => {
    const {stdout, stderr} = await capture([])
    assert.match(stdout, /Things\n/)
    assert.match(stdout, /│? ?a +│? ?2/)
    assert.match(stdout, /All good\.\n/)
    assert.doesNotMatch(stdout, /Wrote|a note|Counting|Reading/)
    assert.match(stderr, /Counting: 3 objects \([\d,]+\/s\), done/)
    assert.doesNotMatch(stderr, /Quiet anyway/)
    assert.match(stderr, / 2 things\n/) // "Reading..." itself is written by ux.action before the capture sees it
    assert.match(stderr, /a note\n/)
    assert.match(stderr, /Wrote out\.txt \(2 things\)\.\n/)
  })

  it('is quiet under --json: stdout is the JSON result only, stderr is empty', async () => {
    const {stdout, stderr} = await capture(['--json'])
    assert.deepEqual(JSON.parse(stdout), {wrote: 'out.txt'})
    assert.equal(stderr, '')
  })
})
