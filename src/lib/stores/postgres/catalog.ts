/**
 * Checks a PostgreSQL store's part of the data map against the database's own catalog (pg_catalog,
 * read with bound parameters only) and computes the order in which tables are emptied.
 *
 * A map is refused when it would delete incompletely or too much:
 *   - a mapped table or column does not exist (the map is wrong: exit 2);
 *   - an unmapped table has a foreign key into a mapped table: with ON DELETE CASCADE the erase
 *     would delete its rows too, with SET NULL / SET DEFAULT change them, and with NO ACTION /
 *     RESTRICT either fail or — the real problem — those rows are customer data the map forgot
 *     (exit 3, naming table and constraint);
 *   - row-level security would hide rows from the role custos runs as (counts and the final
 *     verification would then lie);
 *   - the foreign keys among mapped tables form a cycle (no children-first order exists).
 */
import type pg from 'pg'

import {CustosError, ExitCode} from '../../errors.js'
import {fromPostgresError} from './connection.js'
import {tableKey} from './rows.js'
import {displayName, mappedTables, type MappedTable, type PostgresDatabaseConfig, type TableName} from './types.js'

export interface ColumnInfo {
  name: string
  /** format_type() with typmod, e.g. `character varying(64)` */
  type: string
  nullable: boolean
}

export interface CheckedTable extends MappedTable {
  oid: number
  columns: ColumnInfo[]
  /** filter kind `column`: the tenant column's type without typmod, for casts */
  tenantBaseType?: string
  /** the primary key's columns in key order; empty when the table has none */
  primaryKey: string[]
  /** what the connected role may do */
  privileges: {select: boolean; delete: boolean}
}

export interface CatalogProblem {
  /** `missing`: the map names what is not there (exit 2); `unsafe`: erase would delete wrongly (exit 3) */
  kind: 'missing' | 'unsafe'
  /** `schema.table` the problem is about */
  table: string
  /** the constraint's name, where one is involved */
  constraint?: string
  message: string
}

export interface CatalogCheck {
  /** the mapped (or, for schema/database isolation, found) tables, children before parents */
  tables: CheckedTable[]
  problems: CatalogProblem[]
  /** things that do not stop custos but an operator should know */
  warnings: string[]
  /** the foreign keys between two checked tables (erase checks the rows along them) */
  foreignKeys: ForeignKey[]
}

export interface ForeignKey {
  name: string
  child: TableName & {oid: number}
  parent: TableName & {oid: number}
  /** the referencing columns of the child, in key order */
  childColumns: string[]
  /** the referenced columns of the parent, in the same order */
  parentColumns: string[]
  /** a cascade, n set null, d set default, a no action, r restrict */
  onDelete: 'a' | 'c' | 'd' | 'n' | 'r'
}

const onDeleteWords: Record<ForeignKey['onDelete'], string> = {
  a: 'ON DELETE NO ACTION',
  r: 'ON DELETE RESTRICT',
  c: 'ON DELETE CASCADE',
  n: 'ON DELETE SET NULL',
  d: 'ON DELETE SET DEFAULT',
}

/**
 * Checks an isolation-`shared` map: every table and column exists, no unmapped table depends on a
 * mapped one, and a children-first order exists. Never throws for a bad map: see `problems`.
 */
