import assert from 'node:assert/strict'
import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {AzureClients} from '../../src/lib/azure/clients.js'
import {loadDataMap} from '../../src/lib/datamap/load.js'
import {seedDemoData} from '../../src/lib/local/demo-data.js'
import {startLocalEnvironment, type LocalEnvironment} from '../../src/lib/local/environment.js'
import {verifyDocument} from '../../src/lib/evidence/envelope.js'
import {IncidentLog} from '../../src/lib/incident/log.js'
import {runCli} from '../support/cli.js'
import {bundleRecords, checkSums, untar} from './helpers.js'

const HOUR = 3_600_000

describe('custos incident (the built CLI against the local environment)', function () {
  this.timeout(180_000)
  let env: LocalEnvironment
  let dir: string
  let config: string
  const seededAt = new Date()

  /** The demo data map with an audit container of its own, so each scenario sees only its incidents. */
  function configWithAudit(container: string): string {
    const path = join(dir, `${container}.json`)
    const raw = env.config as {audit: Record<string, unknown>}
    writeFileSync(path, JSON.stringify({...raw, audit: {...raw.audit, container}}))
    return path
  }

  before(async () => {
    env = await startLocalEnvironment()
    await seedDemoData(new AzureClients(loadDataMap(env.configPath)), env, {documentsPerCustomer: 2, now: seededAt})
    dir = mkdtempSync(join(tmpdir(), 'custos-incident-cli-'))
    config = env.configPath
  })

  after(async () => {
    await env?.stop()
    if (dir) rmSync(dir, {recursive: true, force: true})
  })

  it('open prints the deadline in UTC and Europe/Berlin, 72 elapsed hours across the October change', async () => {
    const cfg = configWithAudit('incident-dst')
    const text = await runCli([
      'incident',
      'open',
      '--detected',
      '2026-10-24T10:00:00Z',
      '--summary',
      'Test across the clock change',
      '--customer',
      'acme',
      '--config',
      cfg,
    ])
    assert.equal(text.code, 0, text.stderr)
    assert.match(text.stdout, /Detected: {2}2026-10-24 10:00 UTC {2}= {2}2026-10-24 12:00 CEST \(Europe\/Berlin\)/)
    assert.match(text.stdout, /Deadline: {2}2026-10-27 10:00 UTC {2}= {2}2026-10-27 11:00 CET \(Europe\/Berlin\)/)
    const json = await runCli([
      'incident',
      'show',
      text.stdout.match(/inc-\d{8}-[0-9a-f]{6}/)![0],
      '--config',
      cfg,
      '--json',
    ])
    assert.equal(json.code, 1, 'long overdue, so show exits 1')
    const {status} = json.json<{
      status: {deadline: {utc: string; local: string}; detectedAt: {local: string}; state: string}
    }>()
    assert.equal(status.deadline.utc, '2026-10-27T10:00:00.000Z')
    assert.equal(status.deadline.local, '2026-10-27T11:00:00+01:00')
    assert.equal(status.detectedAt.local, '2026-10-24T12:00:00+02:00')
    assert.equal(status.state, 'overdue')
  })

  it('list and the Nagios line: 0/OK for a fine incident, 1/WARNING inside the warning window, 1/CRITICAL when overdue', async () => {
    const scenarios = [
      {name: 'incident-fine', hoursAgo: 10, list: 0, nagios: 0, state: 'OK'},
      {name: 'incident-warning', hoursAgo: 65, list: 1, nagios: 1, state: 'WARNING'},
      {name: 'incident-overdue', hoursAgo: 80, list: 1, nagios: 2, state: 'CRITICAL'},
    ]
    // The incidents are recorded through the library (set-up); what is under test is the CLI's list.
    const configs = new Map<string, string>()
    await Promise.all(
      scenarios.map(async (s) => {
        const cfg = configWithAudit(s.name)
        configs.set(s.name, cfg)
        const map = loadDataMap(cfg)
        await new IncidentLog(new AzureClients(map), map).open({
          detectedAt: new Date(Date.now() - s.hoursAgo * HOUR),
          summary: s.name,
          customers: ['globex'],
        })
      }),
    )
    const missing = join(dir, 'missing.yaml')
    const [runs, narrowed, broken] = await Promise.all([
      Promise.all(
        scenarios.map((s) =>
          Promise.all([
            runCli(['incident', 'list', '--config', configs.get(s.name)!, '--json']),
            runCli(['incident', 'list', '--format', 'nagios', '--config', configs.get(s.name)!]),
          ]),
        ),
      ),
      runCli([
        'incident',
        'list',
        '--warn-within',
        '1h',
        '--format',
        'nagios',
        '--config',
        configs.get('incident-warning')!,
      ]),
      runCli(['incident', 'list', '--format', 'nagios', '--config', missing]),
    ])
    for (const [i, s] of scenarios.entries()) {
      const [list, nagios] = runs[i]
      assert.equal(list.code, s.list, `${s.name}: list exit code\n${list.stdout}${list.stderr}`)
      const doc = list.json<{
        incidents: Array<{summary: string; customers: Array<{customer: string}>}>
        totals: {open: number}
      }>()
      assert.equal(doc.totals.open, 1)
      assert.equal(doc.incidents[0].summary, s.name)
      assert.equal(nagios.code, s.nagios, `${s.name}: nagios exit code\n${nagios.stdout}`)
      assert.match(
        nagios.stdout,
        new RegExp(
          `^INCIDENTS ${s.state} - .+ \\| open=1;;;0 overdue=\\d;;0;0 warning=\\d;0;;0 pending_customers=1;;;0 time_left=-?\\d+s;43200:;0:;;\\n$`,
        ),
      )
    }

    assert.equal(narrowed.code, 0, '--warn-within overrides incident.warnWithin')
    assert.equal(broken.code, 3)
    assert.match(broken.stdout, /^INCIDENTS UNKNOWN - The data map .*missing\.yaml cannot be read/)
  })

  it('open → update → notify (de, en) → evidence → close: each step leaves its audit record and the trail still verifies', async () => {
    const detected = new Date(Date.now() - 6 * HOUR)
    const run = (...args: string[]) => runCli(['incident', ...args, '--config', config])
    const open = await run(
      'open',
      '--detected',
      detected.toISOString(),
      '--summary',
      'Support account read customer documents from an unknown IP',
      '--customer',
      'acme',
      '--customer',
      'globex',
      '--data-categories',
      'contact data,contracts',
      '--subject-categories',
      'end users',
      '--json',
    )
    assert.equal(open.code, 0, open.stderr)
    const id = open.json<{incident: {id: string}}>().incident.id

    // Independent steps run side by side (the trail takes concurrent appends); the order between steps matters.
    const [refused, perCustomer] = await Promise.all([
      // a notice with facts missing is refused, naming each
      run('notify', id, '--customer', 'acme', '--lang', 'de', '--out-dir', dir, '--json'),
      run('update', id, '--for', 'globex', '--subjects', '7', '--records', '80', '--json'),
    ])
    assert.equal(refused.code, 2)
    const {error} = refused.json<{error: {message: string; details: string[]}}>()
    assert.match(error.message, /: nature, subjects, records, contact, consequences, measures are empty\./)
    assert.deepEqual(
      error.details.map((d) => d.split(':')[0]),
      ['nature', 'subjects', 'records', 'contact', 'consequences', 'measures'],
    )
    assert.equal(perCustomer.code, 0, perCustomer.stderr)

    const update = await run(
      'update',
      id,
      '--nature',
      'Read access to stored contracts by a compromised support account',
      '--subjects',
      '120',
      '--records',
      '4000',
      '--consequences',
      'Disclosure of contract terms',
      '--measures',
      'Account disabled, sessions revoked, keys rotated',
      '--contact',
      'DPO, dpo@contoso.example',
      '--customer',
      'initech',
      '--json',
    )
    assert.equal(update.code, 0, update.stderr)

    const [de, en] = await Promise.all([
      run('notify', id, '--customer', 'acme', '--lang', 'de', '--out-dir', dir),
      run('notify', id, '--customer', 'globex', '--lang', 'en', '--out-dir', dir, '--json'),
    ])
    assert.equal(de.code, 0, de.stderr)
    assert.match(de.stdout, /Ungefähre Zahl der betroffenen Personen: 120/)
    assert.match(de.stdout, /Ungefähre Zahl der betroffenen personenbezogenen Datensätze: 4\.000/)
    assert.match(
      readFileSync(join(dir, `notice-${id}-acme.de.html`), 'utf8'),
      /Art der Verletzung des Schutzes personenbezogener Daten/,
    )
    assert.equal(en.code, 0, en.stderr)
    const notice = en.json<{text: string; recorded: boolean; late: boolean; files: {text: string}}>()
    assert.equal(notice.recorded, true)
    assert.equal(notice.late, false)
    assert.match(notice.text, /Approximate number of data subjects concerned: 7\n/, "globex's own number")
    assert.ok(existsSync(notice.files.text))

    // Evidence for the window [detection − 24 h, until), against an independent count of the archive.
    const until = new Date(seededAt.getTime() + 60_000)
    const since = new Date(detected.getTime() - 24 * HOUR)
    const output = join(dir, 'evidence.tar.gz')
    const [show, evidence, expected] = await Promise.all([
      run('show', id, '--json'),
      run(
        'evidence',
        id,
        '--customer',
        'acme',
        '--customer',
        'globex',
        '--until',
        until.toISOString(),
        '--output',
        output,
        '--json',
      ),
      countArchived(env, ['acme', 'globex'], since, until),
    ])
    assert.equal(show.code, 0, show.stderr)
    const shown = show.json<{status: {state: string; customers: Array<{customer: string; state: string}>}}>().status
    assert.equal(shown.state, 'ok')
    assert.deepEqual(
      shown.customers.map((c) => [c.customer, c.state]),
      [
        ['acme', 'notified'],
        ['globex', 'notified'],
        ['initech', 'ok'],
      ],
    )
    assert.equal(evidence.code, 0, evidence.stderr)
    const result = evidence.json<{
      manifest: {signed: boolean; kid: string}
      customers: Array<{customer: string; records: number}>
    }>()
    assert.equal(result.manifest.signed, true)
    // The window holds every customer's storage reads (every 3 h, whatever the weekday: 10 in these
    // 30 h); sign-ins come on top only in office hours on weekdays, so on a weekend the count is 10.
    assert.ok(expected.acme >= 10 && expected.globex >= 10, JSON.stringify(expected))
    assert.deepEqual(Object.fromEntries(result.customers.map((c) => [c.customer, c.records])), expected)
    const files = await untar(output)
    assert.deepEqual(checkSums(files), [])
    for (const customer of ['acme', 'globex']) {
      const records = await bundleRecords(files.get(`customers/${customer}/logs.tar.gz`)!)
      assert.equal(records.length, expected[customer])
      assert.ok(records.every((r) => (r.properties as {customerId?: string}).customerId === customer))
    }

    assert.ok(![...files.keys()].some((k) => /acme-corp|initech/.test(k)))
    const manifest = JSON.parse(files.get('manifest.json')!.toString('utf8'))
    // who could access, at collection time: the local directory's review, its findings included
    const review = JSON.parse(files.get('access-review.json')!.toString('utf8'))
    assert.ok(review.findings.some((f: {type: string}) => f.type === 'guest'))
    assert.equal(manifest.body.accessReview.summary.findings, review.findings.length)
    assert.ok(files.has('access-review.html'))
    assert.deepEqual(await verifyDocument(manifest, new AzureClients(loadDataMap(config))), {
      kind: 'custos.incident-evidence',
      hash: 'valid',
      signature: 'valid',
      ok: true,
    })

    const closeWithPending = await run('close', id, '--resolution', 'Contained', '--json')
    assert.equal(closeWithPending.code, 3, 'initech was never notified')
    assert.match(closeWithPending.json<{error: {message: string}}>().error.message, /without a notice: initech/)
    const close = await run(
      'close',
      id,
      '--resolution',
      'Contained; initech turned out not to be affected',
      '--allow-unnotified',
      '--json',
    )
    assert.equal(close.code, 0, close.stderr)
    assert.deepEqual(close.json<{unnotified: string[]}>().unnotified, ['initech'])

    const [afterClose, trail] = await Promise.all([
      run('update', id, '--measures', 'more', '--json'),
      runCli(['audit', 'trail', '--verify', '--config', config, '--json']),
    ])
    assert.equal(afterClose.code, 3, 'a closed incident is not changed')
    assert.equal(trail.code, 0, trail.stderr)
    const doc = trail.json<{
      records: Array<{action: string; customer?: string; actor: string; details?: {incident?: string}}>
      verification: {ok: boolean; signed: number}
    }>()
    assert.equal(doc.verification.ok, true)
    const mine = doc.records.filter((r) => r.details?.incident === id)
    assert.deepEqual(mine.map((r) => `${r.action}${r.customer ? ` ${r.customer}` : ''}`).sort(), [
      'incident.close',
      'incident.evidence',
      'incident.notify acme',
      'incident.notify globex',
      'incident.open',
      'incident.update',
      'incident.update',
    ])
    assert.equal(mine[0].action, 'incident.open')
    assert.equal(mine.at(-1)!.action, 'incident.close')
    assert.ok(mine.every((r) => r.actor.length > 0))
    assert.ok(doc.verification.signed >= mine.length, 'the records are signed with the evidence key')
  })
})

/** Counts archived records of each customer whose own time lies in [since, until), reading the blobs directly. */
async function countArchived(
  env: LocalEnvironment,
  customers: string[],
  since: Date,
  until: Date,
): Promise<Record<string, number>> {
  const clients = new AzureClients(loadDataMap(env.configPath))
  const service = clients.blobService(env.azurite.connectionString('contosologs'))
  const counts: Record<string, number> = Object.fromEntries(customers.map((c) => [c, 0]))
  for (const container of ['insights-logs-signinlogs', 'insights-logs-storageread', 'insights-activity-logs']) {
    const c = service.getContainerClient(container)
    for await (const blob of c.listBlobsFlat()) {
      const body = (await c.getBlobClient(blob.name).downloadToBuffer()).toString('utf8')
      for (const line of body.split('\n')) {
        if (!line.trim()) continue
        const record = JSON.parse(line) as {time: string; properties?: {customerId?: string}}
        const time = Date.parse(record.time)
        const customer = record.properties?.customerId
        if (customer && customer in counts && time >= since.getTime() && time < until.getTime()) counts[customer]++
      }
    }
  }

  return counts
}
