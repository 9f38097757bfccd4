import {strict as assert} from 'node:assert'

import {
  LOCAL_SUBSCRIPTION_ID,
  LocalAzureState,
  startLocalAzureServer,
  type LocalAzureServer,
} from '../../src/lib/local/azure-server/index.js'
import {all, assertShape, exampleBody, keyVaultManagement, rawRequest, recording, storageManagement} from './helpers.js'

const SUB = LOCAL_SUBSCRIPTION_ID
const RG = 'custos-local'
const ARM_API = 'api-version=2025-06-01'

describe('local Azure server: Resource Manager (storage and key vaults)', function () {
  this.timeout(30_000)
  let server: LocalAzureServer
  let accountId: string

  before(async () => {
    server = await startLocalAzureServer()
    // tags are free-form: take the recorded account's, so the shape comparison covers them too
    const tags = recording('storage-arm/recorded-storageaccounts-get.json')[0].ResponseBody.tags
    accountId = server.state.addStorageAccount({
      name: 'custosdata',
      blobEndpoint: 'http://127.0.0.1:10000/custosdata/',
      tags,
    }).id as string
    server.state.addStorageAccount({
      name: 'custoscmk',
      resourceGroup: 'other-rg',
      secondaryLocation: null,
      properties: {
        encryption: {
          keySource: 'Microsoft.Keyvault',
          keyvaultproperties: {
            keyvaulturi: 'https://custos-kv.vault.azure.net',
            keyname: 'storage-key',
            keyversion: '',
            currentVersionedKeyIdentifier:
              'https://custos-kv.vault.azure.net/keys/storage-key/0682afdd9c104f4285df20107e956cad',
            lastKeyRotationTimestamp: '2024-12-13T20:36:23.7023290Z',
          },
        },
      },
    })
  })

  after(() => server.close())

  const url = (path: string) => `${server.url}${path}${path.includes('?') ? '&' : '?'}${ARM_API}`
  const accountPath = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Storage/storageAccounts/custosdata`

  describe('authentication and errors', () => {
    it('answers a token-less request with 401, an invalid_token challenge and the ARM error body', async () => {
      const res = await rawRequest(server, 'GET', url(accountPath), {token: null})
      assert.equal(res.status, 401)
      assert.match(
        String(res.headers['www-authenticate']),
        /^Bearer authorization_uri="https:\/\/login\.windows\.net\/[^"]+", error="invalid_token", error_description="[^"]+"$/,
      )
      assert.deepEqual(res.json, {
        error: {code: 'AuthenticationFailed', message: "Authentication failed. The 'Authorization' header is missing."},
      })
    })

    it('rejects another token with 401 InvalidAuthenticationToken', async () => {
      const res = await rawRequest(server, 'GET', url(accountPath), {token: 'someone-elses-token'})
      assert.equal(res.status, 401)
      assert.equal(res.json.error.code, 'InvalidAuthenticationToken')
    })

    it('answers an unknown storage account with the ARM 404 ResourceNotFound shape', async () => {
      const res = await rawRequest(
        server,
        'GET',
        url(`/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Storage/storageAccounts/nosuch`),
      )
      assert.equal(res.status, 404)
      assert.deepEqual(Object.keys(res.json.error), ['code', 'message'])
      assert.equal(res.json.error.code, 'ResourceNotFound')
      assert.match(
        res.json.error.message,
        /Microsoft\.Storage\/storageAccounts\/nosuch' under resource group 'custos-local' was not found/,
      )
      await assert.rejects(
        storageManagement(server).storageAccounts.getProperties(RG, 'nosuch'),
        (e: {statusCode?: number; code?: string}) => e.statusCode === 404 && e.code === 'ResourceNotFound',
      )
    })

    it('matches provider names case-insensitively, like ARM', async () => {
      const res = await rawRequest(
        server,
        'GET',
        url(
          accountPath
            .replace('Microsoft.Storage/storageAccounts', 'microsoft.storage/STORAGEACCOUNTS')
            .replace('resourceGroups', 'resourcegroups'),
        ),
      )
      assert.equal(res.status, 200)
      assert.equal(res.json.id, accountId)
    })

    it('requires an api-version like ARM', async () => {
      const res = await rawRequest(server, 'GET', `${server.url}${accountPath}`)
      assert.equal(res.status, 400)
      assert.equal(res.json.error.code, 'MissingApiVersionParameter')
    })
  })

  describe('Microsoft.Storage', () => {
    it('gets a storage account through StorageManagementClient with compliant defaults', async () => {
      const account = await storageManagement(server).storageAccounts.getProperties(RG, 'custosdata')
      assert.equal(account.id, accountId)
      assert.equal(account.location, 'germanywestcentral')
      assert.equal(account.secondaryLocation, 'germanynorth')
      assert.equal(account.enableHttpsTrafficOnly, true)
      assert.equal(account.minimumTlsVersion, 'TLS1_2')
      assert.equal(account.allowBlobPublicAccess, false)
      assert.equal(account.allowSharedKeyAccess, false)
      assert.equal(account.networkRuleSet?.defaultAction, 'Deny')
      assert.equal(account.encryption?.keySource, 'Microsoft.Storage')
      assert.equal(account.primaryEndpoints?.blob, 'http://127.0.0.1:10000/custosdata/')
    })

    it('answers a storage account GET with the fields of the recorded real response (plus three newer ones)', async () => {
      const res = await rawRequest(server, 'GET', url(accountPath))
      const recorded = recording('storage-arm/recorded-storageaccounts-get.json')[0]
      assertShape(res.json, recorded.ResponseBody, [
        'extra $.properties.allowSharedKeyAccess',
        'extra $.properties.allowCrossTenantReplication',
        'extra $.properties.encryption.requireInfrastructureEncryption',
      ])
      for (const header of [
        'x-ms-request-id',
        'x-ms-correlation-request-id',
        'x-ms-ratelimit-remaining-subscription-reads',
        'x-ms-routing-request-id',
      ]) {
        assert.ok(res.headers[header], header)
      }
    })

    it('reports a customer-managed key in the shape of StorageAccountGetPropertiesCMKEnabled', async () => {
      const res = await rawRequest(
        server,
        'GET',
        url(`/subscriptions/${SUB}/resourceGroups/other-rg/providers/Microsoft.Storage/storageAccounts/custoscmk`),
      )
      const sample = exampleBody('storage-arm/2025-06-01/StorageAccountGetPropertiesCMKEnabled.json')
      assertShape(res.json.properties.encryption, sample.properties.encryption, [
        'extra $.requireInfrastructureEncryption',
      ])
      assert.equal(res.json.properties.encryption.keySource, 'Microsoft.Keyvault')
      assert.equal(res.json.properties.secondaryLocation, undefined)
      assert.equal(res.json.sku.name, 'Standard_ZRS')
      const viaSdk = await storageManagement(server).storageAccounts.getProperties('other-rg', 'custoscmk')
      assert.equal(viaSdk.encryption?.keyVaultProperties?.keyName, 'storage-key')
    })

    it('lists the storage accounts of the subscription as {value} without nextLink, like StorageAccountList', async () => {
      const res = await rawRequest(
        server,
        'GET',
        url(`/subscriptions/${SUB}/providers/Microsoft.Storage/storageAccounts`),
      )
      assert.deepEqual(
        Object.keys(res.json),
        Object.keys(exampleBody('storage-arm/2025-06-01/StorageAccountList.json')),
      )
      assert.deepEqual(
        res.json.value.map((a: {name: string}) => a.name),
        ['custosdata', 'custoscmk'],
      )
      const viaSdk = await all(storageManagement(server).storageAccounts.list())
      assert.deepEqual(
        viaSdk.map((a) => a.name),
        ['custosdata', 'custoscmk'],
      )
      const inGroup = await all(storageManagement(server).storageAccounts.listByResourceGroup('other-rg'))
      assert.deepEqual(
        inGroup.map((a) => a.name),
        ['custoscmk'],
      )
      assert.deepEqual(
        (await all(storageManagement(server, '00000000-0000-0000-0000-00000000dead').storageAccounts.list())).length,
        0,
      )
    })

    it('serves blob service properties (soft delete, container soft delete, versioning) in the shape of BlobServicesGet', async () => {
      server.state.setBlobServiceProperties(accountId, {isVersioningEnabled: true, deleteRetentionPolicy: {days: 14}})
      const props = await storageManagement(server).blobServices.getServiceProperties(RG, 'custosdata')
      assert.deepEqual(props.deleteRetentionPolicy, {enabled: true, days: 14, allowPermanentDelete: false})
      assert.deepEqual(props.containerDeleteRetentionPolicy, {enabled: true, days: 7, allowPermanentDelete: undefined})
      assert.equal(props.isVersioningEnabled, true)
      const res = await rawRequest(server, 'GET', url(`${accountPath}/blobServices/default`))
      assertShape(res.json, exampleBody('storage-arm/2025-06-01/BlobServicesGet.json'), [
        'missing $.properties.defaultServiceVersion',
        'extra $.properties.deleteRetentionPolicy.allowPermanentDelete',
        'extra $.properties.containerDeleteRetentionPolicy',
        'missing $.properties.changeFeed.retentionInDays',
      ])
    })

    it('serves a container with a locked immutability policy and legal hold in the shape of BlobContainersGet', async () => {
      server.state.addBlobContainer({
        accountId,
        name: 'locked',
        immutabilityPolicy: {days: 100, state: 'Locked'},
        legalHoldTags: ['tag1', 'tag2', 'tag3'],
      })
      const res = await rawRequest(server, 'GET', url(`${accountPath}/blobServices/default/containers/locked`))
      const sample = exampleBody('storage-arm/2025-06-01/BlobContainersGet.json')
      assertShape(res.json, sample, [
        'extra $.properties.deleted',
        'extra $.properties.remainingRetentionDays',
        'extra $.properties.defaultEncryptionScope',
        'extra $.properties.denyEncryptionScopeOverride',
      ])
      assert.equal(res.json.properties.immutabilityPolicy.properties.state, 'Locked')
      assert.equal(res.json.properties.legalHold.tags.length, 3)
      const viaSdk = await storageManagement(server).blobContainers.get(RG, 'custosdata', 'locked')
      assert.equal(viaSdk.immutabilityPolicy?.immutabilityPeriodSinceCreationInDays, 100)
      assert.equal(viaSdk.hasLegalHold, true)
    })

    it('serves an audit container policy that allows protected append writes in the shape of BlobContainersGet, and changes it on request', async () => {
      const created = server.state.addBlobContainer({
        accountId,
        name: 'trail',
        immutabilityPolicy: {days: 100, state: 'Locked', allowProtectedAppendWrites: true},
      })
      const path = url(`${accountPath}/blobServices/default/containers/trail`)
      let res = await rawRequest(server, 'GET', path)
      assertShape(res.json, exampleBody('storage-arm/2025-06-01/BlobContainersGet.json'), [
        'extra $.properties.deleted',
        'extra $.properties.remainingRetentionDays',
        'extra $.properties.defaultEncryptionScope',
        'extra $.properties.denyEncryptionScopeOverride',
        // the flag the 2025-06-01 example BlobContainersGet.json predates; where it sits (beside the period,
        // before state, and in each history entry) follows the spec examples
        // BlobContainersGetWithAllowProtectedAppendWritesAll.json @ 376bad458131f9edf636e99a1e755a8a11fa2ca4 and
        // BlobContainersGetImmutabilityPolicy.json @ 08255b757486cc96e7fbdfde2e38fcfd56f59fa3 (Azure/azure-rest-api-specs,
        // specification/storage/resource-manager/Microsoft.Storage/stable/2025-06-01/examples/)
        'extra $.properties.immutabilityPolicy.properties.allowProtectedAppendWrites',
        'extra $.properties.immutabilityPolicy.updateHistory[0].allowProtectedAppendWrites',
        'extra $.properties.immutabilityPolicy.updateHistory[1].allowProtectedAppendWrites',
      ])
      assert.deepEqual(Object.keys(res.json.properties.immutabilityPolicy.properties), [
        'immutabilityPeriodSinceCreationInDays',
        'allowProtectedAppendWrites',
        'state',
      ])
      assert.deepEqual(
        res.json.properties.immutabilityPolicy.updateHistory.map((h: {update: string}) => h.update),
        ['put', 'lock'],
      )
      const client = storageManagement(server)
      let viaSdk = await client.blobContainers.get(RG, 'custosdata', 'trail')
      assert.equal(viaSdk.hasImmutabilityPolicy, true)
      assert.deepEqual(
        [
          viaSdk.immutabilityPolicy?.immutabilityPeriodSinceCreationInDays,
          viaSdk.immutabilityPolicy?.state,
          viaSdk.immutabilityPolicy?.allowProtectedAppendWrites,
          viaSdk.immutabilityPolicy?.allowProtectedAppendWritesAll,
        ],
        [100, 'Locked', true, undefined],
      )

      // unlocked, with the "All" flag (and a legal hold that allows appends, as in the same spec example)
      server.state.addBlobContainer({
        accountId,
        name: 'trail',
        immutabilityPolicy: {days: 5, allowProtectedAppendWritesAll: true},
        legalHoldTags: ['tag1'],
        legalHoldAllowProtectedAppendWritesAll: true,
      })
      res = await rawRequest(server, 'GET', path)
      assert.deepEqual(Object.keys(res.json.properties.immutabilityPolicy.properties), [
        'immutabilityPeriodSinceCreationInDays',
        'allowProtectedAppendWritesAll',
        'state',
      ])
      assert.deepEqual(Object.keys(res.json.properties.legalHold), [
        'hasLegalHold',
        'protectedAppendWritesHistory',
        'tags',
      ])
      assert.deepEqual(Object.keys(res.json.properties.legalHold.protectedAppendWritesHistory), [
        'allowProtectedAppendWritesAll',
        'timestamp',
      ])
      viaSdk = await client.blobContainers.get(RG, 'custosdata', 'trail')
      assert.equal(viaSdk.immutabilityPolicy?.state, 'Unlocked')
      assert.equal(viaSdk.immutabilityPolicy?.allowProtectedAppendWritesAll, true)
      assert.equal(viaSdk.legalHold?.protectedAppendWritesHistory?.allowProtectedAppendWritesAll, true)

      // the policy removed again: exactly the fields of the recorded real container without one
      server.state.addBlobContainer({accountId, name: 'trail'})
      server.state.setImmutabilityPolicy(created.id as string, {days: 7, allowProtectedAppendWrites: false})
      viaSdk = await client.blobContainers.get(RG, 'custosdata', 'trail')
      assert.deepEqual(
        [viaSdk.immutabilityPolicy?.state, viaSdk.immutabilityPolicy?.allowProtectedAppendWrites],
        ['Unlocked', false],
      )
      server.state.setImmutabilityPolicy(created.id as string, undefined)
      res = await rawRequest(server, 'GET', path)
      assertShape(res.json, recording('storage-arm/recorded-blobcontainers-get.json')[0].ResponseBody, [])
      assert.deepEqual(
        Object.keys(res.json.properties),
        Object.keys(recording('storage-arm/recorded-blobcontainers-get.json')[0].ResponseBody.properties),
      )
      assert.equal((await client.blobContainers.get(RG, 'custosdata', 'trail')).hasImmutabilityPolicy, false)
    })

    it('serves a plain container with exactly the fields of the recorded real response', async () => {
      server.state.addBlobContainer({accountId, name: 'plain'})
      const res = await rawRequest(server, 'GET', url(`${accountPath}/blobServices/default/containers/plain`))
      assertShape(res.json, recording('storage-arm/recorded-blobcontainers-get.json')[0].ResponseBody, [])
      assert.match(res.json.etag, /^"0x[0-9A-F]+"$/)
      const missing = await rawRequest(server, 'GET', url(`${accountPath}/blobServices/default/containers/nosuch`))
      assert.equal(missing.status, 404)
      assert.equal(missing.json.error.code, 'ContainerNotFound')
    })

    it('lists and gets encryption scopes in the shape of the 2025-06-01 samples', async () => {
      server.state.addEncryptionScope({accountId, name: 'scope-1'})
      server.state.addEncryptionScope({
        accountId,
        name: 'scope-2',
        source: 'Microsoft.KeyVault',
        keyUri: 'https://custos-kv.vault.azure.net/keys/scope-key/863425f1358359c',
      })
      const list = await rawRequest(server, 'GET', url(`${accountPath}/encryptionScopes`))
      assertShape(list.json, exampleBody('storage-arm/2025-06-01/StorageAccountEncryptionScopeList.json'), [])
      const one = await rawRequest(server, 'GET', url(`${accountPath}/encryptionScopes/scope-1`))
      assertShape(one.json, exampleBody('storage-arm/2025-06-01/StorageAccountGetEncryptionScope.json'), [])
      const viaSdk = await all(storageManagement(server).encryptionScopes.list(RG, 'custosdata'))
      assert.deepEqual(
        viaSdk.map((s) => [s.name, s.source]),
        [
          ['scope-1', 'Microsoft.Storage'],
          ['scope-2', 'Microsoft.KeyVault'],
        ],
      )
      assert.equal(
        (await storageManagement(server).encryptionScopes.get(RG, 'custosdata', 'scope-2')).keyVaultProperties?.keyUri,
        'https://custos-kv.vault.azure.net/keys/scope-key/863425f1358359c',
      )
    })
  })

  describe('Microsoft.KeyVault', () => {
    it('reports a vault made with addVault through KeyVaultManagementClient, following its data-plane settings', async () => {
      const vaultUrl = await server.addVault({name: 'custos-kv'})
      const client = keyVaultManagement(server)
      let vault = await client.vaults.get(RG, 'custos-kv')
      assert.equal(vault.id, `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.KeyVault/vaults/custos-kv`)
      assert.equal(vault.properties.vaultUri, `${vaultUrl}/`)
      assert.equal(vault.properties.enableSoftDelete, true)
      assert.equal(vault.properties.enablePurgeProtection, undefined)
      assert.equal(vault.properties.softDeleteRetentionInDays, 7)
      assert.equal(vault.properties.publicNetworkAccess, 'Disabled')
      assert.equal(vault.location, 'germanywestcentral')
      server.state.keyVault('custos-kv')!.purgeProtection = true
      vault = await client.vaults.get(RG, 'custos-kv')
      assert.equal(vault.properties.enablePurgeProtection, true)
    })

    it('lists vaults by subscription, by resource group and through the generic resources list', async () => {
      server.state.addArmKeyVault({
        name: 'elsewhere',
        resourceGroup: 'other-rg',
        location: 'westeurope',
        enablePurgeProtection: true,
        publicNetworkAccess: 'Enabled',
      })
      const client = keyVaultManagement(server)
      assert.deepEqual(
        (await all(client.vaults.listBySubscription())).map((v) => v.name),
        ['custos-kv', 'elsewhere'],
      )
      assert.deepEqual(
        (await all(client.vaults.listByResourceGroup('other-rg'))).map((v) => [
          v.name,
          v.location,
          v.properties.enablePurgeProtection,
        ]),
        [['elsewhere', 'westeurope', true]],
      )
      assert.deepEqual(
        (await all(client.vaults.list())).map((v) => v.name),
        ['custos-kv', 'elsewhere'],
      )
      await assert.rejects(client.vaults.get(RG, 'nosuch'), (e: {statusCode?: number}) => e.statusCode === 404)
    })
  })

  it('builds storage account ids like ARM', () => {
    assert.equal(
      LocalAzureState.storageAccountId('s', 'g', 'n'),
      '/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/n',
    )
  })
})
