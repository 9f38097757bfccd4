import assert from 'node:assert/strict'

import {ODD_TABLE} from '../../../src/lib/local/demo-postgres.js'
import {CustosError, ExitCode} from '../../../src/lib/errors.js'
import {checkSharedMap} from '../../../src/lib/stores/postgres/catalog.js'
import {connect} from '../../../src/lib/stores/postgres/connection.js'
import {planErase} from '../../../src/lib/stores/postgres/erase.js'
import {displayName, parseDottedName, type PostgresDatabaseConfig} from '../../../src/lib/stores/postgres/types.js'
import {usePostgres, type DemoDatabase} from '../../support/postgres.js'

async function refusal(promise: Promise<unknown>): Promise<CustosError> {
  const error = await promise.then(
    () => undefined,
    (error: unknown) => error,
  )
  assert.ok(error instanceof CustosError, `expected a CustosError, got ${String(error)}`)
  return error
}

describe('postgres store: the catalog check of the data map', function () {
  this.timeout(60_000)
  const pg = usePostgres()
  let demo: DemoDatabase

  beforeEach(async () => {
    demo = await pg.demoDatabase()
  })

  async function check(config: PostgresDatabaseConfig = demo.config) {
    const client = await connect(config)
    try {
      return await checkSharedMap(client, config)
    } finally {
      await client.end()
    }
  }

  it('accepts the demo map and orders tables children first', async () => {
    const result = await check()
    assert.deepEqual(result.problems, [])
    assert.deepEqual(result.warnings, [])
    const order = result.tables.map((t) => t.display)
    assert.ok(order.indexOf('public.comments') < order.indexOf('public.documents'), order.join(' → '))
    assert.ok(order.indexOf('public.documents') < order.indexOf('public.projects'), order.join(' → '))
    assert.ok(order.includes(`public.${ODD_TABLE}`))
    const odd = result.tables.find((t) => t.table === ODD_TABLE)!
    assert.deepEqual(
      odd.columns.map((c) => c.name),
      ['id', 'tenant_id', 'Größe', 'Text "zitiert"'],
    )
  })

  it('refuses an unmapped table with a foreign key into a mapped one, naming table and constraint', async () => {
    const admin = await pg.admin(demo.database)
    await admin.query(`CREATE TABLE public.attachments (id int PRIMARY KEY,
      document_id bigint CONSTRAINT "Attachments_Doc_FK" REFERENCES public.documents (id))`)
    const result = await check()
    assert.equal(result.problems.length, 1)
    assert.equal(result.problems[0].kind, 'unsafe')
    assert.equal(result.problems[0].table, 'public.attachments')
    assert.equal(result.problems[0].constraint, 'Attachments_Doc_FK')

    const error = await refusal(planErase(demo.config, 'acme'))
    assert.equal(error.exitCode, ExitCode.refused)
    assert.equal(error.code, 'UnsafeDataMap')
    assert.match(error.message, /public\.attachments/)
    assert.match(error.message, /Attachments_Doc_FK/)
  })

  it('refuses an ON DELETE CASCADE into an unmapped table, naming table and constraint', async () => {
    const admin = await pg.admin(demo.database)
    await admin.query(`CREATE SCHEMA audit`)
    await admin.query(`CREATE TABLE audit."Log" (id int PRIMARY KEY,
      project_id bigint CONSTRAINT log_project REFERENCES public.projects (id) ON DELETE CASCADE)`)
    const error = await refusal(planErase(demo.config, 'acme'))
    assert.equal(error.exitCode, ExitCode.refused)
    assert.match(error.message, /audit\.Log/)
    assert.match(error.message, /ON DELETE CASCADE/)
    assert.match(error.message, /constraint log_project/)
    assert.match(error.message, /would delete rows of audit\.Log/)
  })

  it('refuses a mapped table without the tenant column (exit 2, naming table and column)', async () => {
    const admin = await pg.admin(demo.database)
    await admin.query(`CREATE TABLE public.tags (id int PRIMARY KEY, owner text)`)
    await admin.query(`GRANT SELECT, DELETE ON public.tags TO ${demo.role}`)
    const config = {...demo.config, tables: [...demo.config.tables!, 'public.tags']}
    const result = await check(config)
    assert.deepEqual(
      result.problems.map((p) => [p.kind, p.table]),
      [['missing', 'public.tags']],
    )
    const error = await refusal(planErase(config, 'acme'))
    assert.equal(error.exitCode, ExitCode.usage)
    assert.match(error.message, /public\.tags has no tenant column "tenant_id"/)
  })

  it('refuses a missing table and suggests the name in its real case', async () => {
    const config = {...demo.config, tables: [...demo.config.tables!, 'public.Projects', 'public.invoices']}
    const result = await check(config)
    assert.deepEqual(
      result.problems.map((p) => p.message),
      [
        'Table public.Projects does not exist (names are case-sensitive; did you mean public.projects?).',
        'Table public.invoices does not exist.',
      ],
    )
    const error = await refusal(planErase(config, 'acme'))
    assert.equal(error.exitCode, ExitCode.usage)
    assert.equal(error.details.length, 2)
  })

  it('refuses a via column or referenced column that does not exist', async () => {
    const tables = demo.config.tables!.map((t) =>
      typeof t === 'string' ? t : {table: t.table, via: {column: 'doc_id', references: 'public.documents.uuid'}},
    )
    const result = await check({...demo.config, tables})
    assert.deepEqual(
      result.problems.map((p) => p.message),
      [
        'Table public.comments has no column "doc_id" (via.column).',
        'Table public.comments is reached via public.documents.uuid, but that column does not exist.',
      ],
    )
  })

  it('refuses a via through a table the map does not list', async () => {
    const tables = demo.config.tables!.filter((t) => t !== 'public.documents')
    const result = await check({...demo.config, tables})
    const messages = result.problems.map((p) => p.message).join('\n')
    assert.match(messages, /reached via public\.documents\.id, but public\.documents is not mapped/)
    // and documents itself references the mapped projects while unmapped
    assert.match(
      messages,
      /Unmapped table public\.documents references mapped table public\.projects \(constraint documents_project_id_fkey/,
    )
  })

  it('refuses foreign keys that form a cycle among mapped tables', async () => {
    const admin = await pg.admin(demo.database)
    await admin.query(`ALTER TABLE public.projects ADD COLUMN cover_document bigint
      CONSTRAINT project_cover REFERENCES public.documents (id)`)
    const result = await check()
    assert.equal(result.problems.length, 1)
    assert.match(result.problems[0].message, /public\.projects, public\.documents form a cycle/)
    assert.match(result.problems[0].message, /project_cover/)
  })

  it('reads table names from the map exactly: case, quotes, umlauts and dotted quoted parts', () => {
    assert.deepEqual(parseDottedName(`public.${ODD_TABLE}`, 2, 'f'), ['public', ODD_TABLE])
    assert.deepEqual(parseDottedName('"my.schema"."Tab ""1"""', 2, 'f'), ['my.schema', 'Tab "1"'])
    assert.deepEqual(parseDottedName('Public.Docs.ID', 3, 'f'), ['Public', 'Docs', 'ID'])
    assert.throws(() => parseDottedName('public', 2, 'tables[0]'), /tables\[0\]: "public" is not a valid name/)
    assert.throws(() => parseDottedName('a..b', 2, 'f'), /empty/)
    assert.throws(() => parseDottedName('"a.b', 2, 'f'), /closing quote/)
    assert.equal(displayName('my.schema', 'x'), '"my.schema".x')
  })
})
