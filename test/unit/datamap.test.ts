import assert from 'node:assert/strict'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {loadDataMap, validateDataMap} from '../../src/lib/datamap/load.js'
import {CustosError, ExitCode} from '../../src/lib/errors.js'

const minimal = {
  stores: [{name: 'documents', account: 'https://contosoprod.blob.core.windows.net', container: 'tenant-{customer}'}],
}

function problemsOf(raw: unknown): string[] {
  try {
    validateDataMap(raw, '/tmp/custos.yaml')
  } catch (error) {
    assert.ok(error instanceof CustosError, 'a CustosError')
    assert.equal(error.exitCode, ExitCode.usage)
    return error.details
  }

  assert.fail('the data map was accepted')
}

describe('data map', () => {
  it('fills defaults for everything but stores', () => {
    const map = validateDataMap(structuredClone(minimal), '/tmp/custos.yaml')
    assert.deepEqual(map.residency.allowedRegions, ['germanywestcentral', 'germanynorth'])
    assert.equal(map.customers.idPattern, '^[a-z0-9][a-z0-9-]{1,55}$')
    assert.equal(map.audit.container, 'custos-audit')
    assert.equal(map.audit.account, minimal.stores[0].account, 'audit defaults to the first store account')
    assert.equal(map.azure.credential, 'default')
    assert.deepEqual(map.backups, [])
  })

  it('names a wrong type, a missing field and an unknown placeholder in one run', () => {
    const problems = problemsOf({
      stores: [
        {name: 'documents', account: 'https://contosoprod.blob.core.windows.net', container: 'tenant-{tenant}'},
        {name: 'attachments', container: 'attachments', prefix: '{customer}/'},
      ],
      backups: [
        {
          name: 'nightly',
          account: 'https://b.blob.core.windows.net',
          container: 'backups',
          prefix: '{customer}/',
          expect: {every: '24h', maxAge: 26, keepDays: 30},
        },
      ],
    })
    assert.ok(
      problems.some((p) => p.startsWith('stores[0].container: unknown placeholder {tenant}')),
      problems.join('\n'),
    )
    assert.ok(problems.includes('stores[1].account: is required'), problems.join('\n'))
    assert.ok(problems.includes('backups[0].expect.maxAge: must be string'), problems.join('\n'))
  })

  it('rejects unknown fields by path', () => {
    const problems = problemsOf({...structuredClone(minimal), exprots: {}})
    assert.deepEqual(problems, ['exprots: is not a known field'])
  })

  it('rejects a shared-container prefix without {customer}', () => {
    const problems = problemsOf({
      stores: [{name: 'a', account: 'https://x.blob.core.windows.net', container: 'attachments', prefix: 'data/'}],
    })
    assert.ok(
      problems.some((p) => p.startsWith('stores[0].prefix: must contain {customer}')),
      problems.join('\n'),
    )
  })

  it('rejects a prefix that does not end at a folder boundary', () => {
    const problems = problemsOf({
      stores: [{name: 'a', account: 'https://x.blob.core.windows.net', container: 'attachments', prefix: '{customer}'}],
    })
    assert.ok(
      problems.some((p) => p.startsWith('stores[0].prefix: must end with "/"')),
      problems.join('\n'),
    )
  })

  it('rejects a store that is not scoped to a customer at all', () => {
    const problems = problemsOf({
      stores: [{name: 'a', account: 'https://x.blob.core.windows.net', container: 'shared'}],
    })
    assert.ok(
      problems.some((p) => p.includes('not scoped to one customer')),
      problems.join('\n'),
    )
  })

  it('rejects two stores whose scopes overlap in the same container', () => {
    const problems = problemsOf({
      stores: [
        {name: 'a', account: 'https://x.blob.core.windows.net', container: 'attachments', prefix: '{customer}/'},
        {name: 'b', account: 'https://x.blob.core.windows.net/', container: 'attachments', prefix: '{customer}/mail/'},
      ],
    })
    assert.ok(
      problems.some((p) => p.startsWith('stores[1]: overlaps stores[0]')),
      problems.join('\n'),
    )
  })

  it('accepts the same prefix in different containers', () => {
    assert.doesNotThrow(() =>
      validateDataMap(
        {
          stores: [
            {name: 'a', account: 'https://x.blob.core.windows.net', container: 'attachments', prefix: '{customer}/'},
            {name: 'b', account: 'https://x.blob.core.windows.net', container: 'mail', prefix: '{customer}/'},
          ],
        },
        '/tmp/custos.yaml',
      ),
    )
  })

  it('rejects a customer key template without {customer}', () => {
    const problems = problemsOf({
      ...structuredClone(minimal),
      keys: {vault: 'https://kv.vault.azure.net', customerKey: 'shared-key'},
    })
    assert.ok(
      problems.some((p) => p.startsWith('keys.customerKey: must contain {customer}')),
      problems.join('\n'),
    )
  })

  it('rejects an account that is neither a URL nor a connection string, without echoing it', () => {
    const problems = problemsOf({stores: [{name: 'a', account: 'not an account', container: 'tenant-{customer}'}]})
    assert.deepEqual(problems, ['stores[0].account: is neither a blob endpoint URL nor a storage connection string'])
  })

  it('refuses the local credential for a non-loopback vault', () => {
    const problems = problemsOf({
      ...structuredClone(minimal),
      keys: {vault: 'https://contoso-kv.vault.azure.net'},
      azure: {credential: 'local'},
    })
    assert.ok(
      problems.includes('keys.vault: must be a loopback address when azure.credential is "local"'),
      problems.join('\n'),
    )
  })

  it('reads YAML and JSON files and reports unparsable ones with exit 2', () => {
    const dir = mkdtempSync(join(tmpdir(), 'custos-map-'))
    writeFileSync(
      join(dir, 'custos.yaml'),
      'stores:\n  - name: documents\n    account: UseDevelopmentStorage=true\n    container: "tenant-{customer}"\n',
    )
    writeFileSync(join(dir, 'custos.json'), JSON.stringify(minimal))
    writeFileSync(join(dir, 'broken.yaml'), 'stores: [\n')
    assert.equal(loadDataMap(join(dir, 'custos.yaml')).stores[0].name, 'documents')
    assert.equal(loadDataMap(join(dir, 'custos.json')).stores[0].container, 'tenant-{customer}')
    assert.throws(
      () => loadDataMap(join(dir, 'broken.yaml')),
      (error: unknown) =>
        error instanceof CustosError && error.exitCode === ExitCode.usage && /not valid YAML/.test(error.message),
    )
    assert.throws(
      () => loadDataMap(join(dir, 'missing.yaml')),
      (error: unknown) => error instanceof CustosError && /cannot be read/.test(error.message),
    )
  })
})
