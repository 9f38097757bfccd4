import assert from 'node:assert/strict'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import type {ContainerClient} from '@azure/storage-blob'

import {AuditTrail} from '../../src/lib/audit/trail.js'
import {AzureClients} from '../../src/lib/azure/clients.js'
import {validateDataMap} from '../../src/lib/datamap/load.js'
import type {DataMap} from '../../src/lib/datamap/types.js'
import {verifyDocument} from '../../src/lib/evidence/envelope.js'
import {collectIncidentEvidence} from '../../src/lib/incident/evidence.js'
import {IncidentLog} from '../../src/lib/incident/log.js'
import {
  demoPrincipals,
  signInBlobName,
  signInRecord,
  storageReadBlobName,
  storageReadRecord,
} from '../../src/lib/local/demo-records.js'
import {getTestAzurite, uniqueName} from '../support/env.js'
import {bundleRecords, checkSums, untar} from './helpers.js'

const HOUR = 3_600_000
const DETECTED = new Date('2026-11-20T10:00:00Z')
const UNTIL = new Date('2026-11-20T16:00:00Z')
const SINCE = new Date(DETECTED.getTime() - 24 * HOUR)
const CUSTOMERS = ['acme', 'acme-corp', 'globex', 'initech']
const AFFECTED = ['acme', 'globex']

/** Appends records to hourly PT1H.json blobs, one JSON record per line, as diagnostic settings do. */
async function archive(
  container: ContainerClient,
  items: Array<{blob: string; record: Record<string, unknown>}>,
): Promise<void> {
  await container.createIfNotExists()
  const byBlob = new Map<string, string[]>()
  for (const {blob, record} of items) byBlob.set(blob, [...(byBlob.get(blob) ?? []), JSON.stringify(record)])
  for (const [name, lines] of byBlob) {
    const blob = container.getAppendBlobClient(name)
    await blob.createIfNotExists({blobHTTPHeaders: {blobContentType: 'application/json'}})
    const body = `${lines.join('\n')}\n`
    await blob.appendBlock(body, Buffer.byteLength(body))
  }
}

