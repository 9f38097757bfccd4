import assert from 'node:assert/strict'

import {DEVELOPMENT_ACCOUNT, parseAccount} from '../../src/lib/azure/account.js'

const KEY = 'a2V5'

describe('parseAccount: one connection-string parser for the blob and the table service', () => {
  it('builds the service endpoint from AccountName and EndpointSuffix', () => {
    const text = `DefaultEndpointsProtocol=https;AccountName=contosoprod;AccountKey=${KEY};EndpointSuffix=core.windows.de`
    assert.deepEqual(parseAccount(text), {
      endpoint: 'https://contosoprod.blob.core.windows.de',
      name: 'contosoprod',
      sharedKey: {accountName: 'contosoprod', accountKey: KEY},
    })
    assert.deepEqual(parseAccount(text, 'table'), {
      endpoint: 'https://contosoprod.table.core.windows.de',
      name: 'contosoprod',
      sharedKey: {accountName: 'contosoprod', accountKey: KEY},
    })
  })

  it("points UseDevelopmentStorage at Azurite's port of the service", () => {
    assert.equal(parseAccount('UseDevelopmentStorage=true').endpoint, 'http://127.0.0.1:10000/devstoreaccount1')
    assert.equal(
      parseAccount('UseDevelopmentStorage=true', 'table').endpoint,
      'http://127.0.0.1:10002/devstoreaccount1',
    )
    assert.equal(parseAccount('UseDevelopmentStorage=true', 'table').sharedKey?.accountKey, DEVELOPMENT_ACCOUNT.key)
  })

  it("reads the service's own endpoint field, the account name from its path, and a SAS", () => {
    const text = 'TableEndpoint=http://127.0.0.1:10002/devstoreaccount1/;SharedAccessSignature=?sv=2024&sig=x'
    assert.deepEqual(parseAccount(text, 'table'), {
      endpoint: 'http://127.0.0.1:10002/devstoreaccount1',
      name: 'devstoreaccount1',
      sas: 'sv=2024&sig=x',
    })
    assert.throws(() => parseAccount(text), {message: 'is neither a blob endpoint URL nor a storage connection string'})
  })

  it('names the field that is wrong, for either service, without echoing a secret', () => {
    assert.throws(
      () => parseAccount(`TableEndpoint=not a url;AccountKey=${KEY}`, 'table'),
      (error: Error) => {
        assert.equal(error.message, 'is a connection string whose TableEndpoint does not make a URL')
        return true
      },
    )
    assert.throws(() => parseAccount('TableEndpoint=ftp://x/devstoreaccount1', 'table'), {
      message: 'is a connection string whose TableEndpoint is not an http(s):// URL',
    })
    assert.throws(() => parseAccount(`AccountKey=${KEY};BlobEndpoint=https://x.blob.core.windows.net`, 'table'), {
      message: 'is a connection string without AccountName or TableEndpoint',
    })
    assert.throws(() => parseAccount('ftp://contosoprod.table.core.windows.net', 'table'), {
      message: 'must be an https:// table endpoint',
    })
  })

  it('takes a plain endpoint URL as it is, without a trailing slash', () => {
    assert.deepEqual(parseAccount('https://contosoprod.table.core.windows.net/', 'table'), {
      endpoint: 'https://contosoprod.table.core.windows.net',
      name: 'contosoprod',
    })
  })
})
