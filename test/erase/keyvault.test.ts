/**
 * Crypto-shredding and signed certificates against the local Azure server's Key Vault (the real
 * `@azure/keyvault-keys` client over HTTPS), with the blobs on the shared Azurite.
 */
import assert from 'node:assert/strict'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {AuditTrail} from '../../src/lib/audit/trail.js'
import {eraseCustomer, type EraseOptions} from '../../src/lib/erase/erase.js'
import {startLocalAzureServer, type LocalAzureServer} from '../../src/lib/local/azure-server/index.js'
import {countCustomer, makePlayground, runCli, seed, type ErasePlayground} from './helpers.js'

function options(pg: ErasePlayground): EraseOptions {
  return {
    customer: 'acme',
    planOnly: false,
    planOut: join(pg.dir, 'acme.plan.json'),
    yes: true,
    exportRequired: false,
    concurrency: 4,
    retries: 3,
    keyPollIntervalInMs: 100,
  }
}

describe('customer erase: crypto-shredding and signatures (local Key Vault)', function () {
  this.timeout(120_000)
  let azure: LocalAzureServer

  before(async () => {
    azure = await startLocalAzureServer({port: 0})
  })

  after(async () => {
    await azure.close()
  })

  async function playground(vault: string, purgeProtection: boolean): Promise<ErasePlayground> {
    const vaultUrl = await azure.addVault({name: vault, purgeProtection})
    // The backup account in the resource manager, with a per-customer encryption scope keyed by the customer key.
    const account = azure.state.addStorageAccount({name: `backup${vault.replaceAll(/[^a-z0-9]/g, '')}`}) as {id: string}
    azure.state.addEncryptionScope({
      accountId: account.id,
      name: 'cs-acme',
      source: 'Microsoft.KeyVault',
      keyUri: `${vaultUrl}/keys/tenant-acme`,
    })
    const probe = makePlayground()
    const ca = join(probe.dir, 'ca.pem')
    writeFileSync(ca, azure.caCertificatePem)
    const pg = makePlayground({
      extra: {
        azure: {credential: 'local', caCertificate: ca, resourceManager: azure.url},
        keys: {vault: vaultUrl, customerKey: 'tenant-{customer}', signingKey: 'custos-evidence'},
      },
      backupExtra: {resourceId: account.id, encryptionScope: 'cs-{customer}'},
    })
    const keys = pg.clients.keyClient()
    await keys.createRsaKey('tenant-acme', {keySize: 2048})
    await keys.createRsaKey('tenant-acme-corp', {keySize: 2048})
    await keys.createRsaKey('custos-evidence', {keySize: 2048})
    await seed(pg, ['acme', 'acme-corp'], 2)
    return pg
  }

  it('deletes and purges the customer key, tolerating the deleted-key 404s, and signs a certificate that verifies', async () => {
    const pg = await playground('kv-erase', false)
    const vault = azure.state.keyVault('kv-erase')!
    const seen = azure.requests.length
    const result = await eraseCustomer(pg.clients, pg.map, options(pg))

    assert.equal(result.exitCode, 0)
    assert.equal(result.key?.state, 'purged')
    assert.equal(result.key?.versions, 1)
    assert.equal(vault.keys.has('tenant-acme'), false)
    assert.equal(vault.deletedKeys.has('tenant-acme'), false, 'purged, not only deleted')
    assert.equal(vault.keys.has('tenant-acme-corp'), true, 'the look-alike customer keeps its key')
    const calls = azure.requests
      .slice(seen)
      .filter((r) => r.path.includes('tenant-acme'))
      .map((r) => `${r.method} ${r.path.replace(/^\/vaults\/[^/]+/, '')} ${r.status}`)
    assert.ok(calls.includes('DELETE /keys/tenant-acme 200'), calls.join('\n'))
    assert.ok(calls.includes('GET /deletedkeys/tenant-acme 404'), 'the delete poller met the asynchronous 404')
    assert.ok(calls.includes('GET /deletedkeys/tenant-acme 200'))
    assert.ok(calls.includes('DELETE /deletedkeys/tenant-acme 204'))
    assert.equal(await countCustomer(pg, 'acme'), 0)

    assert.equal(result.certificate?.signed, true)
    const ok = await runCli(['certificate', 'verify', result.certificate!.json, '--config', pg.configPath, '--json'])
    assert.equal(ok.code, 0, ok.stdout + ok.stderr)
    const report = ok.json() as {status: string; signature: string; signedBy: string}
    assert.deepEqual([report.status, report.signature], ['valid', 'valid'])
    assert.match(report.signedBy, /RS256 https:\/\/127\.0\.0\.1:\d+\/keys\/custos-evidence\//)
    assert.match(readFileSync(result.certificate!.text, 'utf8'), /deleted and purged \(crypto-erase\)/)
    const body = (
      JSON.parse(readFileSync(result.certificate!.json, 'utf8')) as {
        body: {stores: Array<{store: string; methods: string[]; cryptoErase?: {encryptionScope: string}}>}
      }
    ).body
    assert.deepEqual(
      body.stores.map((s) => [s.store, s.methods.join('+'), s.cryptoErase?.encryptionScope]),
      [
        ['documents', 'delete', undefined],
        ['attachments', 'delete', undefined],
        ['nightly-db', 'delete+crypto-erase', 'cs-acme'],
      ],
      'only the backup set whose encryption scope uses the shredded key is crypto-erased',
    )

    // One changed character anywhere in the body breaks it.
    const text = readFileSync(result.certificate!.json, 'utf8')
    writeFileSync(
      result.certificate!.json,
      text.replace(/"bytes": (\d)/, (_, d: string) => `"bytes": ${(Number(d) + 1) % 10}`),
    )
    assert.notEqual(readFileSync(result.certificate!.json, 'utf8'), text)
    const bad = await runCli(['certificate', 'verify', result.certificate!.json, '--config', pg.configPath, '--json'])
    assert.equal(bad.code, 1, bad.stdout)
    assert.equal((bad.json() as {status: string}).status, 'altered')

    // The audit records of the erase are signed too, and the chain verifies.
    const trail = await new AuditTrail(pg.clients).verify()
    assert.equal(trail.ok, true, JSON.stringify(trail.breaks))
    assert.ok(trail.signed >= 4)
  })

  it('under purge protection, records the date the key becomes unrecoverable instead of pretending it is purged', async () => {
    const pg = await playground('kv-protected', true)
    const result = await eraseCustomer(pg.clients, pg.map, options(pg))
    const vault = azure.state.keyVault('kv-protected')!
    const deleted = vault.deletedKeys.get('tenant-acme')!
    assert.ok(deleted, 'the key is deleted (soft) but could not be purged')
    const scheduled = new Date(deleted.scheduledPurgeDate * 1000).toISOString()

    assert.equal(result.exitCode, 0, 'storage is empty; the key state is reported, not hidden')
    assert.equal(result.key?.state, 'deleted-purge-pending')
    assert.equal(result.key?.purged, false)
    assert.equal(result.key?.purgeRefused?.status, 403)
    assert.equal(result.key?.scheduledPurgeDate, scheduled)
    assert.equal(result.key?.unrecoverableFrom, scheduled)
    const cert = JSON.parse(readFileSync(result.certificate!.json, 'utf8')) as {
      body: {exceptions: string[]; statement: string}
    }
    assert.ok(
      cert.body.exceptions.some((e) => e.includes('purge refused (403') && e.includes(scheduled)),
      cert.body.exceptions.join('\n'),
    )
    assert.match(cert.body.statement, new RegExp(`recoverable until ${scheduled.replaceAll(/[.]/g, String.raw`\.`)}`))
    assert.match(
      readFileSync(result.certificate!.text, 'utf8'),
      new RegExp(`recoverable until ${scheduled.replaceAll(/[.]/g, String.raw`\.`)}`),
    )

    // A re-run finds the deleted key and reports the same date (idempotent, never "purged").
    const again = await eraseCustomer(pg.clients, pg.map, {
      ...options(pg),
      planOut: undefined,
      planPath: join(pg.dir, 'acme.plan.json'),
    })
    assert.equal(again.key?.state, 'deleted-purge-pending')
    assert.equal(again.key?.scheduledPurgeDate, scheduled)
  })
})
