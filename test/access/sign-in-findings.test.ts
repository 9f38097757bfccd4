import {strict as assert} from 'node:assert'

import {AccessAggregator} from '../../src/lib/access/aggregate.js'
import {consumeRecords} from '../../src/lib/access/consume.js'
import {WorkingHours} from '../../src/lib/access/hours.js'
import {fromArchivedRecord} from '../../src/lib/access/normalize.js'
import {reportFromAggregator} from '../../src/lib/access/report.js'
import {INTERRUPT_CODES, distanceKm} from '../../src/lib/access/sign-ins.js'
import type {AccessReport, SignInFinding} from '../../src/lib/access/types.js'
import {readSample, sekoiaRecords, type Doc} from './helpers.js'

const SINCE = Date.parse('2026-03-23T00:00:00Z')
const UNTIL = SINCE + 86_400_000
const PARIS = {latitude: 48.8566, longitude: 2.3522}
const BERLIN = {latitude: 52.52, longitude: 13.405}
const SYDNEY = {latitude: -33.8688, longitude: 151.2093}

/** An archived SignInLogs record in the shape of signinlogs-archived-documented.json. */
function record(
  upn: string,
  time: string,
  options: {
    code?: number
    ip?: string
    clientApp?: string
    auth?: string
    geo?: {latitude: number; longitude: number}
    category?: string
    details?: string
  } = {},
): Doc {
  const code = options.code ?? 0
  return {
    time,
    category: options.category ?? 'SignInLogs',
    resultType: String(code),
    properties: {
      userPrincipalName: upn,
      ipAddress: options.ip ?? '198.51.100.1',
      status: {errorCode: code, ...(options.details ? {additionalDetails: options.details} : {})},
      clientAppUsed: options.clientApp ?? 'Browser',
      authenticationRequirement: options.auth ?? 'multiFactorAuthentication',
      location: {countryOrRegion: 'DE', geoCoordinates: options.geo ?? BERLIN},
    },
  }
}

async function reportOf(records: Doc[], privileged: string[] = []): Promise<AccessReport> {
  const aggregator = new AccessAggregator({
    sinceInMs: SINCE,
    untilInMs: UNTIL,
    lookbackInMs: 0,
    allowedCountries: ['DE', 'FR', 'US', 'AU'],
    burstFailures: 50,
    burstWindowInMs: 600_000,
    hours: new WorkingHours({timeZone: 'UTC', workingHours: '00:00-24:00', workingDays: [0, 1, 2, 3, 4, 5, 6]}),
    privileged,
  })
  await consumeRecords(records, aggregator, {toEvent: fromArchivedRecord})
  return reportFromAggregator(aggregator, {since: new Date(SINCE), until: new Date(UNTIL), sources: []})
}

const of = (report: AccessReport, type: string) => report.findings.filter((f) => f.type === type) as SignInFinding[]

