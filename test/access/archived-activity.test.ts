import {strict as assert} from 'node:assert'

import {AccessAggregator} from '../../src/lib/access/aggregate.js'
import {consumeRecords, type ConsumeCounts} from '../../src/lib/access/consume.js'
import {WorkingHours} from '../../src/lib/access/hours.js'
import {fromArchivedRecord} from '../../src/lib/access/normalize.js'
import {renderAccessHtml} from '../../src/lib/access/render-html.js'
import {renderAccessText} from '../../src/lib/access/render-text.js'
import {createAccessReport, reportFromAggregator} from '../../src/lib/access/report.js'
import type {AccessReport} from '../../src/lib/access/types.js'
import {AzureClients} from '../../src/lib/azure/clients.js'
import {uniqueName} from '../support/env.js'
import {accessMap, archivedActivityRecords, uploadArchive, type Doc} from './helpers.js'

/**
 * Issue 19 part 6: the records a subscription diagnostic setting archives to storage say
 * `Start` / `Accept` / `Success` / `Failure` where the REST API says `Started` / `Accepted` /
 * `Succeeded` / `Failed`, and older archives say `Write` / `Action` / `Delete` for the category.
 * The samples are the 23 real AzureActivity rows of Adele's training lab (7 Start, 3 Accept,
 * 13 Success), turned into the archive's shape by Microsoft's mapping (see helpers.ts).
 */
