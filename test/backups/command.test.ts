/**
 * `custos backups verify` as a scheduled job and a monitoring plugin see it: stdout, exit codes,
 * one JSON document under --json, one Nagios line under --format nagios. The command runs in
 * process against Azurite and the local Resource Manager.
 */
import assert from 'node:assert/strict'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {stringify} from 'yaml'

import BackupsVerify from '../../src/commands/backups/verify.js'
import {AzureClients} from '../../src/lib/azure/clients.js'
import {LOCAL_SUBSCRIPTION_ID} from '../../src/lib/local/azure-server/index.js'
import {getTestAzurite, uniqueName} from '../support/env.js'
import {recordJsonShape} from '../support/json-shape.js'
import {range, seedDailyBackups, startArm, type Arm} from './helpers.js'

const root = new URL('../../', import.meta.url).pathname

interface Run {
  stdout: string
  stderr: string
  exitCode: number
}

/** Runs the command in this process, capturing stdout/stderr and the exit code it sets. */
async function runVerify(argv: string[]): Promise<Run> {
  const out: string[] = []
  const err: string[] = []
  const writeOut = process.stdout.write.bind(process.stdout)
  const writeErr = process.stderr.write.bind(process.stderr)
  const saved = process.exitCode
  process.exitCode = undefined
  process.stdout.write = ((chunk: string | Uint8Array) => out.push(String(chunk)) > 0) as typeof process.stdout.write
  process.stderr.write = ((chunk: string | Uint8Array) => err.push(String(chunk)) > 0) as typeof process.stderr.write
  try {
    await BackupsVerify.run(argv, root)
  } finally {
    process.stdout.write = writeOut
    process.stderr.write = writeErr
  }

  const exitCode = Number(process.exitCode ?? 0)
  process.exitCode = saved
  recordJsonShape(['backups', 'verify', ...argv], out.join(''))
  return {stdout: out.join(''), stderr: err.join(''), exitCode}
}