export async function checkSharedMap(client: pg.ClientBase, config: PostgresDatabaseConfig): Promise<CatalogCheck> {
  const mapped = mappedTables(config)
  const problems: CatalogProblem[] = []
  const warnings: string[] = []
  const found = new Map<string, CheckedTable>()
  try {
    for (const m of mapped) {
      const table = await describeTable(client, m)
      if (!table) {
        problems.push({
          kind: 'missing',
          table: m.display,
          message: `Table ${m.display} does not exist${await nearName(client, m)}.`,
        })
        continue
      }

      found.set(tableKey(m), table)
      const column = m.filter.kind === 'all' ? undefined : m.filter.column
      if (column && !table.columns.some((c) => c.name === column)) {
        problems.push({
          kind: 'missing',
          table: m.display,
          message:
            m.filter.kind === 'column'
              ? `Table ${m.display} has no tenant column ${JSON.stringify(column)} (tenantColumn).`
              : `Table ${m.display} has no column ${JSON.stringify(column)} (via.column).`,
        })
      }

      if (m.filter.kind === 'column' && column) {
        table.tenantBaseType = (await columnBaseType(client, table.oid, column)) ?? undefined
      }

      const rls = await client.query<{hidden: boolean}>(
        `SELECT c.relrowsecurity
                AND NOT (SELECT rolbypassrls FROM pg_roles WHERE rolname = current_user)
                AND (c.relforcerowsecurity OR NOT pg_has_role(c.relowner, 'USAGE')) AS hidden
           FROM pg_class c WHERE c.oid = $1`,
        [table.oid],
      )
      if (rls.rows[0]?.hidden) {
        problems.push({
          kind: 'unsafe',
          table: m.display,
          message: `Row-level security on ${m.display} may hide rows from role ${config.user}, so counts and the final check could miss rows.`,
        })
      }
    }

    // `via` references: the referenced table must be mapped (its filter selects the parents) and
    // the referenced column must exist.
    for (const m of mapped) {
      if (m.filter.kind !== 'via') continue
      const ref = m.filter.references
      const refShown = displayName(ref.schema, ref.table, ref.column)
      const parent = found.get(tableKey(ref))
      if (!parent) {
        const exists = await describeTable(client, {
          schema: ref.schema,
          table: ref.table,
          display: displayName(ref.schema, ref.table),
          filter: {kind: 'all'},
        })
        problems.push({
          kind: exists ? 'unsafe' : 'missing',
          table: m.display,
          message: exists
            ? `Table ${m.display} is reached via ${refShown}, but ${displayName(ref.schema, ref.table)} is not mapped; map it too.`
            : `Table ${m.display} is reached via ${refShown}, but that table does not exist.`,
        })
      } else if (!parent.columns.some((c) => c.name === ref.column)) {
        problems.push({
          kind: 'missing',
          table: m.display,
          message: `Table ${m.display} is reached via ${refShown}, but that column does not exist.`,
        })
      }
    }

    const fks = await foreignKeysTouching(
      client,
      [...found.values()].map((t) => t.oid),
    )
    const isMapped = (oid: number) => [...found.values()].some((t) => t.oid === oid)
    for (const fk of fks) {
      if (isMapped(fk.parent.oid) && !isMapped(fk.child.oid)) {
        const child = displayName(fk.child.schema, fk.child.table)
        const parent = displayName(fk.parent.schema, fk.parent.table)
        problems.push({
          kind: 'unsafe',
          table: child,
          constraint: fk.name,
          message: unmappedChildMessage(child, parent, fk),
        })
      }
    }

    for (const m of mapped) {
      if (m.filter.kind !== 'via') continue
      const {filter} = m
      const backed = fks.some(
        (fk) =>
          fk.child.schema === m.schema &&
          fk.child.table === m.table &&
          fk.parent.schema === filter.references.schema &&
          fk.parent.table === filter.references.table,
      )
      if (!backed) {
        warnings.push(
          `${m.display}: no foreign key backs via ${filter.column} → ${displayName(filter.references.schema, filter.references.table, filter.references.column)}; rows whose parent is already gone cannot be attributed to a customer.`,
        )
      }
    }

    const ordered = deletionOrder([...found.values()], fks, problems)
    return {tables: ordered, problems, warnings, foreignKeys: between(fks, ordered)}
  } catch (error) {
    throw fromPostgresError(error, `the catalog of database ${config.database}`, config.user)
  }
}

function unmappedChildMessage(child: string, parent: string, fk: ForeignKey): string {
  const rule = onDeleteWords[fk.onDelete]
  switch (fk.onDelete) {
    case 'c': {
      return `Unmapped table ${child} references mapped table ${parent} with ${rule} (constraint ${fk.name}): erasing would delete rows of ${child} that the map does not list. Map ${child} or change the constraint.`
    }

    case 'n':
    case 'd': {
      return `Unmapped table ${child} references mapped table ${parent} with ${rule} (constraint ${fk.name}): erasing would change rows of ${child} that the map does not list. Map ${child} or change the constraint.`
    }

    default: {
      return `Unmapped table ${child} references mapped table ${parent} (constraint ${fk.name}, ${rule}): its rows belong to the customer's rows, so erasing would leave them behind (or fail). Map ${child}.`
    }
  }
}

