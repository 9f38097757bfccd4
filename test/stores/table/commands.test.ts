import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {TableClient, type TableEntity} from '@azure/data-tables'
import {stringify} from 'yaml'

import {AzureClients} from '../../../src/lib/azure/clients.js'
import {loadDataMap} from '../../../src/lib/datamap/load.js'
import {seedDemoData} from '../../../src/lib/local/demo-data.js'
import {startAzuriteTable, type AzuriteTableInstance} from '../../../src/lib/local/azurite.js'
import {startLocalEnvironment, type LocalEnvironment} from '../../../src/lib/local/environment.js'
import type {TableDatabaseConfig} from '../../../src/lib/stores/table/types.js'
import {ERASE_TEST_CLI, runCli, startCli} from '../../support/cli.js'

/** Entities of one customer: typed properties the export must keep with their @odata.type. */
function entitiesOf(
  customer: string,
  count: number,
  key: 'partition' | 'row',
): Array<TableEntity<Record<string, unknown>>> {
  return Array.from({length: count}, (_, i) => ({
    partitionKey: key === 'partition' ? customer : `p${i % 3}`,
    rowKey: key === 'partition' ? `setting-${String(i).padStart(4, '0')}` : `${customer}|pref-${i}`,
    theme: `dark-${customer}`,
    quota: {value: String(2 ** 40 + i), type: 'Int64'},
    updated: new Date(Date.UTC(2026, 0, 1, 0, 0, i)),
    enabled: i % 2 === 0,
  }))
}

async function seed(client: TableClient, entities: Array<TableEntity<Record<string, unknown>>>): Promise<void> {
  await client.createTable()
  const byPartition = new Map<string, typeof entities>()
  for (const e of entities) byPartition.set(e.partitionKey, [...(byPartition.get(e.partitionKey) ?? []), e])
  for (const list of byPartition.values())
    for (let i = 0; i < list.length; i += 100)
      await client.submitTransaction(list.slice(i, i + 100).map((e) => ['create', e] as const))
}

/** Every entity of the table as the service returns it, in order (JSON with etags and timestamps). */
async function rawOf(client: TableClient, filter?: string): Promise<string> {
  const out: unknown[] = []
  for await (const e of client.listEntities({queryOptions: filter ? {filter} : {}, disableTypeConversion: true}))
    out.push(e)
  return JSON.stringify(out)
}

