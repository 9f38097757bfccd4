/**
 * The Azure Table storage store's part of the data map (`databases[]` with `engine: table`, field
 * names as in PRODUCT.md) and how one customer's entities are chosen from it. The customer's
 * entities are found in exactly one of three ways, which the data map chooses by its fields:
 *
 * - `table: "settings"` + `partitionKey: "{customer}"`: the entities whose PartitionKey equals the
 *   expanded template exactly (never a prefix of it);
 * - `table: "settings"` + `rowKeyPrefix: "{customer}|"`: the entities whose RowKey starts with the
 *   expanded prefix, which must end with `|` directly after the id (`acme|` never matches
 *   `acme-corp|…`, for the same reason a blob prefix ends with `/`);
 * - `table: "t{customer}"`: a table per customer, all of whose entities are the customer's; erase
 *   deletes the table whole.
 */
import {CustosError, ExitCode} from '../../errors.js'
import {expandCustomer} from '../../datamap/placeholders.js'

/** One `databases[]` entry with `engine: table`. */
export interface TableDatabaseConfig {
  name: string
  engine: 'table'
  /** a table endpoint URL (Entra ID auth) or a storage connection string */
  account: string
  /** the table's name; may contain `{customer}` for a table per customer */
  table: string
  /** the PartitionKey template, e.g. `{customer}` (exact match) */
  partitionKey?: string
  /** the RowKey prefix template, e.g. `{customer}|` */
  rowKeyPrefix?: string
}

/** How the customer's entities are chosen (also the manifest's and the certificate's `isolation`). */
export type TableIsolation = 'partition-key' | 'row-key-prefix' | 'table'

/** One customer's part of a table store. */
export interface TableTarget {
  table: string
  isolation: TableIsolation
  /** isolation partition-key: the PartitionKey */
  partitionKey?: string
  /** isolation row-key-prefix: the RowKey prefix */
  rowKeyPrefix?: string
  /** the OData filter of the customer's entities (none for a table of its own) */
  filter?: string
  /** how the scope reads in output */
  scope: string
}

/** Azure's rule for table names: 3–63 letters and digits, starting with a letter. */
export const TABLE_NAME = /^[A-Za-z][A-Za-z0-9]{2,62}$/

function isolationOf(config: Pick<TableDatabaseConfig, 'table' | 'partitionKey' | 'rowKeyPrefix'>): TableIsolation {
  if (config.partitionKey !== undefined) return 'partition-key'
  if (config.rowKeyPrefix !== undefined) return 'row-key-prefix'
  return 'table'
}

/** An OData string literal (a quote is doubled). */
function odataString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`
}

/**
 * The first string after every string that starts with `prefix` (its last UTF-16 unit plus one):
 * `RowKey ge 'acme|' and RowKey lt 'acme}'` selects exactly the row keys that start with `acme|`.
 */
function prefixUpperBound(prefix: string): string {
  const last = prefix.charCodeAt(prefix.length - 1)
  return prefix.slice(0, -1) + String.fromCharCode(last + 1)
}

/** The customer's part of the store; refuses (exit 3) a table name Azure cannot hold. */
export function tableTargetOf(config: TableDatabaseConfig, customer: string): TableTarget {
  const table = expandCustomer(config.table, customer)
  if (!TABLE_NAME.test(table))
    throw new CustosError(
      `Database store ${config.name}: the table of customer ${customer} would be "${table}", which is not a valid table name (3–63 letters and digits, starting with a letter).`,
      {
        code: 'ScopeInvalid',
        exitCode: ExitCode.refused,
        hint: 'A table per customer needs customer ids of letters and digits only; use partitionKey or rowKeyPrefix for ids with hyphens.',
      },
    )
  const isolation = isolationOf(config)
  switch (isolation) {
    case 'partition-key': {
      const partitionKey = expandCustomer(config.partitionKey!, customer)
      return {
        table,
        isolation,
        partitionKey,
        filter: `PartitionKey eq ${odataString(partitionKey)}`,
        scope: `${table} PartitionKey = "${partitionKey}"`,
      }
    }

    case 'row-key-prefix': {
      const rowKeyPrefix = expandCustomer(config.rowKeyPrefix!, customer)
      return {
        table,
        isolation,
        rowKeyPrefix,
        filter: `RowKey ge ${odataString(rowKeyPrefix)} and RowKey lt ${odataString(prefixUpperBound(rowKeyPrefix))}`,
        scope: `${table} RowKey starts with "${rowKeyPrefix}"`,
      }
    }

    case 'table': {
      return {table, isolation, scope: `table ${table} (the customer's own)`}
    }
  }
}

/** Whether an entity (as listed) belongs to the target: checked again on every entity read or deleted. */
export function inTarget(target: TableTarget, entity: {PartitionKey?: unknown; RowKey?: unknown}): boolean {
  switch (target.isolation) {
    case 'partition-key': {
      return entity.PartitionKey === target.partitionKey
    }

    case 'row-key-prefix': {
      return typeof entity.RowKey === 'string' && entity.RowKey.startsWith(target.rowKeyPrefix!)
    }

    case 'table': {
      return true
    }
  }
}
