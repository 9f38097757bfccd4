import {strict as assert} from 'node:assert'

import {LocalAzureState} from '../../src/lib/local/azure-server/index.js'
import {renderPosture} from '../../src/lib/posture/render.js'
import {toSarif} from '../../src/lib/posture/sarif.js'
import {accountId, ACCOUNTS, PostureBed, resourceNamed, resultOf, RG, SUB} from './setup.js'

const SERVER = 'contoso-pg'
const SERVER_ID = LocalAzureState.flexibleServerId(SUB, RG, SERVER)

const database = (extra: Record<string, unknown> = {}) => ({
  name: 'app-db',
  engine: 'postgresql',
  host: 'contoso-pg.postgres.database.azure.com',
  database: 'app',
  auth: 'entra',
  user: 'custos',
  isolation: 'shared',
  tenantColumn: 'tenant_id',
  tables: ['public.projects'],
  resourceId: SERVER_ID,
  requireEntraOnly: true,
  ...extra,
})

describe('audit posture: PostgreSQL flexible servers', function () {
  this.timeout(60_000)
  const bed = new PostureBed()

  before(() => bed.start())

  after(() => bed.stop())

  /** A compliant server: Entra only, no public access, default parameters, logs to the archive. */
  function seedServer(patch: Partial<Parameters<LocalAzureState['addFlexibleServer']>[0]> = {}): void {
    const s = bed.state
    s.flexibleServers.clear()
    s.flexibleServerConfigurations.clear()
    s.flexibleServerFirewallRules.clear()
    s.flexibleServerAdministrators.clear()
    s.addFlexibleServer({name: SERVER, ...patch})
    s.setFlexibleServerConfiguration(SERVER_ID, 'log_disconnections', 'on')
    s.addFlexibleServerAdministrator(SERVER_ID, {
      objectId: '00000000-0000-0000-0000-0000000000a1',
      principalName: 'dba@contoso.com',
    })
    s.addFlexibleServerAdministrator(SERVER_ID, {
      objectId: '00000000-0000-0000-0000-0000000000a2',
      principalName: 'pg-admins',
      principalType: 'Group',
    })
    s.removeDiagnosticSetting(SERVER_ID, 'to-archive')
    s.addDiagnosticSetting(SERVER_ID, {
      name: 'to-archive',
      storageAccountId: accountId(ACCOUNTS.logs),
      logs: [{category: 'PostgreSQLLogs', enabled: true}],
    })
  }

  const audit = () => bed.audit(bed.map({databases: [database()]}))

  it('passes a compliant server and names its Entra administrators', async () => {
    seedServer()
    const report = await audit()
    const server = resourceNamed(report, SERVER)
    assert.equal(server.kind, 'postgresql-server')
    assert.deepEqual(server.usedBy, ['databases.app-db'])
    assert.deepEqual(
      server.results.map((r) => [r.check, r.status]),
      [
        ['postgresql.secure-transport', 'pass'],
        ['postgresql.minimum-tls', 'pass'],
        ['postgresql.public-access', 'pass'],
        ['postgresql.entra-only', 'pass'],
        ['postgresql.connection-logging', 'pass'],
        ['postgresql.region', 'pass'],
        ['monitoring.postgresql-logs', 'pass'],
        ['monitoring.archive-region', 'pass'],
      ],
    )
    assert.deepEqual(server.administrators, [
      {principalName: 'dba@contoso.com', principalType: 'User', objectId: '00000000-0000-0000-0000-0000000000a1'},
      {principalName: 'pg-admins', principalType: 'Group', objectId: '00000000-0000-0000-0000-0000000000a2'},
    ])
    assert.match(
      renderPosture(report, new (await import('chalk')).Chalk({level: 0})),
      /Entra administrators: dba@contoso\.com \(User\), pg-admins \(Group\)/,
    )
  })

  it('fails TLS off, TLS 1.0, the open-to-all firewall rule, password sign-in, connection logging and the region, each with its fix', async () => {
    seedServer({
      location: 'eastus',
      publicNetworkAccess: 'Enabled',
      passwordAuth: 'Enabled',
    })
    const s = bed.state
    s.setFlexibleServerConfiguration(SERVER_ID, 'require_secure_transport', 'off')
    s.setFlexibleServerConfiguration(SERVER_ID, 'ssl_min_protocol_version', 'TLSv1')
    s.setFlexibleServerConfiguration(SERVER_ID, 'log_disconnections', undefined)
    s.setFirewallRule(SERVER_ID, 'AllowAll', '0.0.0.0', '255.255.255.255')
    s.setFirewallRule(SERVER_ID, 'office', '203.0.113.10', '203.0.113.10')
    s.removeDiagnosticSetting(SERVER_ID, 'to-archive')
    const report = await audit()
    for (const check of [
      'postgresql.secure-transport',
      'postgresql.minimum-tls',
      'postgresql.public-access',
      'postgresql.entra-only',
      'postgresql.connection-logging',
      'postgresql.region',
      'monitoring.postgresql-logs',
    ])
      assert.equal(resultOf(report, SERVER, check).status, 'fail', check)
    const open = resultOf(report, SERVER, 'postgresql.public-access')
    assert.match(open.detail, /Firewall rule AllowAll opens contoso-pg to every address/)
    assert.match(
      open.remediation!,
      /firewall-rule delete --subscription \S+ --resource-group custos-local --name contoso-pg --rule-name AllowAll --yes/,
    )
    assert.match(resultOf(report, SERVER, 'postgresql.connection-logging').detail, /^log_disconnections is off\.$/)
    assert.match(
      resultOf(report, SERVER, 'postgresql.secure-transport').remediation!,
      /az postgres flexible-server parameter set .* --server-name contoso-pg --name require_secure_transport --value on/,
    )
    const sarif = toSarif(report) as unknown as {runs: Array<{results: Array<{ruleId: string}>}>}
    assert.ok(sarif.runs[0].results.some((r) => r.ruleId === 'postgresql.public-access'))
  })

  it('passes public access with only narrow firewall rules, and skips Entra-only where the map does not ask for it', async () => {
    seedServer({publicNetworkAccess: 'Enabled', passwordAuth: 'Enabled'})
    bed.state.setFirewallRule(SERVER_ID, 'office', '203.0.113.10', '203.0.113.10')
    const report = await bed.audit(bed.map({databases: [database({requireEntraOnly: undefined})]}))
    assert.equal(resultOf(report, SERVER, 'postgresql.public-access').status, 'pass')
    assert.equal(resultOf(report, SERVER, 'postgresql.entra-only').status, 'skipped')
  })

  it('reports every check unknown, with one reason, for a server it cannot read', async () => {
    bed.state.flexibleServers.clear()
    const report = await audit()
    const server = resourceNamed(report, SERVER)
    assert.ok(server.results.every((r) => r.status === 'unknown'))
    assert.match(
      server.results[0].detail,
      /Server contoso-pg could not be read: PostgreSQL flexible server contoso-pg in Resource Manager was not found/,
    )
  })
})
