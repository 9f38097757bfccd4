import {strict as assert} from 'node:assert'

import {AzureClients} from '../../src/lib/azure/clients.js'
import {createAccessReport} from '../../src/lib/access/report.js'
import type {PrincipalSummary} from '../../src/lib/access/types.js'
import {LOCAL_SUBSCRIPTION_ID} from '../../src/lib/local/azure-server/index.js'
import {uniqueName} from '../support/env.js'
import {
  accessMap,
  readSample,
  sekoiaRecords,
  startLocalAzure,
  uploadArchive,
  type Doc,
  type LocalAzure,
} from './helpers.js'

/** What the report must say per principal, computed here straight from the samples' own fields. */
interface Expected {
  signIns: number
  failures: number
  interrupts: number
  failuresByCode: Record<string, number>
  operations: number
  ips: Set<string>
  countries: Set<string>
  first: number
  last: number
}

function expectedFrom(
  entries: Array<{
    principal: string
    time: string
    signIn: boolean
    failedCode?: string
    interrupted?: boolean
    ip?: string
    country?: string
  }>,
): Map<string, Expected> {
  const out = new Map<string, Expected>()
  for (const e of entries) {
    const t = Date.parse(e.time)
    const x = out.get(e.principal) ?? {
      signIns: 0,
      failures: 0,
      interrupts: 0,
      failuresByCode: {},
      operations: 0,
      ips: new Set(),
      countries: new Set(),
      first: t,
      last: t,
    }
    if (e.signIn) x.signIns += 1
    else x.operations += 1
    if (e.interrupted) x.interrupts += 1
    else if (e.failedCode) {
      x.failures += 1
      x.failuresByCode[e.failedCode] = (x.failuresByCode[e.failedCode] ?? 0) + 1
    }

    if (e.ip) x.ips.add(e.ip)
    if (e.country) x.countries.add(e.country)
    x.first = Math.min(x.first, t)
    x.last = Math.max(x.last, t)
    out.set(e.principal, x)
  }

  return out
}

function assertPrincipals(actual: PrincipalSummary[], expected: Map<string, Expected>): void {
  assert.deepEqual(actual.map((p) => p.principal).sort(), [...expected.keys()].sort())
  for (const p of actual) {
    const x = expected.get(p.principal)!
    assert.deepEqual(
      {
        signIns: p.signIns,
        failures: p.failures,
        interrupts: p.interrupts,
        failuresByCode: p.failuresByCode,
        operations: p.operations,
        ips: p.ips,
        countries: p.countries,
        firstSeen: p.firstSeen,
        lastSeen: p.lastSeen,
      },
      {
        signIns: x.signIns,
        failures: x.failures,
        interrupts: x.interrupts,
        failuresByCode: x.failuresByCode,
        operations: x.operations,
        ips: [...x.ips].sort(),
        countries: [...x.countries].sort(),
        firstSeen: new Date(x.first).toISOString(),
        lastSeen: new Date(x.last).toISOString(),
      },
      p.principal,
    )
  }
}

/** A merge patch that turns the server's generated event into exactly `sample` (fields it lacks are removed). */
function exactly(generated: Doc, sample: Doc): Doc {
  const patch: Doc = {...sample}
  for (const [key, value] of Object.entries(generated)) {
    if (!(key in sample)) patch[key] = undefined
    else if (isObject(value) && isObject(sample[key])) patch[key] = exactly(value, sample[key])
  }

  return patch
}

