/**
 * The erase lock's lease renewal: a renewal that fails for a passing reason does not stop the erase;
 * a lease the service no longer knows (broken by someone) does, with a message that says why.
 */
import assert from 'node:assert/strict'

import {AzureClients} from '../../src/lib/azure/clients.js'
import {validateDataMap} from '../../src/lib/datamap/load.js'
import {acquireEraseLock, lockBlobName} from '../../src/lib/erase/lock.js'
import {startFaultProxy, type FaultProxy} from '../support/fault-proxy.js'
import {getTestAzurite, uniqueName} from '../support/env.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('erase lock renewal', () => {
  let proxy: FaultProxy

  beforeEach(async () => {
    proxy = await startFaultProxy({upstream: `http://127.0.0.1:${getTestAzurite().port}`})
  })

  afterEach(async () => {
    await proxy.close()
  })

  function clientsVia(container: string): AzureClients {
    const account = getTestAzurite().accounts.find((a) => a.name === 'contosoaudit')!
    const map = validateDataMap(
      {
        stores: [
          {
            name: 'documents',
            account: getTestAzurite().connectionString('contosoprod'),
            container: 'tenant-{customer}',
          },
        ],
        audit: {account: proxy.connectionString(account.name, account.key), container},
      },
      '/tmp/custos-test/custos.yaml',
    )
    // one try per request: a failed renewal reaches the lock, not the client's retry policy
    return new AzureClients(map, {retry: {maxTries: 1, retryDelayInMs: 10, maxRetryDelayInMs: 10}})
  }

  const renewals = () =>
    proxy.requests.filter((r) => r.method === 'PUT' && r.query.get('comp') === 'lease' && r.status !== 201)

  it('keeps the lock when renewals fail for a while and a later one succeeds', async () => {
    const clients = clientsVia(uniqueName('audit'))
    const lock = await acquireEraseLock(clients, 'acme', {operationId: 'op-1', holder: 'tester', renewEveryInMs: 100})
    try {
      proxy.setFaults((r) => (r.query.get('comp') === 'lease' ? {internalError: 1} : {}))
      await sleep(450)
      assert.ok(renewals().filter((r) => r.status === 500).length >= 2, 'renewals failed')
      assert.equal(lock.lost.aborted, false, 'passing failures do not lose the lock')
      proxy.setFaults({})
      await sleep(250)
      assert.ok(
        renewals().some((r) => r.status === 200),
        'a later renewal succeeded',
      )
      assert.equal(lock.lost.aborted, false)
    } finally {
      await lock.release()
    }
  })

  it('loses the lock at once when its lease was broken, and says so', async () => {
    const container = uniqueName('audit')
    const clients = clientsVia(container)
    const lock = await acquireEraseLock(clients, 'acme', {operationId: 'op-2', holder: 'tester', renewEveryInMs: 100})
    try {
      const blob = clients
        .blobService(getTestAzurite().connectionString('contosoaudit'))
        .getContainerClient(clients.map.audit.lockContainer)
        .getBlobClient(lockBlobName('acme'))
      await blob.getBlobLeaseClient().breakLease(0)
      await blob.getBlobLeaseClient().acquireLease(60)
      for (let i = 0; i < 50 && !lock.lost.aborted; i++) await sleep(20)
      assert.equal(lock.lost.aborted, true)
      assert.match(
        (lock.lost.reason as Error).message,
        /lost the erase lock locks\/erase-acme .*: the service no longer knows the lease \(409/,
      )
    } finally {
      await lock.release()
    }
  })
})
