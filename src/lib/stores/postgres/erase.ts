/**
 * Secure erase of a customer's rows in a PostgreSQL store: plan, guard, apply in bounded journaled
 * batches, verify.
 *
 * The plan lists, per table in deletion order (children first), the customer's row count and a
 * fingerprint of those rows: `max(xmin)` (the newest transaction that wrote any of them) and the
 * sum of a 64-bit hash of every row's text. Why both:
 *   - the content sum pins exactly what the operator saw (a restored dump keeps it; xmin would not);
 *   - `max(xmin)` makes a resumed run safe without a journal: every INSERT or UPDATE since the plan
 *     creates a row version with a newer transaction id, so "fewer or equal rows AND max(xmin) not
 *     newer than planned" proves that rows were only deleted since the plan — by an earlier,
 *     killed run of the same plan, or by the application — never added or changed.
 * So apply accepts a table when its rows equal the plan (same count and content sum) or when they
 * are a subset of it (fewer rows, no newer xmin); anything else is a fingerprint mismatch (exit 3).
 * (xmin is a 32-bit counter; a wraparound between plan and apply — four billion transactions —
 * makes the comparison refuse rather than pass.)
 *
 * Apply deletes in batches of `batchSize` rows, each its own short transaction with a
 * `lock_timeout`, so no lock is held long and a killed run loses at most one batch of progress
 * (the rows it deleted stay deleted: re-running deletes what is left, which is idempotent). After
 * every committed batch the caller's `onBatch` journals it. A table is verified (zero rows) right
 * after it was emptied — before its parents go, so that a `via` table is still reachable — and
 * every table again at the end.
 *
 * Batches select rows by physical address: `DELETE … WHERE ctid = ANY(ARRAY(SELECT ctid … LIMIT n))`.
 * bench/postgres.ts measured the batch shapes on 1M rows over 4 tables (batches of 10,000, one
 * transaction each, 2-core machine shared with other work, so ±20% between runs): ctid = ANY(ARRAY
 * (…)) 25.7 s, ctid IN (SELECT …) 30.6 s (21.4 s in another run), primary key IN (SELECT … ORDER BY
 * id) 38.6 s (26.1 s); a plain DELETE per table in one transaction took 27.8 s. The ctid form also
 * needs no primary key. custos's own apply (32.4 s) adds the re-check of the customer condition
 * on every deleted row and the per-table verification: that is the price of the scope check.
 *
 * Isolation `schema` drops the customer's schema, `database` the customer's database — after
 * checking that it holds exactly the planned tables with the planned rows, and (schema) that
 * nothing outside the schema depends on anything inside it.
 */
import {createHash} from 'node:crypto'

import type pg from 'pg'

import {CustosError, ExitCode, refusedError} from '../../errors.js'
import {dependentsOutsideSchema, type CheckedTable} from './catalog.js'
import {connect, fromPostgresError, ident, qualified, type ConnectOptions} from './connection.js'
import {customerConditionSql, customerRowsSql} from './rows.js'
import {openTarget, targetOf, type OpenedTarget} from './target.js'
import type {PostgresDatabaseConfig} from './types.js'

export interface ErasePlanTable {
  /** `schema.table` */
  table: string
  schema: string
  name: string
  rows: number
  /** the newest xmin among the customer's rows (decimal), null when there are none */
  maxXmin: string | null
  /** sum of hashtextextended(row text) over the customer's rows (decimal) */
  contentSum: string
}

export interface PostgresErasePlan {
  engine: 'postgresql'
  store: string
  customer: string
  isolation: PostgresDatabaseConfig['isolation']
  /** delete rows (shared), drop the customer's schema, or drop the customer's database */
  method: 'delete' | 'drop-schema' | 'drop-database'
  database: string
  schema?: string
  /** children first: the order apply deletes in */
  tables: ErasePlanTable[]
  rows: number
  /** hex SHA-256 over store, target and every table's name, rows, maxXmin and contentSum */
  fingerprint: string
  createdAt: string
}

export interface EraseBatch {
  /** `schema.table` */
  table: string
  /** rows this batch deleted (committed) */
  deleted: number
}

