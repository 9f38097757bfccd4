import {strict as assert} from 'node:assert'
import {join} from 'node:path'

import {entraAdministratorFindings} from '../../src/lib/access/review/evaluate.js'
import {reviewAccess} from '../../src/lib/access/review/review.js'
import {AzureClients} from '../../src/lib/azure/clients.js'
import {validateDataMap} from '../../src/lib/datamap/load.js'
import {ident} from '../../src/lib/stores/postgres/connection.js'
import {usePostgres, type DemoDatabase} from '../support/postgres.js'
import {LocalAzureState} from '../../src/lib/local/azure-server/index.js'
import {RG, ReviewBed, SUB} from './helpers.js'

const NOW = new Date('2026-06-15T12:00:00Z')

describe('access review: database roles that can read or delete customer rows', function () {
  this.timeout(120_000)
  const pg = usePostgres()
  let demo: DemoDatabase

  before(async () => {
    demo = await pg.demoDatabase()
    const admin = await pg.admin(demo.database)
    await admin.query('CREATE ROLE analyst NOLOGIN')
    await admin.query('GRANT SELECT ON public.documents TO analyst')
    await admin.query('CREATE ROLE janitor NOLOGIN')
    await admin.query('GRANT DELETE ON public.projects TO janitor')
    await admin.query('CREATE ROLE reporting NOLOGIN')
    await admin.query('GRANT SELECT ON public.projects, public.documents TO reporting')
    await admin.query('CREATE ROLE nobody NOLOGIN')
    // membership counts: has_table_privilege sees privileges inherited from a granted role
    await admin.query('CREATE ROLE intern NOLOGIN IN ROLE analyst')
  })

  function review(principals: string[]) {
    const map = validateDataMap(
      {
        databases: [demo.config],
        audit: {account: 'https://127.0.0.1:1/contosoaudit'},
        access: {expected: {principals}},
      },
      join(process.cwd(), 'custos.yaml'),
    )
    return reviewAccess(new AzureClients(map), map, {failOn: 'low', now: NOW})
  }

  it('flags roles outside the expected set, with the privileges, the tables and the REVOKE line', async () => {
    const result = await review(['reporting'])
    const byRole = new Map(result.findings.map((f) => [f.principal, f]))
    assert.ok(!byRole.has(demo.role), 'the role custos logs in as is expected')
    assert.ok(!byRole.has('reporting'), 'a role access.expected.principals names is no finding')
    assert.ok(!byRole.has('nobody'), 'a role without privileges is no finding')
    const analyst = byRole.get('analyst')!
    assert.equal(analyst.type, 'db-access')
    assert.equal(analyst.role, 'SELECT on 1 mapped table')
    assert.match(analyst.why, /public\.documents/)
    assert.match(
      analyst.fix,
      /^psql "host=127\.0\.0\.1 port=\d+ dbname=\w+ sslmode=verify-full" -c 'REVOKE SELECT ON public\.documents FROM "analyst"'$/,
    )
    assert.equal(byRole.get('janitor')!.role, 'DELETE on 1 mapped table')
    assert.equal(byRole.get('intern')!.role, 'SELECT on 1 mapped table', 'inherited through membership')
    const superuser = byRole.get(pg.server.user)!
    assert.match(superuser.why, /as a superuser/)
    assert.match(superuser.fix, new RegExp(`ALTER ROLE ${ident(pg.server.user)} NOSUPERUSER`))
    assert.ok(result.databases.some((d) => d.role === 'reporting' && d.expected && d.select && !d.delete))
    assert.ok(
      result.notes.every((n) => !/Entra administrators/.test(n)),
      'auth: password has no Entra administrators to note',
    )
  })

  it('turns Entra administrators into findings unless access.expected names them', () => {
    const admins = [
      {principalType: 'User', principalName: 'alice@contoso.com', objectId: 'a1', tenantId: 't-home'},
      {principalType: 'Group', principalName: 'dba-contractors', objectId: 'g1', tenantId: 't-home'},
      {principalType: 'User', principalName: 'ext@other.com', objectId: 'x1', tenantId: 't-other'},
    ]
    const findings = entraAdministratorFindings(
      {
        name: 'app-db',
        resourceId: '/subscriptions/s/resourceGroups/r/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg',
      },
      admins,
      {principals: ['alice@contoso.com', 'ext@other.com'], domains: [], tenants: [], privileged: []},
      't-home',
    )
    assert.deepEqual(
      findings.map((f) => f.principalName),
      ['dba-contractors', 'ext@other.com'],
    )
    assert.match(findings[0].fix, /^az postgres flexible-server microsoft-entra-admin delete /)
  })

  it("reads the server's Entra administrators over Resource Manager (the local server) and flags the unexpected one", async () => {
    const bed = new ReviewBed()
    await bed.start()
    try {
      const serverId = LocalAzureState.flexibleServerId(SUB, RG, 'contoso-pg')
      bed.server.state.addFlexibleServer({name: 'contoso-pg', resourceGroup: RG})
      bed.server.state.addFlexibleServerAdministrator(serverId, {objectId: 'a1a1', principalName: 'alice@contoso.com'})
      bed.server.state.addFlexibleServerAdministrator(serverId, {
        objectId: 'g2g2',
        principalName: 'dba-contractors',
        principalType: 'Group',
      })
      const map = bed.map(
        {expected: {principals: ['alice@contoso.com', demo.role]}},
        {databases: [{...demo.config, resourceId: serverId}]},
      )
      const result = await reviewAccess(bed.clients(map), map, {failOn: 'low', now: NOW})
      const admins = result.findings.filter((f) => f.scope === serverId || f.why.includes('administrator'))
      assert.deepEqual(
        admins.map((f) => f.principalName ?? f.principal),
        ['dba-contractors'],
        JSON.stringify(result.findings, null, 1),
      )
    } finally {
      await bed.stop()
    }
  })
})
