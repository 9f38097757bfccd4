/**
 * Nothing that exists only for tests ships in dist/ or runs from a production path: the fault
 * proxy lives in test/support, and no environment variable of the tests (CUSTOS_TEST_…) is read by
 * custos — the erase pause of the crash tests is added by test/support/erase-cli.js in its own
 * process, and the plain CLI ignores the variable. And nothing custos writes by default, into the
 * folder it runs in, can be committed by accident: .gitignore covers every default name.
 */
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {dirname, join, relative, resolve} from 'node:path'

import {certificateBaseFor} from '../../src/lib/erase/certificate.js'
import {defaultPlanPath} from '../../src/lib/erase/erase.js'
import {EXPORT_JOURNAL_NAME} from '../../src/lib/evidence/layout.js'
import {defaultBundleName} from '../../src/lib/logs/bundle.js'
import {ensureBuilt, ROOT} from '../support/cli.js'

function filesUnder(dir: string): string[] {
  return readdirSync(dir, {withFileTypes: true}).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)],
  )
}

/** Every compiled module `entry` imports, transitively (static and dynamic relative imports). */
function reachableFrom(entry: string): Set<string> {
  const seen = new Set<string>()
  const queue = [entry]
  while (queue.length > 0) {
    const file = queue.pop()!
    if (seen.has(file)) continue
    seen.add(file)
    const text = readFileSync(file, 'utf8')
    for (const match of text.matchAll(/\b(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
      const target = resolve(dirname(file), match[1])
      assert.ok(existsSync(target), `${relative(ROOT, file)} imports ${match[1]}, which dist/ does not have`)
      queue.push(target)
    }
  }

  return seen
}

describe('what ships', () => {
  it('dist/lib/local holds only what `custos demo` runs: every module there is reachable from dist/commands/demo.js', () => {
    ensureBuilt()
    const demo = reachableFrom(join(ROOT, 'dist', 'commands', 'demo.js'))
    const local = filesUnder(join(ROOT, 'dist', 'lib', 'local')).filter((f) => f.endsWith('.js'))
    assert.ok(local.length > 5, `${local.length} compiled local modules`)
    assert.ok(
      local.some((f) => demo.has(f)),
      'the walk reaches dist/lib/local at all',
    )
    assert.deepEqual(
      local.filter((f) => !demo.has(f)).map((f) => relative(ROOT, f)),
      [],
      'test-only modules belong in test/support, not in src/lib/local',
    )
  })

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

describe('what is never committed', () => {
  it('.gitignore covers every file custos writes by default into the folder it runs in', function () {
    if (spawnSync('git', ['rev-parse', '--git-dir'], {cwd: ROOT}).status !== 0) this.skip()
    const now = new Date('2026-12-05T10:00:00Z')
    const plan = relative(ROOT, defaultPlanPath('acme', now))
    const certificate = relative(ROOT, certificateBaseFor(plan))
    const bundle = defaultBundleName('acme', new Date('2026-12-04T10:00:00Z'), now)
    const names = [
      plan,
      `${plan}.journal.jsonl`,
      ...['json', 'txt', 'html'].map((ext) => `${certificate}.${ext}`),
      bundle,
      `${bundle}.partial`,
      'incident-inc-20261205-7f3a9c-evidence-20261205T100000Z.tar.gz',
      'incident-inc-20261205-7f3a9c-evidence-20261205T100000Z.tar.gz.partial',
      'notice-inc-20261205-7f3a9c-acme.de.txt',
      'notice-inc-20261205-7f3a9c-acme.en.html',
      'acme.tar.gz.custos-partial',
      'acme.tar.gz.custos-export-journal.jsonl',
      `acme-export/${EXPORT_JOURNAL_NAME}`,
      'acme-export/.custos-partial/manifest.json',
    ]
    const ignored = spawnSync('git', ['check-ignore', '--no-index', ...names], {cwd: ROOT, encoding: 'utf8'})
    assert.deepEqual(ignored.stdout.trim().split('\n').sort(), [...names].sort(), ignored.stderr)
  })
})
