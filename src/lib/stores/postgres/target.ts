/**
 * Where one customer's rows live in a PostgreSQL store, and the one function that opens the
 * connection to it and checks the tables there (every operation starts with it, so none can skip
 * the map's safety check).
 */
import type pg from 'pg'

import {expandCustomer} from '../../datamap/placeholders.js'
import {CustosError, ExitCode} from '../../errors.js'
import {assertMapSafe, checkIsolatedTables, checkSharedMap, type CatalogCheck, type CheckedTable} from './catalog.js'
import {connect, fromPostgresError, type ConnectOptions} from './connection.js'
import {tableKey} from './rows.js'
import type {PostgresDatabaseConfig} from './types.js'

/** PostgreSQL's identifier limit: longer names are silently truncated (NAMEDATALEN - 1 bytes). */
const MAX_IDENTIFIER_BYTES = 63

/** A customer's place in a store. */
export interface PostgresTarget {
  customer: string
  isolation: PostgresDatabaseConfig['isolation']
  /** the database holding the customer's rows (isolation database: the customer's own) */
  database: string
  /** isolation schema: the customer's schema */
  schema?: string
}

/**
 * The customer's database and schema. The customer id must already have passed the data map's
 * idPattern (scope.ts); this re-checks only what a name in PostgreSQL needs: a template that
 * contains `{customer}`, and a result short enough that PostgreSQL will not truncate it — two
 * long ids that share 63 bytes would otherwise name the same schema or database.
 */
export function targetOf(config: PostgresDatabaseConfig, customer: string): PostgresTarget {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(customer)) {
    throw new CustosError(`Customer id ${JSON.stringify(customer)} is not acceptable for database ${config.name}.`, {
      code: 'InvalidCustomerId',
      exitCode: ExitCode.usage,
    })
  }

  const expand = (field: 'database' | 'schema'): string => {
    const template = config[field]
    if (!template || !template.includes('{customer}')) {
      throw new CustosError(
        `Database ${config.name}: with isolation "${config.isolation}", ${field} must contain {customer} (e.g. "tenant_{customer}").`,
        {code: 'ConfigInvalid', exitCode: ExitCode.usage},
      )
    }

    const name = expandCustomer(template, customer)
    if (Buffer.byteLength(name) > MAX_IDENTIFIER_BYTES) {
      throw new CustosError(
        `Database ${config.name}: the ${field} name "${name}" for customer ${customer} is longer than PostgreSQL's ${MAX_IDENTIFIER_BYTES} bytes.`,
        {
          code: 'ConfigInvalid',
          exitCode: ExitCode.usage,
          hint: 'PostgreSQL truncates longer names, so two customers could share one; shorten the template or customers.idPattern.',
        },
      )
    }

    return name
  }

  switch (config.isolation) {
    case 'shared': {
      return {customer, isolation: 'shared', database: config.database}
    }

    case 'schema': {
      return {customer, isolation: 'schema', database: config.database, schema: expand('schema')}
    }

    case 'database': {
      return {customer, isolation: 'database', database: expand('database')}
    }
  }
}

export interface OpenedTarget {
  target: PostgresTarget
  client: pg.Client
  check: CatalogCheck
  /** the checked tables by {@link tableKey} */
  byKey: Map<string, CheckedTable>
  close(): Promise<void>
}

/**
 * Connects to the customer's database, checks the tables (throws when the map is unsafe, exit 3,
 * or names what is not there, exit 2) and returns the client with the checked tables.
 * For isolation schema a missing schema is an error naming it; for database, a missing database.
 */
export async function openTarget(
  config: PostgresDatabaseConfig,
  customer: string,
  options: ConnectOptions = {},
): Promise<OpenedTarget> {
  const target = targetOf(config, customer)
  const client = await connect(config, {...options, database: target.database})
  try {
    let check: CatalogCheck
    if (target.isolation === 'shared') {
      check = await checkSharedMap(client, config)
    } else {
      if (target.schema !== undefined) {
        const found = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [target.schema])
        if (found.rowCount === 0) {
          throw new CustosError(
            `Database ${config.name}: schema ${target.schema} of customer ${customer} does not exist in database ${target.database}.`,
            {code: 'SchemaMissing', exitCode: ExitCode.usage, hint: 'Check the schema template and the customer id.'},
          )
        }
      }

      check = await checkIsolatedTables(client, target.schema)
    }

    assertMapSafe(check, config)
    return {
      target,
      client,
      check,
      byKey: new Map(check.tables.map((t) => [tableKey(t), t])),
      close: () => client.end().catch(() => {}),
    }
  } catch (error) {
    await client.end().catch(() => {})
    throw fromPostgresError(error, `database ${target.database} on ${config.host}`, config.user)
  }
}

/**
 * The check `config validate` runs for a store, without a customer: signs in, and for isolation
 * shared checks the whole map against the catalog (problems are returned, not thrown). For schema
 * and database isolation the templates are checked with a sample id, and the database (schema)
 * or maintenance database (database) must be reachable.
 */
export async function validateDatabase(
  config: PostgresDatabaseConfig,
  options: ConnectOptions & {maintenanceDatabase?: string} = {},
): Promise<CatalogCheck> {
  if (config.isolation !== 'shared') targetOf(config, 'sample-customer-id')
  const database = config.isolation === 'database' ? (options.maintenanceDatabase ?? 'postgres') : config.database
  const client = await connect(config, {...options, database})
  try {
    if (config.isolation === 'shared') return await checkSharedMap(client, config)
    return {tables: [], problems: [], warnings: [], foreignKeys: []}
  } finally {
    await client.end().catch(() => {})
  }
}