describe('custos backups verify (command)', function () {
  this.timeout(60_000)
  let arm: Arm
  const container = uniqueName('cmd')
  const configs: Record<'healthy' | 'gap' | 'stale' | 'westeurope' | 'broken', string> = {} as never

  const writeConfig = (
    name: keyof typeof configs,
    prefixCustomers: string[],
    backupAccount: 'backup' | 'westeurope',
    extra: Record<string, unknown> = {},
  ) => {
    const azurite = getTestAzurite()
    const path = join(arm.dir, `${name}.yaml`)
    const config = {
      customers: {known: prefixCustomers},
      stores: [
        {
          name: 'documents',
          account: azurite.connectionString('contosoprod'),
          container: 'tenant-{customer}',
          resourceId: arm.id('prod'),
        },
      ],
      backups: [
        {
          name: 'nightly-db',
          account: azurite.connectionString('contosobackup'),
          container,
          prefix: '{customer}/',
          dateFrom: '{customer}/{yyyy}-{MM}-{dd}/',
          resourceId: arm.id(backupAccount),
          expect: {every: '24h', maxAge: '26h', keepDays: 30},
        },
      ],
      azure: {
        credential: 'local',
        caCertificate: arm.caPath,
        resourceManager: arm.server.url,
        subscription: LOCAL_SUBSCRIPTION_ID,
      },
      ...extra,
    }
    writeFileSync(path, stringify(config))
    configs[name] = path
  }

  before(async () => {
    arm = await startArm()
    writeConfig('healthy', ['acme'], 'backup')
    writeConfig('gap', ['globex'], 'backup')
    writeConfig('stale', ['initech', 'acme'], 'backup')
    writeConfig('westeurope', ['acme'], 'westeurope')
    writeConfig('broken', ['acme'], 'backup', {residency: {allowedRegions: 'germany'}})
    const azurite = getTestAzurite()
    const map = {azure: {credential: 'local'}, stores: [], backups: []} as never
    const c = new AzureClients(map).blobService(azurite.connectionString('contosobackup')).getContainerClient(container)
    await c.create()
    await seedDailyBackups(c, 'acme/', range(0, 29))
    await seedDailyBackups(
      c,
      'globex/',
      range(0, 29).filter((d) => d !== 5),
    )
    await seedDailyBackups(c, 'initech/', range(2, 29))
  })

  after(async () => {
    await arm?.close()
  })

  it('prints a table per customer and exits 0 when every check passes', async () => {
    const run = await runVerify(['--config', configs.healthy])
    assert.equal(run.exitCode, 0, run.stderr)
    assert.match(run.stdout, /Customer acme: pass/)
    for (const check of ['fresh', 'complete', 'encrypted', 'resident', 'intact'])
      assert.match(run.stdout, new RegExp(`│ ${check}\\s+│ pass`))
    assert.match(run.stdout, /pass: 1 customers — 1 passed, 0 with warnings, 0 failed, 0 unknown; 30 backups/)
  })

  it('exits 1 and names the missing day in the table', async () => {
    const run = await runVerify(['--config', configs.gap])
    assert.equal(run.exitCode, 1)
    assert.match(run.stdout, /Customer globex: WARN/)
    assert.match(run.stdout, /complete\s+│ WARN\s+│ 1 day without a backup/)
  })

  it('prints exactly one JSON document with --json and exits 1 on a stale customer', async () => {
    const run = await runVerify(['--config', configs.stale, '--json'])
    assert.equal(run.exitCode, 1)
    const doc = JSON.parse(run.stdout)
    assert.equal(doc.status, 'fail')
    assert.deepEqual(
      doc.customers.map((c: {customer: string; status: string}) => [c.customer, c.status]),
      [
        ['acme', 'pass'],
        ['initech', 'fail'],
      ],
    )
    assert.deepEqual(Object.keys(doc).sort(), [
      'checkedAt',
      'customers',
      'databases',
      'notes',
      'sets',
      'status',
      'totals',
    ])
    assert.deepEqual(Object.keys(doc.customers[1].sets[0]).sort(), [
      'backups',
      'bytes',
      'checks',
      'missing',
      'newest',
      'newestAgeInMs',
      'newestFrom',
      'oldest',
      'scope',
      'set',
      'status',
    ])
    assert.doesNotMatch(run.stdout, /AccountKey|DefaultEndpointsProtocol/, 'connection strings never reach the output')
  })

  describe('--format nagios', () => {
    const cases: Array<[keyof typeof configs, number, RegExp]> = [
      ['healthy', 0, /^BACKUPS OK - 1 customer in 1 backup set: every check passed \| customers=1;;;0 /],
      [
        'gap',
        1,
        /^BACKUPS WARNING - 1 warning of 1 customers; globex nightly-db complete: 1 day without a backup in the last 30 days: \d{4}-\d{2}-\d{2} \| /,
      ],
      [
        'stale',
        2,
        /^BACKUPS CRITICAL - 1 critical of 2 customers; initech nightly-db fresh: newest backup is 2d( \d+[hms])? old, older than maxAge 26h/,
      ],
      [
        'westeurope',
        2,
        /^BACKUPS CRITICAL - 1 critical of 1 customers; acme nightly-db resident: backup account contosobackupweu is in westeurope, which is not in residency\.allowedRegions/,
      ],
    ]
    for (const [name, code, pattern] of cases) {
      it(`prints one line and exits ${code} for the ${name} case`, async () => {
        const run = await runVerify(['--config', configs[name], '--format', 'nagios'])
        assert.equal(run.exitCode, code, run.stdout + run.stderr)
        const lines = run.stdout.split('\n').filter(Boolean)
        assert.equal(lines.length, 1, run.stdout)
        assert.match(lines[0], pattern)
        assert.equal(run.stderr, '', 'no progress output in Nagios mode')
      })
    }

    it('prints an UNKNOWN line and exits 3 when the data map is invalid', async () => {
      const run = await runVerify(['--config', configs.broken, '--format', 'nagios'])
      assert.equal(run.exitCode, 3)
      assert.match(run.stdout, /^BACKUPS UNKNOWN - The data map .+broken\.yaml is invalid: 1 problem\.\n$/)
    })

    it('is refused together with --json (usage error, exit 2)', async () => {
      const run = await runVerify(['--config', configs.healthy, '--format', 'table', '--json'])
      assert.equal(run.exitCode, 2)
      assert.equal(JSON.parse(run.stdout).error.code, 'Usage')
    })
  })
})