export interface ApplyEraseOptions extends ConnectOptions {
  /** rows per DELETE; default 10,000 */
  batchSize?: number
  /** how long a batch waits for a row lock before it gives up (55P03); default 5,000 ms */
  lockTimeoutInMs?: number
  /** journals a committed batch; awaited before the next batch starts */
  onBatch?: (batch: EraseBatch) => Promise<void> | void
  /** VACUUM (ANALYZE) the emptied tables afterwards (isolation shared); default false */
  vacuum?: boolean
  /** isolation database: the database to connect to for DROP DATABASE; default `postgres` */
  maintenanceDatabase?: string
  abortSignal?: AbortSignal
}

export interface EraseTableResult {
  table: string
  /** rows deleted by this run (a resumed run counts only its own) */
  deleted: number
  /** rows left after the final verification: always 0 when apply returns */
  remaining: number
}

export interface PostgresEraseResult {
  store: string
  customer: string
  method: PostgresErasePlan['method']
  tables: EraseTableResult[]
  /** rows deleted by this run */
  deleted: number
  /** DELETE (or DROP) statements sent */
  statements: number
  /** statements per 1,000 rows deleted (0 when nothing was deleted) */
  statementsPer1000Rows: number
  /** every table (or the schema / database) was checked empty after the deletes */
  verified: true
  /** the schema or database was already gone (an earlier run dropped it) */
  alreadyGone: boolean
  /** whether VACUUM ran on every emptied table; tables it could not vacuum are listed */
  vacuum: {ran: boolean; skipped: string[]}
}

interface TableStats {
  rows: number
  maxXmin: string | null
  contentSum: string
}

async function statsOf(opened: OpenedTarget, table: CheckedTable): Promise<TableStats> {
  const r = await opened.client.query<{rows: string; max_xmin: string | null; content_sum: string}>(
    `SELECT count(*) AS rows, max(t.xmin::text::bigint)::text AS max_xmin,
            coalesce(sum(hashtextextended(t::text, 0)::numeric), 0)::text AS content_sum
       ${customerRowsSql(table, opened.byKey, {kind: 'param', index: 1})}`,
    table.filter.kind === 'all' ? [] : [opened.target.customer],
  )
  return {rows: Number(r.rows[0].rows), maxXmin: r.rows[0].max_xmin, contentSum: r.rows[0].content_sum}
}

/** Every table's stats, read in one snapshot. */
async function allStats(opened: OpenedTarget): Promise<Map<CheckedTable, TableStats>> {
  const stats = new Map<CheckedTable, TableStats>()
  await opened.client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY')
  try {
    for (const t of opened.check.tables) stats.set(t, await statsOf(opened, t))
  } finally {
    await opened.client.query('COMMIT').catch(() => {})
  }

  return stats
}

/**
 * Rows of OTHER customers that reference this customer's rows along a foreign key between mapped
 * tables. Deleting the customer's parent rows would then fail (NO ACTION / RESTRICT), delete the
 * other customer's rows (CASCADE) or change them (SET NULL / DEFAULT): erase refuses all three,
 * naming the constraint. A data problem the catalog alone cannot see.
 */
async function assertNoCrossCustomerReferences(opened: OpenedTarget, customer: string): Promise<void> {
  const byOid = new Map(opened.check.tables.map((t) => [t.oid, t]))
  const tenant = {kind: 'param', index: 1} as const
  for (const fk of opened.check.foreignKeys) {
    const child = byOid.get(fk.child.oid)!
    const parent = byOid.get(fk.parent.oid)!
    if (child.filter.kind === 'all' || parent.filter.kind === 'all') continue // one customer's schema
    const childKey = fk.childColumns.map((c) => `c.${ident(c)}`).join(', ')
    const parentKey = fk.parentColumns.map((c) => `p.${ident(c)}`).join(', ')
    const r = await opened.client.query<{n: string}>(
      `SELECT count(*) AS n FROM ${qualified(child)} AS c
        WHERE (${childKey}) IN (SELECT ${parentKey} ${customerRowsSql(parent, opened.byKey, tenant, 'p')})
          AND (${customerConditionSql(child, opened.byKey, tenant, 'c')}) IS NOT TRUE`,
      [customer],
    )
    const n = Number(r.rows[0].n)
    if (n === 0) continue
    const effect =
      fk.onDelete === 'c'
        ? 'delete them too (ON DELETE CASCADE)'
        : fk.onDelete === 'n' || fk.onDelete === 'd'
          ? 'change them (ON DELETE SET NULL / DEFAULT)'
          : 'fail on them'
    throw refusedError(
      'CrossCustomerReference',
      `Refused: ${n} row(s) of other customers in ${child.display} reference rows of customer ${customer} in ${parent.display} (constraint ${fk.name}); erasing would ${effect}. Nothing was deleted.`,
      'Those rows link two customers; correct them in the application first.',
    )
  }
}

