import {strict as assert} from 'node:assert'

import {AzureClients} from '../../src/lib/azure/clients.js'
import {createAccessReport, type CreateAccessReportOptions} from '../../src/lib/access/report.js'
import {CustosError} from '../../src/lib/errors.js'
import {LOCAL_SUBSCRIPTION_ID} from '../../src/lib/local/azure-server/index.js'
import {accessMap, startLocalAzure, type LocalAzure} from './helpers.js'

const DAY = 86_400_000

describe('access report from the activity log', function () {
  this.timeout(30_000)
  let local: LocalAzure
  const now = Date.now()
  const base: Omit<CreateAccessReportOptions, 'since' | 'until'> = {
    sources: ['activity-log'],
    burstFailures: 5,
    burstWindowInMs: 600_000,
    lookbackInMs: 7 * DAY,
  }

  before(async () => {
    local = await startLocalAzure()
    const state = local.server.state
    state.activityLogPageSize = 3
    const at = (hoursAgo: number) => new Date(now - hoursAgo * 3_600_000)
    // 11 operations by two callers in the last two days, each logged as Started + Succeeded/Failed
    const ops: Array<[string, number, string, string]> = []
    for (let i = 0; i < 8; i++)
      ops.push(['Admin@Contoso.com', 2 + i, 'Microsoft.Storage/storageAccounts/listKeys/action', 'Succeeded'])
    for (let i = 0; i < 3; i++)
      ops.push(['ops-pipeline', 30 + i, 'Microsoft.Storage/storageAccounts/write', i === 0 ? 'Failed' : 'Succeeded'])
    for (const [caller, hoursAgo, operationName, status] of ops) {
      state.addActivityEvents(LOCAL_SUBSCRIPTION_ID, [
        {eventTimestamp: at(hoursAgo), caller, operationName, status: 'Started', clientIpAddress: '203.0.113.10'},
        {
          eventTimestamp: new Date(at(hoursAgo).getTime() + 2000),
          caller,
          operationName,
          status,
          clientIpAddress: caller === 'ops-pipeline' ? '192.0.2.7' : '203.0.113.10',
        },
      ])
    }

    // seen in the look-back window: admin from the same IP, nothing for the pipeline
    state.addActivityEvents(LOCAL_SUBSCRIPTION_ID, [
      {
        eventTimestamp: new Date(now - 5 * DAY),
        caller: 'admin@contoso.com',
        status: 'Succeeded',
        clientIpAddress: '203.0.113.10',
      },
    ])
  })

  after(() => local.close())

  it('pages through every nextLink page and counts each operation once', async () => {
    const map = accessMap({local, activityLog: true})
    const before = local.server.requests.length
    const report = await createAccessReport(new AzureClients(map), map, {
      ...base,
      since: new Date(now - 3 * DAY),
      until: new Date(now),
    })
    const pages = local.server.requests.slice(before).filter((r) => r.path.endsWith('/eventtypes/management/values'))
    // 23 events from now-10d (look-back) on, 3 per page
    assert.equal(pages.length, 8)
    assert.ok(
      pages.slice(1).every((r) => r.query.$skiptoken),
      'pages after the first follow nextLink',
    )
    assert.equal(report.sources[0].pages, 8)
    const admin = report.principals.find((p) => p.principal === 'admin@contoso.com')!
    const pipeline = report.principals.find((p) => p.principal === 'ops-pipeline')!
    assert.deepEqual(
      [admin.operations, admin.failedOperations, admin.operationsByName],
      [8, 0, {'Microsoft.Storage/storageAccounts/listKeys/action': 8}],
    )
    assert.deepEqual([pipeline.operations, pipeline.failedOperations, pipeline.ips], [3, 1, ['192.0.2.7']])
    assert.equal(report.sources[0].lookbackEvents, 1)
    // the pipeline's IP is new, the admin's was seen in the look-back window
    assert.deepEqual(
      report.findings.filter((f) => f.type === 'new-ip').map((f) => f.principal),
      ['ops-pipeline'],
    )
  })

  it('refuses a range older than the 90 days the activity log keeps, pointing to the archive, without calling Azure', async () => {
    const map = accessMap({local, activityLog: true})
    const before = local.server.requests.length
    await assert.rejects(
      createAccessReport(new AzureClients(map), map, {
        ...base,
        since: new Date(now - 120 * DAY),
        until: new Date(now - 100 * DAY),
      }),
      (error: unknown) => {
        assert.ok(error instanceof CustosError)
        assert.equal(error.code, 'ActivityLogRetention')
        assert.equal(error.exitCode, 2)
        assert.match(error.message, /keeps 90 days/)
        assert.match(error.hint ?? '', /insights-activity-logs.*--source archive/)
        return true
      },
    )
    assert.equal(local.server.requests.length, before)
  })

  it('clips the look-back window to the 90 days instead of failing', async () => {
    const map = accessMap({local, activityLog: true})
    const report = await createAccessReport(new AzureClients(map), map, {
      ...base,
      lookbackInMs: 30 * DAY,
      since: new Date(now - 80 * DAY),
      until: new Date(now),
    })
    assert.match(report.sources[0].notes?.join(',') ?? '', /look-back clipped/)
    assert.equal(report.totals.operations, 12)
  })
})
