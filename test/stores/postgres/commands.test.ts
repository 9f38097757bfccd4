import assert from 'node:assert/strict'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {stringify} from 'yaml'

import {AzureClients} from '../../../src/lib/azure/clients.js'
import {loadDataMap} from '../../../src/lib/datamap/load.js'
import {seedDemoData} from '../../../src/lib/local/demo-data.js'
import {seedDemoTenant, ODD_TABLE} from '../../../src/lib/local/demo-postgres.js'
import {startLocalEnvironment, type LocalEnvironment} from '../../../src/lib/local/environment.js'
import {qualified} from '../../../src/lib/stores/postgres/connection.js'
import type {PostgresDatabaseConfig} from '../../../src/lib/stores/postgres/types.js'
import {runCli} from '../../support/cli.js'
import {usePostgres, type DemoDatabase} from '../../support/postgres.js'

interface Check {
  section: string
  target: string
  status: string
  detail: string
}

interface Inventory {
  databases: Array<{store: string; database: string; tables: Array<{table: string; rows: number; bytes: number}>}>
  totals: {rows: number}
}

describe('database stores in the commands (built bin/run.js, real PostgreSQL and the local environment)', function () {
  this.timeout(180_000)
  const pg = usePostgres()
  let env: LocalEnvironment
  let demo: DemoDatabase
  let goodMap: string
  let unsafeMap: string

  /** The local environment's data map with `databases`, written beside it (its relative paths hold). */
  function writeMap(name: string, databases: PostgresDatabaseConfig[]): string {
    const path = join(env.dir, name)
    writeFileSync(path, stringify({...env.config, databases}, {lineWidth: 0}))
    return path
  }

  before(async () => {
    env = await startLocalEnvironment()
    await seedDemoData(new AzureClients(loadDataMap(env.configPath)), env, {documentsPerCustomer: 2})
    demo = await pg.demoDatabase()
    // acme-corp, whose id starts with acme's, gets more rows than acme: a count that included them shows
    const admin = await pg.admin(demo.database)
    await seedDemoTenant(admin, 'acme-corp', {projects: 4, documentsPerProject: 3, commentsPerDocument: 1, notes: 5})
    goodMap = writeMap('with-db.yaml', [demo.config])
    // comments has a foreign key into documents: unmapped, erase would leave its rows (or fail)
    unsafeMap = writeMap('without-comments.yaml', [
      {
        ...demo.config,
        tables: demo.config.tables!.filter((t) => typeof t === 'string'),
      },
    ])
  })

  after(async () => {
    await env?.stop()
  })

  it('config validate signs in to the database and passes the demo schema map', async () => {
    const result = await runCli(['config', 'validate', '--config', goodMap, '--json'])
    assert.equal(result.code, 0, result.stdout + result.stderr)
    const body = result.json<{ok: boolean; databases: number; checks: Check[]}>()
    assert.equal(body.databases, 1)
    const db = body.checks.filter((c) => c.section === 'databases/app-db')
    assert.deepEqual(
      db.map((c) => c.status),
      ['ok'],
    )
    assert.match(db[0].detail, /4 mapped table\(s\) match the catalog/)
  })

  it('config validate exits 2 naming the table and the constraint when a table with a foreign key into a mapped one is missing', async () => {
    const result = await runCli(['config', 'validate', '--config', unsafeMap, '--json'])
    assert.equal(result.code, 2, result.stdout + result.stderr)
    const body = result.json<{ok: boolean; checks: Check[]}>()
    assert.equal(body.ok, false)
    const invalid = body.checks.filter((c) => c.status === 'invalid')
    assert.equal(invalid.length, 1, JSON.stringify(invalid))
    assert.equal(invalid[0].section, 'databases/app-db')
    assert.match(invalid[0].target, /^public\.comments \(constraint comments_document_id_fkey\)$/)
    assert.match(invalid[0].detail, /public\.comments/)

    const text = await runCli(['config', 'validate', '--config', unsafeMap])
    assert.equal(text.code, 2)
    assert.match(text.stdout, /INVALID/)
    assert.match(text.stdout, /comments_document_id_fkey/)
  })

  it("customer inventory counts acme's rows per table, never acme-corp's", async () => {
    const result = await runCli(['customer', 'inventory', 'acme', '--config', goodMap, '--json'])
    assert.equal(result.code, 0, result.stdout + result.stderr)
    const inv = result.json<Inventory>()
    assert.equal(inv.databases.length, 1)
    assert.equal(inv.databases[0].store, 'app-db')
    const admin = await pg.admin(demo.database)
    const count = async (sql: string, tenant: string) =>
      Number((await admin.query<{n: string}>(sql, [tenant])).rows[0].n)
    const independent = async (tenant: string): Promise<Record<string, number>> => ({
      'public.projects': await count('SELECT count(*) AS n FROM public.projects WHERE tenant_id = $1', tenant),
      'public.documents': await count('SELECT count(*) AS n FROM public.documents WHERE tenant_id = $1', tenant),
      'public.comments': await count(
        'SELECT count(*) AS n FROM public.comments c JOIN public.documents d ON d.id = c.document_id WHERE d.tenant_id = $1',
        tenant,
      ),
      [`public.${ODD_TABLE}`]: await count(
        `SELECT count(*) AS n FROM ${qualified({schema: 'public', table: ODD_TABLE})} WHERE tenant_id = $1`,
        tenant,
      ),
    })
    const acme = await independent('acme')
    const acmeCorp = await independent('acme-corp')
    const seen = Object.fromEntries(
      inv.databases[0].tables.map((t) => [t.table.replace(/^public\."(.*)"$/, 'public.$1'), t.rows]),
    )
    assert.deepEqual(seen, acme)
    for (const [table, n] of Object.entries(acmeCorp))
      assert.notEqual(n, acme[table], `${table}: the seed tells them apart`)
    assert.equal(
      inv.totals.rows,
      Object.values(acme).reduce((a, b) => a + b, 0),
    )
    assert.ok(inv.databases[0].tables.every((t) => t.rows === 0 || t.bytes > 0))

    const text = await runCli(['customer', 'inventory', 'acme', '--config', goodMap])
    assert.equal(text.code, 0, text.stderr)
    assert.match(text.stdout, /Database app-db: app_/)
    assert.match(text.stdout, new RegExp(`public\\.projects\\s+│?\\s*${acme['public.projects']}\\b`))
  })

  it('customer inventory refuses the map without comments (exit 3), naming the constraint', async () => {
    const result = await runCli(['customer', 'inventory', 'acme', '--config', unsafeMap])
    assert.equal(result.code, 3, result.stdout + result.stderr)
    assert.match(result.stderr, /comments_document_id_fkey/)
    assert.equal(result.stdout, '')
  })

  for (const command of ['erase', 'export'] as const) {
    it(`customer ${command} refuses a data map with databases before doing anything (exit 3, one line)`, async () => {
      const admin = await pg.admin(demo.database)
      const before = (await admin.query('SELECT count(*) AS n FROM public.projects')).rows[0].n as string
      const args =
        command === 'erase'
          ? ['customer', 'erase', 'acme', '--config', goodMap, '--yes']
          : ['customer', 'export', 'acme', '--config', goodMap, '--to', join(env.dir, 'export-acme')]
      const result = await runCli(args)
      assert.equal(result.code, 3, result.stdout + result.stderr)
      assert.match(
        result.stderr,
        new RegExp(`customer ${command} does not ${command} database stores yet \\(databases\\[0\\] "app-db"\\)`),
      )
      assert.equal(result.stdout, '')
      const json = await runCli([...args, '--json'])
      assert.equal(json.code, 3)
      assert.equal(json.json<{error: {code: string}}>().error.code, 'DatabasesNotSupported')
      assert.equal((await admin.query('SELECT count(*) AS n FROM public.projects')).rows[0].n, before)
    })
  }
})
