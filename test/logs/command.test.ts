import assert from 'node:assert/strict'
import {existsSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {AzureClients} from '../../src/lib/azure/clients.js'
import {validateDataMap} from '../../src/lib/datamap/load.js'
import {getTestAzurite, uniqueName} from '../support/env.js'
import {runCli} from '../support/cli.js'
import {hourPath, signIn} from './fixtures.js'

const BASE = Date.UTC(2026, 10, 22, 10)

const custos = (args: string[]) => runCli(args, {timeoutInMs: 60_000})

describe('custos logs bundle (the command, run as a process)', function () {
  this.timeout(60_000)
  const container = uniqueName('insights-logs-signinlogs')
  let dir: string
  let config: string

  before(async () => {
    const azurite = getTestAzurite()
    dir = mkdtempSync(join(tmpdir(), 'custos-logs-cmd-'))
    const account = azurite.connectionString('contosologs')
    const raw = {
      stores: [{name: 'documents', account: azurite.connectionString('contosoprod'), container: 'tenant-{customer}'}],
      logs: {archive: {account, containers: [container]}},
      audit: {account: azurite.connectionString('contosoaudit'), container: uniqueName('audit')},
      azure: {credential: 'local'},
    }
    config = join(dir, 'custos.json')
    writeFileSync(config, JSON.stringify(raw))
    const clients = new AzureClients(validateDataMap(raw, config))
    const c = clients.blobService(account).getContainerClient(container)
    await c.create()
    const lines = ['acme', 'acme-corp', 'acme', 'globex'].map((owner, i) =>
      JSON.stringify(signIn(new Date(BASE + i * 600_000), owner)),
    )
    const blob = c.getAppendBlobClient(`tenantId=11111111-1111-1111-1111-222222222222/${hourPath(new Date(BASE))}`)
    await blob.create()
    const body = `${lines.join('\n')}\n{"time": "2026-11-22T10:59:00Z", "prop\n`
    await blob.appendBlock(body, Buffer.byteLength(body))
  })

  after(() => {
    if (dir) rmSync(dir, {recursive: true, force: true})
  })

  it('prints one JSON document with the bundle and exits 0', async () => {
    const output = join(dir, 'acme.tar.gz')
    const {code, stdout, stderr} = await custos([
      'logs',
      'bundle',
      'acme',
      '--since',
      '2026-11-22T10:00:00Z',
      '--until',
      '2026-11-22T11:00:00Z',
      '--output',
      output,
      '--config',
      config,
      '--json',
    ])
    assert.equal(code, 0, stderr)
    const result = JSON.parse(stdout)
    assert.equal(result.customer, 'acme')
    assert.equal(result.records, 2)
    assert.equal(result.malformedLines, 1)
    assert.equal(result.manifest.signed, false)
    assert.ok(
      result.files.length > 0 && result.files.every((f: {path: string}) => /^archive\/\w+\.jsonl$/.test(f.path)),
    )
    assert.equal(
      result.files.reduce((n: number, f: {records: number}) => n + f.records, 0),
      2,
    )
    assert.equal(result.file, output)
    assert.ok(existsSync(output))
    assert.ok(!('link' in result))
  })

  it('exits 2 with one JSON error document when the range is backwards', async () => {
    const backwards = await custos([
      'logs',
      'bundle',
      'acme',
      '--since',
      '2026-11-22T11:00:00Z',
      '--until',
      '2026-11-22T10:00:00Z',
      '--config',
      config,
      '--json',
    ])
    assert.equal(backwards.code, 2, backwards.stderr)
    const {error} = JSON.parse(backwards.stdout)
    assert.equal(error.code, 'Usage')
    assert.match(error.message, /--since .* must be before --until/)
  })
})
