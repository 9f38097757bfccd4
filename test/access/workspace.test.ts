import {strict as assert} from 'node:assert'

import {AzureClients} from '../../src/lib/azure/clients.js'
import {createAccessReport} from '../../src/lib/access/report.js'
import {queryMarker, type WorkspaceQueryPart} from '../../src/lib/access/workspace.js'
import {LOCAL_SUBSCRIPTION_ID, LogQueryError, type LogTable} from '../../src/lib/local/azure-server/index.js'
import {accessMap, startLocalAzure, type LocalAzure} from './helpers.js'

const WORKSPACE = '5a8c1e3f-0000-4000-8000-00000000c0de'
const DAY = 86_400_000

describe('access report aggregated in Log Analytics', function () {
  this.timeout(30_000)
  let local: LocalAzure
  const queries = new Map<WorkspaceQueryPart, {query: string; timespan?: string}>()
  const now = Date.now()
  const since = new Date(Math.floor((now - 2 * DAY) / 60_000) * 60_000)
  const until = new Date(since.getTime() + DAY)
  // The service answers with local days (the query converts to Europe/Berlin); between 23:00 and
  // midnight UTC the UTC date of `since` is the day before its local date.
  const sinceLocalDay = new Intl.DateTimeFormat('en-CA', {timeZone: 'Europe/Berlin'}).format(since)
  const t = (hours: number) => new Date(since.getTime() + hours * 3_600_000).toISOString()

  // What the service answers for a day in which anna signs in from DE (and once from FR) and reads
  // blobs, and mallory fails 6 times within 3 minutes from a new IP — typed like the real service
  // (monitor/recorded-loganalytics-query-with-types.json): numbers, ISO datetimes, dynamic cells as JSON.
  const answers: Record<WorkspaceQueryPart, LogTable> = {
    principals: {
      columns: [
        {name: 'Principal', type: 'string'},
        {name: 'SignIns', type: 'long'},
        {name: 'Failures', type: 'long'},
        {name: 'Operations', type: 'long'},
        {name: 'FailedOperations', type: 'long'},
        {name: 'FirstSeen', type: 'datetime'},
        {name: 'LastSeen', type: 'datetime'},
        {name: 'OffHours', type: 'long'},
        {name: 'OffHoursFirst', type: 'datetime'},
        {name: 'OffHoursLast', type: 'datetime'},
        {name: 'FailuresByCode', type: 'dynamic'},
        {name: 'OperationsByName', type: 'dynamic'},
      ],
      rows: [
        ['anna@contoso.com', 4, 0, 12, 1, t(8), t(17), 0, null, null, {}, {GetBlob: 10, PutBlob: 2}],
        ['mallory@contoso.com', 7, 6, 0, 0, t(2), t(3), 7, t(2), t(3), {'50126': 6}, {}],
      ],
    },
    ips: {
      columns: [
        {name: 'Principal', type: 'string'},
        {name: 'Ip', type: 'string'},
        {name: 'Events', type: 'long'},
        {name: 'FirstSeen', type: 'datetime'},
        {name: 'Known', type: 'bool'},
      ],
      rows: [
        ['anna@contoso.com', '198.51.100.1', 16, t(8), true],
        ['mallory@contoso.com', '203.0.113.66', 7, t(2), false],
      ],
    },
    countries: {
      columns: [
        {name: 'Principal', type: 'string'},
        {name: 'Country', type: 'string'},
        {name: 'SignIns', type: 'long'},
        {name: 'FirstSeen', type: 'datetime'},
        {name: 'LastSeen', type: 'datetime'},
        {name: 'Ips', type: 'dynamic'},
      ],
      rows: [
        ['anna@contoso.com', 'DE', 3, t(8), t(17), ['198.51.100.1']],
        ['anna@contoso.com', 'FR', 1, t(12), t(12), ['198.51.100.1']],
        ['mallory@contoso.com', 'DE', 7, t(2), t(3), ['203.0.113.66']],
      ],
    },
    daily: {
      columns: [
        {name: 'Day', type: 'string'},
        {name: 'SignIns', type: 'long'},
        {name: 'Failures', type: 'long'},
      ],
      rows: [[sinceLocalDay, 11, 6]],
    },
    bursts: {
      columns: [
        {name: 'Principal', type: 'string'},
        {name: 'WindowEnd', type: 'datetime'},
        {name: 'Failures', type: 'long'},
      ],
      rows: [
        ['mallory@contoso.com', t(2.1), 5],
        ['mallory@contoso.com', new Date(Date.parse(t(2.1)) + 60_000).toISOString(), 6],
      ],
    },
  }

  before(async () => {
    local = await startLocalAzure()
    local.server.state.setLogQueryHandler((workspace, query, timespan) => {
      if (workspace !== WORKSPACE) return undefined
      const part = (Object.keys(answers) as WorkspaceQueryPart[]).find((p) => query.startsWith(queryMarker(p)))
      if (!part) throw new LogQueryError('BadArgumentError', 'unexpected query', 'SyntaxError')
      queries.set(part, {query, timespan})
      return [answers[part]]
    })
  })

  after(() => local.close())

  it('sends the aggregation to the service in KQL and reports its typed answers per principal', async () => {
    const map = accessMap({local, workspace: WORKSPACE})
    const report = await createAccessReport(new AzureClients(map), map, {
      since,
      until,
      burstFailures: 5,
      burstWindowInMs: 600_000,
      lookbackInMs: 30 * DAY,
    })

    assert.deepEqual([...queries.keys()].sort(), ['bursts', 'countries', 'daily', 'ips', 'principals'])
    const principals = queries.get('principals')!.query
    assert.match(principals, /\| summarize SignIns = countif\(Kind == "sign-in"\)[^|]*by Principal/)
    assert.match(principals, /SigninLogs/)
    assert.match(principals, /StorageBlobLogs/)
    assert.match(principals, /datetime_utc_to_local\(TimeGenerated, tz\)/)
    assert.match(principals, /let tz = "Europe\/Berlin"/)
    assert.ok(principals.includes(`let rangeStart = datetime(${since.toISOString()})`))
    assert.match(
      queries.get('ips')!.query,
      /summarize Events = count\(\), FirstSeen = min\(TimeGenerated\) by Principal, Ip/,
    )
    assert.match(
      queries.get('bursts')!.query,
      /make-series Failures = count\(\)[^|]*step step by Principal[\s\S]*series_fir\(Failures, repeat\(1, 10\)/,
    )
    assert.match(queries.get('countries')!.query, /summarize [^|]* by Principal, Country/)
    // the query window covers the look-back, so known IPs are decided in the service too
    assert.equal(
      queries.get('principals')!.timespan,
      `${new Date(since.getTime() - 30 * DAY).toISOString()}/${until.toISOString()}`,
    )

    const anna = report.principals.find((p) => p.principal === 'anna@contoso.com')!
    assert.deepEqual(
      {
        signIns: anna.signIns,
        operations: anna.operations,
        failedOperations: anna.failedOperations,
        operationsByName: anna.operationsByName,
        ips: anna.ips,
        countries: anna.countries,
        firstSeen: anna.firstSeen,
        lastSeen: anna.lastSeen,
      },
      {
        signIns: 4,
        operations: 12,
        failedOperations: 1,
        operationsByName: {GetBlob: 10, PutBlob: 2},
        ips: ['198.51.100.1'],
        countries: ['DE', 'FR'],
        firstSeen: t(8),
        lastSeen: t(17),
      },
    )
    const mallory = report.principals.find((p) => p.principal === 'mallory@contoso.com')!
    assert.deepEqual([mallory.failures, mallory.failuresByCode, mallory.offHours], [6, {'50126': 6}, 7])
    assert.deepEqual(
      report.findings.map((f) => [f.type, f.principal]),
      [
        ['country-not-allowed', 'anna@contoso.com'],
        ['failure-burst', 'mallory@contoso.com'],
        ['new-ip', 'mallory@contoso.com'],
        ['off-hours', 'mallory@contoso.com'],
      ],
    )
    const burst = report.findings.find((f) => f.type === 'failure-burst')!
    assert.ok(burst.type === 'failure-burst' && burst.failures === 6)
    assert.deepEqual(
      report.daily.filter((d) => d.signIns > 0),
      [{day: sinceLocalDay, signIns: 11, failures: 6}],
    )
    assert.ok(report.daily.length > 0 && report.daily.length <= 2, 'every local day of the range is listed')
    assert.deepEqual(report.countries, [
      {country: 'DE', signIns: 10},
      {country: 'FR', signIns: 1},
    ])
    assert.deepEqual(
      report.sources.map((s) => [s.name, s.events, s.queries]),
      [['workspace', 23, 5]],
    )
  })

  it('merges the service aggregates with the activity log per principal', async () => {
    local.server.state.addActivityEvents(LOCAL_SUBSCRIPTION_ID, [
      {
        eventTimestamp: t(9),
        caller: 'anna@contoso.com',
        operationName: 'Microsoft.Storage/storageAccounts/listKeys/action',
        clientIpAddress: '198.51.100.1',
      },
    ])
    const map = accessMap({local, workspace: WORKSPACE, activityLog: true})
    const report = await createAccessReport(new AzureClients(map), map, {
      since,
      until,
      burstFailures: 5,
      burstWindowInMs: 600_000,
      lookbackInMs: 30 * DAY,
    })
    const anna = report.principals.find((p) => p.principal === 'anna@contoso.com')!
    assert.equal(anna.operations, 13)
    assert.equal(anna.operationsByName['Microsoft.Storage/storageAccounts/listKeys/action'], 1)
    assert.deepEqual(report.sources.map((s) => s.name).sort(), ['activity-log', 'workspace'])
  })

  it('names the workspace when the service does not know it', async () => {
    const map = accessMap({local, workspace: 'no-such-workspace'})
    await assert.rejects(
      createAccessReport(new AzureClients(map), map, {
        since,
        until,
        burstFailures: 5,
        burstWindowInMs: 600_000,
        lookbackInMs: 0,
      }),
      (error: Error & {exitCode?: number}) => /no-such-workspace/.test(error.message) && error.exitCode === 4,
    )
  })
})
