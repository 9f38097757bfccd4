/** `custos audit posture` as a process: exit codes, --json, --format sarif and the table. */
import {strict as assert} from 'node:assert'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {runCli} from '../support/cli.js'
import {ACCOUNTS, PostureBed} from './setup.js'

/** The built CLI as a process, with no CUSTOS_CONFIG from the environment. */
const custos = (args: string[]) => runCli(args, {env: {CUSTOS_CONFIG: ''}, timeoutInMs: 60_000})

describe('custos audit posture (process)', function () {
  this.timeout(60_000)
  const bed = new PostureBed()
  let config: string

  before(async () => {
    await bed.start()
    config = join(bed.dir, 'custos.json')
    writeFileSync(config, JSON.stringify(bed.raw()))
  })

  after(() => bed.stop())

  it('exits 0 on a compliant setup and prints exactly one JSON document with --json', async () => {
    bed.seed()
    const run = await custos(['audit', 'posture', '--config', config, '--json'])
    assert.equal(run.code, 0, run.stderr)
    const result = JSON.parse(run.stdout)
    assert.equal(result.summary.failing, 0)
    assert.equal(result.failOn, 'medium')
    assert.ok(result.resources.length >= 8)
  })

  it('exits 1 when a check at or above --fail-on fails, and prints the table with the fix', async () => {
    bed.seed()
    bed.patchAccount(ACCOUNTS.backup, {properties: {minimumTlsVersion: 'TLS1_0'}})
    const run = await custos(['audit', 'posture', '--config', config])
    assert.equal(run.code, 1, run.stderr)
    assert.match(run.stdout, /Storage account contosobackup \(germanynorth; used by backups\.nightly-db\)/)
    assert.match(run.stdout, /FAIL\s*│ storage\.minimum-tls/)
    assert.match(
      run.stdout,
      /Fix storage\.minimum-tls: az storage account update .*--name contosobackup --min-tls-version TLS1_2/,
    )
    assert.match(run.stdout, /1 check at or above medium failed or could not be verified\./)
  })

  it('exits 0 with --fail-on critical when only a high check fails, and prints SARIF with --format sarif', async () => {
    bed.seed()
    bed.patchAccount(ACCOUNTS.backup, {properties: {minimumTlsVersion: 'TLS1_0'}})
    const run = await custos(['audit', 'posture', '--config', config, '--fail-on', 'critical', '--format', 'sarif'])
    assert.equal(run.code, 0, run.stderr)
    const sarif = JSON.parse(run.stdout)
    assert.equal(sarif.version, '2.1.0')
    assert.ok(
      sarif.runs[0].results.some(
        (r: {ruleId: string; kind: string}) => r.ruleId === 'storage.minimum-tls' && r.kind === 'fail',
      ),
    )
  })

  it('refuses --format sarif together with --json (exit 2)', async () => {
    const run = await custos(['audit', 'posture', '--config', config, '--format', 'sarif', '--json'])
    assert.equal(run.code, 2)
    assert.equal(JSON.parse(run.stdout).error.code, 'Usage')
  })
})
