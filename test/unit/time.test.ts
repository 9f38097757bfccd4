/**
 * The one parser for times and durations (src/lib/duration.ts): what it reads does not depend on
 * the host's time zone or on today's date — every case runs under three zones (TZ is read again by
 * Node whenever process.env.TZ changes) with an injected `now`.
 */
import assert from 'node:assert/strict'

import {MAX_DURATION_IN_MS, parseDurationInMs, parseTime} from '../../src/lib/duration.js'

const ZONES = ['UTC', 'America/Los_Angeles', 'Asia/Kolkata']
const NOW = new Date('2026-12-05T10:00:00Z')

/** Runs `check` once under each of ZONES and restores TZ. */
function inEveryZone(check: (zone: string) => void): void {
  const saved = process.env.TZ
  try {
    for (const zone of ZONES) {
      process.env.TZ = zone
      check(zone)
    }
  } finally {
    if (saved === undefined) delete process.env.TZ
    else process.env.TZ = saved
  }
}

describe('times and durations are read the same in every time zone', () => {
  it('the zone changes really reach Date (otherwise this file would prove nothing)', () => {
    const offsets = new Set<number>()
    inEveryZone(() => offsets.add(new Date('2026-12-05T10:00:00Z').getTimezoneOffset()))
    assert.equal(offsets.size, 3)
  })

  it('reads an instant with Z or an offset as the same instant under every TZ', () => {
    inEveryZone((zone) => {
      for (const [text, iso] of [
        ['2026-12-05T10:00:00Z', '2026-12-05T10:00:00.000Z'],
        ['2026-12-05T10:00Z', '2026-12-05T10:00:00.000Z'],
        ['2026-12-05 10:00:00z', '2026-12-05T10:00:00.000Z'],
        ['2026-12-05T11:00:00+01:00', '2026-12-05T10:00:00.000Z'],
        ['2026-12-05T15:30:00+0530', '2026-12-05T10:00:00.000Z'],
        ['2026-12-05T02:00:00.250-08:00', '2026-12-05T10:00:00.250Z'],
        ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000Z'],
        ['2000-02-29T23:59:59Z', '2000-02-29T23:59:59.000Z'],
      ]) {
        assert.equal(parseTime(text, NOW).toISOString(), iso, `${text} under ${zone}`)
      }
    })
  })

  it('reads now and relative times from the injected clock', () => {
    inEveryZone((zone) => {
      assert.equal(parseTime('now', NOW).toISOString(), NOW.toISOString(), zone)
      assert.equal(parseTime('-72h', NOW).toISOString(), '2026-12-02T10:00:00.000Z', zone)
      assert.equal(parseTime('7d ago', NOW).toISOString(), '2026-11-28T10:00:00.000Z', zone)
      assert.equal(parseTime(' -90s ', NOW).toISOString(), '2026-12-05T09:58:30.000Z', zone)
    })
  })

  it('refuses a time without a zone instead of reading it in the host zone (the incident deadline would move with TZ)', () => {
    inEveryZone((zone) => {
      for (const text of ['2026-12-05T10:00', '2026-12-05T10:00:00', '2026-12-05 10:00:00.5'])
        assert.throws(
          () => parseTime(text, NOW),
          /has no time zone, and custos does not guess one \(add Z/,
          `${text} ${zone}`,
        )
      assert.throws(() => parseTime('2026-12-05', NOW), /is a date without a time of day \(write 2026-12-05T00:00:00Z/)
    })
  })

  it('refuses impossible dates and times of day instead of rolling them over', () => {
    for (const [text, reason] of [
      ['2026-02-30T00:00:00Z', /2026-02 has no day 30/],
      ['2026-02-29T00:00:00Z', /2026-02 has no day 29/],
      ['1900-02-29T00:00:00Z', /1900-02 has no day 29/],
      ['2026-13-45', /there is no month 13/],
      ['2026-13-01T00:00:00Z', /there is no month 13/],
      ['2026-04-31T00:00:00Z', /2026-04 has no day 31/],
      ['2026-04-00T00:00:00Z', /2026-04 has no day 00/],
      ['2026-12-05T24:00:00Z', /is not a time of day: 24:00:00/],
      ['2026-12-05T10:60Z', /is not a time of day: 10:60/],
      ['2026-12-05T10:00:60Z', /is not a time of day: 10:00:60/],
      ['2026-12-05T10:00:00+25:00', /impossible offset \+25:00/],
    ] as const) {
      assert.throws(() => parseTime(text, NOW), reason, text)
    }
  })

  it('refuses what is not a time at all, and relative times beyond 100 years', () => {
    for (const text of [
      'yesterday',
      '',
      '12/05/2026',
      '2026-12-05T10',
      'Dec 5 2026 10:00 GMT',
      '1764928800000',
      '+24h',
    ])
      assert.throws(() => parseTime(text, NOW), /is not a time/, JSON.stringify(text))
    assert.throws(() => parseTime('-99999999999999w', NOW), /reaches further back than custos accepts/)
    assert.throws(() => parseTime('-36501d', NOW), /reaches further back/)
    assert.equal(parseTime('-36500d', NOW).getTime(), NOW.getTime() - MAX_DURATION_IN_MS)
  })

  it('reads durations in every unit and refuses anything else, or more than 100 years', () => {
    assert.equal(parseDurationInMs('850ms'), 850)
    assert.equal(parseDurationInMs('1.5h'), 5_400_000)
    assert.equal(parseDurationInMs('0d'), 0)
    assert.equal(parseDurationInMs('2w'), 14 * 86_400_000)
    for (const text of ['abc', '1e5h', '7 days', '-1h', '1h30m', 'Infinityh', '', '5'])
      assert.throws(() => parseDurationInMs(text), /is not a duration \(write it like 90s, 26h or 7d\)/, text)
    for (const text of ['99999999999999w', '36501d', `${'9'.repeat(400)}ms`])
      assert.throws(() => parseDurationInMs(text), /is longer than custos accepts \(at most 36500d/, text)
  })
})
