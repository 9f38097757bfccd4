/**
 * Export of a customer's rows from a PostgreSQL store: one CSV file with a header per table and a
 * `schema.json` describing the tables, all read in ONE repeatable-read, read-only transaction, so
 * that every table shows the same moment (a document and its comments always match).
 *
 * Each table is streamed with `COPY (SELECT …) TO STDOUT WITH (FORMAT csv, HEADER true)` through
 * pg-copy-streams into the caller's writable, with backpressure (the socket is paused while the
 * writable is full), so memory stays flat however many rows a table holds.
 */
import type {Writable} from 'node:stream'
import {pipeline} from 'node:stream/promises'

import type pg from 'pg'
import {to as copyTo} from 'pg-copy-streams'

import {Sha256PassThrough} from '../../evidence/digests.js'
import type {CheckedTable} from './catalog.js'
import {fromPostgresError, ident, type ConnectOptions} from './connection.js'
import {customerRowsSql, TENANT_SETTING} from './rows.js'
import {openTarget} from './target.js'
import type {PostgresDatabaseConfig} from './types.js'

/** One exported table. */
export interface ExportedTable {
  /** the file name, `<schema>.<table>.csv` (see {@link csvFileName}) */
  name: string
  /** `schema.table` */
  table: string
  /** data rows (the header not counted) */
  rows: number
  bytes: number
  /** hex SHA-256 of the bytes written */
  sha256: string
}

/** The content of `schema.json`. */
export interface ExportSchema {
  store: string
  database: string
  schema?: string
  isolation: PostgresDatabaseConfig['isolation']
  tables: {
    file: string
    schema: string
    table: string
    /** how the customer's rows were selected */
    rows: 'all' | {column: string} | {via: {column: string; references: string}}
    columns: {name: string; type: string; nullable: boolean}[]
  }[]
}

export interface ExportDatabaseOptions extends ConnectOptions {
  abortSignal?: AbortSignal
  /**
   * Called inside the snapshot before each table is read (progress; the tests use it to write
   * from another connection between two tables and show that the export does not see it).
   */
  beforeTable?: (table: string) => Promise<void> | void
}

export interface PostgresExportResult {
  tables: ExportedTable[]
  schema: ExportSchema
  rows: number
  bytes: number
}

/**
 * A file name for a table that is safe on any file system and in a tar or zip, and unambiguous:
 * `%`, `.`, `/`, `\`, and control characters inside a name are percent-encoded (so `a.b` + `c`
 * and `a` + `b.c` differ); anything else (umlauts, quotes, spaces) is kept as it is, UTF-8.
 */
export function csvFileName(schema: string, table: string): string {
  const safe = (s: string) =>
    // eslint-disable-next-line no-control-regex -- control characters are what is being encoded
    s.replaceAll(/[%./\\\u0000-\u001F\u007F]/g, (c) => (c === '.' ? '%2E' : encodeURIComponent(c)))
  return `${safe(schema)}.${safe(table)}.csv`
}

/**
 * Writes every table of the customer to the writable that `open` returns for it (the caller owns
 * the files: a folder, a tar entry, an upload) and returns the counts, hashes and `schema.json`.
 * The writable is ended by the export.
 */
export async function exportCustomer(
  config: PostgresDatabaseConfig,
  customer: string,
  open: (file: ExportedTable['name'], table: string) => Promise<Writable> | Writable,
  options: ExportDatabaseOptions = {},
): Promise<PostgresExportResult> {
  const opened = await openTarget(config, customer, options)
  const {client} = opened
  const where = (t: CheckedTable) => `table ${t.display} in database ${opened.target.database}`
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY')
    // COPY takes no bind parameters, and the customer id must never be written into SQL text. So
    // the id goes into a transaction-local setting through a bound parameter, and each COPY's
    // SELECT compares with current_setting(): the server never parses the id as SQL.
    await client.query('SELECT set_config($1, $2, true)', [TENANT_SETTING, customer])
    const tables: ExportedTable[] = []
    for (const table of opened.check.tables) {
      options.abortSignal?.throwIfAborted()
      await options.beforeTable?.(table.display)
      const file = csvFileName(table.schema, table.table)
      const item = await copyTable(client, table, opened.byKey, file, await open(file, table.display), options).catch(
        (error: unknown) => {
          throw fromPostgresError(error, where(table), config.user)
        },
      )
      tables.push(item)
    }

    await client.query('COMMIT')
    return {
      tables,
      schema: schemaOf(config, opened.target, opened.check.tables),
      rows: tables.reduce((n, t) => n + t.rows, 0),
      bytes: tables.reduce((n, t) => n + t.bytes, 0),
    }
  } finally {
    await opened.close()
  }
}

async function copyTable(
  client: pg.ClientBase,
  table: CheckedTable,
  tables: ReadonlyMap<string, CheckedTable>,
  file: string,
  out: Writable,
  options: ExportDatabaseOptions,
): Promise<ExportedTable> {
  // The columns are named (not t.*) so that the header and the order are the catalog's, the same
  // list that schema.json gives.
  const columns = table.columns.map((c) => `t.${ident(c.name)}`).join(', ')
  // In primary-key order where there is one (an index scan, no sort), so that an export of the
  // same rows is the same file, byte for byte.
  const order =
    table.primaryKey.length > 0 ? ` ORDER BY ${table.primaryKey.map((c) => `t.${ident(c)}`).join(', ')}` : ''
  const select = `SELECT ${columns} ${customerRowsSql(table, tables, {kind: 'setting'})}${order}`
  const copy = client.query(copyTo(`COPY (${select}) TO STDOUT WITH (FORMAT csv, HEADER true)`))
  const measure = new Sha256PassThrough()
  await pipeline(copy, measure, out, {signal: options.abortSignal})
  return {name: file, table: table.display, rows: copy.rowCount, bytes: measure.bytes, sha256: measure.sha256()}
}

function schemaOf(
  config: PostgresDatabaseConfig,
  target: {database: string; schema?: string},
  tables: CheckedTable[],
): ExportSchema {
  return {
    store: config.name,
    database: target.database,
    ...(target.schema === undefined ? {} : {schema: target.schema}),
    isolation: config.isolation,
    tables: tables.map((t) => ({
      file: csvFileName(t.schema, t.table),
      schema: t.schema,
      table: t.table,
      rows:
        t.filter.kind === 'all'
          ? 'all'
          : t.filter.kind === 'column'
            ? {column: t.filter.column}
            : {
                via: {
                  column: t.filter.column,
                  references: `${t.filter.references.schema}.${t.filter.references.table}.${t.filter.references.column}`,
                },
              },
      columns: t.columns.map((c) => ({name: c.name, type: c.type, nullable: c.nullable})),
    })),
  }
}
