/**
 * Demo and test data for the PostgreSQL store: a shared-schema application database with four
 * customers (acme, its prefix neighbour acme-corp, globex, initech), three tables linked by
 * foreign keys (projects ← documents ← comments, comments without a tenant column, reached via
 * documents), and one table whose name holds a double quote, a single quote, mixed case, spaces and
 * umlauts (columns too), to prove identifiers are quoted everywhere. Also a schema per customer
 * and a database per customer, for the other two isolation models, and the least-privilege role
 * custos logs in as.
 *
 * Values are always bound parameters, generated on the server (generate_series), so a million rows
 * take seconds. Where PostgreSQL takes no parameters (role passwords, DDL), the value goes into a
 * transaction-local setting through a bound parameter and a DO block quotes it with format().
 */
import {randomBytes} from 'node:crypto'

import pgModule from 'pg'
import type pg from 'pg'

import {ident, qualified} from '../stores/postgres/connection.js'
import {mappedTables, type PostgresDatabaseConfig} from '../stores/postgres/types.js'
import {startPostgres, type PostgresInstance} from './postgres.js'

export const DEMO_TENANTS = ['acme', 'acme-corp', 'globex', 'initech'] as const

/** The table whose name needs every kind of quoting. */
export const ODD_TABLE = `Notizen "Ärger" d'Acme`
/** Its columns: a mixed-case umlaut name and a name with double quotes. */
const ODD_COLUMNS = {size: 'Größe', text: 'Text "zitiert"'} as const

export interface DemoRowCounts {
  projects: number
  /** per project */
  documentsPerProject: number
  /** per document */
  commentsPerDocument: number
  /** rows in the odd table */
  notes: number
}

export const SMALL_DEMO: DemoRowCounts = {projects: 3, documentsPerProject: 2, commentsPerDocument: 2, notes: 2}

/** Creates the shared-schema tables (in `schema`, default public). Idempotent: IF NOT EXISTS. */
export async function createDemoSchema(client: pg.ClientBase, schema = 'public'): Promise<void> {
  const t = (name: string) => qualified({schema, table: name})
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${ident(schema)}`)
  await client.query(`CREATE TABLE IF NOT EXISTS ${t('projects')} (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id text NOT NULL,
    name text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT '2025-01-01T00:00:00Z')`)
  await client.query(`CREATE TABLE IF NOT EXISTS ${t('documents')} (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id text NOT NULL,
    project_id bigint NOT NULL REFERENCES ${t('projects')} (id),
    title text NOT NULL,
    body text,
    size integer)`)
  await client.query(`CREATE TABLE IF NOT EXISTS ${t('comments')} (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    document_id bigint NOT NULL REFERENCES ${t('documents')} (id),
    author text NOT NULL,
    body text)`)
  await client.query(`CREATE TABLE IF NOT EXISTS ${t(ODD_TABLE)} (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id text NOT NULL,
    ${ident(ODD_COLUMNS.size)} integer,
    ${ident(ODD_COLUMNS.text)} text)`)
  // the indexes an application of this shape has; erase and export rely on them for speed only
  await client.query(`CREATE INDEX IF NOT EXISTS projects_tenant ON ${t('projects')} (tenant_id)`)
  await client.query(`CREATE INDEX IF NOT EXISTS documents_tenant ON ${t('documents')} (tenant_id)`)
  await client.query(`CREATE INDEX IF NOT EXISTS comments_document ON ${t('comments')} (document_id)`)
  await client.query(`CREATE INDEX IF NOT EXISTS notes_tenant ON ${t(ODD_TABLE)} (tenant_id)`)
}

/** Inserts one customer's rows (deterministic content, with commas, quotes, newlines and NULLs). */
export async function seedDemoTenant(
  client: pg.ClientBase,
  tenant: string,
  counts: DemoRowCounts = SMALL_DEMO,
  schema = 'public',
): Promise<void> {
  const t = (name: string) => qualified({schema, table: name})
  await client.query(
    `INSERT INTO ${t('projects')} (tenant_id, name)
     SELECT $1, 'Project ' || g || ' of ' || $1 FROM generate_series(1, $2::int) g`,
    [tenant, counts.projects],
  )
  await client.query(
    `INSERT INTO ${t('documents')} (tenant_id, project_id, title, body, size)
     SELECT $1, p.id, 'Doc ' || g || ', "quoted"', CASE WHEN g % 3 = 0 THEN NULL ELSE E'line 1\\nline 2 of ' || $1 END, g * 10
       FROM ${t('projects')} p CROSS JOIN generate_series(1, $2::int) g WHERE p.tenant_id = $1
      ORDER BY p.id, g`,
    [tenant, counts.documentsPerProject],
  )
  await client.query(
    `INSERT INTO ${t('comments')} (document_id, author, body)
     SELECT d.id, 'author ' || g, 'Kommentar Ä ' || d.id || ' / ' || g
       FROM ${t('documents')} d CROSS JOIN generate_series(1, $2::int) g WHERE d.tenant_id = $1
      ORDER BY d.id, g`,
    [tenant, counts.commentsPerDocument],
  )
  await client.query(
    `INSERT INTO ${t(ODD_TABLE)} (tenant_id, ${ident(ODD_COLUMNS.size)}, ${ident(ODD_COLUMNS.text)})
     SELECT $1, g, 'Ärger "' || g || E'"\\t' || $1 FROM generate_series(1, $2::int) g`,
    [tenant, counts.notes],
  )
}

/** The data map entry for the demo's shared-schema database. */
export function demoDatabaseConfig(
  server: {host: string; port: number; caFile?: string},
  options: {database: string; user: string; passwordEnv: string; schema?: string; name?: string},
): PostgresDatabaseConfig {
  const schema = options.schema ?? 'public'
  const q = (table: string) =>
    table.includes('.') ? `${schema}."${table.replaceAll('"', '""')}"` : `${schema}.${table}`
  return {
    name: options.name ?? 'app-db',
    engine: 'postgresql',
    host: server.host,
    port: server.port,
    database: options.database,
    auth: 'password',
    user: options.user,
    passwordEnv: options.passwordEnv,
    ...(server.caFile ? {ca: server.caFile} : {}),
    isolation: 'shared',
    tenantColumn: 'tenant_id',
    tables: [
      q('projects'),
      q('documents'),
      {table: q('comments'), via: {column: 'document_id', references: `${schema}.documents.id`}},
      q(ODD_TABLE),
    ],
  }
}

