import assert from 'node:assert/strict'

import {validateDataMap} from '../../src/lib/datamap/load.js'
import {CustosError, ExitCode} from '../../src/lib/errors.js'
import {assertCustomerId, assertInScope, isInScope, scopeOf, scopesOf} from '../../src/lib/scope.js'

const map = validateDataMap(
  {
    stores: [
      {name: 'documents', account: 'https://contosoprod.blob.core.windows.net', container: 'tenant-{customer}'},
      {
        name: 'attachments',
        account: 'https://contosoprod.blob.core.windows.net',
        container: 'attachments',
        prefix: '{customer}/',
      },
    ],
  },
  '/tmp/custos.yaml',
)
const pattern = map.customers.idPattern

describe('scope safety', () => {
  const badIds: Array<[string, string]> = [
    ['', 'empty'],
    ['*', 'wildcard'],
    ['..', '".."'],
    ['../x', '".."'],
    ['/', 'path separator'],
    ['acme/', 'path separator'],
    [String.raw`acme\x`, 'path separator'],
    ['ACME', 'idPattern'],
    ['acme%2f', 'percent'],
    [' acme', 'whitespace'],
    ['ac me', 'whitespace'],
    ['acme\n', 'whitespace'],
    ['аcme', 'non-ASCII'], // Cyrillic а
    ['acme\u200B', 'non-ASCII'], // zero-width space
    ['a'.repeat(10_000), 'longer than'],
    ['a', 'idPattern'],
  ]
  for (const [id, why] of badIds) {
    it(`rejects the customer id ${JSON.stringify(id.length > 20 ? `${id.slice(0, 10)}…` : id)} (${why})`, () => {
      assert.throws(
        () => assertCustomerId(id, pattern),
        (error: unknown) =>
          error instanceof CustosError &&
          error.exitCode === ExitCode.usage &&
          error.message.includes(why) &&
          error.message.length < 300,
      )
    })
  }

  it('accepts ordinary ids', () => {
    for (const id of ['acme', 'acme-corp', 'globex42']) assert.equal(assertCustomerId(id, pattern), id)
  })

  it('never lets acme match acme-corp in a shared container', () => {
    const acme = scopeOf(map.stores[1], 'acme')
    assert.equal(acme.prefix, 'acme/')
    assert.equal(isInScope(acme, 'attachments', 'acme/report.pdf'), true)
    assert.equal(isInScope(acme, 'attachments', 'acme-corp/report.pdf'), false)
    assert.equal(isInScope(acme, 'attachments', 'acmereport.pdf'), false)
    assert.equal(isInScope(acme, 'attachments', 'acme/'), false, 'the folder marker itself is not an item')
    assert.equal(isInScope(acme, 'other', 'acme/report.pdf'), false, 'another container is out of scope')
  })

  it('refuses names with a "." or ".." segment, which a request URL would resolve to another blob', () => {
    const acme = scopeOf(map.stores[1], 'acme')
    for (const name of ['acme/../acme-corp/report.pdf', 'acme/./report.pdf', 'acme/x/..', 'acme/..']) {
      assert.equal(isInScope(acme, 'attachments', name), false, name)
      assert.throws(
        () => assertInScope(acme, 'attachments', name),
        (e: unknown) => e instanceof CustosError && e.code === 'OutOfScope' && e.message.includes('".."'),
      )
    }

    for (const name of ['acme/...', 'acme/..a', 'acme/a..', 'acme/.hidden'])
      assert.equal(isInScope(acme, 'attachments', name), true, name)
    const tenant = scopeOf(map.stores[0], 'acme')
    assert.equal(isInScope(tenant, 'tenant-acme', 'a/../b'), false, 'also where the customer owns the container')
  })

  it('never lets acme match acme-corp in the container-per-customer layout', () => {
    const acme = scopeOf(map.stores[0], 'acme')
    assert.equal(acme.container, 'tenant-acme')
    assert.equal(acme.ownsContainer, true)
    assert.equal(isInScope(acme, 'tenant-acme', 'any/name.txt'), true)
    assert.equal(isInScope(acme, 'tenant-acme-corp', 'any/name.txt'), false)
  })

  it('refuses an out-of-scope name with exit 3 naming the customer, store and item', () => {
    const acme = scopeOf(map.stores[1], 'acme')
    assert.throws(
      () => assertInScope(acme, 'attachments', 'acme-corp/x.txt'),
      (error: unknown) =>
        error instanceof CustosError &&
        error.exitCode === ExitCode.refused &&
        /acme-corp\/x\.txt/.test(error.message) &&
        /customer acme/.test(error.message) &&
        /store attachments/.test(error.message),
    )
  })

  it('checks the id before building any scope', () => {
    assert.throws(
      () => scopesOf(map, '../tenant-acme'),
      (error: unknown) => error instanceof CustosError && error.exitCode === ExitCode.usage,
    )
  })
})