/** The table, its columns and privileges; undefined when no such table (or partitioned table) exists. */
async function describeTable(client: pg.ClientBase, m: MappedTable): Promise<CheckedTable | undefined> {
  const rel = await client.query<{oid: number; select: boolean; delete: boolean}>(
    `SELECT c.oid::int AS oid,
            has_table_privilege(c.oid, 'SELECT') AS select,
            has_table_privilege(c.oid, 'DELETE') AS delete
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')`,
    [m.schema, m.table],
  )
  const row = rel.rows[0]
  if (!row) return undefined
  const columns = await client.query<ColumnInfo>(
    `SELECT attname AS name, format_type(atttypid, atttypmod) AS type, NOT attnotnull AS nullable
       FROM pg_attribute WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
    [row.oid],
  )
  const pk = await client.query<{name: string}>(
    `SELECT a.attname AS name
       FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n)
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
      WHERE i.indrelid = $1 AND i.indisprimary ORDER BY k.n`,
    [row.oid],
  )
  return {
    ...m,
    oid: row.oid,
    columns: columns.rows,
    primaryKey: pk.rows.map((r) => r.name),
    privileges: {select: row.select, delete: row.delete},
  }
}

async function columnBaseType(client: pg.ClientBase, oid: number, column: string): Promise<string | undefined> {
  const r = await client.query<{type: string}>(
    `SELECT format_type(atttypid, NULL) AS type FROM pg_attribute
      WHERE attrelid = $1 AND attname = $2 AND attnum > 0 AND NOT attisdropped`,
    [oid, column],
  )
  return r.rows[0]?.type
}

/** ", did you mean X?" when a table of that name exists in another case or schema. */
async function nearName(client: pg.ClientBase, m: TableName): Promise<string> {
  const r = await client.query<{schema: string; table: string}>(
    `SELECT n.nspname AS schema, c.relname AS table
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND lower(c.relname) = lower($1)
        AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      ORDER BY (lower(n.nspname) = lower($2)) DESC LIMIT 1`,
    [m.table, m.schema],
  )
  const near = r.rows[0]
  return near ? ` (names are case-sensitive; did you mean ${displayName(near.schema, near.table)}?)` : ''
}

function between(fks: ForeignKey[], tables: CheckedTable[]): ForeignKey[] {
  const oids = new Set(tables.map((t) => t.oid))
  return fks.filter((fk) => oids.has(fk.child.oid) && oids.has(fk.parent.oid))
}

/** Every foreign key from or into the given tables (inherited copies on partitions left out). */
async function foreignKeysTouching(client: pg.ClientBase, oids: number[]): Promise<ForeignKey[]> {
  if (oids.length === 0) return []
  const r = await client.query<{
    name: string
    child_oid: number
    child_schema: string
    child_table: string
    parent_oid: number
    parent_schema: string
    parent_table: string
    on_delete: ForeignKey['onDelete']
    child_columns: string[]
    parent_columns: string[]
  }>(
    `SELECT con.conname AS name,
            ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
                    JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.i) AS child_columns,
            ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(n, i)
                    JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.i) AS parent_columns,
            c.oid::int AS child_oid, cn.nspname AS child_schema, c.relname AS child_table,
            f.oid::int AS parent_oid, fn.nspname AS parent_schema, f.relname AS parent_table,
            con.confdeltype AS on_delete
       FROM pg_constraint con
       JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace cn ON cn.oid = c.relnamespace
       JOIN pg_class f ON f.oid = con.confrelid JOIN pg_namespace fn ON fn.oid = f.relnamespace
      WHERE con.contype = 'f' AND con.conparentid = 0
        AND (con.confrelid = ANY($1::oid[]) OR con.conrelid = ANY($1::oid[]))
      ORDER BY cn.nspname, c.relname, con.conname`,
    [oids],
  )
  return r.rows.map((row) => ({
    name: row.name,
    child: {oid: row.child_oid, schema: row.child_schema, table: row.child_table},
    parent: {oid: row.parent_oid, schema: row.parent_schema, table: row.parent_table},
    childColumns: row.child_columns,
    parentColumns: row.parent_columns,
    onDelete: row.on_delete,
  }))
}

/**
 * Children before parents: a table comes before every table it references by a foreign key or
 * reaches `via`. A self-reference with CASCADE / SET NULL / SET DEFAULT is left to the server
 * (deleting any of the customer's rows is allowed); any other cycle is a problem. Among tables
 * that could go in either order the map's order is kept.
 */
function deletionOrder(tables: CheckedTable[], fks: ForeignKey[], problems: CatalogProblem[]): CheckedTable[] {
  const byOid = new Map(tables.map((t) => [t.oid, t]))
  const byKey = new Map(tables.map((t) => [tableKey(t), t]))
  /** parent oid → child oids that must go first */
  const mustFollow = new Map<number, Set<number>>(tables.map((t) => [t.oid, new Set()]))
  const edgeName = new Map<string, string>()
  const addEdge = (child: number, parent: number, name: string) => {
    mustFollow.get(parent)!.add(child)
    edgeName.set(`${child}>${parent}`, name)
  }

  for (const fk of fks) {
    if (!byOid.has(fk.child.oid) || !byOid.has(fk.parent.oid)) continue
    if (fk.child.oid === fk.parent.oid) {
      if (fk.onDelete === 'a' || fk.onDelete === 'r') {
        const t = byOid.get(fk.child.oid)!
        problems.push({
          kind: 'unsafe',
          table: t.display,
          constraint: fk.name,
          message: `Table ${t.display} references itself (constraint ${fk.name}, ${onDeleteWords[fk.onDelete]}), so no batch order can delete its rows safely; make the constraint ON DELETE CASCADE or DEFERRABLE.`,
        })
      }

      continue
    }

    addEdge(fk.child.oid, fk.parent.oid, `constraint ${fk.name}`)
  }

  for (const t of tables) {
    if (t.filter.kind !== 'via') continue
    const parent = byKey.get(tableKey(t.filter.references))
    if (parent && parent.oid !== t.oid && !mustFollow.get(parent.oid)!.has(t.oid)) {
      addEdge(t.oid, parent.oid, `via ${t.filter.column}`)
    }
  }

  const order: CheckedTable[] = []
  const placed = new Set<number>()
  while (order.length < tables.length) {
    const next = tables.find(
      (t) => !placed.has(t.oid) && [...mustFollow.get(t.oid)!].every((child) => placed.has(child)),
    )
    if (!next) {
      const rest = tables.filter((t) => !placed.has(t.oid))
      const names = rest.map((t) => t.display).join(', ')
      const constraints = [...edgeName.entries()]
        .filter(
          ([edge]) => rest.some((t) => edge.endsWith(`>${t.oid}`)) && rest.some((t) => edge.startsWith(`${t.oid}>`)),
        )
        .map(([, name]) => name)
      problems.push({
        kind: 'unsafe',
        table: rest[0].display,
        constraint: constraints.find((c) => c.startsWith('constraint '))?.slice('constraint '.length),
        message: `The foreign keys among ${names} form a cycle (${constraints.join(', ')}), so no children-first order exists.`,
      })
      order.push(...rest) // for reporting; erase refuses because of the problem
      break
    }

    placed.add(next.oid)
    order.push(next)
  }

  return order
}

/** Throws when a check found problems: exit 3 when any would delete wrongly, else exit 2. */
export function assertMapSafe(check: CatalogCheck, config: PostgresDatabaseConfig): void {
  if (check.problems.length === 0) return
  const unsafe = check.problems.some((p) => p.kind === 'unsafe')
  const first = check.problems[0]
  throw new CustosError(
    check.problems.length === 1
      ? `Database ${config.name}: ${first.message}`
      : `Database ${config.name}: the data map has ${check.problems.length} problems; the first: ${first.message}`,
    {
      code: unsafe ? 'UnsafeDataMap' : 'ConfigInvalid',
      exitCode: unsafe ? ExitCode.refused : ExitCode.usage,
      hint: unsafe
        ? 'custos refuses a map that would leave customer rows behind or delete rows it does not list; fix the map or the constraint.'
        : 'Fix the table and column names in the data map.',
      details: check.problems.map((p) => p.message),
    },
  )
}

/**
 * The tables of an isolated customer: every table of `schema` (isolation schema), or of every
 * non-system schema of the connected database (isolation database). They are checked like mapped
 * tables with filter `all`, and ordered children first.
 */
export async function checkIsolatedTables(client: pg.ClientBase, schema?: string): Promise<CatalogCheck> {
  const inSchemas =
    schema === undefined
      ? "n.nspname NOT IN ('pg_catalog', 'information_schema') AND left(n.nspname, 3) <> 'pg_'"
      : 'n.nspname = $1'
  const r = await client.query<{schema: string; table: string}>(
    `SELECT n.nspname AS schema, c.relname AS table
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND ${inSchemas}
      ORDER BY n.nspname, c.relname`,
    schema === undefined ? [] : [schema],
  )
  const tables: CheckedTable[] = []
  for (const row of r.rows) {
    const t = await describeTable(client, {...row, display: displayName(row.schema, row.table), filter: {kind: 'all'}})
    if (t) tables.push(t)
  }

  const problems: CatalogProblem[] = []
  const fks = await foreignKeysTouching(
    client,
    tables.map((t) => t.oid),
  )
  const ordered = deletionOrder(tables, fks, problems)
  return {tables: ordered, problems, warnings: [], foreignKeys: between(fks, ordered)}
}

/**
 * What outside `schema` depends on something inside it (a foreign key, a view, a function's
 * argument type...): DROP SCHEMA … CASCADE would remove or break those, so erase refuses.
 */
export async function dependentsOutsideSchema(
  client: pg.ClientBase,
  schema: string,
): Promise<{dependent: string; on: string}[]> {
  const r = await client.query<{dependent: string; on: string}>(
    `WITH s AS (SELECT oid FROM pg_namespace WHERE nspname = $1),
     inside AS (
       SELECT 'pg_class'::regclass AS classid, c.oid FROM pg_class c, s WHERE c.relnamespace = s.oid
       UNION ALL SELECT 'pg_type'::regclass, t.oid FROM pg_type t, s WHERE t.typnamespace = s.oid
       UNION ALL SELECT 'pg_proc'::regclass, p.oid FROM pg_proc p, s WHERE p.pronamespace = s.oid)
     SELECT DISTINCT CASE WHEN d.classid = 'pg_rewrite'::regclass
              -- a view's rule: name the view
              THEN (SELECT v.type || ' ' || v.identity FROM pg_rewrite w
                      CROSS JOIN LATERAL pg_identify_object('pg_class'::regclass, w.ev_class, 0) v WHERE w.oid = d.objid)
              ELSE (SELECT x.type || ' ' || x.identity FROM pg_identify_object(d.classid, d.objid, 0) x) END AS dependent,
            (SELECT x.type || ' ' || x.identity FROM pg_identify_object(d.refclassid, d.refobjid, 0) x) AS on
       FROM pg_depend d JOIN inside i ON i.classid = d.refclassid AND i.oid = d.refobjid
       CROSS JOIN LATERAL (SELECT CASE d.classid
           WHEN 'pg_class'::regclass THEN (SELECT relnamespace FROM pg_class WHERE oid = d.objid)
           WHEN 'pg_type'::regclass THEN (SELECT typnamespace FROM pg_type WHERE oid = d.objid)
           WHEN 'pg_proc'::regclass THEN (SELECT pronamespace FROM pg_proc WHERE oid = d.objid)
           WHEN 'pg_constraint'::regclass THEN (SELECT connamespace FROM pg_constraint WHERE oid = d.objid)
           WHEN 'pg_rewrite'::regclass THEN
             (SELECT c.relnamespace FROM pg_rewrite w JOIN pg_class c ON c.oid = w.ev_class WHERE w.oid = d.objid)
           WHEN 'pg_attrdef'::regclass THEN
             (SELECT c.relnamespace FROM pg_attrdef a JOIN pg_class c ON c.oid = a.adrelid WHERE a.oid = d.objid)
           WHEN 'pg_trigger'::regclass THEN
             (SELECT c.relnamespace FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid WHERE g.oid = d.objid)
           WHEN 'pg_policy'::regclass THEN
             (SELECT c.relnamespace FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid WHERE p.oid = d.objid)
           ELSE (SELECT oid FROM pg_namespace WHERE nspname = (pg_identify_object(d.classid, d.objid, 0)).schema)
         END AS ns) o
      WHERE d.deptype IN ('n', 'a') AND o.ns IS DISTINCT FROM (SELECT oid FROM s)
      ORDER BY 1, 2`,
    [schema],
  )
  return r.rows
}
