import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {Client} from 'pg'
import type pg from 'pg'

import {ODD_TABLE} from '../../../src/lib/local/demo-postgres.js'
import {CustosError, ExitCode} from '../../../src/lib/errors.js'
import {fromPostgresError, ident} from '../../../src/lib/stores/postgres/connection.js'
import {applyErase, planErase, type EraseBatch} from '../../../src/lib/stores/postgres/erase.js'
import type {PostgresDatabaseConfig} from '../../../src/lib/stores/postgres/types.js'
import {copyOut, createTenantSchema, usePostgres, type DemoDatabase} from '../../support/postgres.js'

const ODD = `public."Notizen ""Ärger"" d'Acme"`

/** Every row of every demo table that does NOT belong to `customer`, as COPY CSV, key order. */
async function neighbourRows(admin: pg.Client, customer: string): Promise<string> {
  const parts: string[] = []
  const selects = [
    `SELECT * FROM public.projects WHERE tenant_id <> $1 ORDER BY id`,
    `SELECT * FROM public.documents WHERE tenant_id <> $1 ORDER BY id`,
    `SELECT c.* FROM public.comments c JOIN public.documents d ON d.id = c.document_id WHERE d.tenant_id <> $1 ORDER BY c.id`,
    `SELECT * FROM ${ODD} WHERE tenant_id <> $1 ORDER BY id`,
  ]
  for (const select of selects) {
    await admin.query('DROP TABLE IF EXISTS neighbours')
    await admin.query(`CREATE TEMP TABLE neighbours AS ${select}`, [customer])
    parts.push((await copyOut(admin, 'COPY neighbours TO STDOUT WITH (FORMAT csv, HEADER true)')).toString('utf8'))
  }

  return parts.join('\n--\n')
}

async function customerRows(admin: pg.Client, customer: string): Promise<number> {
  const r = await admin.query<{n: string}>(
    `SELECT (SELECT count(*) FROM public.projects WHERE tenant_id = $1)
          + (SELECT count(*) FROM public.documents WHERE tenant_id = $1)
          + (SELECT count(*) FROM public.comments c JOIN public.documents d ON d.id = c.document_id WHERE d.tenant_id = $1)
          + (SELECT count(*) FROM ${ODD} WHERE tenant_id = $1) AS n`,
    [customer],
  )
  return Number(r.rows[0].n)
}

async function failure(promise: Promise<unknown>): Promise<CustosError> {
  const error = await promise.then(
    () => undefined,
    (error: unknown) => error,
  )
  assert.ok(error instanceof CustosError, `expected a CustosError, got ${String(error)}`)
  return error
}

