/**
 * Runs at the same time: two erases of one customer never overlap (the second is refused with exit
 * 3 naming the lock), and exports and an erase of different customers — acme beside its prefix
 * neighbour acme-corp — all finish, each with exactly its own data, and the audit trail's hash
 * chain survives their concurrent appends.
 */
import assert from 'node:assert/strict'
import {existsSync} from 'node:fs'
import {join} from 'node:path'

import {exportCustomer} from '../../src/lib/export/export.js'
import {startFaultProxy, type FaultProxy} from '../support/fault-proxy.js'
import {readTree} from '../export/fixtures.js'
import {describeFailure, runCli, startCli} from './cli.js'
import {comparableManifest} from './compare.js'
import {SecretScan} from './secrets.js'
import {createWorld, customerPrefixes, hashContainers, reliabilityEnv, without, type ReliabilityEnv} from './world.js'

describe('reliability: concurrent runs', function () {
  this.timeout(120_000)
  let renv: ReliabilityEnv
  let proxy: FaultProxy

  before(async function () {
    this.timeout(120_000)
    renv = await reliabilityEnv()
    proxy = await startFaultProxy({upstream: renv.upstream})
  })

  after(async () => {
    await proxy?.close()
  })

  it('two erases of the same customer at once: one runs, the other is refused with exit 3 naming the lock', async () => {
    const scan = new SecretScan(renv.secrets())
    const world = await createWorld(renv, {proxy, keys: false})
    const erase = (plan: string) =>
      startCli(
        [
          'customer',
          'erase',
          'acme',
          '--config',
          world.configPath,
          '--plan-out',
          join(world.dir, plan),
          '--yes',
          '--no-export-required',
        ],
        {scan},
      )
    // Whichever run takes the lock is held at its first batch of deletes, so the two surely overlap.
    const held = proxy.hold((r) => r.method === 'POST' && r.query.get('comp') === 'batch' && r.path.includes(world.id))
    const runs = [erase('a.plan.json'), erase('b.plan.json')]
    const gate = await held
    const first = await Promise.race(runs.map((run, i) => run.done.then((result) => ({i, result}))))
    gate.release()
    const winner = await runs[1 - first.i].done

    const refused = describeFailure(first.result)
    assert.equal(refused.code, 3, first.result.stderr)
    assert.match(
      refused.first,
      /^Error: Another erase of customer acme is running: the lock locks\/erase-acme in container \S+ of account contosoaudit is held by .+ \(process \d+, operation [0-9a-f-]+\) since \S+\.$/,
    )
    assert.equal(refused.stackTrace, false)
    assert.equal(
      existsSync(join(world.dir, first.i === 0 ? 'a.plan.json' : 'b.plan.json')),
      false,
      'the refused run listed nothing and wrote no plan',
    )
    assert.equal(winner.code, 0, winner.stdout + winner.stderr)
    const deletes = proxy.requests.filter(
      (r) => r.method === 'POST' && r.query.get('comp') === 'batch' && r.path.includes(world.id),
    )
    assert.ok(deletes.length > 0)
    scan.assertClean()
  })

  it('exports of acme and globex and an erase of acme-corp at once all finish, each with exactly its own data', async () => {
    const scan = new SecretScan(renv.secrets())
    const world = await createWorld(renv, {
      proxy,
      content: {
        acme: {documents: 30, attachments: 10},
        globex: {documents: 30, attachments: 10},
        'acme-corp': {documents: 30, attachments: 10},
      },
      keys: false,
    })
    const reference = (customer: string) => join(world.dir, `reference-${customer}`)
    for (const customer of ['acme', 'globex'])
      await exportCustomer(world.clients, world.clients.map, customer, {
        target: {kind: 'folder', path: reference(customer)},
      })
    const othersBefore = without(
      await hashContainers(renv, world.dataContainers()),
      customerPrefixes(world, 'acme-corp'),
    )

    const [acme, globex, erased] = await Promise.all([
      runCli(['customer', 'export', 'acme', '--config', world.configPath, '--to', join(world.dir, 'acme'), '--json'], {
        scan,
      }),
      runCli(
        ['customer', 'export', 'globex', '--config', world.configPath, '--to', join(world.dir, 'globex'), '--json'],
        {scan},
      ),
      runCli(
        [
          'customer',
          'erase',
          'acme-corp',
          '--config',
          world.configPath,
          '--plan-out',
          join(world.dir, 'corp.plan.json'),
          '--yes',
          '--no-export-required',
          '--json',
        ],
        {scan},
      ),
    ])
    for (const run of [acme, globex, erased]) assert.equal(run.code, 0, run.stdout + run.stderr)
    const skip = ['manifest.json', '.custos-export-journal.jsonl']
    for (const customer of ['acme', 'globex']) {
      assert.deepEqual(
        comparableManifest(join(world.dir, customer, 'manifest.json')),
        comparableManifest(join(reference(customer), 'manifest.json')),
        `${customer}'s manifest`,
      )
      assert.deepEqual(
        await readTree(join(world.dir, customer), skip),
        await readTree(reference(customer), skip),
        `${customer}'s files`,
      )
    }

    assert.equal(erased.json<{verification: {result: string}}>().verification.result, 'empty')
    assert.deepEqual(
      without(await hashContainers(renv, world.dataContainers()), customerPrefixes(world, 'acme-corp')),
      othersBefore,
      'acme and globex untouched by the erase of their neighbour',
    )

    const trail = await runCli(['audit', 'trail', '--config', world.configPath, '--verify', '--json'], {scan})
    assert.equal(trail.code, 0, trail.stdout + trail.stderr)
    const verification = trail.json<{verification: {ok: boolean; records: number}}>().verification
    assert.equal(verification.ok, true)
    assert.ok(
      verification.records >= 8,
      `started/finished records of all three runs plus the reference exports (${verification.records})`,
    )
    await scan.dir(world.dir, [world.configPath])
    await scan.audit(world.clients)
    scan.assertClean()
  })
})
