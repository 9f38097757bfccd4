/**
 * Crash and resume: `kill -9` of the built CLI at chosen points, then a re-run to completion. The
 * kill points are made exact by the fault proxy, which holds one chosen request (before Azurite
 * sees it, or after Azurite executed it but before the client hears the answer) and tells the test,
 * which then kills the process. No test hook in custos is needed for this.
 *
 * What is compared with an uninterrupted run is listed in compare.ts (export: the whole manifest
 * but its start time, and every file byte for byte; erase: every count, method, verification and
 * statement of the certificate, not ids, times, names or request ids).
 */
import assert from 'node:assert/strict'
import {existsSync, mkdtempSync, readdirSync} from 'node:fs'
import {join} from 'node:path'

import {exportCustomer} from '../../src/lib/export/export.js'
import {verifyEvidenceFile} from '../../src/lib/evidence/verify-document.js'
import {eraseCustomer} from '../../src/lib/erase/erase.js'
import {startFaultProxy, type FaultProxy, type HoldOptions, type ProxiedRequest} from '../support/fault-proxy.js'
import {readTree} from '../export/fixtures.js'
import {runCli, startCli} from './cli.js'
import {comparableCertificate, comparableManifest, readJson} from './compare.js'
import {SecretScan} from './secrets.js'
import {
  createWorld,
  customerPrefixes,
  hashContainers,
  reliabilityEnv,
  without,
  type ReliabilityEnv,
  type World,
} from './world.js'

const isList = (r: ProxiedRequest) => r.method === 'GET' && r.query.get('comp') === 'list'
const isBatch = (r: ProxiedRequest) => r.method === 'POST' && r.query.get('comp') === 'batch'
/** a download of customer data (not a listing, not a container request, not the audit trail) */
const isBlobRead = (r: ProxiedRequest) =>
  r.method === 'GET' && r.account === 'contosoprod' && !r.query.has('comp') && !r.query.has('restype')
/** a batch of base-blob deletes (Azurite answers 404 to snapshot deletes in a batch; erase then deletes those directly) */
const isBaseBlobBatch = (r: ProxiedRequest) => isBatch(r) && r.subRequests!.every((s) => !s.query.has('snapshot'))

