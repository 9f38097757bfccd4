import assert from 'node:assert/strict'

import {assertTimeZone, incidentStatus, timeLeftText, zonedTime} from '../../src/lib/incident/clock.js'
import {CustosError} from '../../src/lib/errors.js'
import {incidentOf} from './helpers.js'

const HOUR = 3_600_000
const BERLIN = {timeZone: 'Europe/Berlin', warnWithinInMs: 12 * HOUR}

describe('incident clock: the 72-hour deadline', () => {
  it('runs 72 elapsed hours across the October change: detected 12:00 CEST, due 11:00 CET', () => {
    const incident = incidentOf('2026-10-24T10:00:00.000Z', ['acme'])
    assert.equal(incident.deadline, '2026-10-27T10:00:00.000Z')
    const status = incidentStatus(incident, {now: new Date('2026-10-24T10:00:00Z'), ...BERLIN})
    assert.equal(status.detectedAt.text, '2026-10-24 12:00 CEST')
    assert.equal(status.detectedAt.local, '2026-10-24T12:00:00+02:00')
    assert.equal(status.deadline.utc, '2026-10-27T10:00:00.000Z')
    assert.equal(status.deadline.text, '2026-10-27 11:00 CET')
    assert.equal(status.deadline.local, '2026-10-27T11:00:00+01:00')
    assert.equal(status.deadline.abbreviation, 'CET')
    assert.equal(status.timeLeftInMs, 72 * HOUR)
  })

  it('runs 72 elapsed hours across the March change: detected 11:00 CET, due 12:00 CEST', () => {
    const status = incidentStatus(incidentOf('2026-03-28T10:00:00.000Z', ['acme']), {
      now: new Date('2026-03-28T10:00:00Z'),
      ...BERLIN,
    })
    assert.equal(status.detectedAt.text, '2026-03-28 11:00 CET')
    assert.equal(status.deadline.utc, '2026-03-31T10:00:00.000Z')
    assert.equal(status.deadline.text, '2026-03-31 12:00 CEST')
  })

  it('shows the deadline in any IANA zone and in UTC', () => {
    const t = zonedTime('2026-10-27T10:00:00.000Z', 'Asia/Tokyo')
    assert.equal(t.local, '2026-10-27T19:00:00+09:00')
    assert.equal(zonedTime('2026-10-27T10:00:00.000Z', 'UTC').local, '2026-10-27T10:00:00+00:00')
  })

  it('refuses an unknown time zone naming incident.timeZone (exit 2)', () => {
    assert.throws(
      () => assertTimeZone('Europe/Atlantis'),
      (e: unknown) =>
        e instanceof CustosError && e.exitCode === 2 && /incident\.timeZone "Europe\/Atlantis"/.test(e.message),
    )
  })

  it('is ok with more than the warning window left, warning inside it, overdue after the deadline', () => {
    const incident = incidentOf('2026-10-24T10:00:00.000Z', ['acme', 'globex'])
    const at = (iso: string) => incidentStatus(incident, {now: new Date(iso), ...BERLIN})
    assert.equal(at('2026-10-26T21:59:00Z').state, 'ok')
    assert.equal(at('2026-10-26T22:00:00Z').state, 'warning')
    assert.equal(at('2026-10-27T09:59:59Z').state, 'warning')
    const late = at('2026-10-27T10:00:01Z')
    assert.equal(late.state, 'overdue')
    assert.deepEqual(
      late.customers.map((c) => c.state),
      ['overdue', 'overdue'],
    )
  })

  it("stops a customer's clock at its first notice and marks a notice after the deadline as late", () => {
    const incident = incidentOf('2026-10-24T10:00:00.000Z', ['acme', 'globex', 'initech'], {
      notices: [
        {customer: 'acme', at: '2026-10-25T09:00:00.000Z'},
        {customer: 'globex', at: '2026-10-27T12:00:00.000Z'},
      ],
    })
    const status = incidentStatus(incident, {now: new Date('2026-10-27T13:00:00Z'), ...BERLIN})
    assert.deepEqual(
      status.customers.map((c) => [c.customer, c.state]),
      [
        ['acme', 'notified'],
        ['globex', 'notified-late'],
        ['initech', 'overdue'],
      ],
    )
    assert.equal(status.state, 'overdue')
  })

  it('counts an incident with every customer notified as notified, and with no customer named as still running', () => {
    const done = incidentOf('2026-10-24T10:00:00.000Z', ['acme'], {
      notices: [{customer: 'acme', at: '2026-10-25T09:00:00.000Z'}],
    })
    assert.equal(incidentStatus(done, {now: new Date('2026-11-01T00:00:00Z'), ...BERLIN}).state, 'notified')
    const unknown = incidentStatus(incidentOf('2026-10-24T10:00:00.000Z', []), {
      now: new Date('2026-10-27T11:00:00Z'),
      ...BERLIN,
    })
    assert.equal(unknown.state, 'overdue')
    assert.deepEqual(unknown.customers, [{customer: null, state: 'overdue', timeLeftInMs: -HOUR}])
  })

  it('writes time left for people', () => {
    assert.equal(timeLeftText(50 * HOUR + 5 * 60_000), '2d 2h left')
    assert.equal(timeLeftText(-(3 * HOUR + 20 * 60_000)), '3h 20m overdue')
    assert.equal(timeLeftText(59_000), '0m left')
  })
})
