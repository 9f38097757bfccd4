import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {
  countBlobs,
  makePlayground,
  runCli,
  snapshotContainers,
  startCli,
  startPausedErase,
  uploadMany,
} from './helpers.js'

const PAUSED = 'paused after'

function journalBatchIds(path: string): string[][] {
  const runs: string[][] = []
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue
    const doc = JSON.parse(line) as {type: string; id?: string}
    if (doc.type === 'start') runs.push([])
    if (doc.type === 'batch') runs.at(-1)!.push(doc.id!)
  }

  return runs
}

describe('customer erase: interruption, resume and the lock', function () {
  this.timeout(240_000)

  it('an apply killed with SIGKILL mid-way resumes from its journal, sends no delete twice, and finishes with a valid certificate', async () => {
    const pg = makePlayground()
    const shared = pg.service('contosoprod').getContainerClient(pg.shared)
    await shared.createIfNotExists()
    await uploadMany(
      shared,
      Array.from({length: 1500}, (_, i) => `acme/bulk/${String(i).padStart(5, '0')}.txt`),
      'acme',
    )
    await uploadMany(
      shared,
      Array.from({length: 20}, (_, i) => `acme-corp/bulk/${i}.txt`),
      'acme-corp',
    )
    const neighbours = await snapshotContainers(pg.service('contosoprod'), [pg.shared]).then(
      (m) => new Map([...m].filter(([k]) => !k.includes('/acme/'))),
    )
    const planPath = join(pg.dir, 'acme.plan.json')
    const args = [
      'customer',
      'erase',
      'acme',
      '--config',
      pg.configPath,
      '--plan',
      planPath,
      '--yes',
      '--no-export-required',
      '--concurrency',
      '1',
      '--json',
    ]
    const planned = await runCli([
      'customer',
      'erase',
      'acme',
      '--config',
      pg.configPath,
      '--plan-out',
      planPath,
      '--json',
    ])
    assert.equal(planned.code, 0, planned.stderr)
    assert.equal((planned.json() as {plan: {items: number}}).plan.items, 1500)

    const first = startPausedErase(args, 2)
    await first.waitForStderr(PAUSED)
    first.kill('SIGKILL')
    const killed = await first.done
    assert.equal(killed.signal, 'SIGKILL')
    assert.deepEqual(journalBatchIds(`${planPath}.journal.jsonl`), [['blobs-1', 'blobs-2']])
    assert.equal(await countBlobs(pg.service('contosoprod'), pg.shared, 'acme/'), 1500 - 2 * 256)

    // The lease of the killed run is still held for up to 60 s; its holder is provably dead on this host.
    const startedAt = Date.now()
    const second = await runCli(args)
    assert.equal(second.code, 0, second.stdout + second.stderr)
    assert.ok(Date.now() - startedAt < 55_000, 'the stale lock of the dead run was broken, not waited out')
    const result = second.json() as {
      apply: {resumed: boolean}
      verification: {result: string}
      certificate: {json: string}
    }
    assert.equal(result.apply.resumed, true)
    assert.equal(result.verification.result, 'empty')
    assert.deepEqual(journalBatchIds(`${planPath}.journal.jsonl`), [
      ['blobs-1', 'blobs-2'],
      ['blobs-3', 'blobs-4', 'blobs-5', 'blobs-6'],
    ])

    assert.equal(await countBlobs(pg.service('contosoprod'), pg.shared, 'acme/'), 0)
    const after = await snapshotContainers(pg.service('contosoprod'), [pg.shared])
    assert.deepEqual(after, neighbours, 'acme-corp is untouched')

    const certificate = JSON.parse(readFileSync(result.certificate.json, 'utf8')) as {
      body: {
        totals: {planned: {items: number}; deleted: {items: number}; alreadyGone: {items: number}}
        stores: Array<{store: string; batches: number; requestIds: string[]}>
      }
    }
    assert.equal(certificate.body.totals.planned.items, 1500)
    assert.equal(certificate.body.totals.deleted.items, 1500, 'every item counted once, across both runs')
    assert.equal(certificate.body.totals.alreadyGone.items, 0, 'no finished batch was sent again')
    assert.equal(certificate.body.stores.find((s) => s.store === 'attachments')!.requestIds.length, 6)
    const verified = await runCli(['certificate', 'verify', result.certificate.json, '--allow-unsigned', '--json'])
    assert.equal(verified.code, 0, verified.stdout)
  })

  it('two erases of the same customer at once: the second is refused with exit 3 naming the lock', async () => {
    const pg = makePlayground()
    const shared = pg.service('contosoprod').getContainerClient(pg.shared)
    await shared.createIfNotExists()
    await uploadMany(
      shared,
      Array.from({length: 300}, (_, i) => `acme/f/${i}.txt`),
      'acme',
    )
    const planPath = join(pg.dir, 'acme.plan.json')
    const args = [
      'customer',
      'erase',
      'acme',
      '--config',
      pg.configPath,
      '--plan-out',
      planPath,
      '--yes',
      '--no-export-required',
      '--concurrency',
      '1',
      '--json',
    ]

    const holder = startPausedErase(args, 1)
    await holder.waitForStderr(PAUSED)
    const other = await startCli(
      ['customer', 'erase', 'acme', '--config', pg.configPath, '--yes', '--no-export-required', '--json'],
      {},
      pg.dir,
    ).done
    assert.equal(other.code, 3, other.stdout + other.stderr)
    const error = (other.json() as {error: {code: string; message: string}}).error
    assert.equal(error.code, 'EraseLocked')
    assert.match(
      error.message,
      /Another erase of customer acme is running: the lock locks\/erase-acme in container .* is held by .* \(process \d+, operation [0-9a-f-]+\)/,
    )

    // Interrupting the holder releases the lock; then the plan it left resumes.
    holder.kill('SIGINT')
    const interrupted = await holder.done
    assert.equal(interrupted.code, 130, interrupted.stdout + interrupted.stderr)
    const resumed = await runCli([
      'customer',
      'erase',
      'acme',
      '--config',
      pg.configPath,
      '--plan',
      planPath,
      '--yes',
      '--no-export-required',
      '--json',
    ])
    assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr)
    assert.equal(await countBlobs(pg.service('contosoprod'), pg.shared, 'acme/'), 0)
  })
})
