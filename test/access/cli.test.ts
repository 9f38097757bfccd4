import {strict as assert} from 'node:assert'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {LOCAL_SUBSCRIPTION_ID} from '../../src/lib/local/azure-server/index.js'
import {uniqueName} from '../support/env.js'
import {runCli} from '../support/cli.js'
import {
  accessMap,
  accessMapDocument,
  blobRead,
  signIn,
  startLocalAzure,
  uploadArchive,
  type LocalAzure,
} from './helpers.js'

describe('custos access report (the built CLI)', function () {
  this.timeout(120_000)
  let local: LocalAzure
  let dir: string
  let config: string
  const now = Date.now()
  const since = new Date(now - 2 * 86_400_000).toISOString()

  before(async () => {
    local = await startLocalAzure()
    const signIns = uniqueName('insights-logs-signinlogs')
    const reads = uniqueName('insights-logs-storageread')
    // every hour is a working hour, so that the findings do not depend on when the test runs
    const options = {
      local,
      containers: [signIns, reads],
      activityLog: true,
      extra: {access: {workingHours: '00:00-24:00', workingDays: [0, 1, 2, 3, 4, 5, 6]}},
    }
    await uploadArchive(accessMap(options), signIns, 'tenantId=00000000-0000-0000-0000-000000000001', [
      signIn('anna@contoso.com', new Date(now - 86_400_000), {ip: '198.51.100.1'}),
      signIn('anna@contoso.com', new Date(now - 20 * 86_400_000), {ip: '198.51.100.1'}),
      signIn('boris@contoso.com', new Date(now - 86_400_000 + 60_000), {
        ip: '203.0.113.9',
        country: 'RU',
        code: 50_126,
      }),
    ])
    await uploadArchive(
      accessMap(options),
      reads,
      'resourceId=/SUBSCRIPTIONS/X/PROVIDERS/MICROSOFT.STORAGE/STORAGEACCOUNTS/CONTOSOPROD/BLOBSERVICES/DEFAULT',
      [
        blobRead('anna@contoso.com', new Date(now - 86_400_000 + 120_000), '/contosoprod/tenant-acme/a.txt', {
          ip: '198.51.100.1',
        }),
      ],
    )
    local.server.state.addActivityEvents(LOCAL_SUBSCRIPTION_ID, [
      // one operation, logged as it starts and as it ends: counted once
      {
        eventTimestamp: new Date(now - 3_600_000 - 5000),
        caller: 'anna@contoso.com',
        clientIpAddress: '198.51.100.1',
        status: 'Started',
      },
      {eventTimestamp: new Date(now - 3_600_000), caller: 'anna@contoso.com', clientIpAddress: '198.51.100.1'},
    ])
    dir = mkdtempSync(join(tmpdir(), 'custos-access-cli-'))
    config = join(dir, 'custos.json')
    writeFileSync(config, JSON.stringify(accessMapDocument(options)))
  })

  after(() => local.close())

  it('prints exactly one JSON document with --json and exits 1 when there are findings', async () => {
    const result = await runCli(['access', 'report', '--config', config, '--since', since, '--json'])
    assert.equal(result.code, 1, result.stderr)
    const report = JSON.parse(result.stdout)
    // the JSON shape scripts rely on
    assert.deepEqual(Object.keys(report).sort(), [
      'countries',
      'daily',
      'findings',
      'generatedAt',
      'principals',
      'range',
      'settings',
      'sources',
      'totals',
    ])
    assert.deepEqual(Object.keys(report.principals[0]).sort(), [
      'countries',
      'failedOperations',
      'failures',
      'failuresByCode',
      'firstSeen',
      'interrupts',
      'ips',
      'lastSeen',
      'offHours',
      'operations',
      'operationsByName',
      'principal',
      'signIns',
    ])
    assert.deepEqual(Object.keys(report.findings[0]).sort(), [
      'country',
      'firstSeen',
      'ips',
      'lastSeen',
      'message',
      'principal',
      'signIns',
      'type',
    ])
    assert.deepEqual(
      report.principals.map((p: {principal: string; signIns: number; failures: number; operations: number}) => [
        p.principal,
        p.signIns,
        p.failures,
        p.operations,
      ]),
      [
        ['anna@contoso.com', 1, 0, 2],
        ['boris@contoso.com', 1, 1, 0],
      ],
    )
    assert.deepEqual(
      report.findings.map((f: {type: string; principal: string}) => `${f.type} ${f.principal}`),
      ['country-not-allowed boris@contoso.com', 'new-ip boris@contoso.com'],
    )
    // the archive is named by its endpoint: the connection string's key never reaches the output
    assert.doesNotMatch(result.stdout, /AccountKey/)
    // what a source read but did not count is counted per reason
    const activity = report.sources.find((s: {name: string}) => s.name === 'activity-log')
    assert.deepEqual(activity.skipped, [{reason: 'operation-begin', records: 1}])
  })

  it('writes CSV to --out and exits 0 without findings', async () => {
    const out = join(dir, 'access.csv')
    const result = await runCli([
      'access',
      'report',
      '--config',
      config,
      '--since',
      since,
      '--out',
      out,
      '--allowed-countries',
      'DE,RU',
      '--lookback',
      '0d',
    ])
    assert.equal(result.code, 0, result.stderr)
    assert.equal(result.stdout, '')
    const lines = readFileSync(out, 'utf8').trimEnd().split('\r\n')
    assert.equal(
      lines[0],
      'principal,signIns,failures,failuresByCode,operations,failedOperations,ips,countries,firstSeen,lastSeen,offHours,findings,interrupts',
    )
    assert.equal(lines.length, 3)
    assert.match(lines[2], /^boris@contoso\.com,1,1,50126:1,0,0,203\.0\.113\.9,RU,/)
    assert.match(result.stderr, /Wrote the csv report/)
  })

  it('prints a table, not JSON, when stdout is a pipe and neither --json nor --format json is given', async () => {
    // runCli pipes stdout (as a job log does): not a terminal
    const result = await runCli(['access', 'report', '--config', config, '--since', since])
    assert.equal(result.code, 1, result.stderr)
    assert.throws(() => JSON.parse(result.stdout))
    assert.doesNotMatch(result.stdout, /^\s*[{[]/)
    assert.match(result.stdout, /^Access report /)
    assert.match(result.stdout, /principal\s.*sign-ins\s.*failures/)
    assert.match(result.stdout, /boris@contoso\.com/)
  })

  it('prints JSON on a pipe only when asked with --format json', async () => {
    const result = await runCli(['access', 'report', '--config', config, '--since', since, '--format', 'json'])
    assert.equal(result.code, 1, result.stderr)
    assert.deepEqual(
      JSON.parse(result.stdout).principals.map((p: {principal: string}) => p.principal),
      ['anna@contoso.com', 'boris@contoso.com'],
    )
  })

  it('takes the format from the --output file name, and a table for a name without a known one', async () => {
    const html = join(dir, 'access.htm')
    const text = join(dir, 'access.txt')
    const [toHtml, toText] = await Promise.all([
      runCli(['access', 'report', '--config', config, '--since', since, '-o', html]),
      runCli(['access', 'report', '--config', config, '--since', since, '-o', text]),
    ])
    assert.equal(toHtml.code, 1, toHtml.stderr)
    assert.match(readFileSync(html, 'utf8'), /^<!doctype html>/i)
    assert.equal(toText.code, 1, toText.stderr)
    assert.match(readFileSync(text, 'utf8'), /^Access report /)
  })

  it('answers a range older than 90 days with exit 2 and a JSON error that points to the archive', async () => {
    const result = await runCli(['access', 'report', '--config', config, '--since', '-120d', '--json'])
    assert.equal(result.code, 2)
    const error = JSON.parse(result.stdout).error
    assert.equal(error.code, 'ActivityLogRetention')
    assert.match(error.hint, /--source archive/)
  })
})
