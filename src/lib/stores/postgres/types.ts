/**
 * The PostgreSQL store's part of the data map (`databases[]` with `engine: postgresql`, field names
 * as in PRODUCT.md) and the resolved form the other modules work with. Parsing table names from
 * the map happens here, once.
 */
import {CustosError, ExitCode} from '../../errors.js'

/** A `tables[]` entry: `schema.table`, or a table reached through a foreign key. */
export type PostgresTableEntry = string | {table: string; via: {column: string; references: string}}

/** One `databases[]` entry with `engine: postgresql`. */
export interface PostgresDatabaseConfig {
  name: string
  engine: 'postgresql'
  host: string
  /** default 5432 */
  port?: number
  /** for isolation `database` a template such as `tenant_{customer}`; else the database's name */
  database: string
  /** the flexible server's ARM id (for its backups: see residuals.ts) */
  resourceId?: string
  /** entra: an Entra ID token as the password; password: read from `passwordEnv` */
  auth: 'entra' | 'password'
  /** the database role custos logs in as */
  user: string
  /** auth password: the environment variable holding the password (never the password itself) */
  passwordEnv?: string
  /** a PEM file to trust besides the system store; TLS is always verify-full */
  ca?: string
  isolation: 'shared' | 'schema' | 'database'
  /** shared: the column holding the customer id, matched exactly */
  tenantColumn?: string
  /** shared: every table that holds customer rows */
  tables?: PostgresTableEntry[]
  /** isolation schema: the schema template, e.g. `tenant_{customer}` */
  schema?: string
}

/** A table's qualified name, exactly as in pg_catalog (case and all). */
export interface TableName {
  schema: string
  table: string
}

/** A column's qualified name. */
export interface ColumnName extends TableName {
  column: string
}

/** How a mapped table's customer rows are found. */
export type RowFilter =
  | {kind: 'column'; column: string}
  | {kind: 'via'; column: string; references: ColumnName}
  /** every row of the table (isolation schema / database: the table belongs to the customer) */
  | {kind: 'all'}

export interface MappedTable extends TableName {
  /** `schema.table` as shown to people and used in file names */
  display: string
  filter: RowFilter
}

/**
 * Splits a dotted name from the data map into `parts` identifiers. A part that starts with `"` is
 * quoted SQL-style (`""` is a quote; needed only for a name containing a dot); any other part runs
 * to the next dot and is taken verbatim — NOT folded to lower case as SQL would: the data map
 * names tables exactly as pg_catalog shows them, so `public.Kunden` means the table "Kunden".
 */
export function parseDottedName(text: string, parts: number, field: string): string[] {
  const out: string[] = []
  let i = 0
  while (i <= text.length) {
    let part = ''
    if (text[i] === '"') {
      i++
      for (;;) {
        if (i >= text.length) throw nameError(field, text, 'an opening quote has no closing quote')
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            part += '"'
            i += 2
            continue
          }

          i++
          break
        }

        part += text[i++]
      }

      if (i < text.length && text[i] !== '.') throw nameError(field, text, 'a quoted name must be followed by "."')
    } else {
      const end = text.indexOf('.', i)
      part = text.slice(i, end === -1 ? text.length : end)
      i = end === -1 ? text.length : end
    }

    if (part.length === 0) throw nameError(field, text, 'a name part is empty')
    out.push(part)
    if (i >= text.length) break
    i++ // the dot
    if (i >= text.length) throw nameError(field, text, 'it ends with "."')
  }

  if (out.length !== parts) {
    throw nameError(field, text, `expected ${parts === 2 ? 'schema.table' : 'schema.table.column'}`)
  }

  return out
}

function nameError(field: string, text: string, why: string): CustosError {
  return new CustosError(`${field}: "${text}" is not a valid name (${why}).`, {
    code: 'ConfigInvalid',
    exitCode: ExitCode.usage,
    hint: 'Write schema.table (or schema.table.column) with the names exactly as in the database; quote a part with "…" only when it contains a dot.',
  })
}

/** `schema.table` for people; a part that contains a dot or starts with a quote is shown quoted. */
export function displayName(...parts: string[]): string {
  return parts.map((p) => (p.includes('.') || p.startsWith('"') ? `"${p.replaceAll('"', '""')}"` : p)).join('.')
}

/**
 * The mapped tables of an isolation-`shared` database, in map order, with their row filters.
 * Checks only the map's own shape; catalog.ts checks them against the database.
 */
export function mappedTables(config: PostgresDatabaseConfig): MappedTable[] {
  const where = `databases[${config.name}]`
  if (config.isolation !== 'shared') {
    throw new CustosError(`${where}: mapped tables exist only for isolation "shared".`, {
      code: 'ConfigInvalid',
      exitCode: ExitCode.usage,
    })
  }

  if (!config.tenantColumn) {
    throw new CustosError(`${where}.tenantColumn is required for isolation "shared".`, {
      code: 'ConfigInvalid',
      exitCode: ExitCode.usage,
    })
  }

  if (!config.tables || config.tables.length === 0) {
    throw new CustosError(`${where}.tables must list every table that holds customer rows.`, {
      code: 'ConfigInvalid',
      exitCode: ExitCode.usage,
    })
  }

  const seen = new Set<string>()
  return config.tables.map((entry, i) => {
    const field = `${where}.tables[${i}]`
    const [schema, table] = parseDottedName(typeof entry === 'string' ? entry : entry.table, 2, field)
    const key = JSON.stringify([schema, table])
    if (seen.has(key)) {
      throw new CustosError(`${field}: ${displayName(schema, table)} is listed twice.`, {
        code: 'ConfigInvalid',
        exitCode: ExitCode.usage,
      })
    }

    seen.add(key)
    const display = displayName(schema, table)
    if (typeof entry === 'string')
      return {schema, table, display, filter: {kind: 'column', column: config.tenantColumn!}}
    const [rs, rt, rc] = parseDottedName(entry.via.references, 3, `${field}.via.references`)
    return {
      schema,
      table,
      display,
      filter: {kind: 'via', column: entry.via.column, references: {schema: rs, table: rt, column: rc}},
    }
  })
}
