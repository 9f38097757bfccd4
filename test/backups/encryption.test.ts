/**
 * Encryption as the real service reports it. Azurite reports every blob as server-encrypted and
 * ignores encryption scopes (measured: x-ms-server-encrypted true, no EncryptionScope in listings),
 * so these cases are served from recorded real List Blobs bodies
 * (../shared/azure-contracts/storage-blob-xml/) by a loopback endpoint the real client talks to.
 */
import assert from 'node:assert/strict'

import {AzureClients} from '../../src/lib/azure/clients.js'
import type {BackupsVerifyResult, CheckName} from '../../src/lib/backups/model.js'
import {nagiosLine} from '../../src/lib/backups/report.js'
import {verifyBackups} from '../../src/lib/backups/verify.js'
import {getTestAzurite, uniqueName} from '../support/env.js'
import {
  backupMap,
  serveRecordedListing,
  startArm,
  type Arm,
  type MapOptions,
  type RecordedBlobEndpoint,
} from './helpers.js'

// list-blobs-after-undelete.xml: one current blob, 11 bytes, Content-MD5, ServerEncrypted true, Last-Modified Fri, 21 Feb 2020 01:23:14 GMT,
// in container "container158224819242602498" — which is `container{customer}` for customer "158224819242602498".
const SAMPLE = 'list-blobs-after-undelete.xml'
const CUSTOMER = '158224819242602498'
const BLOB = 'blob158224819384806465'
const NOW = new Date('2020-02-21T12:00:00Z')

function checkOf(result: BackupsVerifyResult, name: CheckName) {
  const k = result.customers[0]?.sets[0]?.checks.find((c) => c.check === name)
  assert.ok(k, `no ${name} check`)
  return k
}