function fingerprintOf(plan: Omit<PostgresErasePlan, 'createdAt' | 'fingerprint'>): string {
  const content = JSON.stringify([
    plan.store,
    plan.customer,
    plan.isolation,
    plan.method,
    plan.database,
    plan.schema ?? null,
    plan.tables.map((t) => [t.schema, t.name, t.rows, t.maxXmin, t.contentSum]),
    plan.rows,
  ])
  return createHash('sha256').update(content).digest('hex')
}

/** Lists what erase would delete, in deletion order, with a fingerprint. Changes nothing. */
export async function planErase(
  config: PostgresDatabaseConfig,
  customer: string,
  options: ConnectOptions = {},
): Promise<PostgresErasePlan> {
  const opened = await openTarget(config, customer, options)
  try {
    assertPrivileges(config, opened, 'delete')
    const stats = await allStats(opened).catch((error: unknown) => {
      throw fromPostgresError(error, `database ${opened.target.database}`, config.user)
    })
    await assertNoCrossCustomerReferences(opened, customer).catch((error: unknown) => {
      throw fromPostgresError(error, `database ${opened.target.database}`, config.user)
    })
    const tables = opened.check.tables.map((t) => ({
      table: t.display,
      schema: t.schema,
      name: t.table,
      ...stats.get(t)!,
    }))
    const body = {
      engine: 'postgresql' as const,
      store: config.name,
      customer,
      isolation: config.isolation,
      method: methodOf(config),
      database: opened.target.database,
      ...(opened.target.schema === undefined ? {} : {schema: opened.target.schema}),
      tables,
      rows: tables.reduce((n, t) => n + t.rows, 0),
    }
    return {...body, fingerprint: fingerprintOf(body), createdAt: new Date().toISOString()}
  } finally {
    await opened.close()
  }
}

function methodOf(config: PostgresDatabaseConfig): PostgresErasePlan['method'] {
  return config.isolation === 'shared' ? 'delete' : config.isolation === 'schema' ? 'drop-schema' : 'drop-database'
}

/** Refuses before anything is deleted when the role lacks SELECT or DELETE on a table. */
function assertPrivileges(config: PostgresDatabaseConfig, opened: OpenedTarget, need: 'delete' | 'select'): void {
  if (config.isolation !== 'shared') return // dropping needs ownership, which the server checks
  const missing = opened.check.tables.filter((t) => !t.privileges.select || (need === 'delete' && !t.privileges.delete))
  if (missing.length === 0) return
  throw new CustosError(
    `Role ${config.user} may not ${need === 'delete' ? 'read and delete' : 'read'} the customer's rows in ${missing.map((t) => t.display).join(', ')} (database ${opened.target.database}).`,
    {
      code: 'PrivilegeMissing',
      exitCode: ExitCode.usage,
      hint: `GRANT SELECT${need === 'delete' ? ', DELETE' : ''} ON those tables TO ${ident(config.user)} (README: least privileges in PostgreSQL).`,
    },
  )
}

/**
 * Deletes what the plan lists, journaling each batch, and verifies zero rows remain. Refuses
 * (exit 3) when the fingerprint shows rows added or changed since the plan; see the module comment.
 * Safe to run again after a kill: it deletes what is left.
 */
export async function applyErase(
  config: PostgresDatabaseConfig,
  plan: PostgresErasePlan,
  options: ApplyEraseOptions = {},
): Promise<PostgresEraseResult> {
  assertSamePlan(config, plan)
  switch (plan.method) {
    case 'delete': {
      return deleteRows(config, plan, options)
    }

    case 'drop-schema': {
      return dropSchema(config, plan, options)
    }

    case 'drop-database': {
      return dropDatabase(config, plan, options)
    }
  }
}

