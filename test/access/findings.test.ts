import {strict as assert} from 'node:assert'

import {AccessAggregator, type AggregatorOptions} from '../../src/lib/access/aggregate.js'
import {consumeRecords} from '../../src/lib/access/consume.js'
import {WorkingHours} from '../../src/lib/access/hours.js'
import {fromArchivedRecord} from '../../src/lib/access/normalize.js'
import type {Finding} from '../../src/lib/access/types.js'
import {blobRead, signIn, type Doc} from './helpers.js'

const MIN = 60_000
const DAY = 86_400_000
// Monday 23 March 2026 to Monday 6 April 2026; Berlin moves from CET (+1) to CEST (+2) on Sunday 29 March.
const SINCE = Date.parse('2026-03-23T00:00:00Z')
const UNTIL = Date.parse('2026-04-06T00:00:00Z')
const BERLIN = {timeZone: 'Europe/Berlin', workingHours: '07:00-19:00', workingDays: [1, 2, 3, 4, 5]}

async function findings(records: Doc[], options: Partial<AggregatorOptions> = {}): Promise<Finding[]> {
  const aggregator = new AccessAggregator({
    sinceInMs: SINCE,
    untilInMs: UNTIL,
    lookbackInMs: 7 * DAY,
    allowedCountries: ['DE'],
    burstFailures: 5,
    burstWindowInMs: 10 * MIN,
    hours: new WorkingHours(BERLIN),
    ...options,
  })
  await consumeRecords(records, aggregator, {toEvent: fromArchivedRecord})
  return aggregator.findings()
}

const at = (iso: string, plusMinutes = 0) => new Date(Date.parse(iso) + plusMinutes * MIN)

/** A week of ordinary work: alice signs in from Germany during office hours, from an IP she used the week before. */
function ordinaryWeek(): Doc[] {
  const out: Doc[] = [signIn('alice@contoso.com', '2026-03-18T09:00:00Z', {ip: '198.51.100.1'})]
  for (let d = 0; d < 5; d++) {
    out.push(signIn('alice@contoso.com', new Date(SINCE + d * DAY + 8 * 3_600_000), {ip: '198.51.100.1'}))
    out.push(
      blobRead('alice@contoso.com', new Date(SINCE + d * DAY + 9 * 3_600_000), '/contosoprod/tenant-acme/a.txt', {
        ip: '198.51.100.1',
      }),
    )
  }

  // two scattered failures are not a burst
  out.push(
    signIn('alice@contoso.com', '2026-03-24T10:00:00Z', {ip: '198.51.100.1', code: 50_126}),
    signIn('alice@contoso.com', '2026-03-24T13:00:00Z', {ip: '198.51.100.1', code: 50_126}),
  )
  return out
}