describe('reliability: kill -9 and resume', function () {
  this.timeout(120_000)
  let renv: ReliabilityEnv
  let proxy: FaultProxy

  before(async function () {
    this.timeout(120_000)
    renv = await reliabilityEnv()
    proxy = await startFaultProxy({upstream: renv.upstream})
  })

  after(async () => {
    await proxy?.close()
  })

  /**
   * Starts `args`, waits until the proxy holds the request `match` picks, kills the process with
   * SIGKILL, then drops the held request. Returns the requests the killed run made.
   */
  async function killAt(
    args: string[],
    scan: SecretScan,
    match: (r: ProxiedRequest) => boolean,
    options: HoldOptions & {env?: Record<string, string>; onKilled?: (pid: number) => void | Promise<void>} = {},
  ): Promise<ProxiedRequest[]> {
    const first = proxy.requests.length
    const held = proxy.hold(match, options)
    const run = startCli(args, {scan, env: options.env})
    const outcome = await Promise.race([held.then((h) => ({held: h})), run.done.then((r) => ({ended: r}))])
    assert.ok(
      'held' in outcome,
      `the run ended before the kill point: ${'ended' in outcome ? outcome.ended.stdout + outcome.ended.stderr : ''}`,
    )
    run.kill9()
    const killed = await run.done
    assert.equal(killed.signal, 'SIGKILL')
    await options.onKilled?.(run.pid)
    outcome.held.drop()
    return proxy.requests.slice(first)
  }

  describe('customer export --to', () => {
    let world: World
    let reference: string
    const objects = 40 + 3 + 12

    before(async function () {
      this.timeout(60_000)
      world = await createWorld(renv, {proxy, content: {acme: {documents: 40, attachments: 12, large: 3}}, keys: false})
      reference = join(world.dir, 'reference')
      await exportCustomer(world.clients, world.clients.map, 'acme', {target: {kind: 'folder', path: reference}})
    })

    const points: Array<{
      point: string
      match: (world: World) => (r: ProxiedRequest) => boolean
      options?: HoldOptions
    }> = [
      // stores are exported in name order: attachments, then documents
      {
        point: 'during the listing (of the second store)',
        match: (w) => (r) => isList(r) && r.path === `/contosoprod/${w.containers.documents('acme')}`,
      },
      // Azurite has answered the 20th read, the process never hears it
      {point: 'in the middle of the transfers', match: () => isBlobRead, options: {stage: 'response', skip: 19}},
      // everything is transferred and the manifest is in place; the audit record erase relies on is not written yet
      {
        point: 'after the last object and the manifest, before the audit record',
        match: (w) => (r) =>
          r.method === 'PUT' &&
          r.query.get('comp') === 'appendblock' &&
          r.path.startsWith(`/contosoaudit/${w.containers.audit}/`),
        options: {skip: 1},
      },
    ]

    for (const {point, match, options} of points) {
      it(`killed ${point}, a re-run gives the manifest and files of an uninterrupted export, downloading nothing twice that it had finished`, async () => {
        const scan = new SecretScan(renv.secrets())
        const out = join(world.dir, `out-${proxy.requests.length}`)
        const args = [
          'customer',
          'export',
          'acme',
          '--config',
          world.configPath,
          '--to',
          out,
          '--concurrency',
          '4',
          '--json',
        ]
        // The listing spool lives in TMPDIR; the killed run cannot remove its own.
        const tmp = mkdtempSync(join(world.dir, 'tmp-'))
        const spools = () => readdirSync(tmp).filter((name) => name.startsWith('custos-export-listing-'))
        const killed = await killAt(args, scan, match(world), {
          ...options,
          env: {TMPDIR: tmp},
          onKilled: (pid) =>
            assert.deepEqual(
              spools().map((name) => name.split('-')[3]),
              [String(pid)],
              'the killed run left its listing spool',
            ),
        })

        const second = proxy.requests.length
        const rerun = await runCli(args, {scan, env: {TMPDIR: tmp}})
        assert.equal(rerun.code, 0, rerun.stdout + rerun.stderr)
        assert.deepEqual(spools(), [], "the re-run removed the killed run's spool and its own")
        const result = rerun.json<{transferred: {objects: number}; kept: {objects: number}; resumed: boolean}>()
        assert.equal(result.transferred.objects + result.kept.objects, objects)

        const readsBefore = new Set(killed.filter(isBlobRead).map((r) => r.path))
        const readsAfter = proxy.requests
          .slice(second)
          .filter(isBlobRead)
          .map((r) => r.path)
        assert.equal(
          readsAfter.length,
          result.transferred.objects,
          'the re-run read each object it transferred once, and nothing it kept',
        )
        const twice = readsAfter.filter((p) => readsBefore.has(p))
        assert.ok(
          twice.length <= 4,
          `only reads in flight at the kill (≤ --concurrency 4) were repeated: ${twice.length}`,
        )
        if (point.startsWith('after')) assert.equal(result.kept.objects, objects, 'nothing was downloaded again')

        assert.deepEqual(
          comparableManifest(join(out, 'manifest.json')),
          comparableManifest(join(reference, 'manifest.json')),
        )
        const skip = ['manifest.json', '.custos-export-journal.jsonl']
        assert.deepEqual(await readTree(out, skip), await readTree(reference, skip), 'every file byte-identical')
        const audit = await auditRecords(world)
        assert.ok(
          audit.some(
            (r) =>
              r.action === 'export' && r.result === 'succeeded' && (r.details as {location?: string}).location === out,
          ),
          'the verified export is recorded',
        )

        await scan.dir(world.dir, [world.configPath])
        await scan.audit(world.clients)
        scan.assertClean()
      })
    }
  })

  describe('customer erase --plan-out … --yes (plan and apply in one run)', () => {
    const content = {acme: {documents: 40, attachments: 30, backups: 10}}
    let referenceCertificate: ReturnType<typeof comparableCertificate>
    let referenceBody: {totals: {planned: {items: number}; alreadyGone: {items: number}}; key: {state: string}}

    before(async function () {
      this.timeout(60_000)
      const reference = await createWorld(renv, {content})
      const outcome = await eraseCustomer(reference.clients, reference.clients.map, {
        customer: 'acme',
        planOnly: false,
        planOut: join(reference.dir, 'acme.plan.json'),
        yes: true,
        exportRequired: false,
        concurrency: 1,
        retries: 6,
        keyPollIntervalInMs: 50,
      })
      assert.equal(outcome.exitCode, 0)
      const doc = readJson(outcome.certificate!.json)
      referenceCertificate = comparableCertificate(doc)
      referenceBody = doc.body
      assert.equal(referenceBody.totals.alreadyGone.items, 0)
      assert.equal(referenceBody.key.state, 'purged')
    })

    const containerDeleted = (w: World) =>
      proxy.requests.some(
        (x) =>
          x.method === 'DELETE' && x.query.get('restype') === 'container' && x.path.startsWith(`/contosoprod/${w.id}`),
      )
    const points: Array<{
      point: string
      match: (world: World) => (r: ProxiedRequest) => boolean
      options?: HoldOptions
    }> = [
      {
        point: 'during the listing that makes the plan',
        match: (w) => (r) => isList(r) && r.path === `/contosoprod/${w.containers.attachments}`,
      },
      // Azurite has executed the second batch of blob deletes (the attachments store's); the process
      // never hears the answer, so its journal lacks it
      {
        point: 'in the middle of the batches (the second executed, its answer lost)',
        match: (w) => (r) => isBaseBlobBatch(r) && r.path.includes(w.id),
        options: {stage: 'response', skip: 1},
      },
      // every batch journaled, the container deleted and the key shredded; the final listing has not run
      {
        point: 'after the last batch, before the certificate',
        match: (w) => (r) => isList(r) && r.path.startsWith('/contosoprod') && containerDeleted(w),
      },
    ]

    for (const {point, match, options} of points) {
      it(`killed ${point}, a re-run gives the certificate of an uninterrupted erase and touches no other customer`, async () => {
        const scan = new SecretScan(renv.secrets())
        const world = await createWorld(renv, {proxy, content})
        const othersBefore = without(
          await hashContainers(renv, world.dataContainers()),
          customerPrefixes(world, 'acme'),
        )
        const plan = join(world.dir, 'acme.plan.json')
        const args = [
          'customer',
          'erase',
          'acme',
          '--config',
          world.configPath,
          '--plan-out',
          plan,
          '--yes',
          '--no-export-required',
          '--concurrency',
          '1',
          '--json',
        ]
        const killed = await killAt(args, scan, match(world), options)

        // The re-run: the same command while no plan was finished, else the plan with its journal.
        const planDone = existsSync(`${plan}.journal.jsonl`)
        const second = proxy.requests.length
        const rerun = await runCli(
          planDone
            ? [
                'customer',
                'erase',
                'acme',
                '--config',
                world.configPath,
                '--plan',
                plan,
                '--yes',
                '--no-export-required',
                '--concurrency',
                '1',
                '--json',
              ]
            : args,
          {scan},
        )
        assert.equal(rerun.code, 0, rerun.stdout + rerun.stderr)
        const outcome = rerun.json<{apply: {resumed: boolean}; certificate: {json: string}}>()
        const doc = readJson(outcome.certificate.json)
        assert.deepEqual(comparableCertificate(doc), referenceCertificate)

        // Deletes sent twice: only those of a batch whose answer was lost, and they count once.
        const deletes = (requests: ProxiedRequest[]) =>
          requests.filter(isBatch).flatMap((r) => r.subRequests!.map((s) => `${s.path}?${s.query}`))
        const before = deletes(killed)
        const twice = deletes(proxy.requests.slice(second)).filter((d) => before.includes(d))
        const lostAnswer = options?.stage === 'response' ? killed.findLast(isBatch)!.subRequests!.length : 0
        assert.equal(twice.length, lostAnswer, 'only the deletes of the batch whose answer was lost were sent again')
        assert.equal(
          doc.body.totals.alreadyGone.items,
          lostAnswer,
          '…and they are reported as already gone, not deleted twice',
        )
        if (point.startsWith('during the listing'))
          assert.equal(before.length, 0, 'nothing was deleted before the plan was complete')
        if (planDone) assert.equal(outcome.apply.resumed, true)

        assert.deepEqual(
          without(await hashContainers(renv, world.dataContainers()), customerPrefixes(world, 'acme')),
          othersBefore,
          'acme-corp and globex are byte-for-byte unchanged',
        )
        for (const prefix of customerPrefixes(world, 'acme'))
          assert.ok(
            ![...(await hashContainers(renv, world.dataContainers())).keys()].some((k) => k.startsWith(prefix)),
            `nothing of acme left under ${prefix}`,
          )
        const verified = await verifyEvidenceFile(outcome.certificate.json, world.clients)
        assert.equal(verified.status, 'valid', JSON.stringify(verified))

        await scan.dir(world.dir, [world.configPath])
        await scan.audit(world.clients)
        scan.assertClean()
      })
    }
  })
})

async function auditRecords(world: World): Promise<Array<Record<string, unknown>>> {
  const container = world.clients
    .blobService(world.clients.map.audit.account)
    .getContainerClient(world.containers.audit)
  const out: Array<Record<string, unknown>> = []
  for await (const item of container.listBlobsFlat({prefix: 'trail/'})) {
    for (const line of (await container.getBlobClient(item.name).downloadToBuffer()).toString('utf8').split('\n'))
      if (line.trim()) out.push(JSON.parse(line) as Record<string, unknown>)
  }

  return out
}