describe('backups verify: encryption as the service reports it (recorded List Blobs)', () => {
  let arm: Arm
  let endpoint: RecordedBlobEndpoint | undefined

  const run = async (edit: (xml: string) => string, o: Partial<MapOptions> = {}) => {
    endpoint = await serveRecordedListing(SAMPLE, edit)
    const map = backupMap(arm, getTestAzurite().connectionString('contosoprod'), {
      account: endpoint.connectionString,
      container: 'container{customer}',
      ...o,
      set: {dateFrom: undefined, expect: {every: '24h', maxAge: '26h', keepDays: 1}, ...o.set},
    })
    return verifyBackups(new AzureClients(map, {retry: {maxTries: 1}}), map, {customer: CUSTOMER, now: NOW})
  }

  before(async () => {
    arm = await startArm()
  })

  afterEach(async () => {
    await endpoint?.close()
    endpoint = undefined
  })

  after(async () => {
    await arm?.close()
  })

  it('needs recorded samples: Azurite reports every blob as server-encrypted and no encryption scope', async () => {
    const azurite = getTestAzurite()
    const service = new AzureClients(
      backupMap(arm, azurite.connectionString('contosoprod'), {
        account: azurite.connectionString('contosobackup'),
        container: 'x-{customer}',
      }),
    ).blobService(azurite.connectionString('contosobackup'))
    const container = service.getContainerClient(uniqueName('azurite-enc'))
    await container.create()
    await container.getBlockBlobClient('acme/a.bak').uploadData(Buffer.from('x'), {encryptionScope: 'scope-acme'})
    const listed = []
    for await (const item of container.listBlobsFlat())
      listed.push([item.properties.serverEncrypted, item.properties.encryptionScope])
    assert.deepEqual(listed, [[true, undefined]])
  })

  it('passes the recorded blob as served (ServerEncrypted true), through the real client', async () => {
    const result = await run((xml) => xml)
    assert.deepEqual(
      result.customers[0].sets[0].checks.map((k) => [k.check, k.status]),
      [
        ['fresh', 'pass'],
        ['complete', 'pass'],
        ['encrypted', 'pass'],
        ['resident', 'pass'],
        ['intact', 'pass'],
      ],
    )
    assert.equal(checkOf(result, 'fresh').detail, 'newest backup 10h 36m old: 2020-02-21T01:23:14.000Z (Last-Modified)')
    assert.ok(
      endpoint!.requests.some(
        (r) => r.startsWith(`GET /fakestorageaccount/container${CUSTOMER}?`) && r.includes('comp=list'),
      ),
    )
  })

  it('names an unencrypted blob (ServerEncrypted false) and raises CRITICAL', async () => {
    const result = await run((xml) => {
      assert.ok(xml.includes('<ServerEncrypted>true</ServerEncrypted>'))
      return xml.replace('<ServerEncrypted>true</ServerEncrypted>', '<ServerEncrypted>false</ServerEncrypted>')
    })
    const encrypted = checkOf(result, 'encrypted')
    assert.equal(encrypted.status, 'fail')
    assert.equal(encrypted.detail, `1 of 1 backups are not server-encrypted: ${BLOB}`)
    assert.deepEqual(
      result.customers[0].sets[0].checks.filter((k) => k.status !== 'pass').map((k) => k.check),
      ['encrypted'],
    )
    const {line, exitCode} = nagiosLine(result)
    assert.equal(exitCode, 2)
    assert.ok(
      line.startsWith(
        `BACKUPS CRITICAL - 1 critical of 1 customers; ${CUSTOMER} nightly-db encrypted: 1 of 1 backups are not server-encrypted: ${BLOB} |`,
      ),
      line,
    )
  })

  describe('encryption scopes and the customer key', () => {
    const scopeName = `scope-${CUSTOMER}`
    const withScope = (xml: string) =>
      xml.replace(
        '<ServerEncrypted>true</ServerEncrypted>',
        `<ServerEncrypted>true</ServerEncrypted><EncryptionScope>${scopeName}</EncryptionScope>`,
      )

    before(() => {
      const vault = `${arm.server.url}/vaults/contoso-kv`
      arm.server.state.addEncryptionScope({
        accountId: arm.id('backup'),
        name: scopeName,
        source: 'Microsoft.KeyVault',
        keyUri: `${vault}/keys/tenant-${CUSTOMER}`,
      })
      arm.server.state.addEncryptionScope({
        accountId: arm.id('backup'),
        name: 'scope-shared',
        source: 'Microsoft.Storage',
      })
    })

    const keys = () => ({vault: `${arm.server.url}/vaults/contoso-kv`, customerKey: 'tenant-{customer}'})

    it("passes a blob in the customer's scope when the scope is backed by the customer key", async () => {
      const result = await run(withScope, {set: {encryptionScope: 'scope-{customer}'}, keys: keys()})
      const encrypted = checkOf(result, 'encrypted')
      assert.equal(encrypted.status, 'pass', encrypted.detail)
      assert.equal(
        encrypted.detail,
        `all 1 backups server-encrypted in scope ${scopeName}; scope ${scopeName} uses customer key tenant-${CUSTOMER}`,
      )
    })

    it('fails a blob without the configured encryption scope', async () => {
      const result = await run((xml) => xml, {set: {encryptionScope: 'scope-{customer}'}, keys: keys()})
      const encrypted = checkOf(result, 'encrypted')
      assert.equal(encrypted.status, 'fail')
      assert.match(
        encrypted.detail,
        new RegExp(`^1 of 1 backups are not in encryption scope ${scopeName}: ${BLOB} \\(no scope\\)`),
      )
    })

    it('fails a scope that is not backed by the customer key', async () => {
      const result = await run(
        (xml) =>
          xml.replace(
            '<ServerEncrypted>true</ServerEncrypted>',
            '<ServerEncrypted>true</ServerEncrypted><EncryptionScope>scope-shared</EncryptionScope>',
          ),
        {
          set: {encryptionScope: 'scope-shared'},
          keys: keys(),
        },
      )
      const encrypted = checkOf(result, 'encrypted')
      assert.equal(encrypted.status, 'fail')
      assert.match(
        encrypted.detail,
        new RegExp(
          `^encryption scope scope-shared uses Microsoft.Storage keys, not the customer key tenant-${CUSTOMER}`,
        ),
      )
    })

    it('fails a backup account without a Key Vault key when requireCustomerManagedKey is set, and passes one with it', async () => {
      const plain = await run((xml) => xml, {set: {requireCustomerManagedKey: true}})
      assert.equal(checkOf(plain, 'encrypted').status, 'fail')
      assert.match(
        checkOf(plain, 'encrypted').detail,
        /^account contosobackup encrypts with Microsoft.Storage, not with a Key Vault key as requireCustomerManagedKey demands/,
      )
      await endpoint?.close()
      const cmk = await run((xml) => xml, {set: {requireCustomerManagedKey: true}, backupAccount: 'cmk'})
      assert.equal(checkOf(cmk, 'encrypted').status, 'pass', checkOf(cmk, 'encrypted').detail)
      assert.match(
        checkOf(cmk, 'encrypted').detail,
        /account contosobackupcmk encrypts with Key Vault key backup-cmk in https:\/\/127\.0\.0\.1:\d+\/vaults\/contoso-kv$/,
      )
    })
  })
})
