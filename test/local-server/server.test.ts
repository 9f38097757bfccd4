import {strict as assert} from 'node:assert'
import {X509Certificate} from 'node:crypto'
import {request} from 'node:https'
import {checkServerIdentity} from 'node:tls'

import {startLocalAzureServer, type LocalAzureServer} from '../../src/lib/local/azure-server/index.js'
import {rawRequest, shapeDiff} from './helpers.js'

function tlsGet(url: string, ca?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, {ca, method: 'GET'}, (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
    req.on('error', reject)
    req.end()
  })
}

describe('local Azure server: the server itself', function () {
  this.timeout(30_000)
  let server: LocalAzureServer

  before(async () => {
    server = await startLocalAzureServer({port: 0})
  })

  after(() => server.close())

  it('listens on 127.0.0.1 on a free port and refuses a non-loopback host', async () => {
    assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/)
    assert.notEqual(new URL(server.url).port, '0')
    await assert.rejects(startLocalAzureServer({host: '0.0.0.0'}), /only listens on loopback/)
  })

  it('serves a fresh self-signed certificate for 127.0.0.1 and localhost that clients must be told to trust', async () => {
    const cert = new X509Certificate(server.caCertificatePem)
    assert.match(cert.subject, /CN=127\.0\.0\.1/)
    assert.match(String(cert.subjectAltName), /IP Address:127\.0\.0\.1/)
    assert.match(String(cert.subjectAltName), /DNS:localhost/)
    assert.equal(cert.issuer, cert.subject)
    assert.equal(cert.publicKey.asymmetricKeyDetails?.modulusLength, 2048)
    assert.equal(await tlsGet(`${server.url}/subscriptions`, server.caCertificatePem), 401)
    assert.equal(checkServerIdentity('localhost', cert.toLegacyObject()), undefined)
    assert.equal(checkServerIdentity('127.0.0.1', cert.toLegacyObject()), undefined)
    assert.ok(checkServerIdentity('vault.azure.net', cert.toLegacyObject()) instanceof Error)
    await assert.rejects(tlsGet(`${server.url}/subscriptions`), /self[- ]signed certificate/)
    const other = await startLocalAzureServer()
    try {
      assert.notEqual(other.caCertificatePem, server.caCertificatePem)
    } finally {
      await other.close()
    }
  })

  it('records every request with its query and status, and redacts the Authorization header', async () => {
    const before = server.requests.length
    await rawRequest(
      server,
      'GET',
      `${server.url}/subscriptions/s/providers/Microsoft.Storage/storageAccounts?api-version=2025-06-01`,
    )
    const [recorded] = server.requests.slice(before)
    assert.equal(recorded.method, 'GET')
    assert.equal(recorded.path, '/subscriptions/s/providers/Microsoft.Storage/storageAccounts')
    assert.deepEqual(recorded.query, {'api-version': '2025-06-01'})
    assert.equal(recorded.headers.authorization, 'REDACTED')
    assert.equal(recorded.status, 200)
    assert.ok(recorded.time instanceof Date)
    assert.ok(!JSON.stringify(server.requests).includes('custos-local-development-token'))
  })

  it('records vault requests with the vault they were for', async () => {
    const vaultUrl = await server.addVault({name: 'recorded-kv'})
    assert.equal(server.vaultUrl('Recorded-KV'), vaultUrl)
    assert.notEqual(new URL(vaultUrl).port, new URL(server.url).port)
    await rawRequest(server, 'GET', `${vaultUrl}/keys?api-version=7.5`)
    assert.equal(server.requests.at(-1)?.vault, 'recorded-kv')
    assert.throws(() => server.vaultUrl('nosuch'), /no vault nosuch/)
    await assert.rejects(server.addVault({name: 'recorded-kv'}), /already exists/)
  })

  it('compares JSON shapes: missing, extra and mistyped keys are reported, values ignored', () => {
    assert.deepEqual(shapeDiff({a: 1, b: {c: 'x'}}, {a: 2, b: {c: 'y'}}), [])
    assert.deepEqual(shapeDiff({a: 1, extra: true}, {a: 1, gone: null}), ['missing $.gone', 'extra $.extra'])
    assert.deepEqual(shapeDiff({a: '1'}, {a: 1}), ['type $.a: string != number'])
    assert.deepEqual(shapeDiff({l: [{x: 1}, {y: 2}]}, {l: [{x: 0}]}), ['missing $.l[1].x', 'extra $.l[1].y'])
  })
})
