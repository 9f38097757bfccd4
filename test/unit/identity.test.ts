import assert from 'node:assert/strict'

import {usesEntraId} from '../../src/lib/azure/identity.js'
import {validateDataMap} from '../../src/lib/datamap/load.js'

const KEY = Buffer.alloc(64, 7).toString('base64')
const conn = (account: string) =>
  `DefaultEndpointsProtocol=https;AccountName=${account};AccountKey=${KEY};EndpointSuffix=core.windows.net`
const map = (extra: Record<string, unknown> = {}, storeAccount = conn('contosoprod')) =>
  validateDataMap(
    {
      stores: [{name: 'documents', account: storeAccount, container: 'tenant-{customer}'}],
      audit: {account: conn('contosoaudit'), container: 'custos-audit'},
      ...extra,
    },
    'identity-test.json',
  )

describe('whether a data map needs an Entra ID token (and so whether custos asks who the operator is)', () => {
  it('does not for accounts that all use Shared Key or SAS, and nothing else in Azure', () => {
    assert.equal(usesEntraId(map()), false)
    assert.equal(
      usesEntraId(
        map(
          {},
          'BlobEndpoint=https://contosoprod.blob.core.windows.net;SharedAccessSignature=sv=2025-01-05&ss=b&srt=co&sp=rl&se=2030-01-01T00:00:00Z&sig=abc',
        ),
      ),
      false,
    )
  })

  it('does for an account given as a URL, Key Vault, a workspace, the activity log or ARM resource ids', () => {
    assert.equal(usesEntraId(map({}, 'https://contosoprod.blob.core.windows.net')), true)
    assert.equal(
      usesEntraId(map({keys: {vault: 'https://contoso-kv.vault.azure.net', customerKey: 'customer-{customer}'}})),
      true,
    )
    assert.equal(
      usesEntraId(map({logs: {workspace: '00000000-0000-0000-0000-000000000000', customerFields: ['customerId']}})),
      true,
    )
    assert.equal(usesEntraId(map({activityLog: {subscription: '00000000-0000-0000-0000-000000000001'}})), true)
    assert.equal(
      usesEntraId(
        map({
          exports: {account: 'https://contosoexport.blob.core.windows.net', container: 'exports', linkExpiry: '2d'},
        }),
      ),
      true,
    )
  })
})