/**
 * The fingerprint guard on its own, before anything of any store is deleted: throws PlanMismatch
 * (exit 3) when rows were added or changed since the plan (a subset, left by an interrupted run of
 * the same plan, passes), or the store is not the plan's. A schema or database already dropped
 * passes (an earlier run of this plan dropped it). Changes nothing.
 */
export async function checkPlan(
  config: PostgresDatabaseConfig,
  plan: PostgresErasePlan,
  options: ConnectOptions & {maintenanceDatabase?: string} = {},
): Promise<void> {
  assertSamePlan(config, plan)
  if (plan.method !== 'delete') {
    const admin = await connect(config, {
      ...options,
      database: plan.method === 'drop-database' ? (options.maintenanceDatabase ?? 'postgres') : plan.database,
    })
    try {
      const gone =
        plan.method === 'drop-database'
          ? !(await databaseExists(admin, plan.database))
          : !(await schemaExists(admin, plan.schema!))
      if (gone) return
    } catch (error) {
      throw fromPostgresError(error, `database ${plan.database}`, config.user)
    } finally {
      await admin.end().catch(() => {})
    }
  }

  const opened = await openTarget(config, plan.customer, options)
  try {
    if (plan.method === 'delete') assertPrivileges(config, opened, 'delete')
    assertMatchesPlan(plan, opened, await allStats(opened), plan.method !== 'delete')
  } catch (error) {
    throw fromPostgresError(error, `database ${opened.target.database}`, config.user)
  } finally {
    await opened.close()
  }
}

function assertSamePlan(config: PostgresDatabaseConfig, plan: PostgresErasePlan): void {
  const target = targetOf(config, plan.customer)
  if (plan.store !== config.name || plan.method !== methodOf(config) || plan.database !== target.database) {
    throw refusedError(
      'PlanMismatch',
      `The plan was made for ${plan.store}/${plan.database} (${plan.method}), not for database ${config.name}/${target.database} of customer ${plan.customer}.`,
    )
  }

  if (fingerprintOf(plan) !== plan.fingerprint) {
    throw refusedError('PlanTampered', `The plan's fingerprint does not match its content; make a new plan.`)
  }
}

/** The per-table guard described in the module comment; `exact` demands equality (drops). */
function assertMatchesPlan(
  plan: PostgresErasePlan,
  opened: OpenedTarget,
  stats: Map<CheckedTable, TableStats>,
  exact: boolean,
): void {
  const found = opened.check.tables.map((t) => t.display)
  const planned = plan.tables.map((t) => t.table)
  const mismatch = (why: string) =>
    refusedError(
      'PlanMismatch',
      `Refused: ${why} since the plan was made (customer ${plan.customer}, database ${plan.store}); nothing was deleted by this run.`,
      'Make a new plan (--plan-out), check it, and apply that.',
    )
  const added = found.filter((t) => !planned.includes(t))
  const removed = planned.filter((t) => !found.includes(t))
  if (added.length > 0 || removed.length > 0) {
    throw mismatch(
      [
        added.length > 0 ? `table(s) ${added.join(', ')} appeared` : '',
        removed.length > 0 ? `table(s) ${removed.join(', ')} disappeared` : '',
      ]
        .filter(Boolean)
        .join(' and '),
    )
  }

  for (const p of plan.tables) {
    const table = opened.check.tables.find((t) => t.display === p.table)!
    const now = stats.get(table)!
    const same = now.rows === p.rows && now.contentSum === p.contentSum
    if (same) continue
    if (exact) throw mismatch(`the rows of ${p.table} changed (${p.rows} planned, ${now.rows} now)`)
    if (now.rows > p.rows) throw mismatch(`${now.rows - p.rows} row(s) were added to ${p.table}`)
    if (now.rows === p.rows) throw mismatch(`rows of ${p.table} were changed`)
    const newer = now.maxXmin !== null && (p.maxXmin === null || BigInt(now.maxXmin) > BigInt(p.maxXmin))
    if (newer) throw mismatch(`rows of ${p.table} were written (a newer transaction than planned)`)
  }
}

