import {strict as assert} from 'node:assert'

import {AzureClients} from '../../src/lib/azure/clients.js'
import {createAccessReport} from '../../src/lib/access/report.js'
import {uniqueName} from '../support/env.js'
import {accessMap, blobRead, signIn, uploadArchive} from './helpers.js'

describe('access report for one customer (--customer)', function () {
  this.timeout(30_000)
  const signIns = uniqueName('insights-logs-signinlogs')
  const reads = uniqueName('insights-logs-storageread')
  const since = new Date('2026-02-02T00:00:00Z')
  const until = new Date('2026-02-03T00:00:00Z')
  const options = {
    since,
    until,
    sources: ['archive' as const],
    burstFailures: 5,
    burstWindowInMs: 600_000,
    lookbackInMs: 86_400_000,
  }
  const map = () => accessMap({containers: [signIns, reads]})

  before(async () => {
    const m = map()
    await uploadArchive(m, signIns, 'tenantId=00000000-0000-0000-0000-000000000001', [
      signIn('anna@acme.example', '2026-02-02T09:00:00Z', {customerId: 'acme'}),
      signIn('carl@acme-corp.example', '2026-02-02T09:05:00Z', {customerId: 'acme-corp'}),
      signIn('ops@contoso.com', '2026-02-02T09:10:00Z'),
      // look-back: anna from another IP the day before
      signIn('anna@acme.example', '2026-02-01T09:00:00Z', {customerId: 'acme', ip: '198.51.100.9'}),
    ])
    await uploadArchive(
      m,
      reads,
      'resourceId=/SUBSCRIPTIONS/X/RESOURCEGROUPS/Y/PROVIDERS/MICROSOFT.STORAGE/STORAGEACCOUNTS/CONTOSOPROD/BLOBSERVICES/DEFAULT',
      [
        blobRead('ops@contoso.com', '2026-02-02T10:00:00Z', '/contosoprod/tenant-acme/invoice.pdf'),
        blobRead('ops@contoso.com', '2026-02-02T10:01:00Z', '/contosoprod/attachments/acme/photo.png'),
        blobRead('ops@contoso.com', '2026-02-02T10:02:00Z', '/contosoprod/tenant-acme-corp/invoice.pdf'),
        blobRead('ops@contoso.com', '2026-02-02T10:03:00Z', '/contosoprod/attachments/acme-corp/photo.png'),
        blobRead('ops@contoso.com', '2026-02-02T10:04:00Z', '/contosoprod/attachments/acmex.txt'),
      ],
    )
  })

  it('keeps what concerns acme and never what concerns acme-corp', async () => {
    const m = map()
    const report = await createAccessReport(new AzureClients(m), m, {...options, customer: 'acme'})
    assert.equal(report.customer, 'acme')
    assert.deepEqual(
      report.principals.map((p) => [p.principal, p.signIns, p.operations]),
      [
        ['ops@contoso.com', 0, 2],
        ['anna@acme.example', 1, 0],
      ],
    )
    // the look-back read is limited to the customer too: anna's IP of the day before is not hers today
    assert.deepEqual(
      report.findings.filter((f) => f.type === 'new-ip').map((f) => f.principal),
      ['anna@acme.example', 'ops@contoso.com'],
    )
  })

  it('reads everything without --customer', async () => {
    const m = map()
    const report = await createAccessReport(new AzureClients(m), m, options)
    assert.deepEqual(report.totals, {
      principals: 3,
      signIns: 3,
      failures: 0,
      interrupts: 0,
      operations: 5,
      findings: report.findings.length,
    })
    assert.equal(report.sources[0].lookbackEvents, 1)
  })

  it('says which containers do not exist and how many malformed lines it skipped', async () => {
    const broken = uniqueName('insights-logs-signinlogs')
    const missing = uniqueName('insights-logs-storagewrite')
    const m = accessMap({containers: [broken, missing]})
    const container = new AzureClients(m).blobService(m.logs!.archive!.account).getContainerClient(broken)
    await container.create()
    const text = `${JSON.stringify(signIn('anna@acme.example', '2026-02-02T09:00:00Z'))}\n{"time": "2026-02-02T09:01:00Z", "category": "SignInLo\n`
    await container
      .getBlockBlobClient('tenantId=00000000-0000-0000-0000-000000000001/y=2026/m=02/d=02/h=09/m=00/PT1H.json')
      .upload(text, Buffer.byteLength(text))
    const report = await createAccessReport(new AzureClients(m), m, options)
    assert.equal(report.totals.signIns, 1)
    assert.deepEqual(report.sources[0].notes, [
      `${broken}: 1 malformed line skipped`,
      `container ${missing} does not exist (no logs of that category archived yet)`,
    ])
  })

  it('rejects a customer id the data map does not allow before reading anything', async () => {
    const m = map()
    await assert.rejects(
      createAccessReport(new AzureClients(m), m, {...options, customer: '../acme'}),
      /not acceptable/,
    )
  })
})
