/** `custos access review` as a process: exit codes, --json, table, SARIF, CSV, HTML with the matrix, --output. */
import {strict as assert} from 'node:assert'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {LOCAL_TENANT_ID} from '../../src/lib/local/azure-server/index.js'
import {runCli} from '../support/cli.js'
import {ACCOUNT_ID, ROLE, ReviewBed, SUB, SUBSCRIPTION_SCOPE, VAULT_ID} from './helpers.js'

const custos = (args: string[]) => runCli(args, {env: {CUSTOS_CONFIG: '', NO_COLOR: '1'}, timeoutInMs: 60_000})

describe('custos access review (process)', function () {
  this.timeout(60_000)
  const bed = new ReviewBed()
  let config: string
  let cleanConfig: string

  before(async () => {
    await bed.start()
    const d = bed.directory
    // the review's clock is the real one here: sign-ins are relative to today, so no date is baked in
    const recent = new Date(Date.now() - 86_400_000).toISOString()
    const alice = d.addUser({displayName: 'Alice', userPrincipalName: 'alice@contoso.com', lastSignInDateTime: recent})
    const guest = d.addUser({
      displayName: 'Eve',
      userPrincipalName: 'eve_fabrikam.com#EXT#@contoso.onmicrosoft.com',
      userType: 'Guest',
      lastSignInDateTime: recent,
    })
    d.addRoleAssignment({scope: SUBSCRIPTION_SCOPE, roleDefinitionId: ROLE.owner, principalId: alice.id as string})
    d.addRoleAssignment({scope: VAULT_ID, roleDefinitionId: ROLE.reader, principalId: alice.id as string})
    d.addRoleAssignment({scope: ACCOUNT_ID, roleDefinitionId: ROLE.reader, principalId: guest.id as string})
    const access = {
      expected: {principals: ['alice@contoso.com'], privileged: ['alice@contoso.com'], tenants: [LOCAL_TENANT_ID]},
    }
    const raw = (extra: Record<string, unknown>) => ({
      stores: [
        {
          name: 'documents',
          account: 'https://127.0.0.1:1/contosoprod',
          container: 'tenant-{customer}',
          resourceId: ACCOUNT_ID,
        },
      ],
      keys: {vault: 'https://127.0.0.1:2'},
      access: {...access, ...extra},
      azure: {
        credential: 'local',
        resourceManager: bed.server.url,
        graph: bed.server.url,
        caCertificate: bed.caPath,
        subscription: SUB,
        tenant: LOCAL_TENANT_ID,
        keyVaultResourceId: VAULT_ID,
      },
    })
    config = join(bed.dir, 'custos.json')
    writeFileSync(config, JSON.stringify(raw({})))
    cleanConfig = join(bed.dir, 'clean.json')
    writeFileSync(
      cleanConfig,
      JSON.stringify(
        raw({
          expected: {
            ...access.expected,
            principals: ['alice@contoso.com', 'eve@fabrikam.com', 'eve_fabrikam.com#EXT#@contoso.onmicrosoft.com'],
          },
        }),
      ),
    )
  })

  after(() => bed.stop())

  it('exits 1 with findings and prints exactly one JSON document with --json', async () => {
    const run = await custos(['access', 'review', '--config', config, '--json'])
    assert.equal(run.code, 1, run.stderr)
    const result = JSON.parse(run.stdout)
    assert.deepEqual(result.findings.map((f: {type: string}) => f.type).sort(), ['guest', 'unexpected-principal'])
    assert.equal(result.summary.assignments, 3)
    assert.equal(result.failOn, 'low')
  })

  it('exits 0 with --fail-on critical when no finding is critical, and prints the table with the fixes', async () => {
    const run = await custos(['access', 'review', '--config', config, '--fail-on', 'critical', '--format', 'table'])
    assert.equal(run.code, 0, run.stderr)
    assert.match(run.stdout, /Role assignments \(3\)/)
    assert.match(run.stdout, /inherited by storageAccounts\/contosoprod, vaults\/contoso-kv/)
    assert.match(
      run.stdout,
      /az role assignment delete --ids "\/subscriptions\/.+\/storageAccounts\/contosoprod\/providers\/Microsoft\.Authorization\/roleAssignments\/[0-9a-f-]+"/,
    )
    assert.match(run.stdout, /No finding at or above critical\./)
  })

  it('prints the table, not JSON, when stdout is a pipe and no format is asked for', async () => {
    const run = await custos(['access', 'review', '--config', config])
    assert.equal(run.code, 1, run.stderr)
    assert.throws(() => JSON.parse(run.stdout))
    assert.match(run.stdout, /Role assignments \(3\)/)
  })

  it('prints SARIF with --format sarif, one result per finding', async () => {
    const run = await custos(['access', 'review', '--config', config, '--format', 'sarif'])
    assert.equal(run.code, 1, run.stderr)
    const sarif = JSON.parse(run.stdout)
    assert.equal(sarif.version, '2.1.0')
    assert.deepEqual(sarif.runs[0].results.map((r: {ruleId: string}) => r.ruleId).sort(), [
      'access.guest',
      'access.unexpected-principal',
    ])
  })

  it('writes HTML with the access matrix and CSV with -o, and refuses to overwrite without --force (exit 3)', async () => {
    const html = join(bed.dir, 'review.html')
    const run = await custos(['access', 'review', '--config', config, '-o', html])
    assert.equal(run.code, 1, run.stderr)
    assert.equal(run.stdout, '')
    const page = readFileSync(html, 'utf8')
    assert.match(page, /<table class="matrix">/)
    assert.match(page, /Owner \(inherited from \/subscriptions\/[0-9a-f-]+\)/)
    const again = await custos(['access', 'review', '--config', config, '-o', html])
    assert.equal(again.code, 3)
    const csv = join(bed.dir, 'review.csv')
    await custos(['access', 'review', '--config', config, '--output', csv])
    const lines = readFileSync(csv, 'utf8').trimEnd().split('\r\n')
    assert.equal(lines[0], 'type,severity,principal,principalName,kind,role,scope,via,why,fix')
    assert.equal(lines.length, 3)
  })

  it('keeps a guest a finding even when access.expected names it: a B2B guest is an external user', async () => {
    const run = await custos(['access', 'review', '--config', cleanConfig, '--json'])
    const result = JSON.parse(run.stdout)
    assert.deepEqual(
      result.findings.map((f: {type: string}) => f.type),
      ['guest'],
    )
    assert.equal(run.code, 1)
  })
})
