/**
 * Nothing that exists only for tests ships in dist/ or runs from a production path: the fault
 * proxy lives in test/support, and no environment variable of the tests (CUSTOS_TEST_…) is read by
 * custos — the erase pause of the crash tests is added by test/support/erase-cli.js in its own
 * process, and the plain CLI ignores the variable.
 */
import assert from 'node:assert/strict'
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {ensureBuilt, ROOT} from '../support/cli.js'

function filesUnder(dir: string): string[] {
  return readdirSync(dir, {withFileTypes: true}).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)],
  )
}

describe('what ships', () => {
  it('dist/ holds no fault proxy and reads no test-only environment variable', () => {
    ensureBuilt()
    const shipped = filesUnder(join(ROOT, 'dist')).filter((f) => f.endsWith('.js'))
    assert.ok(shipped.length > 50, `${shipped.length} compiled files`)
    assert.deepEqual(
      shipped.filter((f) => /fault-proxy/.test(f)),
      [],
    )
    for (const file of shipped) {
      const text = readFileSync(file, 'utf8')
      assert.doesNotMatch(text, /CUSTOS_TEST_|startFaultProxy|paused after/, file)
    }
  })
})
