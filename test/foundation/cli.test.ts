import assert from 'node:assert/strict'
import {mkdtempSync, readdirSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {AzureClients} from '../../src/lib/azure/clients.js'
import {loadDataMap} from '../../src/lib/datamap/load.js'
import {seedDemoData} from '../../src/lib/local/demo-data.js'
import {startLocalEnvironment, type LocalEnvironment} from '../../src/lib/local/environment.js'
import {ROOT, runCli} from '../support/cli.js'

describe('the custos CLI (built bin/run.js as a process)', function () {
  this.timeout(180_000)
  let env: LocalEnvironment
  const scratch = mkdtempSync(join(tmpdir(), 'custos-cli-'))

  before(async () => {
    env = await startLocalEnvironment()
    await seedDemoData(new AzureClients(loadDataMap(env.configPath)), env, {documentsPerCustomer: 6})
  })

  after(async () => {
    await env?.stop()
  })

  it('config validate names a wrong type, a missing field and an unknown placeholder, exit 2', async () => {
    const path = join(scratch, 'bad.yaml')
    writeFileSync(
      path,
      [
        'stores:',
        '  - name: documents',
        '    account: https://contosoprod.blob.core.windows.net',
        '    container: "tenant-{tenant}"',
        '  - name: attachments',
        '    container: attachments',
        '    prefix: "{customer}/"',
        'backups:',
        '  - {name: nightly, account: "https://b.blob.core.windows.net", container: backups, prefix: "{customer}/", expect: {every: 24h, maxAge: 26, keepDays: 30}}',
      ].join('\n'),
    )
    const text = await runCli(['config', 'validate', '--config', path])
    assert.equal(text.code, 2, text.stderr)
    assert.match(text.stderr, /stores\[0\]\.container: unknown placeholder \{tenant\}/)
    assert.match(text.stderr, /stores\[1\]\.account: is required/)
    assert.match(text.stderr, /backups\[0\]\.expect\.maxAge: must be string/)
    assert.doesNotMatch(text.stderr, /\n\s+at /, 'no stack trace without --debug')
    assert.equal(text.stdout, '')

    const json = await runCli(['config', 'validate', '--config', path, '--json'])
    assert.equal(json.code, 2)
    const error = json.json<{error: {code: string; details: string[]; exitCode: number}}>().error
    assert.equal(error.code, 'ConfigInvalid')
    assert.equal(error.exitCode, 2)
    assert.equal(error.details.length, 3)
  })

  it('config validate reaches every account, container, vault and the activity log of the local environment', async () => {
    const result = await runCli(['config', 'validate', '--config', env.configPath, '--json'])
    assert.equal(result.code, 0, result.stdout + result.stderr)
    const body = result.json<{ok: boolean; checks: Array<{section: string; status: string}>}>()
    assert.equal(body.ok, true)
    const sections = new Set(body.checks.map((c) => c.section))
    for (const s of [
      'stores/documents',
      'stores/attachments',
      'backups/nightly-db',
      'audit',
      'exports',
      'logs.archive',
      'keys',
      'activityLog',
    ])
      assert.ok(sections.has(s), `${s} checked`)
    assert.ok(
      body.checks.every((c) => c.status === 'ok'),
      JSON.stringify(body.checks),
    )
    // the demo's audit container carries the recommended policy: no warning
    const policy = body.checks.find((c) => c.section === 'audit.immutability') as
      {target: string; detail: string} | undefined
    assert.equal(policy?.target, 'contosoaudit/custos-audit')
    assert.match(
      policy?.detail ?? '',
      /^Locked time-based retention of 365 days: .* allowProtectedAppendWrites is true/,
    )
  })

  it('config validate warns, without changing the exit code, when the audit container has no policy that allows appends', async () => {
    const container = `${env.accountId('contosoaudit')}/blobServices/default/containers/custos-audit`
    const policyCheck = (body: {checks: Array<{section: string; status: string; detail: string}>}) =>
      body.checks.find((c) => c.section === 'audit.immutability')
    try {
      env.server.state.setImmutabilityPolicy(container, undefined)
      const none = await runCli(['config', 'validate', '--config', env.configPath, '--json'])
      assert.equal(none.code, 0, none.stdout + none.stderr)
      const body = none.json<{ok: boolean; checks: Array<{section: string; status: string; detail: string}>}>()
      assert.equal(body.ok, true)
      assert.equal(policyCheck(body)?.status, 'warning')
      assert.match(
        policyCheck(body)?.detail ?? '',
        /^No immutability policy on custos-audit: .* `custos audit posture` prints the az commands that fix it\.$/,
      )

      env.server.state.setImmutabilityPolicy(container, {days: 30, state: 'Locked'})
      const text = await runCli(['config', 'validate', '--config', env.configPath])
      assert.equal(text.code, 0, text.stdout + text.stderr)
      assert.match(text.stdout, /audit\.immutability .*warning/)
      assert.match(
        text.stdout,
        /allows no protected append writes: Azure refuses custos's Append Block, so the trail cannot be written/,
      )
      assert.match(text.stdout, /Every target is reachable\. 1 warning\(s\)\./)
    } finally {
      env.server.state.setImmutabilityPolicy(container, {days: 365, state: 'Locked', allowProtectedAppendWrites: true})
    }
  })

  it('audit posture passes the audit container of the local environment (the demo), read through Resource Manager', async () => {
    const result = await runCli(['audit', 'posture', '--config', env.configPath, '--json'])
    const report = result.json<{
      resources: Array<{kind: string; name: string; results: Array<{check: string; status: string}>}>
    }>()
    const container = report.resources.find((r) => r.kind === 'blob-container')
    assert.equal(container?.name, 'contosoaudit/custos-audit', result.stderr)
    assert.deepEqual(
      container?.results.map((r) => [r.check, r.status]),
      [
        ['audit.trail-immutable', 'pass'],
        ['audit.trail-writable', 'pass'],
        ['audit.trail-policy-locked', 'pass'],
      ],
    )
  })

  it('config validate warns that the policy was not checked when Resource Manager cannot be reached', async () => {
    const path = join(scratch, 'no-arm.json')
    const config = structuredClone(env.config) as {azure: Record<string, unknown>; activityLog?: unknown}
    config.azure.resourceManager = 'https://127.0.0.1:9'
    delete config.activityLog
    writeFileSync(path, JSON.stringify(config))
    const result = await runCli(['config', 'validate', '--config', path, '--json', '--retries', '1'])
    assert.equal(result.code, 0, result.stdout + result.stderr)
    const check = result
      .json<{checks: Array<{section: string; status: string; detail: string}>}>()
      .checks.find((c) => c.section === 'audit.immutability')
    assert.equal(check?.status, 'warning')
    assert.match(check?.detail ?? '', /^Immutability policy not checked: Could not reach .*ECONNREFUSED/)
  })

  it('config validate reports an unreachable account with exit 1', async () => {
    const path = join(scratch, 'unreachable.yaml')
    writeFileSync(
      path,
      'stores:\n  - name: documents\n    account: "DefaultEndpointsProtocol=http;AccountName=x;AccountKey=eA==;BlobEndpoint=http://127.0.0.1:9/x"\n    container: "tenant-{customer}"\n',
    )
    const result = await runCli(['config', 'validate', '--config', path, '--json', '--retries', '2'])
    assert.equal(result.code, 1, result.stdout + result.stderr)
    const body = result.json<{checks: Array<{status: string; detail: string}>}>()
    assert.ok(
      body.checks.some((c) => c.status === 'failed' && /ECONNREFUSED/.test(c.detail)),
      JSON.stringify(body.checks),
    )
    assert.doesNotMatch(result.stdout, /AccountKey=eA==/, 'the account key is never printed')
    // nothing says which subscription holds the account: the policy is not checked, and nothing is sent
    const policy = body.checks.find((c) => (c as {section?: string}).section === 'audit.immutability')
    assert.equal(policy?.status, 'warning')
    assert.match(
      policy?.detail ?? '',
      /^Immutability policy not checked: The audit account x could not be read: no resourceId and no subscription to search for account x\. Add resourceId: .* Or set azure\.subscription\.$/,
    )
  })

  it('customer inventory --json is one JSON document and counts acme apart from acme-corp', async () => {
    const result = await runCli(['customer', 'inventory', 'acme', '--config', env.configPath, '--json'])
    assert.equal(result.code, 0, result.stderr)
    const inv = result.json<{
      customer: string
      stores: Array<{store: string; blobs: number; scope: string}>
      key: {state: string}
    }>()
    assert.equal(inv.customer, 'acme')
    assert.deepEqual(
      inv.stores.map((s) => [s.store, s.blobs, s.scope]),
      [
        ['documents', 6, 'contosoprod/tenant-acme/'],
        ['attachments', 3, 'contosoprod/attachments/acme/'],
        ['nightly-db', 30, 'contosobackup/backups/acme/'],
      ],
    )
    assert.equal(inv.key.state, 'enabled')
  })

  it('customer inventory renders a table without colour codes when NO_COLOR is set', async () => {
    const result = await runCli(['customer', 'inventory', 'globex', '--config', env.configPath])
    assert.equal(result.code, 0, result.stderr)
    assert.match(result.stdout, /Inventory of customer globex/)
    assert.match(result.stdout, /documents/)
    // eslint-disable-next-line no-control-regex -- an ANSI escape is what it looks for
    assert.doesNotMatch(result.stdout, /\u001B\[/)
  })

  it('refuses a bad customer id with exit 2 and one clear line', async () => {
    for (const id of ['ACME', '../acme', 'acme%2f']) {
      const result = await runCli(['customer', 'inventory', id, '--config', env.configPath])
      assert.equal(result.code, 2, `${id}: ${result.stderr}`)
      assert.match(result.stderr, /^Error: Customer id .* is not acceptable/m)
    }
  })

  it('a usage error (unknown flag) exits 2 in text and JSON mode', async () => {
    const text = await runCli(['customer', 'inventory', 'acme', '--config', env.configPath, '--no-such-flag'])
    assert.equal(text.code, 2, text.stderr)
    const json = await runCli(['customer', 'inventory', 'acme', '--config', env.configPath, '--no-such-flag', '--json'])
    assert.equal(json.code, 2)
    assert.equal(json.json<{error: {exitCode: number}}>().error.exitCode, 2)
  })

  it('custos demo completes: inventory, export, erase with a verified certificate, acme-corp untouched, audit chain intact', async function () {
    // every step of the product, the database and table stores too: several minutes on a loaded machine
    this.timeout(420_000)
    const result = await runCli(['demo'], {timeoutInMs: 400_000})
    const out = result.stdout + result.stderr
    assert.equal(result.code, 0, out.slice(-3000))
    assert.match(out, /Inventory of customer acme\n/)
    // the application database: validated against its catalog, inventoried, exported, erased and certified
    assert.match(out, /databases\/app-db .* ok .* 4 mapped table\(s\) match the catalog/)
    assert.match(out, /Database app-db: app\n[^]*public\.projects\s*│\s*3\b/)
    assert.match(out, /│ app-db +│[^\n]*│ *\d+ *│/, 'the export lists the database store')
    assert.match(out, /Database app-db: \d+ rows planned \(delete\), \d+ deleted, none left/)
    assert.match(out, /custos\.export-manifest: valid, signature checked/)
    assert.match(out, /Verification: nothing left/)
    assert.match(out, /custos\.deletion-certificate: valid, signature checked/)
    assert.match(out, /Chain intact: \d+ record\(s\)/)
    assert.doesNotMatch(out, /^Error:/m)
    // the demo shows the current convention (no deprecated spelling) and a clean run (no Node warnings)
    assert.doesNotMatch(out, /is deprecated/)
    assert.doesNotMatch(out, /MaxListenersExceededWarning|\(node:\d+\) \w*Warning/)
    // Tables go to stdout, step headings to stderr: the last acme-corp inventory on stdout is the one after the erase.
    const afterErase = result.stdout.slice(result.stdout.lastIndexOf('Inventory of customer acme-corp'))
    assert.match(
      afterErase,
      /Total: 47 objects/,
      'acme-corp keeps all 12 documents + 1 snapshot, 3 attachments + 1 snapshot, 30 backups',
    )
    const acmeAfter = result.stdout.slice(result.stdout.lastIndexOf('Inventory of customer acme\n'))
    assert.match(acmeAfter, /Total: 0 objects/)
  })

  it('every command shows examples in its help', async () => {
    const ids: string[] = []
    const walk = (dir: string, prefix: string[]) => {
      for (const entry of readdirSync(dir, {withFileTypes: true})) {
        if (entry.isDirectory()) walk(join(dir, entry.name), [...prefix, entry.name])
        else if (entry.name.endsWith('.js')) ids.push([...prefix, entry.name.replace(/\.js$/, '')].join(' '))
      }
    }

    walk(join(ROOT, 'dist', 'commands'), [])
    assert.ok(ids.length >= 5, ids.join(', '))
    for (const id of ids) {
      const result = await runCli([...id.split(' '), '--help'])
      assert.equal(result.code, 0, `${id}: ${result.stderr}`)
      assert.match(result.stdout, /EXAMPLES/, `${id} --help shows examples`)
    }
  })
})
