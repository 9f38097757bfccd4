import assert from 'node:assert/strict'

import {AzureClients} from '../../src/lib/azure/clients.js'
import {validateDataMap} from '../../src/lib/datamap/load.js'
import {inventoryCustomer} from '../../src/lib/inventory/inventory.js'
import {getTestAzurite, uniqueName} from '../support/env.js'

describe('customer inventory', () => {
  const shared = uniqueName('attach')
  const tenantTemplate = `${uniqueName('t').slice(0, 20)}-{customer}`
  let clients: AzureClients

  before(async () => {
    const azurite = getTestAzurite()
    const map = validateDataMap(
      {
        stores: [
          {name: 'documents', account: azurite.connectionString('contosoprod'), container: tenantTemplate},
          {
            name: 'attachments',
            account: azurite.connectionString('contosoprod'),
            container: shared,
            prefix: '{customer}/',
          },
        ],
      },
      '/tmp/custos-test/custos.yaml',
    )
    clients = new AzureClients(map)
    const service = clients.blobService(map.stores[0].account)
    const upload = async (container: string, name: string, size: number) => {
      const c = service.getContainerClient(container)
      await c.createIfNotExists()
      return c.getBlockBlobClient(name).uploadData(Buffer.alloc(size, 1))
    }

    for (let i = 0; i < 3; i++) await upload(tenantTemplate.replace('{customer}', 'acme'), `doc-${i}.txt`, 100)
    for (let i = 0; i < 5; i++) await upload(tenantTemplate.replace('{customer}', 'acme-corp'), `doc-${i}.txt`, 1000)
    await upload(shared, 'acme/a.txt', 10)
    await upload(shared, 'acme/sub/b.txt', 20)
    await upload(shared, 'acme-corp/a.txt', 5000)
    await upload(shared, 'acme-corp/b.txt', 5000)
    await upload(shared, 'acmex.txt', 7000)
    await service.getContainerClient(shared).getBlockBlobClient('acme/a.txt').createSnapshot()
  })

  it('never counts a blob of acme-corp in acme, in either store layout', async () => {
    const inv = await inventoryCustomer(clients, clients.map, 'acme')
    const documents = inv.stores.find((s) => s.store === 'documents')!
    const attachments = inv.stores.find((s) => s.store === 'attachments')!
    assert.deepEqual([documents.blobs, documents.bytes], [3, 300])
    assert.deepEqual(
      [attachments.blobs, attachments.bytes, attachments.snapshots, attachments.snapshotBytes],
      [2, 30, 1, 10],
    )
    assert.equal(attachments.layout, 'prefix-per-customer')
    assert.equal(inv.totals.objects, 6)
    assert.equal(inv.totals.bytes, 340)
    assert.deepEqual(inv.key, {state: 'not-configured'})
  })

  it('counts acme-corp on its own', async () => {
    const inv = await inventoryCustomer(clients, clients.map, 'acme-corp')
    assert.deepEqual(
      inv.stores.map((s) => [s.store, s.blobs, s.bytes]),
      [
        ['documents', 5, 5000],
        ['attachments', 2, 10_000],
      ],
    )
  })

  it('reports a customer without a container as empty, not as an error', async () => {
    const inv = await inventoryCustomer(clients, clients.map, 'initech')
    const documents = inv.stores.find((s) => s.store === 'documents')!
    assert.equal(documents.exists, false)
    assert.equal(inv.totals.objects, 0)
  })
})