describe('access report: the archived activity-log vocabulary', () => {
  const samples = archivedActivityRecords()
  const CALLER = 'adelev@m365x816222.onmicrosoft.com'
  const SINCE = Date.parse('2021-04-28T00:00:00Z')
  const UNTIL = Date.parse('2021-04-29T00:00:00Z')

  /** The sample rows' own reading: an operation is counted once, by the record that ends it. */
  const ends = samples.filter((s) => s.row.ActivityStatusValue === 'Success' || s.row.ActivityStatusValue === 'Failure')
  const begins = samples.filter((s) => s.row.ActivityStatusValue === 'Start' || s.row.ActivityStatusValue === 'Accept')
  const byName: Record<string, number> = {}
  for (const s of ends) byName[s.row.OperationNameValue] = (byName[s.row.OperationNameValue] ?? 0) + 1

  async function aggregate(records: Doc[]): Promise<{report: AccessReport; counts: ConsumeCounts}> {
    const aggregator = new AccessAggregator({
      sinceInMs: SINCE,
      untilInMs: UNTIL,
      lookbackInMs: 0,
      allowedCountries: ['DE'],
      burstFailures: 5,
      burstWindowInMs: 600_000,
      hours: new WorkingHours({timeZone: 'UTC', workingHours: '00:00-24:00', workingDays: [0, 1, 2, 3, 4, 5, 6]}),
    })
    const counts = await consumeRecords(records, aggregator, {toEvent: fromArchivedRecord})
    const report = reportFromAggregator(aggregator, {since: new Date(SINCE), until: new Date(UNTIL), sources: []})
    return {report, counts}
  }

  it('holds the vocabulary the archive writes (the test rests on it)', () => {
    assert.equal(samples.length, 23)
    assert.deepEqual([ends.length, begins.length], [13, 10])
    assert.ok(samples.every((s) => s.row.Caller.toLowerCase() === CALLER))
  })

  it('counts only the records that end an operation; Start and Accept are skipped and counted as such', async () => {
    const {report, counts} = await aggregate(samples.map((s) => s.record))
    assert.deepEqual(
      report.principals.map((p) => [p.principal, p.operations, p.failedOperations]),
      [[CALLER, 13, 0]],
    )
    assert.deepEqual(report.principals[0].operationsByName, byName)
    assert.deepEqual(report.principals[0].ips, ['37.142.150.162'])
    assert.deepEqual(counts.skipped, {'operation-begin': 10})
  })

  it('reads the REST and Log Analytics words (Started, Accepted, Succeeded, Failed) and any case alike', async () => {
    const rest: Record<string, string> = {Start: 'Started', Accept: 'Accepted', Success: 'Succeeded', Failure: 'Failed'}
    const failing = ends[0].row.CorrelationId
    for (const [name, word] of [
      ['archive', (w: string) => w],
      ['REST', (w: string) => rest[w]],
      ['upper case', (w: string) => w.toUpperCase()],
      ['lower case REST', (w: string) => rest[w].toLowerCase()],
    ] as const) {
      const records = samples.map((s) => {
        const status = s.record === ends[0].record ? 'Failure' : s.row.ActivityStatusValue
        return {...s.record, resultType: word(status)}
      })
      const {report, counts} = await aggregate(records)
      assert.deepEqual(
        report.principals.map((p) => [p.principal, p.operations, p.failedOperations]),
        [[CALLER, 13, 1]],
        `${name} (failing: ${failing})`,
      )
      assert.deepEqual(counts.skipped, {'operation-begin': 10}, name)
    }
  })

  it('reads older archives whose category is Write, Action or Delete', async () => {
    const old = samples.map((s, i) => {
      const verb = s.row.OperationNameValue.split('/').at(-1)!
      const category = verb.charAt(0) + verb.slice(1).toLowerCase() // DELETE → Delete, WRITE → Write, ACTION → Action
      const properties = {...s.record.properties}
      if (i % 2 === 0) delete properties.eventCategory // some older records carry no eventCategory either
      return {...s.record, category, properties}
    })
    assert.deepEqual(new Set(old.map((r) => r.category)), new Set(['Delete', 'Write']))
    old[0].category = 'Action'
    const {report, counts} = await aggregate(old)
    assert.deepEqual(
      report.principals.map((p) => [p.principal, p.operations]),
      [[CALLER, 13]],
    )
    assert.deepEqual(counts.skipped, {'operation-begin': 10})
  })

  it('counts, per reason, every record it does not turn into an event', async () => {
    const noTime = {...ends[0].record, time: 'yesterday'}
    const noCaller = {...ends[1].record, identity: {authorization: ends[1].record.identity.authorization}}
    // the documented resource-log example of archived-storage-format.md: not an access record
    const nsg = {
      time: '2021-04-28T10:00:37.2040000Z',
      category: 'NetworkSecurityGroupRuleCounter',
      operationName: 'NetworkSecurityGroupCounters',
      properties: {ruleName: 'default-allow-rdp', matchedConnections: 1988},
    }
    const later = {...ends[2].record, time: '2021-04-30T10:00:00Z'}
    const {counts} = await aggregate([noTime, noCaller, nsg, later, ...begins.map((s) => s.record)])
    assert.deepEqual(counts.skipped, {
      'no-time': 1,
      'no-principal': 1,
      'not-access-record': 1,
      'outside-range': 1,
      'operation-begin': 10,
    })
  })

  it('reports what it skipped, and why, in the sources section of the report (JSON, text, HTML)', async function () {
    this.timeout(60_000)
    const container = uniqueName('insights-activity-logs')
    const map = accessMap({containers: [container]})
    const records = samples.map((s) => s.record)
    await uploadArchive(map, container, 'resourceId=/SUBSCRIPTIONS/8F153238-E602-427E-A7C0-3043FBE50918', records)
    const report = await createAccessReport(new AzureClients(map), map, {
      since: new Date('2021-04-28T14:00:00Z'),
      until: new Date('2021-04-28T14:44:00Z'),
      sources: ['archive'],
      burstFailures: 5,
      burstWindowInMs: 600_000,
      lookbackInMs: 0,
    })
    const inRange = (s: (typeof samples)[number]) => Date.parse(s.record.time) < Date.parse('2021-04-28T14:44:00Z')
    assert.equal(report.totals.operations, ends.filter(inRange).length)
    const source = report.sources[0]
    assert.deepEqual(source.skipped, [
      {reason: 'operation-begin', records: begins.filter(inRange).length},
      {reason: 'outside-range', records: samples.filter((s) => !inRange(s)).length},
    ])
    assert.equal(source.events, ends.filter(inRange).length)
    const text = renderAccessText(report)
    assert.match(text, new RegExp(`skipped ${begins.filter(inRange).length} that begin an operation`))
    const html = renderAccessHtml(report)
    assert.match(html, new RegExp(`skipped ${begins.filter(inRange).length} that begin an operation`))
  })
})
