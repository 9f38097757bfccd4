import assert from 'node:assert/strict'
import {readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {verifyDocument} from '../../src/lib/evidence/envelope.js'
import {exportCustomer} from '../../src/lib/export/export.js'
import type {ExportManifest} from '../../src/lib/export/manifest.js'
import {
  startLocalAzureServer,
  LOCAL_SUBSCRIPTION_ID,
  type LocalAzureServer,
} from '../../src/lib/local/azure-server/index.js'
import {auditRecords, makeMap, newTempDir} from './fixtures.js'

describe('customer export with a Key Vault signing key (local Azure server)', () => {
  let server: LocalAzureServer

  before(async () => {
    server = await startLocalAzureServer({port: 0})
  })

  after(async () => {
    await server?.close()
  })

  it('signs the manifest with the signing key, and the signature verifies', async () => {
    const dir = await newTempDir('signed')
    const caPath = join(dir, 'ca.pem')
    await writeFile(caPath, server.caCertificatePem)
    const vault = await server.addVault({name: 'kv-export'})
    const base = makeMap({
      keys: {vault, signingKey: 'custos-evidence'},
      azure: {
        credential: 'local',
        caCertificate: caPath,
        resourceManager: server.url,
        subscription: LOCAL_SUBSCRIPTION_ID,
      },
    })
    await base.clients.keyClient().createRsaKey('custos-evidence', {keySize: 2048, keyOps: ['sign', 'verify']})
    const docs = base.container(base.tenantTemplate.replace('{customer}', 'acme'))
    await docs.createIfNotExists()
    await docs.getBlockBlobClient('contract.pdf').uploadData(Buffer.from('%PDF-1.7 signed export'))

    const out = join(dir, 'out')
    const summary = await exportCustomer(base.clients, base.map, 'acme', {target: {kind: 'folder', path: out}})
    assert.equal(summary.manifest!.signed, true)
    const manifest = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8')) as ExportManifest
    assert.equal(manifest.signed, true)
    assert.match(manifest.signature!.kid, /\/keys\/custos-evidence\//)
    const check = await verifyDocument(manifest, base.clients)
    assert.deepEqual([check.ok, check.hash, check.signature], [true, 'valid', 'valid'])

    const altered = structuredClone(manifest)
    altered.body.objects[0].size += 1
    assert.equal((await verifyDocument(altered, base.clients)).ok, false)

    const records = (await auditRecords(base)).filter((r) => r.action === 'export')
    assert.deepEqual(
      records.map((r) => r.result),
      ['started', 'succeeded'],
    )
    assert.ok(
      records.every((r) => r.sig),
      'audit records are signed too',
    )
  })
})
