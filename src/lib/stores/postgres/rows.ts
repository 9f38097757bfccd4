/**
 * The one place that says, in SQL, which rows of a table belong to a customer. Every other module
 * (inventory, export, erase, verification) asks here, so that counting, copying, deleting and
 * checking always select the same rows. Identifiers are quoted by the driver; the customer id is
 * never part of the text: it is `$1` (a bound parameter), or for COPY — which takes no parameters —
 * the transaction-local setting `custos.tenant`, itself set through a bound parameter.
 */
import {ident, qualified} from './connection.js'
import type {CheckedTable} from './catalog.js'

/** How the SQL refers to the customer id. */
export type TenantRef =
  /** `$n`, a bound parameter */
  | {kind: 'param'; index: number}
  /** `current_setting('custos.tenant')`, cast to the tenant column's type */
  | {kind: 'setting'}

export const TENANT_SETTING = 'custos.tenant'

function tenantSql(ref: TenantRef, baseType: string): string {
  if (ref.kind === 'param') return `$${ref.index}`
  // The type comes from the catalog (format_type without typmod: a varchar(n) cast would truncate
  // a longer id into a shorter one, which could equal another customer's id).
  return `CAST(current_setting('${TENANT_SETTING}') AS ${baseType})`
}

/**
 * `FROM "schema"."table" AS <alias> WHERE <the customer's rows>` for a checked table. A `via`
 * table is reached with a semi-join through its referenced table, recursively (a chain of `via`
 * tables is allowed; catalog.ts refuses cycles).
 */
export function customerRowsSql(
  table: CheckedTable,
  tables: ReadonlyMap<string, CheckedTable>,
  ref: TenantRef,
  alias = 't',
): string {
  return `FROM ${qualified(table)} AS ${alias} WHERE ${conditionSql(table, tables, ref, alias, 0)}`
}

/** The condition alone, on a row aliased `alias` (erase re-checks it on every row it deletes). */
export function customerConditionSql(
  table: CheckedTable,
  tables: ReadonlyMap<string, CheckedTable>,
  ref: TenantRef,
  alias: string,
): string {
  return conditionSql(table, tables, ref, alias, 0)
}

function conditionSql(
  table: CheckedTable,
  tables: ReadonlyMap<string, CheckedTable>,
  ref: TenantRef,
  alias: string,
  depth: number,
): string {
  const {filter} = table
  switch (filter.kind) {
    case 'all': {
      return 'true'
    }

    case 'column': {
      return `${alias}.${ident(filter.column)} = ${tenantSql(ref, table.tenantBaseType!)}`
    }

    case 'via': {
      const parent = tables.get(tableKey(filter.references))
      if (!parent) throw new Error(`bug: ${table.display} is reached via an unchecked table`)
      if (depth > tables.size) throw new Error(`bug: the via chain of ${table.display} loops`)
      const inner = `r${depth}`
      return (
        `${alias}.${ident(filter.column)} IN (SELECT ${inner}.${ident(filter.references.column)} ` +
        `FROM ${qualified(parent)} AS ${inner} WHERE ${conditionSql(parent, tables, ref, inner, depth + 1)})`
      )
    }
  }
}

/** A map key for a table name (schema and table may hold any character). */
export function tableKey(t: {schema: string; table: string}): string {
  return JSON.stringify([t.schema, t.table])
}