/**
 * Creates (or updates) a login role with exactly what erase needs on the given tables: CONNECT,
 * USAGE on their schemas, SELECT and DELETE. Nothing else: no INSERT, UPDATE, TRUNCATE or DDL.
 */
export async function createCustosRole(
  client: pg.ClientBase,
  role: string,
  password: string,
  database: string,
  tables: {schema: string; table: string}[],
  privileges: ('DELETE' | 'SELECT')[] = ['SELECT', 'DELETE'],
): Promise<void> {
  await client.query('BEGIN')
  try {
    await client.query(`SELECT set_config('custos.role', $1, true), set_config('custos.password', $2, true)`, [
      role,
      password,
    ])
    // CREATE/ALTER ROLE take no parameters: format() quotes the values on the server, read from
    // settings that were set through bound parameters.
    await client.query(`DO $$ BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = current_setting('custos.role')) THEN
        EXECUTE format('CREATE ROLE %I LOGIN', current_setting('custos.role'));
      END IF;
      EXECUTE format('ALTER ROLE %I PASSWORD %L', current_setting('custos.role'), current_setting('custos.password'));
    END $$`)
    await client.query('COMMIT')
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {})
    throw error
  }

  await client.query(`GRANT CONNECT ON DATABASE ${ident(database)} TO ${ident(role)}`)
  for (const schema of new Set(tables.map((t) => t.schema))) {
    await client.query(`GRANT USAGE ON SCHEMA ${ident(schema)} TO ${ident(role)}`)
  }

  for (const t of tables) {
    await client.query(`GRANT ${privileges.join(', ')} ON ${qualified(t)} TO ${ident(role)}`)
  }
}

/** The demo's application database: a local server with the shared-schema tables and the demo tenants. */
export interface DemoPostgres {
  server: PostgresInstance
  /** the `databases[]` entry (auth password, the password in {@link DEMO_PASSWORD_ENV}) */
  config: PostgresDatabaseConfig
  stop(): Promise<void>
}

/** Where the demo puts the password of its role: the data map names the variable, never the value. */
const DEMO_PASSWORD_ENV = 'CUSTOS_DEMO_PG_PASSWORD'

/**
 * Starts a local PostgreSQL (loopback, TLS verify-full against its own CA) with a database `app`
 * holding the demo tenants' rows, and the least-privilege role custos logs in as. Sets
 * {@link DEMO_PASSWORD_ENV} in this process.
 */
export async function startDemoPostgres(): Promise<DemoPostgres> {
  const server = await startPostgres()
  try {
    const admin = new pgModule.Client(server.clientConfig())
    await admin.connect()
    await admin.query('CREATE DATABASE app')
    await admin.end()
    const app = new pgModule.Client(server.clientConfig('app'))
    await app.connect()
    try {
      await createDemoSchema(app)
      for (const tenant of DEMO_TENANTS) await seedDemoTenant(app, tenant)
      const password = randomBytes(18).toString('base64url')
      process.env[DEMO_PASSWORD_ENV] = password
      const config = demoDatabaseConfig(server, {database: 'app', user: 'custos', passwordEnv: DEMO_PASSWORD_ENV})
      await createCustosRole(app, 'custos', password, 'app', mappedTables(config))
      return {server, config, stop: () => server.stop()}
    } finally {
      await app.end().catch(() => {})
    }
  } catch (error) {
    await server.stop()
    throw error
  }
}