describe('incident evidence (library, on Azurite)', function () {
  this.timeout(60_000)
  const signInContainer = uniqueName('insights-logs-signinlogs')
  const readContainer = uniqueName('insights-logs-storageread')
  const docsPrefix = uniqueName('tenant').slice(0, 20)
  let dir: string
  let map: DataMap
  let clients: AzureClients
  /** independent count: records per affected customer whose own time lies in the window */
  const expected = new Map<string, number>()
  let written = 0

  before(async () => {
    const azurite = getTestAzurite()
    dir = mkdtempSync(join(tmpdir(), 'custos-incident-evidence-'))
    const logs = azurite.connectionString('contosologs')
    map = validateDataMap(
      {
        customers: {known: CUSTOMERS},
        stores: [
          {name: 'documents', account: azurite.connectionString('contosoprod'), container: `${docsPrefix}-{customer}`},
        ],
        logs: {archive: {account: logs, containers: [signInContainer, readContainer]}},
        audit: {account: azurite.connectionString('contosoaudit'), container: uniqueName('audit')},
        azure: {credential: 'local'},
      },
      join(dir, 'custos.yaml'),
    )
    clients = new AzureClients(map)
    const principals = demoPrincipals(CUSTOMERS)
    const signIns: Array<{blob: string; record: Record<string, unknown>}> = []
    const reads: Array<{blob: string; record: Record<string, unknown>}> = []
    // Every 50 minutes from 40 h before detection to 10 h after: inside and outside the window.
    for (let t = DETECTED.getTime() - 40 * HOUR, i = 0; t < DETECTED.getTime() + 10 * HOUR; t += 50 * 60_000, i++) {
      const time = new Date(t)
      for (const [ci, customer] of CUSTOMERS.entries()) {
        const p = principals[ci * 3 + (i % 3)]
        signIns.push({
          blob: signInBlobName(time),
          record: signInRecord(p, time, i % 7 === 0 ? {errorCode: 50_126} : {}),
        })
        reads.push({
          blob: storageReadBlobName('contosoprod', time),
          record: storageReadRecord(
            'contosoprod',
            `${docsPrefix}-${customer}`,
            `contracts/${i}.pdf`,
            customer,
            time,
            p,
          ),
        })
        written += 2
        if (AFFECTED.includes(customer) && t >= SINCE.getTime() && t < UNTIL.getTime())
          expected.set(customer, (expected.get(customer) ?? 0) + 2)
      }
    }

    const service = clients.blobService(logs)
    await archive(service.getContainerClient(signInContainer), signIns)
    await archive(service.getContainerClient(readContainer), reads)
  })

  after(() => {
    if (dir) rmSync(dir, {recursive: true, force: true})
  })

  it("holds only the affected customers' records of the window, each customer in its own log bundle, and leaves its audit record", async () => {
    const log = new IncidentLog(clients, map)
    const {incident} = await log.open(
      {detectedAt: DETECTED, summary: 'Support account read documents', customers: AFFECTED},
      new Date('2026-11-20T11:00:00Z'),
    )
    const output = join(dir, 'evidence.tar.gz')
    const evidence = await collectIncidentEvidence(clients, map, {
      incident: incident.id,
      until: UNTIL,
      output,
      signer: null,
      knownIpWindowInMs: 0,
      now: () => new Date('2026-11-20T16:30:00Z'),
    })

    assert.ok(
      written > 400 && expected.get('acme')! > 50,
      'the archive holds enough records for the count to mean something',
    )
    assert.deepEqual(evidence.window, {since: SINCE.toISOString(), until: UNTIL.toISOString()})
    assert.deepEqual(
      evidence.customers.map((c) => [c.customer, c.records]),
      AFFECTED.map((c) => [c, expected.get(c)]),
    )

    const files = await untar(output)
    assert.deepEqual([...files.keys()].sort(), [
      'SHA256SUMS',
      'customers/acme/access-report.html',
      'customers/acme/access-report.json',
      'customers/acme/logs.tar.gz',
      'customers/globex/access-report.html',
      'customers/globex/access-report.json',
      'customers/globex/logs.tar.gz',
      'incident.json',
      'manifest.json',
    ])
    assert.deepEqual(checkSums(files), [])

    for (const customer of AFFECTED) {
      const records = await bundleRecords(files.get(`customers/${customer}/logs.tar.gz`)!)
      assert.equal(records.length, expected.get(customer), `${customer}: records in its bundle`)
      for (const r of records) {
        assert.equal((r.properties as {customerId?: string}).customerId, customer)
        const time = Date.parse(String(r.time).replace(/(\.\d{3})\d*Z$/, '$1Z'))
        assert.ok(time >= SINCE.getTime() && time < UNTIL.getTime(), `${r.time} lies in the window`)
      }

      const report = JSON.parse(files.get(`customers/${customer}/access-report.json`)!.toString('utf8'))
      assert.equal(report.customer, customer)
      assert.ok(report.principals.length > 0)
      for (const p of report.principals)
        assert.ok(
          p.principal.endsWith(`@${customer}.example`),
          `${customer}'s report names only its own principals, not ${p.principal}`,
        )
    }

    // Nothing of the other customers anywhere: outer documents and every file of the inner bundles, uncompressed.
    const texts = [...files].filter(([name]) => !name.endsWith('.tar.gz')).map(([, b]) => b.toString('utf8'))
    for (const customer of AFFECTED)
      for (const b of (await untar(files.get(`customers/${customer}/logs.tar.gz`)!)).values())
        texts.push(b.toString('utf8'))
    for (const other of ['acme-corp', 'initech'])
      assert.ok(
        texts.every((t) => !t.includes(other)),
        `nothing of ${other} in the evidence`,
      )

    const manifest = JSON.parse(files.get('manifest.json')!.toString('utf8'))
    assert.equal(manifest.kind, 'custos.incident-evidence')
    assert.equal(manifest.body.incident.id, incident.id)
    assert.equal(manifest.body.trail.records, 1)
    assert.equal((await verifyDocument(manifest)).ok, true)
    const inner = await untar(files.get('customers/acme/logs.tar.gz')!)
    assert.equal(JSON.parse(inner.get('manifest.json')!.toString('utf8')).kind, 'custos.logs-manifest')

    const after = await log.get(incident.id)
    assert.equal(after.evidence.length, 1)
    assert.equal(after.evidence[0].sha256, evidence.sha256)
    const verification = await new AuditTrail(clients, {signer: null}).verify()
    assert.equal(verification.ok, true, JSON.stringify(verification.breaks))
  })

  it('refuses a customer the incident does not name (exit 2)', async () => {
    const {incident} = await new IncidentLog(clients, map).open(
      {detectedAt: DETECTED, summary: 'x', customers: ['acme']},
      new Date('2026-11-20T11:00:00Z'),
    )
    await assert.rejects(
      collectIncidentEvidence(clients, map, {
        incident: incident.id,
        customers: ['initech'],
        until: UNTIL,
        signer: null,
      }),
      (e: Error & {exitCode?: number}) => e.exitCode === 2 && /does not name initech as affected/.test(e.message),
    )
  })
})
