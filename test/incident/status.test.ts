import assert from 'node:assert/strict'

import {evaluateIncidents, exitCodeOf, nagiosLine, summarize, type IncidentList} from '../../src/lib/incident/status.js'
import {incidentOf} from './helpers.js'

const HOUR = 3_600_000
const NOW = new Date('2026-11-23T12:00:00Z')

function listOf(incidents: ReturnType<typeof incidentOf>[], warnWithinInMs = 12 * HOUR): IncidentList {
  const statuses = evaluateIncidents(incidents, {now: NOW, warnWithinInMs, timeZone: 'Europe/Berlin'})
  return {
    now: NOW.toISOString(),
    timeZone: 'Europe/Berlin',
    warnWithinInMs,
    incidents: statuses,
    totals: summarize(statuses),
    skippedRecords: 0,
  }
}

const ago = (hours: number) => new Date(NOW.getTime() - hours * HOUR).toISOString()
const fine = incidentOf(ago(10), ['acme'], {id: 'inc-20261123-000001'})
const warning = incidentOf(ago(65), ['acme', 'globex'], {
  id: 'inc-20261120-000002',
  notices: [{customer: 'acme', at: ago(1)}],
})
const overdue = incidentOf(ago(80), ['initech'], {id: 'inc-20261120-000003'})
const notified = incidentOf(ago(100), ['acme'], {id: 'inc-20261119-000004', notices: [{customer: 'acme', at: ago(90)}]})
const closed = incidentOf(ago(200), ['acme'], {id: 'inc-20261115-000005', closedAt: ago(150)})

describe('incident list: exit codes and the Nagios line', () => {
  it('exits 0 and says OK while every deadline is further away than the warning window', () => {
    const list = listOf([fine, notified, closed])
    assert.equal(exitCodeOf(list.incidents), 0)
    const {line, exitCode} = nagiosLine(list)
    assert.equal(exitCode, 0)
    assert.equal(
      line,
      'INCIDENTS OK - 2 open incidents, 1 customer notice pending, next deadline in 2d 14h | open=2;;;0 overdue=0;;0;0 warning=0;0;;0 pending_customers=1;;;0 time_left=223200s;43200:;0:;;',
    )
  })

  it('exits 1 and says WARNING when a deadline is inside the warning window', () => {
    const list = listOf([fine, warning])
    assert.equal(exitCodeOf(list.incidents), 1)
    const {line, exitCode} = nagiosLine(list)
    assert.equal(exitCode, 1)
    assert.match(
      line,
      /^INCIDENTS WARNING - 1 due within 12h: inc-20261120-000002 7h 0m left \(deadline 2026-11-23T19:00Z; not notified: globex\) \| /,
    )
    assert.match(line, / warning=1;0;;0 pending_customers=2;;;0 time_left=25200s;43200:;0:;;$/)
  })

  it('exits 1 and says CRITICAL when a deadline passed without notice', () => {
    const list = listOf([fine, warning, overdue])
    assert.equal(exitCodeOf(list.incidents), 1)
    const {line, exitCode} = nagiosLine(list)
    assert.equal(exitCode, 2)
    assert.match(
      line,
      /^INCIDENTS CRITICAL - 1 overdue: inc-20261120-000003 8h 0m overdue \(deadline 2026-11-23T04:00Z; not notified: initech\); 1 due within/,
    )
    assert.match(line, /overdue=1;;0;0 .* time_left=-28800s;43200:;0:;;$/)
    assert.deepEqual(
      list.incidents.map((s) => s.id),
      ['inc-20261120-000003', 'inc-20261120-000002', 'inc-20261123-000001'],
      'worst first',
    )
  })

  it('lets a shorter warning window turn a warning into OK', () => {
    const list = listOf([warning], 6 * HOUR)
    assert.equal(exitCodeOf(list.incidents), 0)
    assert.equal(nagiosLine(list).exitCode, 0)
  })

  it('says OK with no open incident, and leaves closed ones out unless asked', () => {
    const list = listOf([closed])
    assert.equal(list.incidents.length, 0)
    assert.equal(
      nagiosLine(list).line,
      'INCIDENTS OK - no open incident | open=0;;;0 overdue=0;;0;0 warning=0;0;;0 pending_customers=0;;;0',
    )
    assert.equal(evaluateIncidents([closed], {now: NOW, warnWithinInMs: HOUR, timeZone: 'UTC', all: true}).length, 1)
  })
})
