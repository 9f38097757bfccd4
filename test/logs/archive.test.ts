import assert from 'node:assert/strict'

import type {ContainerClient} from '@azure/storage-blob'

import {AzureClients} from '../../src/lib/azure/clients.js'
import {validateDataMap} from '../../src/lib/datamap/load.js'
import {hourOfBlobName, hourWindow, readArchivedRecords, spanOfPrefix} from '../../src/lib/logs/archive.js'
import {getTestAzurite, uniqueName} from '../support/env.js'
import {hourPath, signIn} from './fixtures.js'

const H = 3_600_000
const TENANT = '11111111-1111-1111-1111-222222222222'

async function appendLines(container: ContainerClient, name: string, lines: string[]): Promise<void> {
  const blob = container.getAppendBlobClient(name)
  await blob.createIfNotExists({blobHTTPHeaders: {blobContentType: 'application/json'}})
  // one append per line, as diagnostic settings write them
  for (const line of lines) await blob.appendBlock(`${line}\n`, Buffer.byteLength(line) + 1)
}

describe('logs: reading the diagnostic-log archive in storage', () => {
  const containerName = uniqueName('insights-logs-signinlogs')
  let clients: AzureClients
  let account: string
  const base = Date.UTC(2026, 10, 22, 10) // 2026-11-22T10:00Z

  before(async () => {
    const azurite = getTestAzurite()
    account = azurite.connectionString('contosologs')
    const map = validateDataMap(
      {
        stores: [{name: 'documents', account, container: 'tenant-{customer}'}],
        logs: {archive: {account, containers: [containerName]}},
      },
      '/tmp/custos-test/custos.yaml',
    )
    clients = new AzureClients(map)
    const container = clients.blobService(account).getContainerClient(containerName)
    await container.create()
    // Hours 06..14 in the resourceId form, hours 09..11 also in the tenantId form, plus other days and years.
    for (let h = -4; h <= 4; h++) {
      const hour = new Date(base + h * H)
      await appendLines(container, `resourceId=/tenants/${TENANT}/providers/Microsoft.aadiam/${hourPath(hour)}`, [
        JSON.stringify(signIn(new Date(hour.getTime() + 30 * 60_000), 'acme')),
      ])
    }

    for (let h = -1; h <= 1; h++) {
      const hour = new Date(base + h * H)
      await appendLines(container, `tenantId=${TENANT}/${hourPath(hour)}`, [
        JSON.stringify(signIn(new Date(hour.getTime() + 10 * 60_000), 'acme')),
      ])
    }

    // A record received late: it happened at 11:59 (inside the range) but sits in the 12:00 blob, the neighbour at the edge.
    await appendLines(container, `tenantId=${TENANT}/${hourPath(new Date(base + 2 * H))}`, [
      JSON.stringify(signIn(new Date(base + 2 * H - 60_000), 'acme', (r) => (r.properties.id = 'late-arrival'))),
    ])
    await appendLines(
      container,
      `resourceId=/tenants/${TENANT}/providers/Microsoft.aadiam/${hourPath(new Date(base - 30 * 86_400_000))}`,
      [JSON.stringify(signIn(new Date(base - 30 * 86_400_000), 'acme'))],
    )
    await appendLines(
      container,
      `resourceId=/tenants/${TENANT}/providers/Microsoft.aadiam/${hourPath(new Date(base - 400 * 86_400_000))}`,
      [JSON.stringify(signIn(new Date(base - 400 * 86_400_000), 'acme'))],
    )
    await container.getBlockBlobClient('resourceId=/tenants/x/readme.txt').upload('not a log', 9)
  })

  it('reads names of hour blobs and prunes listing prefixes by date level', () => {
    assert.equal(hourOfBlobName(`tenantId=${TENANT}/y=2026/m=11/d=22/h=10/m=00/PT1H.json`), base)
    assert.equal(
      hourOfBlobName(
        'resourceId=/SUBSCRIPTIONS/S/RESOURCEGROUPS/G/PROVIDERS/MICROSOFT.STORAGE/STORAGEACCOUNTS/A/BLOBSERVICES/DEFAULT/y=2026/m=11/d=22/h=10/m=00/PT1H.json',
      ),
      base,
    )
    assert.equal(hourOfBlobName('resourceId=/tenants/x/readme.txt'), undefined)
    assert.deepEqual(spanOfPrefix('tenantId=x/y=2026/m=11/'), {from: Date.UTC(2026, 10, 1), to: Date.UTC(2026, 11, 1)})
    assert.deepEqual(spanOfPrefix('a/y=2026/m=11/d=22/h=10/'), {from: base, to: base + H})
    assert.equal(spanOfPrefix('resourceId=/tenants/'), undefined)
    assert.deepEqual(hourWindow(new Date(base + 15 * 60_000), new Date(base + 2 * H)), {
      from: base - H,
      to: base + 3 * H,
    })
  })

  it('downloads only the hour blobs of the range and its neighbours, in both path forms, and filters on record time', async () => {
    const since = new Date(base) // 10:00
    const until = new Date(base + 2 * H) // 12:00 (exclusive)
    const read: string[] = []
    let bytes = 0
    const stream = readArchivedRecords({
      clients,
      account,
      container: containerName,
      since,
      until,
      onBlob: (b) => read.push(b.name),
      onBytes: (n) => (bytes += n),
    })
    const records = []
    for await (const r of stream) records.push(r)
    // hours 09, 10, 11, 12 in the resourceId form; 09, 10, 11, 12 in the tenantId form
    assert.equal(read.length, 8)
    assert.ok(
      read.every((n) => /h=(09|10|11|12)\//.test(n)),
      read.join('\n'),
    )
    const times = records.map((r) => new Date(r.time).toISOString()).sort()
    assert.deepEqual(times, [
      '2026-11-22T10:10:00.000Z',
      '2026-11-22T10:30:00.000Z',
      '2026-11-22T11:10:00.000Z',
      '2026-11-22T11:30:00.000Z',
      '2026-11-22T11:59:00.000Z',
    ])
    assert.ok(records.some((r) => r.record.properties && (r.record.properties as {id: string}).id === 'late-arrival'))
    assert.equal(stream.stats.outOfRange, 3) // 09:10, 09:30 and 12:30 were read from the edge blobs and dropped
    assert.equal(stream.stats.blobsRead, 8)
    assert.equal(stream.stats.bytes, bytes)
    assert.ok(bytes > 0)
    assert.equal(stream.stats.malformed, 0)
    const first = records[0]
    assert.equal(first.container, containerName)
    assert.equal(first.line, 1)
    assert.equal(JSON.parse(first.raw).time, first.record.time)
  })

  it('treats a container that does not exist yet as empty', async () => {
    const stream = readArchivedRecords({
      clients,
      account,
      container: uniqueName('insights-logs-none'),
      since: new Date(base),
      until: new Date(base + H),
    })
    let n = 0
    for await (const _ of stream) n++
    assert.equal(n, 0)
    assert.equal(stream.stats.exists, false)
  })
})
