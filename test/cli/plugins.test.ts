/**
 * oclif's plugins users expect (issue #21): a mistyped command gets a suggestion — without a prompt
 * off a terminal — and shell completion is there.
 */
import assert from 'node:assert/strict'
import {existsSync, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {closestCommand} from '../../src/hooks/command-not-found.js'
import {runCli} from '../support/cli.js'

describe('a mistyped command', () => {
  it('custos custmer suggests custos customer, off a terminal without waiting for an answer (exit 127)', async () => {
    // runCli gives the process no stdin (not a terminal): plugin-not-found must not prompt
    const started = Date.now()
    const run = await runCli(['custmer'], {timeoutInMs: 30_000})
    assert.equal(run.code, 127, run.stderr)
    assert.ok(Date.now() - started < 25_000, 'it did not wait for a prompt')
    assert.match(run.stderr, /Did you mean "custos customer"\?/)
    assert.match(run.stderr, /custmer is not a custos command/)
    assert.equal(run.stdout, '')
  })

  it('suggests the nearest command or topic, and nothing when nothing is near', () => {
    const known = [
      'customer',
      'customer:export',
      'customer:erase',
      'customer:inventory',
      'access',
      'access:report',
      'demo',
    ]
    assert.equal(closestCommand('custmer', known), 'customer')
    assert.equal(closestCommand('custmer:inventory:acme', known), 'customer:inventory')
    assert.equal(closestCommand('customer:exprt:acme', known), 'customer:export')
    assert.equal(closestCommand('acess:report', known), 'access:report')
    assert.equal(closestCommand('xyzzy', known), undefined)
  })
})

describe('shell completion', () => {
  it('custos autocomplete --help explains the set-up for bash and zsh', async () => {
    const run = await runCli(['autocomplete', '--help'])
    assert.equal(run.code, 0, run.stderr)
    assert.match(run.stdout, /autocomplete \[SHELL\]/)
    assert.match(run.stdout, /zsh\|bash/)
  })

  it('custos autocomplete bash prints the set-up steps, and builds its cache under XDG_CACHE_HOME only', async () => {
    const home = mkdtempSync(join(tmpdir(), 'custos-autocomplete-'))
    const run = await runCli(['autocomplete', 'bash'], {env: {HOME: home, XDG_CACHE_HOME: join(home, 'cache')}})
    assert.equal(run.code, 0, run.stderr)
    assert.match(run.stdout, /custos autocomplete script bash/)
    assert.ok(existsSync(join(home, 'cache', 'custos', 'autocomplete')), 'the completion cache')
    rmSync(home, {recursive: true, force: true})
  })
})
