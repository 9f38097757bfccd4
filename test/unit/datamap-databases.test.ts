import assert from 'node:assert/strict'

import type {TokenCredential} from '@azure/core-auth'

import {AzureClients} from '../../src/lib/azure/clients.js'
import {validateDataMap} from '../../src/lib/datamap/load.js'
import {ENTRA_SCOPE} from '../../src/lib/stores/postgres/connection.js'
import {CustosError, ExitCode} from '../../src/lib/errors.js'

const stores = [
  {name: 'documents', account: 'https://contosoprod.blob.core.windows.net', container: 'tenant-{customer}'},
]

const appDb = {
  name: 'app-db',
  engine: 'postgresql',
  host: 'contoso-pg.postgres.database.azure.com',
  database: 'app',
  auth: 'entra',
  user: 'custos-erase',
  isolation: 'shared',
  tenantColumn: 'tenant_id',
  tables: [
    'public.projects',
    'public.documents',
    {table: 'public.comments', via: {column: 'document_id', references: 'public.documents.id'}},
  ],
}

function problemsOf(databases: unknown[]): string[] {
  try {
    validateDataMap({stores, databases}, '/tmp/custos.yaml')
    return []
  } catch (error) {
    assert.ok(error instanceof CustosError, String(error))
    assert.equal(error.exitCode, ExitCode.usage)
    return error.details
  }
}

describe('data map: databases', () => {
  it("accepts PRODUCT.md's app-db entry and fills port 5432", () => {
    const map = validateDataMap({stores, databases: [structuredClone(appDb)]}, '/tmp/custos.yaml')
    const [db] = map.databases
    assert.equal(db.engine === 'postgresql' ? db.port : undefined, 5432)
    assert.deepEqual(validateDataMap({stores}, '/tmp/custos.yaml').databases, [])
  })

  it('takes databases without stores when audit.account is given, and refuses a map with neither', () => {
    const audit = {account: 'https://contosoaudit.blob.core.windows.net'}
    const map = validateDataMap({databases: [structuredClone(appDb)], audit}, '/tmp/custos.yaml')
    assert.deepEqual(map.stores, [])
    assert.equal(map.audit.account, audit.account)
    const problems = (raw: unknown) => {
      try {
        validateDataMap(raw, '/tmp/custos.yaml')
        return []
      } catch (error) {
        assert.ok(error instanceof CustosError)
        return error.details
      }
    }

    assert.deepEqual(problems({databases: [structuredClone(appDb)]}), [
      "audit.account: is required when the data map has no stores (the audit trail defaults to the first store's account)",
    ])
    assert.deepEqual(problems({audit}), ['stores: at least one of stores and databases is required'])
  })

  it('accepts engine table (Azure Table storage) beside postgresql entries', () => {
    const problems = problemsOf([
      {
        name: 'settings',
        engine: 'table',
        account: 'https://x.table.core.windows.net',
        table: 'settings',
        partitionKey: '{customer}',
      },
    ])
    assert.deepEqual(problems, [])
  })

  it('names what each isolation and auth needs', () => {
    const problems = problemsOf([
      {...appDb, name: 'a', auth: 'password', tenantColumn: undefined},
      {...appDb, name: 'b', isolation: 'schema', tables: undefined, tenantColumn: undefined, schema: 'tenants'},
      {...appDb, name: 'c', isolation: 'database', tables: undefined, tenantColumn: undefined},
    ])
    assert.deepEqual(problems, [
      'databases[0].passwordEnv: is required when auth is "password" (the variable holding the password)',
      'databases[0].tenantColumn: is required for isolation "shared"',
      'databases[1].schema: must contain {customer} (one schema per customer)',
      'databases[2].database: must contain {customer} for isolation "database" (e.g. "tenant_{customer}")',
    ])
  })

  it('names a wrong field type, an unknown field and an unknown placeholder by path', () => {
    const problems = problemsOf([{...appDb, port: 'x', passwd: 'secret', schema: 'tenant_{tenant}'}])
    assert.ok(problems.includes('databases[0].port: must be integer'), problems.join('\n'))
    assert.ok(problems.includes('databases[0].passwd: is not a known field'), problems.join('\n'))
    assert.ok(
      problems.some((p) => p.startsWith('databases[0].schema: unknown placeholder {tenant}')),
      problems.join('\n'),
    )
  })

  it('refuses a name used by a store or another database', () => {
    const problems = problemsOf([
      {...appDb, name: 'documents'},
      {...appDb, name: 'documents', host: 'other'},
    ])
    assert.ok(problems.includes('databases[0].name: "documents" is already used by stores[0]'), problems.join('\n'))
    assert.ok(problems.includes('databases[1].name: "documents" is already used by databases[0]'), problems.join('\n'))
  })

  it('names a malformed table name', () => {
    const problems = problemsOf([{...appDb, tables: ['projects']}])
    assert.equal(problems.length, 1, problems.join('\n'))
    assert.match(problems[0], /^databases\[0\]\.tables\[0\]: "projects" is not a valid name \(expected schema\.table\)/)
  })
})

describe('data map: overlapping database scopes', () => {
  it('refuses two shared entries mapping the same table of the same database', () => {
    const problems = problemsOf([appDb, {...appDb, name: 'app-db-2', host: 'CONTOSO-PG.postgres.database.azure.com'}])
    assert.ok(problems.length > 0)
    assert.ok(
      problems.some((p) => /^databases\[1\]\.tables\[0\]: overlaps databases\[0\]\.tables\[0\] \(app-db\)/.test(p)),
      problems.join('\n'),
    )
  })

  it('accepts two shared entries with different tables of one database, and the same tables on another port', () => {
    assert.deepEqual(
      problemsOf([
        appDb,
        {...appDb, name: 'audit-db', tables: ['audit.events']},
        {...appDb, name: 'replica', port: 6432},
      ]),
      [],
    )
  })

  it('refuses a schema template {customer} beside a shared entry in public: customer "public" would own its tables', () => {
    const problems = problemsOf([
      appDb,
      {
        ...appDb,
        name: 'tenants',
        isolation: 'schema',
        schema: '{customer}',
        tables: undefined,
        tenantColumn: undefined,
      },
    ])
    assert.ok(
      problems.some((p) => p.includes('for customer "public"')),
      problems.join('\n'),
    )
  })

  it('accepts schema isolation tenant_{customer} beside shared public tables', () => {
    const schema = {...appDb, name: 'tenants', isolation: 'schema', schema: 'tenant_{customer}'}
    delete (schema as Partial<typeof schema>).tables
    delete (schema as Partial<typeof schema>).tenantColumn
    assert.deepEqual(problemsOf([appDb, schema]), [])
  })
})

describe('database credentials', () => {
  it("auth entra asks custos's one credential for a token of the PostgreSQL scope, per connection", async () => {
    const asked: Array<string | string[]> = []
    const credential: TokenCredential = {
      async getToken(scopes) {
        asked.push(scopes)
        return {token: `t${asked.length}`, expiresOnTimestamp: Date.now() + 60_000}
      },
    }
    const map = validateDataMap({stores, databases: [structuredClone(appDb)]}, '/tmp/custos.yaml')
    const options = new AzureClients(map, {credential}).postgresConnectOptions()
    const first = (await options.getToken!()) as {token: string}
    const second = (await options.getToken!()) as {token: string}
    assert.deepEqual([first.token, second.token], ['t1', 't2'])
    assert.deepEqual(asked, [ENTRA_SCOPE, ENTRA_SCOPE])
  })
})
