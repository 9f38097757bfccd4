/** applyErase announces its steps to the command (customer erase shows them as stages), in order. */
import assert from 'node:assert/strict'
import {spawn, spawnSync} from 'node:child_process'
import {join} from 'node:path'

import {ERASE_STAGES, eraseCustomer, type EraseHooks, type EraseOptions} from '../../src/lib/erase/erase.js'
import {ensureBuilt, ROOT} from '../support/cli.js'
import {makePlayground, seed} from './helpers.js'

/** util-linux `script`: runs a command on a pseudo-terminal, as an operator's shell does. */
const hasScript = spawnSync('script', ['--version'], {stdio: 'ignore'}).status === 0

/** Runs the built CLI on a pseudo-terminal (stdin, stdout and stderr all on it); resolves with what it drew. */
async function onTerminal(args: string[]): Promise<{code: number | null; text: string}> {
  ensureBuilt()
  const quote = (a: string) => `'${a.replaceAll("'", String.raw`'\''`)}'`
  const command = [process.execPath, join(ROOT, 'bin', 'run.js'), ...args].map((a) => quote(a)).join(' ')
  const child = spawn('script', ['-qec', command, '/dev/null'], {
    cwd: ROOT,
    env: {...process.env, NO_COLOR: '1', COLUMNS: '120', TERM: 'xterm'},
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let text = ''
  child.stdout.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8')
  })
  const code = await new Promise<number | null>((resolve) => {
    child.on('close', resolve)
  })
  // eslint-disable-next-line no-control-regex -- the terminal's escape sequences (cursor, erase line) are not text
  return {code, text: text.replaceAll(/\u001B(?:\[[\d;?]*[A-Za-z]|[78])/g, '').replaceAll('\r', '\n')}
}

function hooks(seen: string[]): EraseHooks {
  return {
    progress: () => ({increment() {}, setTotal() {}, note() {}, stop() {}}),
    note() {},
    stage(name) {
      seen.push(name)
    },
  }
}

function options(extra: Partial<EraseOptions>): EraseOptions {
  return {customer: 'acme', planOnly: false, yes: true, exportRequired: false, concurrency: 4, retries: 3, ...extra}
}

describe('customer erase stages (Azurite)', function () {
  this.timeout(120_000)

  it('an apply goes through plan, guards, delete, shred, verify and certificate, in that order', async () => {
    const pg = makePlayground()
    await seed(pg)
    const seen: string[] = []
    const result = await eraseCustomer(
      pg.clients,
      pg.map,
      options({planOut: join(pg.dir, 'a.plan.json'), hooks: hooks(seen)}),
    )
    assert.equal(result.exitCode, 0)
    assert.deepEqual(seen, [...ERASE_STAGES])
    assert.deepEqual(seen, ['plan', 'guards', 'delete', 'shred', 'verify', 'certificate'])
  })

  it('a refusal by a guard ends the stages at guards; a plan alone announces none', async () => {
    const pg = makePlayground()
    await seed(pg)
    const refused: string[] = []
    await assert.rejects(
      eraseCustomer(
        pg.clients,
        pg.map,
        options({exportRequired: true, planOut: join(pg.dir, 'r.plan.json'), hooks: hooks(refused)}),
      ),
      (error: Error & {exitCode?: number}) => error.exitCode === 3,
    )
    assert.deepEqual(refused, ['plan', 'guards'])
    const planned: string[] = []
    await eraseCustomer(
      pg.clients,
      pg.map,
      options({planOnly: true, planOut: join(pg.dir, 'p.plan.json'), hooks: hooks(planned)}),
    )
    assert.deepEqual(planned, [])
  })

  it('on a terminal, customer erase draws each stage and its notes under it, in order (util-linux script)', async function () {
    if (!hasScript) {
      console.log(
        '      (skipped: util-linux script is not installed; the stages are checked on a recording stream in test/unit/stages.test.ts)',
      )
      this.skip()
    }

    const pg = makePlayground()
    await seed(pg, ['acme'], 2)
    const run = await onTerminal([
      'customer',
      'erase',
      'acme',
      '--config',
      pg.configPath,
      '--plan-out',
      join(pg.dir, 't.plan.json'),
      '--yes',
      '--no-export-required',
      '-o',
      join(pg.dir, 't-certificate'),
    ])
    assert.equal(run.code, 0, run.text)
    const lines = run.text.split('\n').map((l) => l.trim())
    const at = (pattern: RegExp) => lines.findIndex((l) => pattern.test(l))
    const ticks = ERASE_STAGES.map((stage) => at(new RegExp(`^[✔√] ${stage}$`)))
    assert.ok(
      ticks.every((t, i) => t !== -1 && (i === 0 || t > ticks[i - 1])),
      `every stage ticked, in order:\n${run.text}`,
    )
    // a stage's note stands between the tick of the stage before and its own
    const verifying = at(/^Verifying: listing every scope again/)
    assert.ok(verifying > ticks[3] && verifying < ticks[4], `the verify note under verify:\n${run.text}`)
    assert.match(run.text, /Verification: nothing left/)
  })
})