describe('access report findings', () => {
  it('finds nothing in an ordinary week', async () => {
    assert.deepEqual(await findings(ordinaryWeek()), [])
  })

  describe('sign-ins from countries outside the allowed list', () => {
    const abroad = () => [
      ...ordinaryWeek(),
      signIn('alice@contoso.com', '2026-03-25T10:00:00Z', {ip: '198.51.100.1', country: 'RU'}),
    ]

    it('are found, with the country, count and IPs', async () => {
      const found = await findings(abroad())
      assert.deepEqual(
        found.map((f) =>
          f.type === 'country-not-allowed' ? [f.type, f.principal, f.country, f.signIns, f.ips] : [f.type],
        ),
        [['country-not-allowed', 'alice@contoso.com', 'RU', 1, ['198.51.100.1']]],
      )
    })

    it('are not found when the country is allowed (--allowed-countries)', async () => {
      assert.deepEqual(await findings(abroad(), {allowedCountries: ['DE', 'RU']}), [])
    })
  })

  describe('bursts of failed sign-ins', () => {
    it('are found for 5 failures within 10 minutes, once per burst', async () => {
      const burst = [0, 1, 2, 3, 4].map((m) =>
        signIn('mallory@contoso.com', at('2026-03-25T10:00:30Z', m), {ip: '198.51.100.1', code: 50_126}),
      )
      const found = await findings([
        ...ordinaryWeek(),
        signIn('mallory@contoso.com', '2026-03-18T09:00:00Z', {ip: '198.51.100.1'}),
        ...burst,
      ])
      assert.equal(found.length, 1)
      const f = found[0]
      assert.ok(f.type === 'failure-burst')
      assert.equal(f.principal, 'mallory@contoso.com')
      assert.equal(f.failures, 5)
      assert.ok(
        Date.parse(f.from) <= Date.parse('2026-03-25T10:00:30Z') &&
          Date.parse(f.to) >= Date.parse('2026-03-25T10:04:30Z'),
        `${f.from} – ${f.to}`,
      )
    })

    it('are not found for 5 failures spread over an hour, nor for 4 within a minute', async () => {
      const spread = [0, 15, 30, 45, 60].map((m) =>
        signIn('mallory@contoso.com', at('2026-03-25T10:00:00Z', m), {ip: '198.51.100.1', code: 50_126}),
      )
      const few = [0, 1, 2, 3].map((s) =>
        signIn('mallory@contoso.com', new Date(Date.parse('2026-03-26T10:00:00Z') + s * 10_000), {
          ip: '198.51.100.1',
          code: 50_126,
        }),
      )
      assert.deepEqual(
        await findings([
          ...ordinaryWeek(),
          signIn('mallory@contoso.com', '2026-03-18T09:00:00Z', {ip: '198.51.100.1'}),
          ...spread,
          ...few,
        ]),
        [],
      )
    })

    it('follow --burst-failures and --burst-window', async () => {
      const spread = [0, 15, 30, 45, 60].map((m) =>
        signIn('mallory@contoso.com', at('2026-03-25T10:00:00Z', m), {ip: '198.51.100.1', code: 50_126}),
      )
      const found = await findings(
        [...ordinaryWeek(), signIn('mallory@contoso.com', '2026-03-18T09:00:00Z', {ip: '198.51.100.1'}), ...spread],
        {burstWindowInMs: 2 * 3_600_000},
      )
      assert.deepEqual(
        found.map((f) => [f.type, f.principal]),
        [['failure-burst', 'mallory@contoso.com']],
      )
    })
  })

  describe('IPs not seen in the look-back window', () => {
    it('are found for an IP the principal did not use before, not for the ones it did', async () => {
      const found = await findings([
        ...ordinaryWeek(),
        signIn('alice@contoso.com', '2026-03-25T10:00:00Z', {ip: '203.0.113.99'}),
      ])
      assert.deepEqual(
        found.map((f) => (f.type === 'new-ip' ? [f.type, f.principal, f.ip, f.events] : [f.type])),
        [['new-ip', 'alice@contoso.com', '203.0.113.99', 1]],
      )
    })

    it('look only at the window: an IP used before it counts as new', async () => {
      const records = ordinaryWeek()
      records[0] = signIn('alice@contoso.com', '2026-03-10T09:00:00Z', {ip: '198.51.100.1'}) // 13 days before, outside a 7-day look-back
      assert.deepEqual(
        (await findings(records)).map((f) => f.type),
        ['new-ip'],
      )
      assert.deepEqual(await findings(records, {lookbackInMs: 14 * DAY}), [])
    })

    it('are off with a look-back of 0', async () => {
      assert.deepEqual(
        await findings([...ordinaryWeek(), signIn('alice@contoso.com', '2026-03-25T10:00:00Z', {ip: '203.0.113.99'})], {
          lookbackInMs: 0,
        }),
        [],
      )
    })
  })

  describe('access outside working hours (Europe/Berlin, daylight saving time)', () => {
    const off = async (iso: string) =>
      (await findings([...ordinaryWeek(), signIn('alice@contoso.com', iso, {ip: '198.51.100.1'})])).filter(
        (f) => f.type === 'off-hours',
      )

    it('is found at 06:30 CET on a Friday, on a Saturday, and at 19:30 CEST', async () => {
      for (const iso of ['2026-03-27T05:30:00Z', '2026-03-28T10:00:00Z', '2026-03-31T17:30:00Z']) {
        const found = await off(iso)
        assert.equal(found.length, 1, iso)
        assert.ok(
          found[0].type === 'off-hours' && found[0].events === 1 && found[0].firstSeen === new Date(iso).toISOString(),
          iso,
        )
      }
    })

    it('is not found at 07:30 CEST on a Monday (05:30 UTC) nor at 18:30 CET (17:30 UTC)', async () => {
      assert.deepEqual(await off('2026-03-30T05:30:00Z'), [])
      assert.deepEqual(await off('2026-03-24T17:30:00Z'), [])
    })

    it('counts blob access too, and names the principal once with the number of events', async () => {
      const found = await findings(
        [
          ...ordinaryWeek(),
          blobRead('bob@contoso.com', '2026-03-28T23:00:00Z', '/contosoprod/tenant-acme/a.txt'),
          blobRead('bob@contoso.com', '2026-03-29T01:00:00Z', '/contosoprod/tenant-acme/b.txt'),
        ],
        {lookbackInMs: 0},
      )
      assert.deepEqual(
        found.map((f) => (f.type === 'off-hours' ? [f.type, f.principal, f.events] : [f.type])),
        [['off-hours', 'bob@contoso.com', 2]],
      )
    })
  })
})

describe('working hours', () => {
  const hours = new WorkingHours(BERLIN)

  it('follows the zone across both daylight-saving switches', () => {
    // 06:30 UTC is 07:30 CET in winter and 08:30 CEST in summer; 05:30 UTC is 06:30 CET and 07:30 CEST
    assert.equal(hours.isOffHours(Date.parse('2026-03-27T05:30:00Z')), true)
    assert.equal(hours.isOffHours(Date.parse('2026-03-30T05:30:00Z')), false)
    assert.equal(hours.isOffHours(Date.parse('2026-10-23T05:30:00Z')), false)
    assert.equal(hours.isOffHours(Date.parse('2026-10-26T05:30:00Z')), true)
    assert.equal(hours.offsetInMs(Date.parse('2026-03-29T00:59:00Z')), 3_600_000)
    assert.equal(hours.offsetInMs(Date.parse('2026-03-29T01:00:00Z')), 7_200_000)
  })

  it('puts an instant on its local day', () => {
    assert.equal(hours.localDay(Date.parse('2026-03-30T22:30:00Z')), '2026-03-31')
    assert.equal(hours.localDay(Date.parse('2026-01-30T22:30:00Z')), '2026-01-30')
  })

  it('handles shifts over midnight', () => {
    const night = new WorkingHours({timeZone: 'UTC', workingHours: '22:00-06:00', workingDays: [1, 2, 3, 4, 5]})
    assert.equal(night.isOffHours(Date.parse('2026-03-23T23:00:00Z')), false) // Monday night
    assert.equal(night.isOffHours(Date.parse('2026-03-24T03:00:00Z')), false) // the same shift, Tuesday morning
    assert.equal(night.isOffHours(Date.parse('2026-03-23T03:00:00Z')), true) // Monday 03:00 belongs to Sunday's shift
    assert.equal(night.isOffHours(Date.parse('2026-03-23T12:00:00Z')), true)
  })

  it('rejects an unknown zone with a usage error naming it', () => {
    assert.throws(() => new WorkingHours({...BERLIN, timeZone: 'Mars/Olympus'}), /Mars\/Olympus/)
  })
})
