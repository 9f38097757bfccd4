import {strict as assert} from 'node:assert'

import {validateDataMap} from '../../src/lib/datamap/load.js'
import {CustosError} from '../../src/lib/errors.js'

const base = (extra: Record<string, unknown> = {}, store: Record<string, unknown> = {}) => ({
  stores: [
    {name: 'documents', account: 'https://contosoprod.blob.core.windows.net', container: 'tenant-{customer}', ...store},
  ],
  ...extra,
})

describe('data map fields of audit posture', () => {
  it('accepts requireCustomerManagedKey on a store and azure.keyVaultResourceId', () => {
    const map = validateDataMap(
      base(
        {
          azure: {
            keyVaultResourceId: '/subscriptions/s/resourceGroups/g/providers/Microsoft.KeyVault/vaults/contoso-kv',
          },
        },
        {requireCustomerManagedKey: true},
      ),
      '/tmp/x/custos.yaml',
    )
    assert.equal(map.stores[0].requireCustomerManagedKey, true)
    assert.equal(
      map.azure.keyVaultResourceId,
      '/subscriptions/s/resourceGroups/g/providers/Microsoft.KeyVault/vaults/contoso-kv',
    )
  })

  it('names a keyVaultResourceId that is not a vault id, and a non-boolean requireCustomerManagedKey', () => {
    let error: unknown
    try {
      validateDataMap(
        base(
          {
            azure: {
              keyVaultResourceId: '/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/x',
            },
          },
          {requireCustomerManagedKey: 'yes'},
        ),
        '/tmp/x/custos.yaml',
      )
    } catch (error_) {
      error = error_
    }

    assert.ok(error instanceof CustosError)
    assert.deepEqual(error.details.sort(), [
      'azure.keyVaultResourceId: has an invalid format (an ARM key vault resource id)',
      'stores[0].requireCustomerManagedKey: must be boolean',
    ])
  })
})