function isObject(value: unknown): value is Doc {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

describe('access report on the real sample records', function () {
  this.timeout(60_000)

  it('counts per principal what the archived sign-in and storage samples say', async () => {
    const signIns = [
      ...sekoiaRecords('logs/sekoia-azure-ad').map((s) => s.record),
      readSample('logs/signinlogs-archived-documented.json'),
    ]
    const storage = [readSample('logs/storagebloblogs-storageread-captured.json')]
    assert.equal(signIns.length, 8)

    // Independent reading of the samples: sign-ins by UPN (service principals by name), a
    // non-zero resultType is a failure unless the record itself says it is an interrupt or a
    // challenge (50140 "'Keep me signed in' interrupt", 50158 "External security challenge was not
    // satisfied"), the storage read was made with a SAS signed by key1.
    const entries = [
      ...signIns.map((r) => {
        const upn = String(r.properties.userPrincipalName ?? r.properties.servicePrincipalName).toLowerCase()
        const country = r.properties.location?.countryOrRegion as string | undefined
        return {
          principal: upn,
          time: r.time as string,
          signIn: true,
          failedCode: r.resultType === '0' ? undefined : (r.resultType as string),
          interrupted: /interrupt|security challenge was not satisfied/i.test(
            String(r.resultDescription ?? r.properties.status?.failureReason ?? ''),
          ),
          ip: r.properties.ipAddress as string,
          country: country || undefined,
        }
      }),
      ...storage.map((r) => ({
        principal: `sas (${(r.identity.tokenHash as string).slice(0, 4)})`,
        time: r.time as string,
        signIn: false,
        ip: (r.callerIpAddress as string).split(':')[0],
      })),
    ]
    const expected = expectedFrom(entries)
    assert.ok(expected.get('anonymized')!.signIns === 2, 'two anonymised sign-ins share a principal')

    const signInContainer = uniqueName('insights-logs-signinlogs')
    const storageContainer = uniqueName('insights-logs-storageread')
    const map = accessMap({containers: [signInContainer, storageContainer]})
    // both Entra ID path forms seen in the wild
    await uploadArchive(
      map,
      signInContainer,
      'resourceId=/tenants/11111111-1111-1111-1111-222222222222/providers/Microsoft.aadiam',
      signIns.slice(0, 4),
    )
    await uploadArchive(map, signInContainer, 'tenantId=11111111-1111-1111-1111-222222222222', signIns.slice(4))
    await uploadArchive(
      map,
      storageContainer,
      'resourceId=/SUBSCRIPTIONS/A921D5D4/RESOURCEGROUPS/SECURAALLRG/PROVIDERS/MICROSOFT.STORAGE/STORAGEACCOUNTS/DIAG7FFF8F1AB8425B12/BLOBSERVICES/DEFAULT',
      storage,
    )

    const report = await createAccessReport(new AzureClients(map), map, {
      since: new Date('2019-01-01T00:00:00Z'),
      until: new Date('2026-01-01T00:00:00Z'),
      sources: ['archive'],
      burstFailures: 5,
      burstWindowInMs: 600_000,
      lookbackInMs: 0,
    })
    assertPrincipals(report.principals, expected)
    assert.equal(report.totals.signIns, 8)
    // both non-zero results of the samples are interrupts (50140 keep me signed in, 50158 an external challenge)
    assert.equal(report.totals.failures, 0)
    assert.equal(report.totals.interrupts, 2)
    assert.equal(report.sources[0].events, 9)
    // every sample sign-in came from FR or US: both outside the default allowed list [DE]
    assert.deepEqual(
      report.findings
        .filter((f) => f.type === 'country-not-allowed')
        .map((f) => f.principal)
        .sort(),
      [...expected]
        .filter(([, x]) => x.countries.size > 0)
        .map(([p]) => p)
        .sort(),
    )
  })

  describe('through the activity log of the local server', () => {
    let local: LocalAzure

    before(async () => {
      local = await startLocalAzure()
    })

    after(() => local.close())

    it('counts operations per caller of the real activity-log samples, read page by page with the SDK', async () => {
      const samples = sekoiaRecords('logs/sekoia-azure-activity-logs').map((s) => s.record)
      const now = Date.now()
      // The samples are years old; move them into the activity log's 90 days, keep every other field as captured.
      const shifted: Doc[] = samples.map((r, i) => ({
        ...r,
        eventTimestamp: new Date(now - (i + 1) * 3_600_000).toISOString(),
      }))
      const generated = local.server.state.addActivityEvents('probe', [{eventTimestamp: new Date()}])[0]
      for (const r of shifted)
        local.server.state.addActivityEvents(LOCAL_SUBSCRIPTION_ID, [
          {eventTimestamp: r.eventTimestamp, raw: exactly(generated, r)},
        ])
      local.server.state.activityLogPageSize = 1
      const map = accessMap({local, activityLog: true})

      // Independent reading: an event with a caller is one operation of that caller; its IP is the request's or the token's.
      const expected = expectedFrom(
        shifted
          .filter((r) => typeof r.caller === 'string')
          .map((r) => ({
            principal: (r.caller as string).toLowerCase(),
            time: r.eventTimestamp as string,
            signIn: false,
            ip: (r.httpRequest?.clientIpAddress ?? r.claims?.ipaddr) as string | undefined,
          })),
      )
      assert.equal(expected.size, 3)

      const before = local.server.requests.length
      const report = await createAccessReport(new AzureClients(map), map, {
        since: new Date(now - 5 * 86_400_000),
        until: new Date(now),
        sources: ['activity-log'],
        burstFailures: 5,
        burstWindowInMs: 600_000,
        lookbackInMs: 0,
      })
      assertPrincipals(report.principals, expected)
      const pages = local.server.requests.slice(before).filter((r) => r.path.endsWith('/eventtypes/management/values'))
      assert.equal(pages.length, 4)
      assert.equal(report.sources[0].pages, 4)
    })
  })
})
