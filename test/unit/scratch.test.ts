import {strict as assert} from 'node:assert'
import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {createScratchDir} from '../../src/lib/output/scratch.js'

describe('scratch folders (src/lib/output/scratch.ts)', () => {
  let parent: string

  beforeEach(() => {
    parent = mkdtempSync(join(tmpdir(), 'scratch-test-'))
  })

  afterEach(() => rmSync(parent, {recursive: true, force: true}))

  it('makes a private folder named after the purpose and the process, and removes it', async () => {
    const scratch = await createScratchDir('logs', parent)
    assert.match(scratch.path, new RegExp(`custos-logs-${process.pid}-[A-Za-z0-9]{6}$`))
    writeFileSync(join(scratch.path, 'part'), 'x')
    await scratch.remove()
    assert.equal(existsSync(scratch.path), false)
    await scratch.remove() // twice is fine
  })

  it('sweeps what processes that are gone left behind, of any purpose, and nothing else', async () => {
    // a pid that certainly ran and ended
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString()
    const leftovers = [
      `custos-logs-${gone}-AbC123`,
      `custos-incident-${gone}-x1y2z3`,
      `custos-export-listing-${gone}-q9w8e7`,
    ]
    const kept = [
      `custos-logs-${process.pid}-AbC123`,
      'custos-logs-AbC123',
      'someone-else-1-abcdef',
      `custos-logs-cmd-abcdef`,
    ]
    for (const name of [...leftovers, ...kept]) mkdirSync(join(parent, name))
    const scratch = await createScratchDir('incident', parent)
    assert.deepEqual(readdirSync(parent).sort(), [...kept, scratch.path.split('/').at(-1)!].sort())
    await scratch.remove()
  })
})
