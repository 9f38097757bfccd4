import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {stringify} from 'yaml'

import {AzureClients} from '../../../src/lib/azure/clients.js'
import {loadDataMap} from '../../../src/lib/datamap/load.js'
import {seedDemoData} from '../../../src/lib/local/demo-data.js'
import {seedDemoTenant, ODD_TABLE} from '../../../src/lib/local/demo-postgres.js'
import {
  DEFAULT_RESOURCE_GROUP,
  LOCAL_SUBSCRIPTION_ID,
  LocalAzureState,
} from '../../../src/lib/local/azure-server/state.js'
import {startLocalEnvironment, type LocalEnvironment} from '../../../src/lib/local/environment.js'
import {ident, qualified} from '../../../src/lib/stores/postgres/connection.js'
import type {PostgresDatabaseConfig} from '../../../src/lib/stores/postgres/types.js'
import {ERASE_TEST_CLI, runCli, startCli} from '../../support/cli.js'
import {copyOut, usePostgres, type DemoDatabase} from '../../support/postgres.js'

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

  /** The oracle: the customer's rows of a table as PostgreSQL's own COPY writes them. */
  async function expectedCsv(file: string): Promise<Buffer> {
    const admin = await pg.admin(demo.database)
    const [schema, name] = tableOfFile.get(file)!
    const columns = (
      await admin.query<{attname: string}>(
        `SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
        [qualified({schema, table: name})],
      )
    ).rows.map((r) => `t.${ident(r.attname)}`)
    const where =
      name === 'comments'
        ? `t.document_id IN (SELECT id FROM public.documents WHERE tenant_id = 'acme')`
        : `t.tenant_id = 'acme'`
    return copyOut(
      admin,
      `COPY (SELECT ${columns.join(', ')} FROM ${qualified({schema, table: name})} t WHERE ${where} ORDER BY t.id) TO STDOUT WITH (FORMAT csv, HEADER true)`,
    )
  }

  /** csv file name → [schema, table], from the export's schema.json */
  const tableOfFile = new Map<string, [string, string]>()

  interface Manifest {
    body: {
      stores: Array<Record<string, unknown>>
      objects: Array<{
        store: string
        name: string
        kind: string
        path: string
        size: number
        sha256?: string
        table?: string
        rows?: number
      }>
      totals: {objects: number; bytes: number}
    }
  }

  it("customer export writes acme's rows, one CSV per table plus schema.json, byte-identical to COPY, into a verifiable folder", async () => {
    const folder = join(env.dir, 'export-acme-db')
    const result = await runCli(['customer', 'export', 'acme', '--config', goodMap, '--to', folder, '--json'])
    assert.equal(result.code, 0, result.stdout + result.stderr)
    const summary = result.json<{stores: Array<{store: string; rows?: number}>; totals: {rows?: number}}>()
    const db = summary.stores.find((s) => s.store === 'app-db')!
    assert.ok(db.rows! > 0)
    assert.equal(summary.totals.rows, db.rows)

    const manifest = JSON.parse(readFileSync(join(folder, 'manifest.json'), 'utf8')) as Manifest
    const store = manifest.body.stores.find((s) => s.name === 'app-db')!
    assert.equal(store.engine, 'postgresql')
    assert.equal(store.tenantColumn, 'tenant_id')
    assert.equal(JSON.stringify(store).includes(process.env[demo.config.passwordEnv!]!), false)
    const objects = manifest.body.objects.filter((o) => o.store === 'app-db')
    const schemaFile = JSON.parse(readFileSync(join(folder, 'app-db', 'schema.json'), 'utf8')) as {
      tables: Array<{file: string; schema: string; table: string}>
    }
    for (const t of schemaFile.tables) tableOfFile.set(t.file, [t.schema, t.table])
    assert.deepEqual(
      objects.map((o) => o.path),
      ['app-db/schema.json', ...objects.slice(1).map((o) => `app-db/${o.name}`)],
    )
    let rows = 0
    for (const o of objects.filter((x) => x.kind === 'table')) {
      const bytes = readFileSync(join(folder, o.path))
      assert.deepEqual(
        bytes,
        await expectedCsv(o.name),
        `${o.table}: the file is the customer's rows as COPY writes them`,
      )
      assert.equal(o.size, bytes.length)
      assert.equal(o.sha256, createHash('sha256').update(bytes).digest('hex'))
      assert.equal(bytes.toString('utf8').includes('acme-corp'), false, `${o.table}: no acme-corp row`)
      rows += o.rows!
    }

    assert.equal(rows, db.rows)
    const inventory = await runCli(['customer', 'inventory', 'acme', '--config', goodMap, '--json'])
    assert.equal(rows, inventory.json<Inventory>().totals.rows, 'the rows exported are the rows counted')
    const schema = JSON.parse(readFileSync(join(folder, 'app-db', 'schema.json'), 'utf8')) as {
      tables: Array<{table: string; columns: unknown[]}>
    }
    assert.equal(schema.tables.length, objects.length - 1)
    const verify = await runCli(['certificate', 'verify', folder, '--config', goodMap, '--json'])
    assert.equal(verify.code, 0, verify.stdout + verify.stderr)

    // a changed CSV is named by certificate verify
    const first = objects.find((o) => o.kind === 'table')!
    writeFileSync(join(folder, first.path), Buffer.concat([readFileSync(join(folder, first.path)), Buffer.from('x\n')]))
    const tampered = await runCli(['certificate', 'verify', folder, '--config', goodMap])
    assert.equal(tampered.code, 1, tampered.stdout + tampered.stderr)
    assert.ok(tampered.stdout.includes(first.path), tampered.stdout)
  })

  for (const archive of ['acme.tar.gz', 'acme.zip']) {
    it(`customer export --archive ${archive} holds the same table files as the folder export`, async () => {
      const path = join(env.dir, archive)
      const result = await runCli(['customer', 'export', 'acme', '--config', goodMap, '--archive', path, '--json'])
      assert.equal(result.code, 0, result.stdout + result.stderr)
      const verify = await runCli(['certificate', 'verify', path, '--config', goodMap, '--json'])
      assert.equal(verify.code, 0, verify.stdout + verify.stderr)
      const manifest = JSON.parse(readFileSync(`${path}.manifest.json`, 'utf8')) as Manifest
      const tables = manifest.body.objects.filter((o) => o.kind === 'table')
      assert.equal(tables.length, 4)
      for (const o of tables)
        assert.equal(
          o.sha256,
          createHash('sha256')
            .update(await expectedCsv(o.name))
            .digest('hex'),
        )
    })
  }

  it('customer export --server-side uploads the table files (their bytes pass through custos) with links', async () => {
    const result = await runCli(['customer', 'export', 'acme', '--config', goodMap, '--server-side', '--json'])
    assert.equal(result.code, 0, result.stdout + result.stderr)
    const summary = result.json<{destination: {location: string}; link: {url: string}}>()
    const map = loadDataMap(goodMap)
    const clients = new AzureClients(map)
    const [account, container, ...rest] = summary.destination.location.split('/')
    assert.ok(account)
    const prefix = rest.join('/')
    const exports = clients.blobService(map.exports!.account).getContainerClient(container)
    const blob = exports.getBlobClient(`${prefix}app-db/public.documents.csv`)
    const body = await blob.downloadToBuffer()
    assert.deepEqual(body, await expectedCsv('public.documents.csv'))
    const props = await blob.getProperties()
    assert.equal(Buffer.from(props.contentMD5!).toString('base64'), createHash('md5').update(body).digest('base64'))
  })

  /** Every table's rows of a tenant, as COPY writes them (the neighbour's bytes before and after). */
  async function tenantBytes(tenant: string): Promise<string> {
    const admin = await pg.admin(demo.database)
    const parts: string[] = []
    for (const [table, where] of [
      ['projects', `tenant_id = '${tenant}'`],
      ['documents', `tenant_id = '${tenant}'`],
      ['comments', `document_id IN (SELECT id FROM public.documents WHERE tenant_id = '${tenant}')`],
      [ODD_TABLE, `tenant_id = '${tenant}'`],
    ]) {
      parts.push(
        (
          await copyOut(
            admin,
            `COPY (SELECT * FROM ${qualified({schema: 'public', table})} WHERE ${where} ORDER BY 1) TO STDOUT WITH (FORMAT csv)`,
          )
        ).toString('utf8'),
      )
    }

    return parts.join('\n--\n')
  }

  it("customer erase deletes acme's rows through the store seam, leaves acme-corp byte-identical, and certifies it with the backups' residual date", async () => {
    const serverId = LocalAzureState.flexibleServerId(LOCAL_SUBSCRIPTION_ID, DEFAULT_RESOURCE_GROUP, 'custos-demo-pg')
    env.server.state.addFlexibleServer({name: 'custos-demo-pg', backupRetentionDays: 14, geoRedundantBackup: 'Enabled'})
    const map = writeMap('with-db-resource.yaml', [{...demo.config, resourceId: serverId}])
    const neighbour = await tenantBytes('acme-corp')
    assert.ok(neighbour.length > 100)
    const exported = await runCli([
      'customer',
      'export',
      'acme',
      '--config',
      map,
      '--to',
      join(env.dir, 'before-erase'),
    ])
    assert.equal(exported.code, 0, exported.stderr)

    const planOut = join(env.dir, 'acme-db.plan.json')
    const planned = await runCli(['customer', 'erase', 'acme', '--config', map, '--plan-out', planOut, '--json'])
    assert.equal(planned.code, 0, planned.stdout + planned.stderr)
    const plan = planned.json<{
      plan: {sections: Array<{kind: string; stores: Array<{store: string; rows: number; tables: unknown[]}>}>}
    }>().plan
    assert.equal(plan.sections[0].kind, 'postgresql')
    const plannedRows = plan.sections[0].stores[0].rows
    assert.ok(plannedRows > 0)

    const started = Date.now()
    const result = await runCli([
      'customer',
      'erase',
      'acme',
      '--config',
      map,
      '--plan',
      planOut,
      '--yes',
      '--vacuum',
      '--json',
    ])
    assert.equal(result.code, 0, result.stdout + result.stderr)
    const outcome = result.json<{
      databases: Array<{
        store: string
        method: string
        deleted: {rows: number}
        verification: {result: string; remainingRows: number}
        vacuum: {requested: boolean}
      }>
      residuals: Array<{store: string; until: string; retentionDays: number}>
      certificate: {json: string}
    }>()
    const db = outcome.databases[0]
    assert.equal(db.method, 'SQL DELETE')
    assert.equal(db.deleted.rows, plannedRows)
    assert.deepEqual(db.verification, {result: 'empty', remainingRows: 0})
    assert.equal(db.vacuum.requested, true)
    assert.equal(outcome.residuals[0].retentionDays, 14)
    const until = Date.parse(outcome.residuals[0].until) - 14 * 86_400_000
    assert.ok(until >= started - 1000 && until <= Date.now() + 1000, 'residual = erase time + retention days')

    assert.equal(await tenantBytes('acme'), ['', '', '', ''].join('\n--\n'), 'no row of acme is left')
    assert.equal(await tenantBytes('acme-corp'), neighbour, "acme-corp's rows are byte-identical")

    const cert = JSON.parse(readFileSync(outcome.certificate.json, 'utf8')) as {
      body: {databases: unknown[]; residuals: unknown[]}
    }
    assert.equal(cert.body.databases.length, 1)
    const verify = await runCli(['certificate', 'verify', outcome.certificate.json, '--config', map, '--json'])
    assert.equal(verify.code, 0, verify.stdout + verify.stderr)
    const text = readFileSync(outcome.certificate.json.replace(/\.json$/, '.txt'), 'utf8')
    assert.match(text, /Databases\n {2}app-db: postgresql/)
    assert.match(text, /point-in-time-restore backups of server custos-demo-pg and in their geo-redundant copies/)

    // a second run of the same plan converges: nothing left to delete, the same certificate rows
    const again = await runCli(['customer', 'erase', 'acme', '--config', map, '--plan', planOut, '--yes', '--json'])
    assert.equal(again.code, 0, again.stdout + again.stderr)
  })

  it('a database erase killed (-9) after its first journaled batch holds the lock against a second erase, and the re-run converges', async () => {
    // globex: its own customer, so the test does not depend on the acme erase above
    const neighbour = await tenantBytes('acme-corp')
    const exported = await runCli([
      'customer',
      'export',
      'globex',
      '--config',
      goodMap,
      '--to',
      join(env.dir, 'globex-before'),
    ])
    assert.equal(exported.code, 0, exported.stderr)
    const planOut = join(env.dir, 'globex-db.plan.json')
    const planned = await runCli(['customer', 'erase', 'globex', '--config', goodMap, '--plan-out', planOut])
    assert.equal(planned.code, 0, planned.stderr)
    // Each run pauses after its first journaled batch and is killed there; blob batches come first,
    // so the runs are killed until one pauses after a committed batch of database rows.
    const pauseOnce = () =>
      startCli(['customer', 'erase', 'globex', '--config', goodMap, '--plan', planOut, '--yes'], {
        entry: ERASE_TEST_CLI,
        env: {CUSTOS_TEST_PAUSE_AFTER_BATCHES: '1'},
      })
    let paused = pauseOnce()
    for (let kills = 0; ; kills++) {
      await paused.waitForStderr('paused after')
      if (readFileSync(`${planOut}.journal.jsonl`, 'utf8').includes('"type":"rows"')) break
      assert.ok(kills < 40, 'the database batches are reached')
      paused.kill9()
      await paused.done
      paused = pauseOnce()
    }

    const second = await runCli(['customer', 'erase', 'globex', '--config', goodMap, '--plan', planOut, '--yes'])
    assert.equal(second.code, 3, second.stdout + second.stderr)
    assert.match(second.stderr, /lock|another erase/i)
    paused.kill9()
    await paused.done

    const rerun = await runCli([
      'customer',
      'erase',
      'globex',
      '--config',
      goodMap,
      '--plan',
      planOut,
      '--yes',
      '--json',
    ])
    assert.equal(rerun.code, 0, rerun.stdout + rerun.stderr)
    const outcome = rerun.json<{
      databases: Array<{planned: {rows: number}; deleted: {rows: number}; verification: {remainingRows: number}}>
    }>()
    assert.equal(
      outcome.databases[0].deleted.rows,
      outcome.databases[0].planned.rows,
      'the rows of both runs are counted',
    )
    assert.equal(outcome.databases[0].verification.remainingRows, 0)
    assert.equal(await tenantBytes('globex'), ['', '', '', ''].join('\n--\n'))
    assert.equal(await tenantBytes('acme-corp'), neighbour)
  })
})
