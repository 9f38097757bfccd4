/**
 * Throttling and a flaky network: the fault proxy answers about a quarter of all requests with
 * 503 / 500, resets connections, cuts bodies off and delays answers (and 429s Blob Batch requests and
 * throttles single batch parts inside a 202). Export, erase, logs bundle and backups verify must
 * finish with exactly the result of a fault-free run.
 *
 * The faulted runs call the library in this process, with the clients' retry delays shortened
 * (FAST_RETRY): the CLI's retry delays are fixed (500 ms doubling), so under 25% faults a process
 * spends most of its time waiting. Giving up (every request failing) is tested on the built CLI.
 */
import assert from 'node:assert/strict'
import {existsSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {AzureClients} from '../../src/lib/azure/clients.js'
import {verifyBackups} from '../../src/lib/backups/verify.js'
import {validateDataMap} from '../../src/lib/datamap/load.js'
import type {DataMap} from '../../src/lib/datamap/types.js'
import {eraseCustomer, type EraseOutcome} from '../../src/lib/erase/erase.js'
import {exportCustomer} from '../../src/lib/export/export.js'
import {createLogsBundle} from '../../src/lib/logs/bundle.js'
import {startFaultProxy, type FaultProxy, type FaultRates, type ProxiedRequest} from '../support/fault-proxy.js'
import {readTree} from '../export/fixtures.js'
import {describeFailure, runCli} from './cli.js'
import {comparableCertificate, comparableManifest, readJson} from './compare.js'
import {SecretScan} from './secrets.js'
import {
  FAST_RETRY,
  createWorld,
  scratchDir,
  customerPrefixes,
  hashContainers,
  reliabilityEnv,
  without,
  type ReliabilityEnv,
  type World,
} from './world.js'

/** About a quarter of all requests: throttled (503 and 429), failing, reset, cut off mid-body or slow. */
const FLAKY: FaultRates = {
  serverBusy: 0.08,
  internalError: 0.05,
  tooManyRequests: 0.04,
  reset: 0.05,
  truncate: 0.04,
  delay: 0.05,
}
/** how many ordinary (non-batch) requests the proxy has answered 429 */
const ordinary429s = (proxy: FaultProxy) =>
  proxy.requests.filter((r) => r.fault === 'tooManyRequests' && !isBatch(r)).length
const isBatch = (r: ProxiedRequest) => r.method === 'POST' && r.query.get('comp') === 'batch'

/** FLAKY, and the first read of each blob matching `path` is cut off mid-body. */
function flakyCuttingFirstRead(path: RegExp): (r: ProxiedRequest) => FaultRates {
  const cut = new Set<string>()
  return (r) => {
    if (r.method !== 'GET' || !path.test(r.path) || cut.has(r.path)) return FLAKY
    cut.add(r.path)
    return {truncate: 1}
  }
}

/** FLAKY, and Blob Batch requests answered 429 (the first always, then now and then): erase retries those itself. */
function flakyWithBatch429(): (r: ProxiedRequest) => FaultRates {
  let batches = 0
  return (r) => (!isBatch(r) ? FLAKY : batches++ === 0 ? {tooManyRequests: 1} : {...FLAKY, tooManyRequests: 0.1})
}

function injectedTotal(proxy: FaultProxy): number {
  const {batchPartsNotDisarmed: _never, ...kinds} = proxy.injected
  return Object.values(kinds).reduce((a, b) => a + b, 0)
}

describe('reliability: export, erase, logs bundle and backups verify through a flaky network', function () {
  this.timeout(120_000)
  let renv: ReliabilityEnv
  let proxy: FaultProxy
  let scratch: string
  /** the demo data map behind the proxy, and the file it is in */
  let demoProxied: DataMap
  let demoProxiedPath: string

  /** clients for `map` as a scheduled job would have them, with short retry delays */
  const fastClients = (map: DataMap) => new AzureClients(map, {retry: FAST_RETRY})

  before(async function () {
    this.timeout(120_000)
    renv = await reliabilityEnv()
    proxy = await startFaultProxy({upstream: renv.upstream, seed: 2026})
    scratch = scratchDir('faults')
    demoProxiedPath = join(scratch, 'demo-proxied.json')
    writeFileSync(demoProxiedPath, JSON.stringify(renv.demoRaw(proxy)))
    demoProxied = validateDataMap(renv.demoRaw(proxy), demoProxiedPath)
  })

  afterEach(() => {
    proxy.setFaults({}, 0)
    assert.deepEqual(proxy.errors, [], 'the proxy itself never failed')
  })

  after(async () => {
    await proxy?.close()
  })

  it('customer export through ~25% faults writes the same files and the same manifest as a fault-free export', async () => {
    const scan = new SecretScan(renv.secrets())
    const world = await createWorld(renv, {
      proxy,
      content: {acme: {documents: 40, attachments: 10, large: 3}},
      keys: false,
    })
    const reference = join(world.dir, 'reference')
    const flaky = join(world.dir, 'flaky')
    await exportCustomer(world.clients, world.clients.map, 'acme', {target: {kind: 'folder', path: reference}})

    proxy.setFaults(flakyCuttingFirstRead(/\/large\//))
    const before = injectedTotal(proxy)
    const throttledBefore = ordinary429s(proxy)
    const result = await exportCustomer(fastClients(world.map), world.map, 'acme', {
      target: {kind: 'folder', path: flaky},
      retries: 8,
      concurrency: 8,
    })
    const faults = injectedTotal(proxy) - before
    assert.ok(ordinary429s(proxy) > throttledBefore, 'listings and downloads were answered 429 too')
    scan.text('export result', JSON.stringify(result))
    assert.ok(faults >= 10, `faults were injected (${faults}: ${JSON.stringify(proxy.injected)})`)
    assert.ok(
      proxy.requests.some((r) => r.fault === 'truncate' && r.path.includes('/large/')),
      'a 1 MiB body was cut off mid-stream',
    )
    assert.equal(result.verified, true)
    assert.equal(result.transferred.objects, 53)
    assert.deepEqual(
      comparableManifest(join(flaky, 'manifest.json')),
      comparableManifest(join(reference, 'manifest.json')),
    )
    const skip = ['manifest.json', '.custos-export-journal.jsonl']
    assert.deepEqual(
      await readTree(flaky, skip),
      await readTree(reference, skip),
      'every exported file is byte-identical',
    )

    await scan.dir(world.dir, [world.configPath])
    await scan.audit(world.clients)
    scan.assertClean()
  })

  it('the clients custos makes resume a download whose connection drops mid-body (not an "interrupted by the operator")', async () => {
    const world = await createWorld(renv, {
      proxy,
      content: {acme: {documents: 0, attachments: 0, backups: 0, large: 1}},
      keys: false,
    })
    let reads = 0
    proxy.setFaults((r) =>
      r.method === 'GET' && r.path.endsWith('/large/0.bin') && reads++ === 0 ? {truncate: 1} : {},
    )
    const container = (clients: AzureClients) =>
      clients.blobService(clients.map.stores[0].account).getContainerClient(world.containers.documents('acme'))
    const response = await container(fastClients(world.map))
      .getBlobClient('large/0.bin')
      .download(0, undefined, {maxRetryRequests: 3})
    const chunks: Buffer[] = []
    for await (const chunk of response.readableStreamBody!) chunks.push(chunk as Buffer)
    const expected = await container(world.clients).getBlobClient('large/0.bin').downloadToBuffer()
    assert.equal(
      proxy.injected.truncate > 0 && reads,
      2,
      'the first read was cut off, a second (ranged) read finished it',
    )
    assert.ok(Buffer.concat(chunks).equals(expected), 'every byte, in order')
  })

  it('a 429 on an ordinary request is retried after the Retry-After it names, and given up after the configured tries', async () => {
    const world = await createWorld(renv, {
      proxy,
      content: {acme: {documents: 1, attachments: 0, backups: 0}},
      keys: false,
    })
    const container = (clients: AzureClients) =>
      clients.blobService(clients.map.stores[0].account).getContainerClient(world.containers.documents('acme'))
    const [name] = await (async () => {
      const names: string[] = []
      for await (const blob of container(world.clients).listBlobsFlat()) names.push(blob.name)
      return names
    })()
    const expected = await container(world.clients).getBlobClient(name).downloadToBuffer()
    const reads = () => proxy.requests.filter((r) => r.method === 'GET' && r.path.endsWith(`/${name}`))

    // The first read is answered 429 with Retry-After: 1; the default clients wait that second.
    let first = true
    proxy.setFaults((r) =>
      r.method === 'GET' && r.path.endsWith(`/${name}`) && first ? ((first = false), {tooManyRequests: 1}) : {},
    )
    const readsBefore = reads().length
    const started = Date.now()
    const body = await container(new AzureClients(world.map)).getBlobClient(name).downloadToBuffer()
    const waited = Date.now() - started
    assert.ok(body.equals(expected), 'the blob, read again after the 429')
    // downloadToBuffer reads by range: 206
    assert.deepEqual(
      reads()
        .slice(readsBefore)
        .map((r) => r.status),
      [429, 206],
    )
    assert.ok(waited >= 950, `waited for Retry-After (${waited} ms)`)

    // Every read 429: three tries, then the 429 reaches the caller.
    proxy.setFaults((r) => (r.method === 'GET' && r.path.endsWith(`/${name}`) ? {tooManyRequests: 1} : {}))
    const giveUpBefore = reads().length
    const clients = new AzureClients(world.map, {retry: {maxTries: 3, retryDelayInMs: 10, maxRetryDelayInMs: 20}})
    await assert.rejects(
      container(clients).getBlobClient(name).downloadToBuffer(),
      (error: {statusCode?: number}) => error.statusCode === 429,
    )
    assert.equal(reads().length - giveUpBefore, 3)
  })

  it('customer erase through ~25% faults, 429s on batches and throttled batch parts gives the certificate of a fault-free erase', async () => {
    const scan = new SecretScan(renv.secrets())
    const content = {acme: {documents: 300, attachments: 60, backups: 20}}
    const [reference, world] = await Promise.all([
      createWorld(renv, {content, keys: false}),
      createWorld(renv, {proxy, content, keys: false}),
    ])
    const others = async () =>
      without(await hashContainers(renv, world.dataContainers()), customerPrefixes(world, 'acme'))
    const othersBefore = await others()
    const erase = (w: World, map: DataMap, clients: AzureClients): Promise<EraseOutcome> =>
      eraseCustomer(clients, map, {
        customer: 'acme',
        planOnly: false,
        planOut: join(w.dir, 'acme.plan.json'),
        yes: true,
        exportRequired: false,
        concurrency: 4,
        retries: 8,
      })

    const clean = await erase(reference, reference.clients.map, reference.clients)
    assert.equal(clean.exitCode, 0)

    proxy.setFaults(flakyWithBatch429(), 0.15)
    const flaky = await erase(world, world.map, fastClients(world.map))
    scan.text('erase result', JSON.stringify(flaky))
    assert.equal(flaky.exitCode, 0, JSON.stringify(flaky.verification))
    assert.ok(
      proxy.injected.batchParts > 0 && proxy.injected.tooManyRequests > 0 && proxy.injected.serverBusy > 0,
      JSON.stringify(proxy.injected),
    )
    assert.equal(proxy.injected.batchPartsNotDisarmed, 0)

    const got = readJson(flaky.certificate!.json)
    assert.deepEqual(comparableCertificate(got), comparableCertificate(readJson(clean.certificate!.json)))
    assert.equal(
      got.body.totals.deleted.items,
      got.body.totals.planned.items,
      'every item deleted by a delete that was answered',
    )
    assert.equal(
      got.body.totals.alreadyGone.items,
      0,
      'a throttled part was not executed, so nothing was "already gone" when sent again',
    )
    assert.equal(got.body.verification.result, 'empty')
    assert.deepEqual(await others(), othersBefore, 'acme-corp and globex are byte-for-byte unchanged')

    await scan.dir(world.dir, [world.configPath])
    await scan.audit(world.clients)
    scan.assertClean()
  })

  it('logs bundle through ~25% faults packs the same records as without faults', async () => {
    const scan = new SecretScan(renv.secrets())
    const until = new Date()
    const since = new Date(until.getTime() - 72 * 3_600_000)
    const bundle = (map: DataMap, clients: AzureClients, output: string) =>
      createLogsBundle(clients, map, {customer: 'acme', since, until, output})
    const clean = await bundle(renv.map, renv.clients, join(scratch, 'clean.tar.gz'))
    proxy.setFaults(flakyCuttingFirstRead(/\/insights-logs-/))
    const before = injectedTotal(proxy)
    const flaky = await bundle(demoProxied, fastClients(demoProxied), join(scratch, 'flaky.tar.gz'))
    assert.ok(injectedTotal(proxy) - before >= 5, JSON.stringify(proxy.injected))
    assert.ok(clean.records > 0)
    assert.deepEqual(flaky.files, clean.files, 'the same files with the same records and SHA-256')
    assert.deepEqual(flaky.sources, clean.sources)
    scan.text('bundle result', JSON.stringify(flaky))
    await scan.file(flaky.file)
    await scan.audit(renv.clients)
    scan.assertClean()
  })

  it('backups verify --restore-sample through ~25% faults reaches the same verdicts as without faults', async () => {
    const scan = new SecretScan(renv.secrets())
    const verify = (map: DataMap, clients: AzureClients) =>
      verifyBackups(clients, map, {customer: 'acme', restoreSample: 30})
    const clean = await verify(renv.map, renv.clients)
    proxy.setFaults(flakyCuttingFirstRead(/\/backups\//))
    const before = injectedTotal(proxy)
    const flaky = await verify(demoProxied, fastClients(demoProxied))
    assert.ok(injectedTotal(proxy) - before >= 5, JSON.stringify(proxy.injected))
    // Verdicts and counts; not the wording of details, which carries ages and transfer rates.
    const verdicts = (r: typeof clean) => ({
      status: r.status,
      totals: r.totals,
      customers: r.customers.map((c) => ({
        customer: c.customer,
        status: c.status,
        sets: c.sets.map((s) => ({
          set: s.set,
          status: s.status,
          backups: s.backups,
          bytes: s.bytes,
          newest: s.newest,
          missing: s.missing,
          checks: s.checks.map((k) => `${k.check}:${k.status}`),
        })),
      })),
      restore: {downloads: r.restore?.downloads, failures: r.restore?.failures, bytes: r.restore?.bytes},
    })
    assert.equal(clean.restore?.downloads, 30)
    assert.deepEqual(verdicts(flaky), verdicts(clean))
    scan.text('backups verify result', JSON.stringify(flaky))
    scan.assertClean()
  })

  it('gives up with exit 4 and one clear line when every request fails', async () => {
    const scan = new SecretScan(renv.secrets())
    const world = await createWorld(renv, {proxy, keys: false})
    const before = await hashContainers(renv, world.dataContainers())
    proxy.setFaults({serverBusy: 1})
    // As processes, as a scheduled job runs them; --retries 2 keeps them short.
    const until = new Date().toISOString()
    const runs = await Promise.all([
      runCli(
        ['customer', 'export', 'acme', '--config', world.configPath, '--to', join(world.dir, 'out'), '--retries', '2'],
        {scan},
      ),
      runCli(
        [
          'customer',
          'erase',
          'acme',
          '--config',
          world.configPath,
          '--plan-out',
          join(world.dir, 'p.json'),
          '--yes',
          '--no-export-required',
          '--retries',
          '2',
        ],
        {scan},
      ),
      runCli(
        [
          'logs',
          'bundle',
          'acme',
          '--config',
          demoProxiedPath,
          '--since',
          '-24h',
          '--until',
          until,
          '--output',
          join(world.dir, 'b.tar.gz'),
          '--retries',
          '2',
        ],
        {scan},
      ),
      runCli(['backups', 'verify', '--customer', 'acme', '--config', demoProxiedPath, '--retries', '2'], {scan}),
    ])
    proxy.setFaults({})
    const names = [
      'in account contosoprod',
      'the erase lock locks/erase-acme',
      'the audit trail',
      'container backups in account contosobackup',
    ]
    for (const [i, run] of runs.entries()) {
      const f = describeFailure(run)
      assert.equal(f.code, 4, `run ${i}: ${run.stdout}\n${run.stderr}`)
      assert.match(
        f.message,
        /^Error: Azure refused the request for .* \(503 ServerBusy\) after retries\.$/,
        `run ${i} names the refusal`,
      )
      assert.ok(f.message.includes(names[i]), `run ${i} names ${names[i]}: ${f.message}`)
      assert.equal(f.errorLines, 1)
      assert.equal(f.stackTrace, false)
    }

    assert.ok(!existsSync(join(world.dir, 'b.tar.gz')), 'no bundle was left behind')
    assert.deepEqual(await hashContainers(renv, world.dataContainers()), before, 'nothing changed')
    scan.assertClean()
  })
})
