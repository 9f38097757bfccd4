import {strict as assert} from 'node:assert'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {AzureClients} from '../../src/lib/azure/clients.js'
import {
  listEntraAdministrators,
  listLongTermRetentionOperations,
  listServerBackups,
  listServerFirewallRules,
  readFlexibleServer,
  readServerParameter,
} from '../../src/lib/azure/postgres-server.js'
import {validateDataMap} from '../../src/lib/datamap/load.js'
import {CustosError} from '../../src/lib/errors.js'
import {LocalAzureState, startLocalAzureServer, type LocalAzureServer} from '../../src/lib/local/azure-server/index.js'
import {all, assertShape, exampleBody, monitorClient, rawRequest, sample} from './helpers.js'

// The samples' own names: seeded with the samples' values, the local answers must equal them byte for byte.
const SUB = 'ffffffff-ffff-ffff-ffff-ffffffffffff'
const RG = 'exampleresourcegroup'
const SERVER_ID = LocalAzureState.flexibleServerId(SUB, RG, 'exampleserver')
const API = 'api-version=2025-08-01'

describe('local Azure server: Microsoft.DBforPostgreSQL flexible servers', function () {
  this.timeout(30_000)
  let server: LocalAzureServer
  let clients: AzureClients
  let dir: string

  before(async () => {
    server = await startLocalAzureServer()
    dir = mkdtempSync(join(tmpdir(), 'custos-pg-arm-'))
    const caPath = join(dir, 'ca.pem')
    writeFileSync(caPath, server.caCertificatePem)
    clients = new AzureClients(
      validateDataMap(
        {
          stores: [
            {name: 'documents', account: 'https://contosoprod.blob.core.windows.net', container: 'tenant-{customer}'},
          ],
          azure: {credential: 'local', resourceManager: server.url, caCertificate: caPath, subscription: SUB},
        },
        join(dir, 'custos.yaml'),
      ),
      {retry: {maxTries: 1}},
    )
    seedSampleServer(server.state)
  })

  after(async () => {
    await server.close()
    rmSync(dir, {recursive: true, force: true})
  })

  const get = (path: string) => rawRequest(server, 'GET', `${server.url}${path}${path.includes('?') ? '&' : '?'}${API}`)

  it('answers Servers Get exactly as postgresql/ServersGet.json, key order included', async () => {
    const res = await get(SERVER_ID)
    assert.equal(res.status, 200)
    assert.equal(res.text, JSON.stringify(exampleBody('postgresql/ServersGet.json')))
  })

  it('lists servers by subscription in the shape of ServersListBySubscription.json', async () => {
    const res = await get(`/subscriptions/${SUB}/providers/Microsoft.DBforPostgreSQL/flexibleServers`)
    assert.equal(res.status, 200)
    const expected = exampleBody('postgresql/ServersListBySubscription.json')
    // the sample's second server is the closest (public access, no CMK); ours differs as the service's
    // servers differ among themselves: no Entra tenant without Entra auth, no standby zone without
    // high availability, and no tags (like ServersGet.json)
    assertShape(res.json.value[0], expected.value[1], [
      'missing $.properties.authConfig.tenantId',
      'missing $.properties.highAvailability.standbyAvailabilityZone',
      'missing $.tags',
    ])
    assert.equal(res.json.nextLink, undefined)
  })

  it('answers Backups ListByServer exactly as BackupListByServer.json (no nextLink key)', async () => {
    const res = await get(`${SERVER_ID}/backups`)
    assert.equal(res.text, JSON.stringify(exampleBody('postgresql/BackupListByServer.json')))
  })

  it('answers the long-term-retention operations list exactly as LongTermRetentionOperationListByServer.json', async () => {
    const res = await get(`${SERVER_ID}/ltrBackupOperations`)
    assert.equal(res.text, JSON.stringify(exampleBody('postgresql/LongTermRetentionOperationListByServer.json')))
  })

  it('answers Configurations Get like ConfigurationsGet.json, the documentation link for the server version', async () => {
    const res = await get(`${SERVER_ID}/configurations/array_nulls`)
    const expected = exampleBody('postgresql/ConfigurationsGet.json')
    assert.deepEqual(Object.keys(res.json), Object.keys(expected))
    assert.deepEqual(Object.keys(res.json.properties), Object.keys(expected.properties))
    assert.deepEqual(
      {...res.json, properties: {...res.json.properties, documentationLink: undefined}},
      {...expected, properties: {...expected.properties, documentationLink: undefined}},
    )
    assert.equal(
      res.json.properties.documentationLink,
      'https://www.postgresql.org/docs/17/runtime-config-compatible.html#GUC-ARRAY-NULLS',
    )
    // the sample's top-level operationId/title belong to the example file, not to the answer
    assert.equal(sample('postgresql/ConfigurationsGet.json').operationId, 'Configurations_Get')
  })

  it('serves the security parameters with string values and user overrides', async () => {
    const tls = await get(`${SERVER_ID}/configurations/ssl_min_protocol_version`)
    assert.equal(tls.json.properties.value, 'TLSv1.2')
    assert.equal(tls.json.properties.source, 'system-default')
    server.state.setFlexibleServerConfiguration(SERVER_ID, 'require_secure_transport', 'off')
    try {
      const transport = await get(`${SERVER_ID}/configurations/require_secure_transport`)
      assert.equal(transport.json.properties.value, 'off')
      assert.equal(transport.json.properties.source, 'user-override')
      assert.equal(transport.json.properties.isReadOnly, false)
    } finally {
      server.state.setFlexibleServerConfiguration(SERVER_ID, 'require_secure_transport', undefined)
    }

    const missing = await get(`${SERVER_ID}/configurations/no_such_parameter`)
    assert.equal(missing.status, 404)
    assert.equal(missing.json.error.code, 'ResourceNotFound')
  })

  it('answers FirewallRules ListByServer like FirewallRulesListByServer.json, paging with its odd nextLink', async () => {
    const expected = exampleBody('postgresql/FirewallRulesListByServer.json')
    server.state.setFirewallRule(SERVER_ID, 'examplefirewallrule3', '10.0.0.1', '10.0.0.1')
    server.state.firewallRulePageSize = 2
    try {
      const res = await get(`${SERVER_ID}/firewallRules`)
      assert.equal(JSON.stringify(res.json.value), JSON.stringify(expected.value))
      assert.deepEqual(Object.keys(res.json), Object.keys(expected))
      // like the sample: a preview api-version, a $skiptoken and a doubled slash before resourceGroups
      assert.match(
        res.json.nextLink,
        new RegExp(
          `^${server.url.replaceAll('.', String.raw`\.`)}/subscriptions/${SUB}//resourceGroups/${RG}/providers/Microsoft\\.DBforPostgreSQL/flexibleServers/exampleserver/firewallRules\\?api-version=2025-06-01-preview&\\$skiptoken=[^&]+$`,
        ),
      )
      // the SDK follows that link as given
      const rules = await all(listServerFirewallRules(clients, SERVER_ID))
      assert.deepEqual(
        rules.map((r) => `${r.name} ${r.startIpAddress}-${r.endIpAddress}`),
        [
          'examplefirewallrule1 0.0.0.0-255.255.255.255',
          'examplefirewallrule2 1.0.0.0-255.0.0.0',
          'examplefirewallrule3 10.0.0.1-10.0.0.1',
        ],
      )
    } finally {
      server.state.firewallRulePageSize = 100
      server.state.flexibleServerFirewallRules.get(SERVER_ID.toLowerCase())!.delete('examplefirewallrule3')
    }
  })

  it('answers Administrators ListByServer exactly as AdministratorsListByServer.json (no name field)', async () => {
    const res = await get(`${SERVER_ID}/administrators`)
    assert.equal(res.text, JSON.stringify(exampleBody('postgresql/AdministratorsListByServer.json')))
  })

  it('keeps diagnostic settings on the server resource like on any other', async () => {
    server.state.addDiagnosticSetting(SERVER_ID, {
      name: 'to-archive',
      storageAccountId: '/subscriptions/x/resourceGroups/y/providers/Microsoft.Storage/storageAccounts/logs',
      logs: [{category: 'PostgreSQLLogs', enabled: true}],
    })
    const settings = (await monitorClient(server, SUB).diagnosticSettings.list(SERVER_ID)).value ?? []
    assert.deepEqual(
      settings.map((s) => [s.name, s.logs?.[0].category]),
      [['to-archive', 'PostgreSQLLogs']],
    )
  })

  it('answers an unknown server with the ARM 404 shape', async () => {
    const res = await get(LocalAzureState.flexibleServerId(SUB, RG, 'nosuch'))
    assert.equal(res.status, 404)
    assert.equal(res.json.error.code, 'ResourceNotFound')
    assert.match(res.json.error.message, /flexibleServers\/nosuch' under resource group 'exampleresourcegroup'/)
  })

  describe('the ARM reader (src/lib/azure/postgres-server.ts) through the real SDK', () => {
    it('readFlexibleServer returns the server in its wire shape', async () => {
      const body = await readFlexibleServer(clients, SERVER_ID)
      assert.equal(body.name, 'exampleserver')
      assert.equal(body.location, 'eastus')
      assert.deepEqual(body.properties?.backup, {
        backupRetentionDays: 7,
        geoRedundantBackup: 'Enabled',
        earliestRestoreDate: '2025-06-01T18:35:22.123Z',
      })
      assert.deepEqual(body.properties?.authConfig, {activeDirectoryAuth: 'Disabled', passwordAuth: 'Enabled'})
      assert.deepEqual(body.properties?.network, {publicNetworkAccess: 'Enabled'})
      assert.deepEqual(body.properties?.dataEncryption, {type: 'SystemManaged'})
      assert.equal(body.systemData?.createdAt, '2025-06-01T18:30:22.123Z')
    })

    it('readFlexibleServer throws one CustosError sentence for a missing server and a malformed id', async () => {
      await assert.rejects(
        readFlexibleServer(clients, LocalAzureState.flexibleServerId(SUB, RG, 'nosuch')),
        (e: unknown) =>
          e instanceof CustosError &&
          e.code === 'NotFound' &&
          e.message === 'PostgreSQL flexible server nosuch in Resource Manager was not found (ResourceNotFound).',
      )
      await assert.rejects(
        readFlexibleServer(clients, '/subscriptions/x/resourceGroups/y/providers/Microsoft.Storage/storageAccounts/z'),
        (e: unknown) => e instanceof CustosError && e.exitCode === 2,
      )
    })

    it('reads backups, long-term retention, parameters and administrators as plain data', async () => {
      const backups = await all(listServerBackups(clients, SERVER_ID))
      assert.deepEqual(backups[0], {
        name: 'backup_638830782181266873',
        backupType: 'Full',
        source: 'Automatic',
        completedTime: '2024-08-01T14:30:22.123Z',
      })
      const ltr = await all(listLongTermRetentionOperations(clients, SERVER_ID))
      assert.equal(ltr[0].backupName, 'exampleltrbackup')
      assert.equal(ltr[0].status, 'Running')
      assert.deepEqual(await readServerParameter(clients, SERVER_ID, 'log_disconnections'), {
        name: 'log_disconnections',
        value: 'off',
        defaultValue: 'off',
        source: 'system-default',
      })
      assert.equal(await readServerParameter(clients, SERVER_ID, 'no_such_parameter'), undefined)
      const admins = await all(listEntraAdministrators(clients, SERVER_ID))
      assert.deepEqual(
        admins.map((a) => [a.principalName, a.principalType, a.objectId]),
        [
          ['exampleuser@contoso.com', 'User', 'oooooooo-oooo-oooo-oooo-oooooooooooo'],
          ['examplegroup@contoso.com', 'Group', 'gggggggg-gggg-gggg-gggg-gggggggggggg'],
        ],
      )
    })
  })
})

/** The server, backups, LTR operation, firewall rules and administrators of the samples, with their values. */
function seedSampleServer(state: LocalAzureState): void {
  state.addFlexibleServer({
    name: 'exampleserver',
    subscription: SUB,
    resourceGroup: RG,
    location: 'eastus',
    createdAt: '2025-06-01T18:30:22.123456Z',
    backupRetentionDays: 7,
    earliestRestoreDate: '2025-06-01T18:35:22.123456Z',
    publicNetworkAccess: 'Enabled',
    activeDirectoryAuth: 'Disabled',
    passwordAuth: 'Enabled',
    properties: {administratorLogin: 'exampleadministratorlogin'},
  })
  const backups = exampleBody('postgresql/BackupListByServer.json').value
  state.addFlexibleServerBackups(
    SERVER_ID,
    backups.map((b: any) => ({name: b.name, ...b.properties})),
  )
  const ltr = exampleBody('postgresql/LongTermRetentionOperationListByServer.json').value[0].properties
  state.addLtrOperations(SERVER_ID, [ltr])
  for (const rule of exampleBody('postgresql/FirewallRulesListByServer.json').value)
    state.setFirewallRule(SERVER_ID, rule.name, rule.properties.startIpAddress, rule.properties.endIpAddress)
  for (const admin of exampleBody('postgresql/AdministratorsListByServer.json').value)
    state.addFlexibleServerAdministrator(SERVER_ID, admin.properties)
}
