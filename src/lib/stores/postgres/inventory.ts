/**
 * What a customer holds in a PostgreSQL store: per table the number of rows and their approximate
 * size (the sum of pg_column_size over the customer's rows: the bytes of the row values as stored,
 * compressed TOAST values at their compressed size, without page and index overhead).
 */
import {fromPostgresError, type ConnectOptions} from './connection.js'
import {customerRowsSql} from './rows.js'
import {openTarget} from './target.js'
import type {PostgresDatabaseConfig} from './types.js'

export interface TableInventory {
  /** `schema.table` */
  table: string
  rows: number
  /** approximate bytes of the customer's rows */
  bytes: number
}

export interface PostgresInventory {
  store: string
  database: string
  schema?: string
  tables: TableInventory[]
  rows: number
  bytes: number
}

/** Counts the customer's rows and bytes per table, tables in deletion order. */
export async function inventoryCustomer(
  config: PostgresDatabaseConfig,
  customer: string,
  options: ConnectOptions = {},
): Promise<PostgresInventory> {
  const opened = await openTarget(config, customer, options)
  try {
    const tables: TableInventory[] = []
    // one snapshot for all tables, so that the totals describe one moment
    await opened.client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY')
    for (const table of opened.check.tables) {
      const r = await opened.client
        .query<{rows: string; bytes: string}>(
          `SELECT count(*) AS rows, coalesce(sum(pg_column_size(t.*)), 0) AS bytes ${customerRowsSql(table, opened.byKey, {kind: 'param', index: 1})}`,
          table.filter.kind === 'all' ? [] : [customer],
        )
        .catch((error: unknown) => {
          throw fromPostgresError(error, `table ${table.display} in database ${opened.target.database}`, config.user)
        })
      tables.push({table: table.display, rows: Number(r.rows[0].rows), bytes: Number(r.rows[0].bytes)})
    }

    await opened.client.query('COMMIT')
    return {
      store: config.name,
      database: opened.target.database,
      schema: opened.target.schema,
      tables,
      rows: tables.reduce((n, t) => n + t.rows, 0),
      bytes: tables.reduce((n, t) => n + t.bytes, 0),
    }
  } finally {
    await opened.close()
  }
}
