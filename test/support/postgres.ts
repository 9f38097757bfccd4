/**
 * A real PostgreSQL server for a test file: `usePostgres()` inside a `describe` starts ONE server
 * before the file's tests and stops it after them. One per file rather than one per run: roles and
 * server settings are cluster-wide and the tests change them (read-only roles, revoked grants),
 * so a file never sees another file's leftovers; it costs about three seconds per file, most of it
 * initdb. Inside a file, tests isolate themselves with a fresh database each (freshDatabase()).
 */
import {randomBytes} from 'node:crypto'

import pg from 'pg'
import {to as copyTo} from 'pg-copy-streams'

import {
  createCustosRole,
  createDemoSchema,
  demoDatabaseConfig,
  DEMO_TENANTS,
  seedDemoTenant,
  SMALL_DEMO,
  type DemoRowCounts,
} from '../../src/lib/local/demo-postgres.js'
import {startPostgres, type PostgresInstance} from '../../src/lib/local/postgres.js'
import {ident, qualified} from '../../src/lib/stores/postgres/connection.js'
import {mappedTables, type PostgresDatabaseConfig} from '../../src/lib/stores/postgres/types.js'

export interface TestPostgres {
  readonly server: PostgresInstance
  /** a connected superuser client (closed after the file) */
  admin(database?: string): Promise<pg.Client>
  /** a new empty database, owned by the superuser */
  freshDatabase(prefix?: string): Promise<string>
  /**
   * A new database with the demo schema and tenants, and a role custos logs in as with SELECT and
   * DELETE on the mapped tables; returns the data map entry (password in an env variable).
   */
  demoDatabase(options?: {counts?: DemoRowCounts; privileges?: ('DELETE' | 'SELECT')[]}): Promise<DemoDatabase>
}

export interface DemoDatabase {
  database: string
  config: PostgresDatabaseConfig
  role: string
}

export function usePostgres(): TestPostgres {
  let server: PostgresInstance | undefined
  const clients: pg.Client[] = []

  before(async function () {
    this.timeout(120_000)
    server = await startPostgres()
  })

  after(async function () {
    this.timeout(60_000)
    await Promise.all(clients.map((c) => c.end().catch(() => {})))
    await server?.stop()
  })

  const api: TestPostgres = {
    get server() {
      if (!server) throw new Error('the PostgreSQL server is not running (usePostgres() outside describe?)')
      return server
    },
    async admin(database = 'postgres') {
      const client = new pg.Client(api.server.clientConfig(database))
      client.on('error', () => {})
      await client.connect()
      clients.push(client)
      return client
    },
    async freshDatabase(prefix = 'db') {
      const name = `${prefix}_${randomBytes(4).toString('hex')}`
      const admin = await api.admin()
      await admin.query(`CREATE DATABASE ${ident(name)}`)
      return name
    },
    async demoDatabase(options = {}) {
      const database = await api.freshDatabase('app')
      const admin = await api.admin(database)
      await createDemoSchema(admin)
      for (const tenant of DEMO_TENANTS) await seedDemoTenant(admin, tenant, options.counts ?? SMALL_DEMO)
      const role = `custos_${randomBytes(3).toString('hex')}`
      const passwordEnv = `CUSTOS_TEST_PG_${role.toUpperCase()}`
      const password = randomBytes(18).toString('base64url')
      process.env[passwordEnv] = password
      const config = demoDatabaseConfig(api.server, {database, user: role, passwordEnv})
      await createCustosRole(admin, role, password, database, mappedTables(config), options.privileges)
      return {database, config, role}
    },
  }
  return api
}

/** The bytes of a `COPY … TO STDOUT` statement (a test oracle: small tables only, kept in memory). */
export async function copyOut(client: pg.ClientBase, copySql: string): Promise<Buffer> {
  const chunks: Buffer[] = []
  const stream = client.query(copyTo(copySql))
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

/** A customer's own schema with two linked tables and a sequence (isolation schema); a test fixture, the demo has none. */
export async function createTenantSchema(client: pg.ClientBase, schema: string, rows = 5): Promise<void> {
  await client.query(`CREATE SCHEMA ${ident(schema)}`)
  await client.query(`CREATE TABLE ${qualified({schema, table: 'projects'})} (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL)`)
  await client.query(`CREATE TABLE ${qualified({schema, table: 'documents'})} (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id bigint NOT NULL REFERENCES ${qualified({schema, table: 'projects'})} (id), title text)`)
  await client.query(
    `INSERT INTO ${qualified({schema, table: 'projects'})} (name) SELECT 'P' || g FROM generate_series(1, $1::int) g`,
    [rows],
  )
  await client.query(
    `INSERT INTO ${qualified({schema, table: 'documents'})} (project_id, title)
     SELECT p.id, 'D' || p.id FROM ${qualified({schema, table: 'projects'})} p`,
  )
}
