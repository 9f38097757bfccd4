import assert from 'node:assert/strict'

import {AuditTrail} from '../../src/lib/audit/trail.js'
import {AzureClients} from '../../src/lib/azure/clients.js'
import {validateDataMap} from '../../src/lib/datamap/load.js'
import {startFaultProxy} from '../support/fault-proxy.js'
import {getTestAzurite, uniqueName} from '../support/env.js'

function trailFor(container: string, auditAccount?: string): {trail: AuditTrail; clients: AzureClients} {
  const azurite = getTestAzurite()
  const map = validateDataMap(
    {
      stores: [{name: 'documents', account: azurite.connectionString('contosoprod'), container: 'tenant-{customer}'}],
      audit: {account: auditAccount ?? azurite.connectionString('contosoaudit'), container},
    },
    '/tmp/custos-test/custos.yaml',
  )
  const clients = new AzureClients(map)
  return {trail: new AuditTrail(clients), clients}
}

describe('audit trail', () => {
  it('chains records and verifies an intact chain', async () => {
    const {trail} = trailFor(uniqueName('audit'))
    const first = await trail.append({action: 'export', result: 'started', customer: 'acme'})
    const second = await trail.append({
      action: 'export',
      result: 'succeeded',
      customer: 'acme',
      details: {objects: 3, verified: true},
    })
    assert.equal(first.seq, 1)
    assert.equal(first.prev, '0'.repeat(64))
    assert.equal(second.seq, 2)
    assert.equal(second.prev, first.hash)
    const result = await trail.verify()
    assert.deepEqual([result.ok, result.records, result.breaks], [true, 2, []])
  })

  it('names the record altered in the middle of the chain', async () => {
    const container = uniqueName('audit')
    const {trail, clients} = trailFor(container)
    for (let i = 0; i < 5; i++)
      await trail.append({action: 'erase.apply', result: 'succeeded', customer: 'acme', details: {batch: i}})
    const blobs = clients.blobService(clients.map.audit.account).getContainerClient(container)
    const name = (await blobs.listBlobsFlat().next()).value!.name
    const text = (await blobs.getBlobClient(name).downloadToBuffer()).toString('utf8')
    const lines = text.trimEnd().split('\n')
    lines[2] = lines[2].replace('"batch":2', '"batch":7')
    const replaced = `${lines.join('\n')}\n`
    await blobs.getBlockBlobClient(name).deleteIfExists()
    const append = blobs.getAppendBlobClient(name)
    await append.create()
    await append.appendBlock(replaced, Buffer.byteLength(replaced))
    const result = await trail.verify()
    assert.equal(result.ok, false)
    assert.equal(result.breaks.length, 1)
    assert.equal(result.breaks[0].line, 3)
    assert.equal(result.breaks[0].seq, 3)
    assert.match(result.breaks[0].reason, /altered/)
  })

  it("detects a re-hashed record through the next record's link, and a removed record", async () => {
    const container = uniqueName('audit')
    const {trail, clients} = trailFor(container)
    for (let i = 0; i < 4; i++)
      await trail.append({action: 'export', result: 'succeeded', customer: 'globex', details: {n: i}})
    const blobs = clients.blobService(clients.map.audit.account).getContainerClient(container)
    const name = (await blobs.listBlobsFlat().next()).value!.name
    const lines = (await blobs.getBlobClient(name).downloadToBuffer()).toString('utf8').trimEnd().split('\n')
    lines.splice(1, 1) // remove record 2
    const body = `${lines.join('\n')}\n`
    await blobs.getBlockBlobClient(name).deleteIfExists()
    await blobs.getAppendBlobClient(name).create()
    await blobs.getAppendBlobClient(name).appendBlock(body, Buffer.byteLength(body))
    const result = await trail.verify()
    assert.equal(result.ok, false)
    assert.ok(
      result.breaks.some((b) => b.seq === 3 && /chain is broken/.test(b.reason)),
      JSON.stringify(result.breaks),
    )
    assert.ok(
      result.breaks.some((b) => b.seq === 3 && /sequence number 3 where 2/.test(b.reason)),
      JSON.stringify(result.breaks),
    )
  })

  it('keeps one chain when several writers append at once', async () => {
    const container = uniqueName('audit')
    const writers = Array.from({length: 3}, () => trailFor(container).trail)
    await Promise.all(
      writers.map((trail, w) =>
        Promise.all([0, 1, 2].map((i) => trail.append({action: 'export', result: 'recorded', details: {w, i}}))),
      ),
    )
    const result = await writers[0].verify()
    assert.equal(result.records, 9)
    assert.equal(result.ok, true, JSON.stringify(result.breaks))
  })

  it('appends after its own append with one request, and reads the blob again when another writer came in between', async () => {
    const azurite = getTestAzurite()
    const proxy = await startFaultProxy({upstream: `http://127.0.0.1:${azurite.port}`})
    try {
      const container = uniqueName('audit')
      const account = azurite.accounts.find((a) => a.name === 'contosoaudit')!
      const {trail} = trailFor(container, proxy.connectionString(account.name, account.key))
      const other = trailFor(container).trail
      await trail.append({action: 'export', result: 'started'})
      const before = proxy.requests.length
      await trail.append({action: 'export', result: 'succeeded'})
      assert.deepEqual(
        proxy.requests.slice(before).map((r) => `${r.method} ${r.query.get('comp')} ${r.status}`),
        ['PUT appendblock 201'],
        'only the append itself',
      )
      await other.append({action: 'erase.plan', result: 'recorded'})
      const third = await trail.append({action: 'export', result: 'recorded'})
      assert.equal(third.seq, 4, "the other writer's record was read, not overwritten or forked")
      assert.ok(
        proxy.requests.some((r) => r.status === 412),
        'the stale end was caught by the append position condition',
      )
      const result = await trail.verify()
      assert.deepEqual([result.ok, result.records], [true, 4], JSON.stringify(result.breaks))
    } finally {
      await proxy.close()
    }
  })
})
