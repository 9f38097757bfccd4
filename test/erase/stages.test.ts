/** applyErase announces its steps to the command (customer erase shows them as stages), in order. */
import assert from 'node:assert/strict'
import {join} from 'node:path'

import {ERASE_STAGES, eraseCustomer, type EraseHooks, type EraseOptions} from '../../src/lib/erase/erase.js'
import {makePlayground, seed} from './helpers.js'

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
})