describe('Table storage stores in the commands (built bin/run.js, Azurite tables and the local environment)', function () {
  this.timeout(180_000)
  let env: LocalEnvironment
  let tables: AzuriteTableInstance
  let map: string
  let settings: TableClient
  let prefs: TableClient

  before(async () => {
    env = await startLocalEnvironment()
    await seedDemoData(new AzureClients(loadDataMap(env.configPath)), env, {documentsPerCustomer: 2})
    tables = await startAzuriteTable()
    const account = tables.connectionString()
    const options = {allowInsecureConnection: true}
    settings = TableClient.fromConnectionString(account, 'settings', options)
    prefs = TableClient.fromConnectionString(account, 'prefs', options)
    // acme: 230 settings (three transactions) and 7 preferences; acme-corp, whose id starts with acme's, more
    await seed(settings, [
      ...entitiesOf('acme', 230, 'partition'),
      ...entitiesOf('acme-corp', 240, 'partition'),
      ...entitiesOf('globex', 150, 'partition'),
    ])
    await seed(prefs, [
      ...entitiesOf('acme', 7, 'row'),
      ...entitiesOf('acme-corp', 9, 'row'),
      ...entitiesOf('globex', 5, 'row'),
    ])
    const databases: TableDatabaseConfig[] = [
      {name: 'settings', engine: 'table', account, table: 'settings', partitionKey: '{customer}'},
      {name: 'prefs', engine: 'table', account, table: 'prefs', rowKeyPrefix: '{customer}|'},
    ]
    map = join(env.dir, 'with-tables.yaml')
    writeFileSync(map, stringify({...env.config, databases}, {lineWidth: 0}))
  })

  after(async () => {
    await tables?.stop()
    await env?.stop()
  })

  it("customer inventory counts acme's entities, never acme-corp's", async () => {
    const result = await runCli(['customer', 'inventory', 'acme', '--config', map, '--json'])
    assert.equal(result.code, 0, result.stdout + result.stderr)
    const inv = result.json<{databases: Array<{store: string; rows: number; bytes: number}>; totals: {rows: number}}>()
    assert.deepEqual(
      inv.databases.map((d) => [d.store, d.rows]),
      [
        ['settings', 230],
        ['prefs', 7],
      ],
    )
    assert.ok(inv.databases.every((d) => d.bytes > 0))
    assert.equal(inv.totals.rows, 237)
    const text = await runCli(['customer', 'inventory', 'acme', '--config', map])
    assert.match(text.stdout, /Database settings: devstoreaccount1/)
  })

  it("customer export writes acme's entities as the service returns them (one JSON-lines file per table), verifiable", async () => {
    const folder = join(env.dir, 'export-acme-tables')
    const result = await runCli(['customer', 'export', 'acme', '--config', map, '--to', folder, '--json'])
    assert.equal(result.code, 0, result.stdout + result.stderr)
    const manifest = JSON.parse(readFileSync(join(folder, 'manifest.json'), 'utf8')) as {
      body: {
        stores: Array<{name: string; engine?: string; account?: string; partitionKey?: string}>
        objects: Array<{store: string; path: string; size: number; sha256: string; rows: number}>
      }
    }
    const store = manifest.body.stores.find((s) => s.name === 'settings')!
    assert.equal(store.engine, 'table')
    assert.equal(store.partitionKey, 'acme')
    assert.equal(JSON.stringify(manifest).includes('AccountKey'), false, 'no key in the manifest')
    const object = manifest.body.objects.find((o) => o.store === 'settings')!
    assert.equal(object.path, 'settings/settings.jsonl')
    const bytes = readFileSync(join(folder, object.path))
    assert.equal(object.sha256, createHash('sha256').update(bytes).digest('hex'))
    const lines = bytes
      .toString('utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    assert.equal(lines.length, 230)
    assert.equal(object.rows, 230)
    assert.ok(lines.every((e) => e.PartitionKey === 'acme'))
    assert.equal(lines[0]['quota@odata.type'], 'Edm.Int64', 'typed properties keep their annotation')
    assert.equal(lines[0].quota, String(2 ** 40))
    assert.equal(lines[0]['updated@odata.type'], 'Edm.DateTime')
    assert.equal(typeof lines[0]['odata.etag'], 'string')
    const prefsFile = readFileSync(join(folder, 'prefs', 'prefs.jsonl'), 'utf8')
    assert.equal(prefsFile.trimEnd().split('\n').length, 7)
    assert.equal(prefsFile.includes('acme-corp'), false)

    const verify = await runCli(['certificate', 'verify', folder, '--config', map, '--json'])
    assert.equal(verify.code, 0, verify.stdout + verify.stderr)
    const archive = join(env.dir, 'acme-tables.tar.gz')
    const archived = await runCli(['customer', 'export', 'acme', '--config', map, '--archive', archive])
    assert.equal(archived.code, 0, archived.stdout + archived.stderr)
    const verifyArchive = await runCli(['certificate', 'verify', archive, '--config', map])
    assert.equal(verifyArchive.code, 0, verifyArchive.stdout + verifyArchive.stderr)
  })

  it("customer erase deletes acme's entities in journaled transactions, leaves acme-corp byte-identical, and certifies it", async () => {
    const neighbour = [await rawOf(settings, "PartitionKey eq 'acme-corp'"), await rawOf(prefs)]
    const planOut = join(env.dir, 'acme-tables.plan.json')
    const planned = await runCli(['customer', 'erase', 'acme', '--config', map, '--plan-out', planOut, '--json'])
    assert.equal(planned.code, 0, planned.stdout + planned.stderr)
    const result = await runCli(['customer', 'erase', 'acme', '--config', map, '--plan', planOut, '--yes', '--json'])
    assert.equal(result.code, 0, result.stdout + result.stderr)
    const outcome = result.json<{
      databases: Array<{
        store: string
        method: string
        deleted: {rows: number}
        verification: {result: string; remainingRows: number}
      }>
      certificate: {json: string}
    }>()
    assert.deepEqual(
      outcome.databases.map((d) => [d.store, d.method, d.deleted.rows, d.verification.result]),
      [
        ['settings', 'entity group transactions', 230, 'empty'],
        ['prefs', 'entity group transactions', 7, 'empty'],
      ],
    )
    assert.equal(await rawOf(settings, "PartitionKey eq 'acme'"), '[]')
    const prefsLeft = await rawOf(prefs)
    assert.equal(prefsLeft.includes('"acme|'), false)
    assert.equal(
      await rawOf(settings, "PartitionKey eq 'acme-corp'"),
      neighbour[0],
      "acme-corp's settings are byte-identical",
    )
    // prefs held acme's rows too: what is left is exactly the others' entities, unchanged
    const before = JSON.parse(neighbour[1]) as Array<{rowKey: string}>
    assert.equal(prefsLeft, JSON.stringify(before.filter((e) => !e.rowKey.startsWith('acme|'))))

    const verify = await runCli(['certificate', 'verify', outcome.certificate.json, '--config', map, '--json'])
    assert.equal(verify.code, 0, verify.stdout + verify.stderr)
    const text = readFileSync(outcome.certificate.json.replace(/\.json$/, '.txt'), 'utf8')
    assert.match(text, /settings: table http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1\/settings, PartitionKey "acme"/)
    assert.match(text, /no point-in-time backups/)
    const again = await runCli(['customer', 'erase', 'acme', '--config', map, '--plan', planOut, '--yes', '--json'])
    assert.equal(again.code, 0, again.stdout + again.stderr)
  })

  it('a plan is refused (exit 3) when an entity of the customer was added after it', async () => {
    await settings.createEntity({partitionKey: 'initech', rowKey: 'a', v: 1})
    const planOut = join(env.dir, 'initech.plan.json')
    const planned = await runCli([
      'customer',
      'erase',
      'initech',
      '--config',
      map,
      '--plan-out',
      planOut,
      '--no-export-required',
    ])
    assert.equal(planned.code, 0, planned.stdout + planned.stderr)
    await new Promise((r) => setTimeout(r, 20))
    await settings.createEntity({partitionKey: 'initech', rowKey: 'b', v: 2})
    const refused = await runCli([
      'customer',
      'erase',
      'initech',
      '--config',
      map,
      '--plan',
      planOut,
      '--yes',
      '--no-export-required',
    ])
    assert.equal(refused.code, 3, refused.stdout + refused.stderr)
    assert.match(refused.stdout + refused.stderr, /more entities than planned|added or changed/)
    assert.equal((await rawOf(settings, "PartitionKey eq 'initech'")).includes('"a"'), true, 'nothing was deleted')
  })

  it('a table erase killed (-9) after a journaled transaction converges on the re-run', async () => {
    const neighbour = await rawOf(settings, "PartitionKey eq 'acme-corp'")
    const exported = await runCli([
      'customer',
      'export',
      'globex',
      '--config',
      map,
      '--to',
      join(env.dir, 'globex-tables'),
    ])
    assert.equal(exported.code, 0, exported.stderr)
    const planOut = join(env.dir, 'globex-tables.plan.json')
    const planned = await runCli(['customer', 'erase', 'globex', '--config', map, '--plan-out', planOut])
    assert.equal(planned.code, 0, planned.stderr)
    const pauseOnce = () =>
      startCli(['customer', 'erase', 'globex', '--config', map, '--plan', planOut, '--yes'], {
        entry: ERASE_TEST_CLI,
        env: {CUSTOS_TEST_PAUSE_AFTER_BATCHES: '1'},
      })
    let paused = pauseOnce()
    for (let kills = 0; ; kills++) {
      await paused.waitForStderr('paused after')
      if (readFileSync(`${planOut}.journal.jsonl`, 'utf8').includes('"type":"rows"')) break
      assert.ok(kills < 40, 'the table transactions are reached')
      paused.kill9()
      await paused.done
      paused = pauseOnce()
    }

    paused.kill9()
    await paused.done
    const left = JSON.parse(await rawOf(settings, "PartitionKey eq 'globex'")) as unknown[]
    assert.ok(left.length > 0 && left.length < 150, `a part of globex's settings is gone (${left.length} left)`)
    const rerun = await runCli(['customer', 'erase', 'globex', '--config', map, '--plan', planOut, '--yes', '--json'])
    assert.equal(rerun.code, 0, rerun.stdout + rerun.stderr)
    const outcome = rerun.json<{
      databases: Array<{
        store: string
        planned: {rows: number}
        deleted: {rows: number}
        verification: {remainingRows: number}
      }>
    }>()
    const s = outcome.databases.find((d) => d.store === 'settings')!
    assert.equal(s.deleted.rows, s.planned.rows, 'the entities of both runs are counted')
    assert.equal(s.verification.remainingRows, 0)
    assert.equal(await rawOf(settings, "PartitionKey eq 'globex'"), '[]')
    assert.equal(await rawOf(settings, "PartitionKey eq 'acme-corp'"), neighbour)
  })
})
