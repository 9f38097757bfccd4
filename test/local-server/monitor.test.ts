import {strict as assert} from 'node:assert'

import {
  LOCAL_SUBSCRIPTION_ID,
  startLocalAzureServer,
  type LocalAzureServer,
} from '../../src/lib/local/azure-server/index.js'
import {all, assertShape, exampleBody, monitorClient, rawRequest, sample} from './helpers.js'

const SUB = LOCAL_SUBSCRIPTION_ID
const EVENTS_PATH = `/subscriptions/${SUB}/providers/Microsoft.Insights/eventtypes/management/values`

describe('local Azure server: Azure Monitor (diagnostic settings, activity log)', function () {
  this.timeout(30_000)
  let server: LocalAzureServer
  let accountId: string
  let vaultId: string

  before(async () => {
    server = await startLocalAzureServer()
    accountId = server.state.addStorageAccount({name: 'custosdata'}).id as string
    vaultId = server.state.addArmKeyVault({name: 'custos-kv', resourceGroup: 'security'}).id as string
  })

  after(() => server.close())

  describe('diagnostic settings', () => {
    const example = exampleBody('monitor/getDiagnosticSetting.json')

    before(() => {
      const p = example.properties
      server.state.addDiagnosticSetting(`${accountId}/blobServices/default`, {
        name: 'to-archive',
        storageAccountId: p.storageAccountId,
        workspaceId: p.workspaceId,
        eventHubAuthorizationRuleId: p.eventHubAuthorizationRuleId,
        marketplacePartnerId: p.marketplacePartnerId,
      })
      server.state.addDiagnosticSetting(`/subscriptions/${SUB}`, {
        name: 'activity-export',
        storageAccountId: accountId,
        workspaceId: '/subscriptions/x/resourceGroups/y/providers/Microsoft.OperationalInsights/workspaces/z',
        eventHubAuthorizationRuleId:
          '/subscriptions/x/resourceGroups/y/providers/microsoft.eventhub/namespaces/n/authorizationrules/r',
      })
    })

    it('gets a resource-level setting with the fields of getDiagnosticSetting.json', async () => {
      const path = `${accountId}/blobServices/default/providers/microsoft.insights/diagnosticSettings/to-archive`
      const res = await rawRequest(server, 'GET', `${server.url}${path}?api-version=2021-05-01-preview`)
      assert.equal(res.status, 200)
      assertShape(res.json, example, [])
      assert.equal(res.json.id, path)
      assert.equal(res.json.properties.logs[0].categoryGroup, 'allLogs')
    })

    it('lists settings as {value} with no nextLink, like listDiagnosticSettings.json, through MonitorClient too', async () => {
      const res = await rawRequest(
        server,
        'GET',
        `${server.url}${accountId}/blobServices/default/providers/Microsoft.Insights/diagnosticSettings?api-version=2021-05-01-preview`,
      )
      assertShape(res.json, exampleBody('monitor/listDiagnosticSettings.json'), [
        'extra $.value[0].properties.marketplacePartnerId',
      ])
      assert.equal('nextLink' in res.json, false)
      const viaSdk = await monitorClient(server).diagnosticSettings.list(`${accountId}/blobServices/default`)
      assert.deepEqual(
        viaSdk.value?.map((s) => [s.name, s.storageAccountId]),
        [['to-archive', example.properties.storageAccountId]],
      )
      assert.deepEqual((await monitorClient(server).diagnosticSettings.list(vaultId)).value, [])
    })

    it('serves subscription-level settings like the subscription samples (id without leading slash, type null)', async () => {
      const one = await rawRequest(
        server,
        'GET',
        `${server.url}/subscriptions/${SUB}/providers/Microsoft.Insights/diagnosticSettings/activity-export?api-version=2021-05-01-preview`,
      )
      assertShape(one.json, exampleBody('monitor/getSubscriptionDiagnosticSetting.json'), [])
      assert.equal(
        one.json.id,
        `subscriptions/${SUB}/providers/AzureResourceManager/diagnosticSettings/activity-export`,
      )
      assert.equal(one.json.type, null)
      const list = await rawRequest(
        server,
        'GET',
        `${server.url}/subscriptions/${SUB}/providers/microsoft.insights/diagnosticSettings?api-version=2021-05-01-preview`,
      )
      assertShape(list.json, exampleBody('monitor/listSubscriptionDiagnosticSettings.json'), [])
      const viaSdk = await monitorClient(server).diagnosticSettings.get(`subscriptions/${SUB}`, 'activity-export')
      assert.equal(viaSdk.storageAccountId, accountId)
    })

    it('answers an unknown setting with 404 ResourceNotFound', async () => {
      await assert.rejects(
        monitorClient(server).diagnosticSettings.get(vaultId, 'nosuch'),
        (e: {statusCode?: number; code?: string}) => e.statusCode === 404 && e.code === 'ResourceNotFound',
      )
    })
  })

  describe('activity log', () => {
    before(() => {
      server.state.addActivityEvents(SUB, [
        ...Array.from({length: 7}, (_, i) => ({
          eventTimestamp: `2025-03-0${i + 1}T10:00:00.1234567Z`,
          operationName: 'Microsoft.Storage/storageAccounts/listKeys/action',
          resourceId: accountId,
          caller: `operator${i}@contoso.com`,
        })),
        {
          eventTimestamp: '2025-03-04T12:00:00Z',
          operationName: 'Microsoft.KeyVault/vaults/write',
          resourceId: vaultId,
          caller: 'admin@contoso.com',
        },
        {
          eventTimestamp: '2025-05-01T00:00:00Z',
          operationName: 'Microsoft.Storage/storageAccounts/write',
          resourceId: accountId,
        },
      ])
    })

    it('answers with events in the shape of GetActivityLogsFiltered.json (plus the fields real events carry)', async () => {
      const filter = `eventTimestamp ge '2025-03-01T00:00:00Z' and eventTimestamp le '2025-03-31T00:00:00Z' and resourceGroupName eq 'custos-local'`
      const res = await rawRequest(
        server,
        'GET',
        `${server.url}${EVENTS_PATH}?api-version=2015-04-01&$filter=${encodeURIComponent(filter)}`,
      )
      assert.equal(res.status, 200)
      const example = exampleBody('monitor/GetActivityLogsFiltered.json')
      // claims is a free-form dictionary; compare it apart
      const event = {...res.json.value[0], claims: {}}
      const expected = {...example.value[0], claims: {}}
      assertShape({value: [event]}, {value: [expected]}, [
        'missing $.value[0].authorization.role',
        'extra $.value[0].channels',
        'extra $.value[0].category',
        'extra $.value[0].resourceId',
        'extra $.value[0].resourceType',
        'extra $.value[0].tenantId',
      ])
      assert.ok(Object.values(res.json.value[0].claims).every((v) => typeof v === 'string'))
      assert.equal(res.json.value.length, 7)
      assert.equal('nextLink' in res.json, false)
    })

    it('returns only the $select-ed properties, like GetTenantActivityLogsFilteredAndSelected.json', async () => {
      const example = sample('monitor/GetTenantActivityLogsFilteredAndSelected.json')
      const filter = `eventTimestamp ge '2025-03-01T00:00:00Z' and eventTimestamp le '2025-03-31T00:00:00Z'`
      const res = await rawRequest(
        server,
        'GET',
        `${server.url}${EVENTS_PATH}?api-version=2015-04-01&$filter=${encodeURIComponent(filter)}&$select=${example.parameters.$select}`,
      )
      assertShape(res.json.value[0], example.responses['200'].body.value[0], [])
    })

    it('pages through ≥3 nextLink pages with MonitorClient.activityLogs.list, newest first', async () => {
      server.state.activityLogPageSize = 3
      try {
        const before = server.requests.length
        const filter = `eventTimestamp ge '2025-03-01T00:00:00Z' and eventTimestamp le '2025-03-31T23:59:59Z'`
        const events = await all(monitorClient(server).activityLogs.list(filter))
        assert.equal(events.length, 8)
        const times = events.map((e) => e.eventTimestamp!.getTime())
        assert.deepEqual(
          times,
          [...times].sort((a, b) => b - a),
        )
        assert.equal(new Set(events.map((e) => e.eventDataId)).size, 8)
        const pages = server.requests.slice(before).filter((r) => r.path === EVENTS_PATH)
        assert.equal(pages.length, 3)
        assert.deepEqual(
          pages.map((r) => r.status),
          [200, 200, 200],
        )
        assert.equal(pages[0].query.$skiptoken, undefined)
        assert.ok(
          pages[1].query.$skiptoken &&
            pages[2].query.$skiptoken &&
            pages[1].query.$skiptoken !== pages[2].query.$skiptoken,
        )
        assert.equal(pages[2].query.$filter, filter, 'the nextLink keeps the filter')
      } finally {
        server.state.activityLogPageSize = 100
      }
    })

    it('builds an absolute nextLink on this server that carries api-version, $filter, $select and $skiptoken', async () => {
      server.state.activityLogPageSize = 2
      try {
        const filter = `eventTimestamp ge '2025-03-01T00:00:00Z'`
        const res = await rawRequest(
          server,
          'GET',
          `${server.url}${EVENTS_PATH}?api-version=2015-04-01&$filter=${encodeURIComponent(filter)}&$select=eventTimestamp,caller`,
        )
        const next = new URL(res.json.nextLink)
        assert.equal(next.origin, server.url)
        assert.equal(next.searchParams.get('api-version'), '2015-04-01')
        assert.equal(next.searchParams.get('$filter'), filter)
        assert.equal(next.searchParams.get('$select'), 'eventTimestamp,caller')
        assert.ok(next.searchParams.get('$skiptoken'))
        const second = await rawRequest(server, 'GET', res.json.nextLink)
        assert.deepEqual(Object.keys(second.json.value[0]).sort(), ['caller', 'eventTimestamp'])
        assert.notEqual(second.json.value[0].eventTimestamp, res.json.value[0].eventTimestamp)
      } finally {
        server.state.activityLogPageSize = 100
      }
    })

    it('filters on resourceUri, resourceProvider, resourceGroupName and caller', async () => {
      const client = monitorClient(server)
      const range = `eventTimestamp ge '2025-01-01T00:00:00Z' and eventTimestamp le '2025-12-31T00:00:00Z'`
      const byUri = await all(client.activityLogs.list(`${range} and resourceUri eq '${vaultId.toLowerCase()}'`))
      assert.deepEqual(
        byUri.map((e) => e.operationName?.value),
        ['Microsoft.KeyVault/vaults/write'],
      )
      const byProvider = await all(client.activityLogs.list(`${range} and resourceProvider eq 'microsoft.storage'`))
      assert.equal(byProvider.length, 8)
      const byGroup = await all(client.activityLogs.list(`${range} and resourceGroupName eq 'security'`))
      assert.deepEqual(
        byGroup.map((e) => e.caller),
        ['admin@contoso.com'],
      )
      const byCaller = await all(client.activityLogs.list(`${range} and caller eq 'operator3@contoso.com'`))
      assert.equal(byCaller.length, 1)
      const narrow = await all(
        client.activityLogs.list(
          `eventTimestamp ge '2025-04-30T00:00:00Z' and eventTimestamp le '2025-05-02T00:00:00Z'`,
        ),
      )
      assert.deepEqual(
        narrow.map((e) => e.operationName?.value),
        ['Microsoft.Storage/storageAccounts/write'],
      )
    })

    it('refuses a filter without a start time or with an unknown property with 400', async () => {
      const client = monitorClient(server)
      await assert.rejects(
        all(client.activityLogs.list(`resourceGroupName eq 'x'`)),
        (e: {statusCode?: number}) => e.statusCode === 400,
      )
      await assert.rejects(
        all(client.activityLogs.list(`eventTimestamp ge '2025-01-01T00:00:00Z' and colour eq 'blue'`)),
        (e: {statusCode?: number}) => e.statusCode === 400,
      )
    })
  })
})