async function deleteRows(
  config: PostgresDatabaseConfig,
  plan: PostgresErasePlan,
  options: ApplyEraseOptions,
): Promise<PostgresEraseResult> {
  const batchSize = options.batchSize ?? 10_000
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batchSize must be a positive integer`)
  const lockTimeout = `${Math.max(1, Math.round(options.lockTimeoutInMs ?? 5000))}ms`
  const opened = await openTarget(config, plan.customer, options)
  const {client} = opened
  let current = `database ${opened.target.database}`
  try {
    assertPrivileges(config, opened, 'delete')
    assertMatchesPlan(plan, opened, await allStats(opened), false)
    await assertNoCrossCustomerReferences(opened, plan.customer)
    const results: EraseTableResult[] = []
    let statements = 0
    for (const p of plan.tables) {
      const table = opened.check.tables.find((t) => t.display === p.table)!
      current = `table ${table.display} in database ${opened.target.database}`
      const tenant = {kind: 'param', index: 1} as const
      // ctid = ANY(ARRAY(…)) is planned as a TID scan over exactly the rows the sub-select found.
      // The sub-select and the DELETE are one statement (one snapshot), and the customer condition
      // is checked again on every row the DELETE touches: a row that a concurrent update moved or
      // changed is skipped here and found (or not) by the next batch.
      const sql =
        `DELETE FROM ${qualified(table)} AS d WHERE d.ctid = ANY(ARRAY(SELECT t.ctid ` +
        `${customerRowsSql(table, opened.byKey, tenant)} LIMIT $2)) ` +
        `AND ${customerConditionSql(table, opened.byKey, tenant, 'd')}`
      let deleted = 0
      for (let round = 0; ; round++) {
        options.abortSignal?.throwIfAborted()
        const n = await batch(client, sql, [plan.customer, batchSize], lockTimeout)
        statements++
        if (n > 0) {
          deleted += n
          await options.onBatch?.({table: table.display, deleted: n})
        }

        if (n < batchSize) {
          // the last partial batch: confirm the table is empty now (before its parents go)
          if ((await remaining(opened, table)) === 0) break
          if (round > 1000 + (p.rows / batchSize) * 2) {
            throw new CustosError(
              `Rows of customer ${plan.customer} keep appearing in ${table.display} while custos deletes them.`,
              {
                code: 'RowsKeepAppearing',
                exitCode: ExitCode.refused,
                hint: 'Stop the application from writing for this customer, then run the erase again.',
              },
            )
          }
        }
      }

      results.push({table: table.display, deleted, remaining: 0})
    }

    // Final verification of every table (the via tables were verified while their parents existed).
    for (const r of results) {
      const table = opened.check.tables.find((t) => t.display === r.table)!
      current = `table ${table.display} in database ${opened.target.database}`
      r.remaining = await remaining(opened, table)
      if (r.remaining !== 0) {
        throw new CustosError(
          `Verification failed: ${r.remaining} row(s) of customer ${plan.customer} are still in ${table.display}.`,
          {code: 'VerificationFailed', exitCode: ExitCode.azure, hint: 'Run the erase again.'},
        )
      }
    }

    const vacuum = options.vacuum ? await vacuumTables(opened) : {ran: false, skipped: []}
    const deleted = results.reduce((n, r) => n + r.deleted, 0)
    return {
      store: config.name,
      customer: plan.customer,
      method: 'delete',
      tables: results,
      deleted,
      statements,
      statementsPer1000Rows: deleted === 0 ? 0 : (statements * 1000) / deleted,
      verified: true,
      alreadyGone: false,
      vacuum,
    }
  } catch (error) {
    throw fromPostgresError(error, current, config.user)
  } finally {
    await opened.close()
  }
}

/** One DELETE in its own transaction with a lock timeout; returns the rows it deleted. */
async function batch(client: pg.ClientBase, sql: string, params: unknown[], lockTimeout: string): Promise<number> {
  await client.query('BEGIN')
  try {
    await client.query(`SELECT set_config('lock_timeout', $1, true)`, [lockTimeout])
    const r = await client.query(sql, params)
    await client.query('COMMIT')
    return r.rowCount ?? 0
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {})
    throw error
  }
}

async function remaining(opened: OpenedTarget, table: CheckedTable): Promise<number> {
  const r = await opened.client.query<{n: string}>(
    `SELECT count(*) AS n ${customerRowsSql(table, opened.byKey, {kind: 'param', index: 1})}`,
    table.filter.kind === 'all' ? [] : [opened.target.customer],
  )
  return Number(r.rows[0].n)
}

async function vacuumTables(opened: OpenedTarget): Promise<{ran: boolean; skipped: string[]}> {
  const {client} = opened
  const version = (await client.query<{v: number}>(`SELECT current_setting('server_version_num')::int AS v`)).rows[0].v
  const skipped: string[] = []
  for (const t of opened.check.tables) {
    // VACUUM by a role without the right only warns and skips: so ask first. PostgreSQL 17 has the
    // MAINTAIN privilege (and pg_maintain); before, only the owner may.
    const allowed = await client.query<{ok: boolean}>(
      version >= 170_000
        ? `SELECT has_table_privilege($1::oid, 'MAINTAIN') AS ok`
        : `SELECT pg_has_role(relowner, 'USAGE') AS ok FROM pg_class WHERE oid = $1::oid`,
      [t.oid],
    )
    if (!allowed.rows[0]?.ok) {
      skipped.push(t.display)
      continue
    }

    await client.query(`VACUUM (ANALYZE) ${qualified(t)}`)
  }

  return {ran: skipped.length === 0, skipped}
}

async function dropSchema(
  config: PostgresDatabaseConfig,
  plan: PostgresErasePlan,
  options: ApplyEraseOptions,
): Promise<PostgresEraseResult> {
  const schema = plan.schema!
  const client = await connect(config, {...options, database: plan.database})
  const where = `schema ${schema} in database ${plan.database}`
  try {
    if (!(await schemaExists(client, schema))) return goneResult(config, plan)
  } catch (error) {
    throw fromPostgresError(error, where, config.user)
  } finally {
    await client.end().catch(() => {})
  }

  const opened = await openTarget(config, plan.customer, options)
  try {
    assertMatchesPlan(plan, opened, await allStats(opened), true)
    const lockTimeout = `${Math.max(1, Math.round(options.lockTimeoutInMs ?? 5000))}ms`
    await opened.client.query('BEGIN')
    await opened.client.query(`SELECT set_config('lock_timeout', $1, true)`, [lockTimeout])
    // Lock the tables first, then check again what depends on the schema: nothing can add a
    // foreign key or view into it between this check and the drop.
    if (opened.check.tables.length > 0) {
      await opened.client.query(
        `LOCK TABLE ${opened.check.tables.map((t) => qualified(t)).join(', ')} IN ACCESS EXCLUSIVE MODE`,
      )
    }

    const outside = await dependentsOutsideSchema(opened.client, schema)
    if (outside.length > 0) {
      await opened.client.query('ROLLBACK')
      throw refusedError(
        'SchemaHasDependents',
        `Refused: ${outside.length} object(s) outside schema ${schema} depend on it (first: ${outside[0].dependent} on ${outside[0].on}); dropping it would remove or break them.`,
        'Remove those dependencies (or map them) first; nothing was deleted.',
        outside.map((o) => `${o.dependent} → ${o.on}`),
      )
    }

    await opened.client.query(`DROP SCHEMA ${ident(schema)} CASCADE`)
    await opened.client.query('COMMIT')
    for (const t of plan.tables) await options.onBatch?.({table: t.table, deleted: t.rows})
    if (await schemaExists(opened.client, schema)) {
      throw new CustosError(`Verification failed: schema ${schema} still exists after DROP SCHEMA.`, {
        code: 'VerificationFailed',
        exitCode: ExitCode.azure,
      })
    }

    return droppedResult(config, plan)
  } catch (error) {
    await opened.client.query('ROLLBACK').catch(() => {})
    throw fromPostgresError(error, where, config.user)
  } finally {
    await opened.close()
  }
}

async function dropDatabase(
  config: PostgresDatabaseConfig,
  plan: PostgresErasePlan,
  options: ApplyEraseOptions,
): Promise<PostgresEraseResult> {
  const maintenance = options.maintenanceDatabase ?? 'postgres'
  const where = `database ${plan.database}`
  const admin = await connect(config, {...options, database: maintenance})
  try {
    if (!(await databaseExists(admin, plan.database))) return goneResult(config, plan)
    // The guard needs its own connection into the customer's database, closed again before the
    // drop (DROP DATABASE refuses while anyone, custos included, is connected).
    const opened = await openTarget(config, plan.customer, options)
    try {
      assertMatchesPlan(plan, opened, await allStats(opened), true)
    } finally {
      await opened.close()
    }

    const lockTimeout = `${Math.max(1, Math.round(options.lockTimeoutInMs ?? 5000))}ms`
    await admin.query(`SELECT set_config('lock_timeout', $1, false)`, [lockTimeout])
    try {
      // not WITH (FORCE): sessions still connected mean the application still uses the database
      await admin.query(`DROP DATABASE ${ident(plan.database)}`)
    } catch (error) {
      if ((error as {code?: string}).code === '55006') {
        throw refusedError(
          'DatabaseInUse',
          `Refused: other sessions are connected to database ${plan.database} of customer ${plan.customer}; it was not dropped.`,
          'Stop the application for this customer (see pg_stat_activity), then run the erase again.',
        )
      }

      throw error
    }

    for (const t of plan.tables) await options.onBatch?.({table: t.table, deleted: t.rows})
    if (await databaseExists(admin, plan.database)) {
      throw new CustosError(`Verification failed: database ${plan.database} still exists after DROP DATABASE.`, {
        code: 'VerificationFailed',
        exitCode: ExitCode.azure,
      })
    }

    return droppedResult(config, plan)
  } catch (error) {
    throw fromPostgresError(error, where, config.user)
  } finally {
    await admin.end().catch(() => {})
  }
}

async function schemaExists(client: pg.ClientBase, schema: string): Promise<boolean> {
  return ((await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])).rowCount ?? 0) > 0
}

async function databaseExists(client: pg.ClientBase, database: string): Promise<boolean> {
  return ((await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database])).rowCount ?? 0) > 0
}

function droppedResult(config: PostgresDatabaseConfig, plan: PostgresErasePlan): PostgresEraseResult {
  return {
    store: config.name,
    customer: plan.customer,
    method: plan.method,
    tables: plan.tables.map((t) => ({table: t.table, deleted: t.rows, remaining: 0})),
    deleted: plan.rows,
    statements: 1,
    statementsPer1000Rows: plan.rows === 0 ? 0 : 1000 / plan.rows,
    verified: true,
    alreadyGone: false,
    vacuum: {ran: false, skipped: []},
  }
}

function goneResult(config: PostgresDatabaseConfig, plan: PostgresErasePlan): PostgresEraseResult {
  return {
    store: config.name,
    customer: plan.customer,
    method: plan.method,
    tables: plan.tables.map((t) => ({table: t.table, deleted: 0, remaining: 0})),
    deleted: 0,
    statements: 0,
    statementsPer1000Rows: 0,
    verified: true,
    alreadyGone: true,
    vacuum: {ran: false, skipped: []},
  }
}

/**
 * What is left of the customer in the store after an erase, counted afresh: rows per table
 * (isolation shared), or whether the customer's schema or database still exists.
 */
export async function remainingAfterErase(
  config: PostgresDatabaseConfig,
  plan: PostgresErasePlan,
  options: ConnectOptions & {maintenanceDatabase?: string} = {},
): Promise<{rows: number; exists: boolean}> {
  if (plan.method !== 'delete') {
    const admin = await connect(config, {
      ...options,
      database: plan.method === 'drop-database' ? (options.maintenanceDatabase ?? 'postgres') : plan.database,
    })
    try {
      const exists =
        plan.method === 'drop-database'
          ? await databaseExists(admin, plan.database)
          : await schemaExists(admin, plan.schema!)
      if (!exists) return {rows: 0, exists: false}
    } catch (error) {
      throw fromPostgresError(error, `database ${plan.database}`, config.user)
    } finally {
      await admin.end().catch(() => {})
    }
  }

  const opened = await openTarget(config, plan.customer, options)
  try {
    let rows = 0
    for (const table of opened.check.tables) rows += await remaining(opened, table)
    return {rows, exists: true}
  } catch (error) {
    throw fromPostgresError(error, `database ${opened.target.database}`, config.user)
  } finally {
    await opened.close()
  }
}