describe('access report: sign-in findings', () => {
  it('counts interrupts (MFA, consent, keep me signed in) apart from failures', async () => {
    const report = await reportOf([
      record('anna@contoso.com', '2026-03-23T09:00:00Z', {code: 50_074}),
      record('anna@contoso.com', '2026-03-23T09:00:10Z', {code: 50_140}),
      record('anna@contoso.com', '2026-03-23T09:00:20Z', {code: 65_001}),
      record('anna@contoso.com', '2026-03-23T09:00:30Z'),
      record('anna@contoso.com', '2026-03-23T09:05:00Z', {code: 50_126}),
    ])
    const anna = report.principals[0]
    assert.equal(anna.signIns, 5)
    assert.equal(anna.interrupts, 3)
    assert.equal(anna.failures, 1)
    assert.deepEqual(anna.failuresByCode, {50_126: 1})
    assert.equal(report.totals.interrupts, 3)
    assert.equal(report.daily.find((d) => d.day === '2026-03-23')!.failures, 1)
    for (const code of ['50074', '50076', '50140', '65001', '50158']) assert.ok(INTERRUPT_CODES.has(code), code)
    assert.ok(
      !INTERRUPT_CODES.has('50126') && !INTERRUPT_CODES.has('50057'),
      'a wrong password or a disabled account is a failure',
    )
  })

  it('finds a password spray: one IP failing on enough distinct accounts within the window, and not fewer', async () => {
    const spray = ['a', 'b', 'c', 'd', 'e'].map((u, i) =>
      record(`${u}@contoso.com`, `2026-03-23T10:${String(i * 5).padStart(2, '0')}:00Z`, {
        code: 50_126,
        ip: '203.0.113.9',
      }),
    )
    const quiet = ['f', 'g', 'h', 'i'].map((u) =>
      record(`${u}@contoso.com`, '2026-03-23T11:00:00Z', {code: 50_126, ip: '203.0.113.10'}),
    )
    const interrupts = ['j', 'k', 'l', 'm', 'n'].map((u) =>
      record(`${u}@contoso.com`, '2026-03-23T12:00:00Z', {code: 50_074, ip: '203.0.113.11'}),
    )
    const report = await reportOf([...spray, ...quiet, ...interrupts])
    const found = of(report, 'password-spray')
    assert.deepEqual(
      found.map((f) => f.principal),
      ['203.0.113.9'],
    )
    assert.deepEqual(found[0].accounts, [
      'a@contoso.com',
      'b@contoso.com',
      'c@contoso.com',
      'd@contoso.com',
      'e@contoso.com',
    ])
  })

  it('finds MFA denied, legacy authentication and sign-in attempts to disabled accounts', async () => {
    const report = await reportOf([
      record('bob@contoso.com', '2026-03-23T09:00:00Z', {code: 500_121}),
      record('carl@contoso.com', '2026-03-23T09:00:00Z', {clientApp: 'IMAP4'}),
      record('dora@contoso.com', '2026-03-23T09:00:00Z', {code: 50_057}),
      record('erin@contoso.com', '2026-03-23T09:00:00Z', {clientApp: 'Mobile Apps and Desktop clients'}),
    ])
    assert.deepEqual(
      of(report, 'mfa-denied').map((f) => f.principal),
      ['bob@contoso.com'],
    )
    assert.deepEqual(
      of(report, 'legacy-auth').map((f) => [f.principal, f.clientApp]),
      [['carl@contoso.com', 'IMAP4']],
    )
    assert.deepEqual(
      of(report, 'disabled-account').map((f) => f.principal),
      ['dora@contoso.com'],
    )
  })

  it('finds single-factor sign-ins of privileged principals only', async () => {
    const records = [
      record('admin@contoso.com', '2026-03-23T09:00:00Z', {auth: 'singleFactorAuthentication'}),
      record('admin@contoso.com', '2026-03-23T10:00:00Z', {auth: 'multiFactorAuthentication'}),
      record('admin@contoso.com', '2026-03-23T11:00:00Z', {
        auth: 'singleFactorAuthentication',
        details: 'MFA requirement satisfied by claim in the token',
      }),
      record('user@contoso.com', '2026-03-23T09:00:00Z', {auth: 'singleFactorAuthentication'}),
    ]
    const report = await reportOf(records, ['Admin@contoso.com'])
    const found = of(report, 'single-factor-privileged')
    assert.deepEqual(
      found.map((f) => [f.principal, f.events]),
      [['admin@contoso.com', 1]],
    )
    assert.equal(of(await reportOf(records, []), 'single-factor-privileged').length, 0)
  })

  it('finds impossible travel between successful sign-ins, and not a plausible trip', async () => {
    assert.ok(
      Math.abs(
        distanceKm({lat: PARIS.latitude, lon: PARIS.longitude}, {lat: BERLIN.latitude, lon: BERLIN.longitude}) - 878,
      ) < 10,
    )
    const report = await reportOf([
      record('anna@contoso.com', '2026-03-23T08:00:00Z', {geo: BERLIN}),
      record('anna@contoso.com', '2026-03-23T10:00:00Z', {geo: PARIS}), // 878 km in 2 h: a flight
      record('anna@contoso.com', '2026-03-23T11:00:00Z', {geo: SYDNEY}), // 16,960 km in 1 h
      record('ben@contoso.com', '2026-03-23T08:00:00Z', {geo: BERLIN}),
      record('ben@contoso.com', '2026-03-23T08:30:00Z', {geo: SYDNEY, code: 50_126}), // failed: not travel
    ])
    const found = of(report, 'impossible-travel')
    assert.equal(found.length, 1)
    assert.equal(found[0].principal, 'anna@contoso.com')
    assert.ok(found[0].distanceKm! > 16_000)
  })

  it('reads the real sign-in records: service-principal and non-interactive categories, interrupts, single factor', async () => {
    const records = [
      ...sekoiaRecords('logs/sekoia-azure-ad').map((s) => s.record),
      readSample('logs/signinlogs-archived-documented.json'),
    ]
    const aggregator = new AccessAggregator({
      sinceInMs: Date.parse('2019-01-01T00:00:00Z'),
      untilInMs: Date.parse('2026-01-01T00:00:00Z'),
      lookbackInMs: 0,
      allowedCountries: ['DE', 'FR', 'US'],
      burstFailures: 50,
      burstWindowInMs: 600_000,
      hours: new WorkingHours({timeZone: 'UTC', workingHours: '00:00-24:00', workingDays: [0, 1, 2, 3, 4, 5, 6]}),
      privileged: ['jane.doe@example.org', 'john.doe@example.org'],
    })
    await consumeRecords(records, aggregator, {toEvent: fromArchivedRecord})
    const report = reportFromAggregator(aggregator, {
      since: new Date('2019-01-01T00:00:00Z'),
      until: new Date('2026-01-01T00:00:00Z'),
      sources: [],
    })
    assert.equal(
      report.totals.signIns,
      8,
      'SignInLogs, NonInteractiveUserSignInLogs and ServicePrincipalSignInLogs are all read',
    )
    assert.equal(report.totals.failures, 0)
    assert.equal(report.totals.interrupts, 2)
    // jane.doe signed in with single-factor authentication (sign-in_activity4); john.doe completed MFA (sign-in_activity3)
    assert.deepEqual(
      of(report, 'single-factor-privileged').map((f) => f.principal),
      ['jane.doe@example.org'],
    )
    assert.equal(of(report, 'impossible-travel').length, 0, 'the service principal at 0,0 is no place')
  })
})