describe('postgres store: erase', function () {
  this.timeout(120_000)
  const pg = usePostgres()

  describe('isolation shared', () => {
    let demo: DemoDatabase
    let admin: pg.Client

    beforeEach(async () => {
      demo = await pg.demoDatabase({counts: {projects: 10, documentsPerProject: 5, commentsPerDocument: 4, notes: 30}})
      admin = await pg.admin(demo.database)
    })

    it("deletes acme's rows children first and leaves acme-corp's and everyone else's byte-identical", async () => {
      const before = await neighbourRows(admin, 'acme')
      const plan = await planErase(demo.config, 'acme')
      assert.deepEqual(
        plan.tables.map((t) => [t.table, t.rows]),
        [
          ['public.comments', 200],
          ['public.documents', 50],
          ['public.projects', 10],
          [`public.${ODD_TABLE}`, 30],
        ],
      )
      assert.equal(plan.rows, 290)
      assert.match(plan.fingerprint, /^[0-9a-f]{64}$/)

      const batches: EraseBatch[] = []
      const result = await applyErase(demo.config, plan, {batchSize: 64, onBatch: (b) => void batches.push(b)})
      assert.equal(result.deleted, 290)
      assert.equal(result.verified, true)
      assert.deepEqual(
        result.tables.map((t) => [t.table, t.deleted, t.remaining]),
        plan.tables.map((t) => [t.table, t.rows, 0]),
      )
      // children first: every comment batch before any document batch before any project batch
      const firstOf = (t: string) => batches.findIndex((b) => b.table === t)
      const lastOf = (t: string) => batches.findLastIndex((b) => b.table === t)
      assert.ok(lastOf('public.comments') < firstOf('public.documents'))
      assert.ok(lastOf('public.documents') < firstOf('public.projects'))
      assert.equal(
        batches.reduce((n, b) => n + b.deleted, 0),
        290,
      )
      // 4 + 1 + 1 + 1 full or partial batches, and a bounded number of statements
      assert.ok(result.statements <= 8, `statements: ${result.statements}`)

      assert.equal(await customerRows(admin, 'acme'), 0)
      assert.equal(await neighbourRows(admin, 'acme'), before)
      assert.ok((await customerRows(admin, 'acme-corp')) > 0)
    })

    it('a second run of the same plan converges: nothing left, nothing else touched', async () => {
      const plan = await planErase(demo.config, 'globex')
      await applyErase(demo.config, plan)
      const before = await neighbourRows(admin, 'globex')
      const again = await applyErase(demo.config, plan)
      assert.equal(again.deleted, 0)
      assert.equal(again.verified, true)
      assert.equal(await neighbourRows(admin, 'globex'), before)
    })

    it('resumes after the erasing process is killed with SIGKILL in the middle', async () => {
      const before = await neighbourRows(admin, 'acme')
      const plan = await planErase(demo.config, 'acme')
      const dir = mkdtempSync(join(tmpdir(), 'pg-erase-kill-'))
      const input = join(dir, 'input.json')
      const journal = join(dir, 'journal.jsonl')
      writeFileSync(input, JSON.stringify({config: demo.config, plan}))
      writeFileSync(journal, '')
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', fileURLToPath(new URL('erase-child.ts', import.meta.url)), input, journal],
        {stdio: ['ignore', 'pipe', 'pipe']},
      )
      let stderr = ''
      child.stderr.on('data', (c: Buffer) => {
        stderr += c.toString()
      })
      const exited = new Promise<NodeJS.Signals | number | null>((resolve) => {
        child.once('exit', (code, signal) => resolve(signal ?? code))
      })
      let batchesSeen = 0
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          batchesSeen += chunk
            .toString()
            .split('\n')
            .filter((l) => l === 'batch').length
          if (batchesSeen >= 3) {
            child.kill('SIGKILL')
            resolve()
          }
        })
        void exited.then(() => reject(new Error(`the erase ended before it was killed: ${stderr}`)))
      })
      assert.equal(await exited, 'SIGKILL')

      const journaled = readFileSync(journal, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as EraseBatch)
      const done = journaled.reduce((n, b) => n + b.deleted, 0)
      const left = await customerRows(admin, 'acme')
      assert.ok(left > 0 && left < plan.rows, `killed in the middle: ${left} of ${plan.rows} rows left`)
      // a batch committed but not yet journaled is the most a kill can lose from the journal
      assert.ok(plan.rows - done - left >= 0 && plan.rows - done - left <= 50)

      const resumed = await applyErase(demo.config, plan)
      assert.equal(resumed.deleted, left)
      assert.equal(await customerRows(admin, 'acme'), 0)
      assert.equal(await neighbourRows(admin, 'acme'), before)
    })

    it('refuses (exit 3) when rows were added or changed since the plan, deleting nothing', async () => {
      const plan = await planErase(demo.config, 'acme')
      await admin.query(`INSERT INTO ${ODD} (tenant_id) VALUES ($1)`, ['acme'])
      let error = await failure(applyErase(demo.config, plan))
      assert.equal(error.exitCode, ExitCode.refused)
      assert.equal(error.code, 'PlanMismatch')
      assert.match(error.message, /1 row\(s\) were added to public\.Notizen "Ärger" d'Acme/)

      const plan2 = await planErase(demo.config, 'acme')
      await admin.query(
        `UPDATE public.projects SET name = 'x' WHERE id = (SELECT min(id) FROM public.projects WHERE tenant_id = $1)`,
        ['acme'],
      )
      error = await failure(applyErase(demo.config, plan2))
      assert.equal(error.code, 'PlanMismatch')
      assert.match(error.message, /rows of public\.projects were changed/)
      assert.equal(await customerRows(admin, 'acme'), 291)

      const tampered = {...plan2, rows: 1}
      error = await failure(applyErase(demo.config, tampered))
      assert.equal(error.code, 'PlanTampered')
    })

    it("refuses (exit 3) when another customer's rows reference acme's rows, naming the constraint", async () => {
      await admin.query(
        `INSERT INTO public.documents (tenant_id, project_id, title)
         SELECT $2, min(id), 'globex document in an acme project' FROM public.projects WHERE tenant_id = $1`,
        ['acme', 'globex'],
      )
      const error = await failure(planErase(demo.config, 'acme'))
      assert.equal(error.code, 'CrossCustomerReference')
      assert.equal(error.exitCode, ExitCode.refused)
      assert.match(
        error.message,
        /1 row\(s\) of other customers in public\.documents reference rows of customer acme in public\.projects \(constraint documents_project_id_fkey\); erasing would fail on them/,
      )
      assert.equal(await customerRows(admin, 'acme'), 290)
    })

    it('gives up on a row lock with a clear error (55P03, exit 4) and resumes later', async () => {
      const plan = await planErase(demo.config, 'acme')
      const locker = await pg.admin(demo.database)
      await locker.query('BEGIN')
      await locker.query(`SELECT * FROM public.documents WHERE tenant_id = $1 FOR UPDATE`, ['acme'])
      const error = await failure(applyErase(demo.config, plan, {lockTimeoutInMs: 200}))
      assert.equal(error.code, 'LockTimeout')
      assert.equal(error.exitCode, ExitCode.azure)
      assert.match(error.message, /lock on table public\.documents in database app_/)
      await locker.query('ROLLBACK')
      const result = await applyErase(demo.config, plan)
      assert.equal(result.deleted, 90) // comments were gone before the lock stopped the first run
      assert.equal(await customerRows(admin, 'acme'), 0)
    })

    it('refuses a role without DELETE before deleting anything, and maps the server’s 42501', async () => {
      const readOnly = await pg.demoDatabase({privileges: ['SELECT']})
      const error = await failure(planErase(readOnly.config, 'acme'))
      assert.equal(error.code, 'PrivilegeMissing')
      assert.equal(error.exitCode, ExitCode.usage)
      assert.match(error.message, /may not read and delete .*public\.projects/)

      const client = new Client({
        ...pg.server.clientConfig(readOnly.database),
        user: readOnly.role,
        password: process.env[readOnly.config.passwordEnv!],
      })
      await client.connect()
      const denied = await client.query('DELETE FROM public.projects').catch((error_: unknown) => error_)
      await client.end()
      const mapped = fromPostgresError(denied, 'table public.projects in database app', readOnly.role)
      assert.ok(mapped instanceof CustosError)
      assert.equal(mapped.code, 'PrivilegeMissing')
      assert.equal(mapped.exitCode, ExitCode.usage)
      assert.match(mapped.message, /denied as custos_\w+ the access to table public\.projects/)
    })

    it('stops with a clear error on a read-only database (25006, exit 2)', async () => {
      const plan = await planErase(demo.config, 'acme')
      await admin.query(`ALTER DATABASE ${ident(demo.database)} SET default_transaction_read_only = on`)
      const error = await failure(applyErase(demo.config, plan))
      assert.equal(error.code, 'ReadOnly')
      assert.equal(error.exitCode, ExitCode.usage)
      assert.match(error.message, /is read-only/)
      assert.equal(await customerRows(admin, 'acme'), 290)
    })

    it('runs VACUUM afterwards only where the role may, and says so', async () => {
      let result = await applyErase(demo.config, await planErase(demo.config, 'initech'), {vacuum: true})
      assert.deepEqual(result.vacuum, {
        ran: false,
        skipped: ['public.comments', 'public.documents', 'public.projects', `public.${ODD_TABLE}`],
      })
      await admin.query(`GRANT MAINTAIN ON public.projects, public.documents, public.comments, ${ODD} TO ${demo.role}`)
      result = await applyErase(demo.config, await planErase(demo.config, 'globex'), {vacuum: true})
      assert.deepEqual(result.vacuum, {ran: true, skipped: []})
    })
  })

  describe('isolation schema and database', () => {
    let role: string
    let password: string
    let passwordEnv: string

    before(async () => {
      const admin = await pg.admin()
      role = 'custos_owner'
      password = 'owner-password-1'
      passwordEnv = 'CUSTOS_TEST_PG_OWNER'
      process.env[passwordEnv] = password
      await admin.query(`SELECT set_config('custos.pw', $1, false)`, [password])
      await admin.query(
        `DO $$ BEGIN EXECUTE format('CREATE ROLE custos_owner LOGIN CREATEDB PASSWORD %L', current_setting('custos.pw')); END $$`,
      )
    })

    function config(database: string, isolation: 'database' | 'schema'): PostgresDatabaseConfig {
      return {
        name: `tenant-${isolation}s`,
        engine: 'postgresql',
        host: pg.server.host,
        port: pg.server.port,
        database,
        auth: 'password',
        user: role,
        passwordEnv,
        ca: pg.server.caFile,
        isolation,
        ...(isolation === 'schema' ? {schema: 'tenant_{customer}'} : {}),
      }
    }

    it("drops acme's schema after checking it holds just the planned tables; acme-corp's stays", async () => {
      const database = await pg.freshDatabase('schemas')
      const admin = await pg.admin(database)
      await admin.query(`GRANT CREATE ON DATABASE ${ident(database)} TO ${role}`)
      // the application's migrations run as the owning role: custos logs in as that owner
      await admin.query(`SET ROLE ${role}`)
      for (const tenant of ['acme', 'acme-corp']) await createTenantSchema(admin, `tenant_${tenant}`, 5)
      await admin.query('RESET ROLE')

      const cfg = config(database, 'schema')
      const plan = await planErase(cfg, 'acme')
      assert.equal(plan.method, 'drop-schema')
      assert.equal(plan.schema, 'tenant_acme')
      assert.deepEqual(
        plan.tables.map((t) => [t.table, t.rows]),
        [
          ['tenant_acme.documents', 5],
          ['tenant_acme.projects', 5],
        ],
      )

      // a view outside the schema that reads it: dropping would break it, so erase refuses
      await admin.query(`CREATE VIEW public.all_projects AS SELECT * FROM tenant_acme.projects`)
      const refused = await failure(applyErase(cfg, plan))
      assert.equal(refused.code, 'SchemaHasDependents')
      assert.equal(refused.exitCode, ExitCode.refused)
      assert.match(refused.message, /view public\.all_projects on table tenant_acme\.projects/)
      await admin.query(`DROP VIEW public.all_projects`)

      // a table added to the schema since the plan
      await admin.query(`SET ROLE ${role}`)
      await admin.query(`CREATE TABLE tenant_acme.extra (id int)`)
      await admin.query('RESET ROLE')
      const added = await failure(applyErase(cfg, plan))
      assert.equal(added.code, 'PlanMismatch')
      assert.match(added.message, /table\(s\) tenant_acme\.extra appeared/)
      await admin.query(`DROP TABLE tenant_acme.extra`)

      const batches: EraseBatch[] = []
      const result = await applyErase(cfg, plan, {onBatch: (b) => void batches.push(b)})
      assert.equal(result.method, 'drop-schema')
      assert.equal(result.deleted, 10)
      assert.equal(batches.length, 2)
      const schemas = await admin.query<{nspname: string}>(
        `SELECT nspname FROM pg_namespace WHERE nspname LIKE 'tenant%' ORDER BY 1`,
      )
      assert.deepEqual(
        schemas.rows.map((r) => r.nspname),
        ['tenant_acme-corp'],
      )
      assert.equal((await admin.query(`SELECT count(*)::int AS n FROM "tenant_acme-corp".documents`)).rows[0].n, 5)
      const again = await applyErase(cfg, plan)
      assert.equal(again.alreadyGone, true)
    })

    it("drops acme's database, refusing while sessions are connected; globex's stays", async () => {
      const admin = await pg.admin()
      for (const tenant of ['acme', 'globex']) {
        await admin.query(`CREATE DATABASE ${ident(`tenant_${tenant}`)} OWNER ${role}`)
        const db = await pg.admin(`tenant_${tenant}`)
        await db.query(`SET ROLE ${role}`)
        await createTenantSchema(db, 'app', 3)
        await db.end()
      }

      const cfg = config('tenant_{customer}', 'database')
      const plan = await planErase(cfg, 'acme')
      assert.equal(plan.method, 'drop-database')
      assert.equal(plan.database, 'tenant_acme')
      assert.deepEqual(
        plan.tables.map((t) => t.table),
        ['app.documents', 'app.projects'],
      )

      const app = await pg.admin('tenant_acme')
      const refused = await failure(applyErase(cfg, plan))
      assert.equal(refused.code, 'DatabaseInUse')
      assert.equal(refused.exitCode, ExitCode.refused)
      await app.end()

      const result = await applyErase(cfg, plan)
      assert.equal(result.method, 'drop-database')
      assert.equal(result.deleted, 6)
      const dbs = await admin.query<{datname: string}>(
        `SELECT datname FROM pg_database WHERE datname LIKE 'tenant%' ORDER BY 1`,
      )
      assert.deepEqual(
        dbs.rows.map((r) => r.datname),
        ['tenant_globex'],
      )
      assert.equal((await applyErase(cfg, plan)).alreadyGone, true)
      const missing = await failure(planErase(cfg, 'acme'))
      assert.equal(missing.code, 'DatabaseMissing')
    })
  })
})
