import assert from 'node:assert/strict'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {PassThrough} from 'node:stream'

import {AuditTrail} from '../../src/lib/audit/trail.js'
import {canonicalJson, sha256Hex} from '../../src/lib/evidence/canonical.js'
import {verifyEvidenceFile} from '../../src/lib/evidence/verify-document.js'
import {eraseCustomer, type EraseOptions} from '../../src/lib/erase/erase.js'
import {confirmByTyping} from '../../src/lib/erase/guards.js'
import {CustosError} from '../../src/lib/errors.js'
import {
  countCustomer,
  makePlayground,
  othersContainers,
  runCli,
  seed,
  snapshotContainers,
  withoutCustomer,
  type ErasePlayground,
} from './helpers.js'

function options(extra: Partial<EraseOptions> = {}): EraseOptions {
  return {customer: 'acme', planOnly: false, yes: true, exportRequired: false, concurrency: 4, retries: 3, ...extra}
}

async function everything(pg: ErasePlayground): Promise<{prod: Map<string, string>; backup: Map<string, string>}> {
  const c = othersContainers(pg, ['acme', 'acme-corp', 'globex'])
  return {
    prod: await snapshotContainers(pg.service('contosoprod'), c.prod),
    backup: await snapshotContainers(pg.service('contosobackup'), c.backup),
  }
}

async function refusal(promise: Promise<unknown>): Promise<CustosError> {
  try {
    await promise
  } catch (error) {
    return error as CustosError
  }

  assert.fail('expected a refusal')
}

describe('customer erase (Azurite)', function () {
  this.timeout(120_000)

  it('erasing acme removes every blob and snapshot of acme in both layouts and the backup set, and leaves acme-corp and globex byte-identical', async () => {
    const pg = makePlayground()
    await seed(pg)
    const before = await everything(pg)
    assert.equal(await countCustomer(pg, 'acme'), 6 * 3 + 2)

    const result = await eraseCustomer(pg.clients, pg.map, options({planOut: join(pg.dir, 'acme.plan.json')}))

    assert.equal(result.exitCode, 0)
    assert.equal(result.plan.items, 20)
    assert.equal(await countCustomer(pg, 'acme'), 0)
    assert.equal(
      await pg.service('contosoprod').getContainerClient(`${pg.docs}-acme`).exists(),
      false,
      'the container of acme is deleted once empty',
    )
    assert.equal(
      await pg.service('contosoprod').getContainerClient(pg.shared).exists(),
      true,
      'the shared container stays',
    )
    const after = await everything(pg)
    assert.deepEqual(after.prod, withoutCustomer(before.prod, pg, 'acme'))
    assert.deepEqual(after.backup, withoutCustomer(before.backup, pg, 'acme'))
    assert.ok(
      [...after.prod.keys()].some((k) => k.startsWith(`${pg.shared}/acme-corp/`)),
      'acme-corp/ is still there',
    )

    assert.equal(result.verification?.result, 'empty')
    const cert = JSON.parse(readFileSync(result.certificate!.json, 'utf8')) as {
      body: {
        totals: {planned: {items: number}; deleted: {items: number}}
        stores: Array<{store: string; methods: string[]; requestIds: string[]; containerDeletion: {action: string}}>
      }
    }
    assert.equal(cert.body.totals.deleted.items, 20)
    assert.deepEqual(
      cert.body.stores.map((s) => [s.store, s.containerDeletion.action]),
      [
        ['documents', 'deleted'],
        ['attachments', 'shared'],
        ['nightly-db', 'shared'],
      ],
    )
    assert.ok(cert.body.stores.every((s) => s.requestIds.length > 0 && s.methods.includes('delete')))
    const check = await verifyEvidenceFile(result.certificate!.json)
    assert.equal(check.status, 'unsigned')
    assert.deepEqual(check.consistency.problems, [])
    assert.match(readFileSync(result.certificate!.text, 'utf8'), /UNSIGNED/)
    assert.match(readFileSync(result.certificate!.html, 'utf8'), /<h1>Deletion certificate<\/h1>/)

    const actions = [] as string[]
    for await (const {record} of new AuditTrail(pg.clients, {signer: null}).read())
      if (record?.customer === 'acme') actions.push(`${record.action}:${record.result}`)
    assert.deepEqual(actions, [
      'erase.plan:started',
      'erase.plan:succeeded',
      'erase.apply:started',
      'erase.apply:succeeded',
    ])
  })

  it('refuses without a verified export in the window (exit 3, nothing deleted) and proceeds after one', async () => {
    const pg = makePlayground()
    await seed(pg, ['acme'], 3)
    const error = await refusal(
      eraseCustomer(pg.clients, pg.map, options({exportRequired: true, planOut: join(pg.dir, 'p.json')})),
    )
    assert.equal(error.exitCode, 3)
    assert.equal(error.code, 'NoVerifiedExport')
    assert.equal(await countCustomer(pg, 'acme'), 3 * 3 + 2)

    const trail = new AuditTrail(pg.clients, {signer: null})
    await trail.append({action: 'export', result: 'succeeded', customer: 'acme', details: {verified: false}})
    await trail.append({action: 'export', result: 'succeeded', customer: 'acme-corp', details: {verified: true}})
    assert.equal(
      (
        await refusal(
          eraseCustomer(pg.clients, pg.map, options({exportRequired: true, planPath: join(pg.dir, 'p.json')})),
        )
      ).code,
      'NoVerifiedExport',
    )

    await trail.append({action: 'export', result: 'succeeded', customer: 'acme', details: {verified: true}})
    const result = await eraseCustomer(
      pg.clients,
      pg.map,
      options({exportRequired: true, planPath: join(pg.dir, 'p.json')}),
    )
    assert.equal(result.exitCode, 0)
    assert.equal(result.guards.find((g) => g.guard === 'export')?.ok, true)
    assert.equal(await countCustomer(pg, 'acme'), 0)
    const results = [] as string[]
    for await (const {record} of trail.read()) if (record?.action === 'erase.apply') results.push(record.result)
    assert.deepEqual(results, ['refused', 'refused', 'started', 'succeeded'])
  })

  it('a tampered plan is refused with exit 3 and nothing is deleted', async () => {
    const pg = makePlayground()
    await seed(pg, ['acme', 'acme-corp'], 3)
    const planPath = join(pg.dir, 'acme.plan.json')
    const planned = await runCli([
      'customer',
      'erase',
      'acme',
      '--config',
      pg.configPath,
      '--plan-out',
      planPath,
      '--json',
    ])
    assert.equal(planned.code, 0, planned.stderr)
    assert.equal((planned.json() as {mode: string}).mode, 'plan')
    const before = await everything(pg)
    const original = readFileSync(planPath, 'utf8')

    // One changed size: the item lines no longer match the fingerprint.
    writeFileSync(
      planPath,
      original.replace(/"size":(\d+)/, (_, n: string) => `"size":${Number(n) + 1}`),
    )
    const altered = await runCli([
      'customer',
      'erase',
      'acme',
      '--config',
      pg.configPath,
      '--plan',
      planPath,
      '--yes',
      '--no-export-required',
      '--json',
    ])
    assert.equal(altered.code, 3, altered.stdout + altered.stderr)
    assert.equal((altered.json() as {error: {code: string}}).error.code, 'PlanAltered')

    // A line pointed at acme-corp with the fingerprint recomputed: the scope check refuses it.
    const lines = original.trimEnd().split('\n')
    const i = lines.findIndex((l) => l.includes('"name":"acme/files/1.bin"'))
    lines[i] = lines[i].replace('acme/files/1.bin', 'acme-corp/files/1.bin')
    const items = lines.slice(1, -1)
    const trailer = JSON.parse(lines.at(-1)!) as {fingerprint: string}
    trailer.fingerprint = sha256Hex(items.map((l) => `${l}\n`).join(''))
    lines[lines.length - 1] = canonicalJson(trailer)
    writeFileSync(planPath, `${lines.join('\n')}\n`)
    const widened = await runCli([
      'customer',
      'erase',
      'acme',
      '--config',
      pg.configPath,
      '--plan',
      planPath,
      '--yes',
      '--no-export-required',
      '--json',
    ])
    assert.equal(widened.code, 3, widened.stdout + widened.stderr)
    const body = widened.json() as {error: {code: string; message: string}}
    assert.equal(body.error.code, 'OutOfScope')
    assert.match(body.error.message, /acme-corp\/files\/1\.bin is outside the scope of customer acme/)

    assert.deepEqual(await everything(pg), before, 'nothing was deleted')
  })

  it('a plan written while a guard would refuse says so instead of only how to apply it', async () => {
    const pg = makePlayground()
    await seed(pg, ['acme'], 1)
    const planPath = join(pg.dir, 'acme.plan.json')
    const planned = await runCli(['customer', 'erase', 'acme', '--config', pg.configPath, '--plan-out', planPath])
    assert.equal(planned.code, 0, planned.stderr)
    assert.match(planned.stdout, /✘ export: no verified export of acme/)
    assert.match(
      planned.stdout,
      /Applying it now would be refused \(export\); once that is resolved: custos customer erase acme --plan \S+acme\.plan\.json --yes/,
    )
    const waived = await runCli([
      'customer',
      'erase',
      'acme',
      '--config',
      pg.configPath,
      '--plan-out',
      planPath,
      '--no-export-required',
      '--force', // the plan of the first run is replaced (without --force that is refused: exit 3)
    ])
    assert.equal(waived.code, 0, waived.stderr)
    assert.match(
      waived.stdout,
      /Nothing was changed\. Apply with: custos customer erase acme --plan \S+ --yes --no-export-required$/m,
    )
  })

  it('refuses a plan that no longer matches what is there, naming the difference', async () => {
    const pg = makePlayground()
    await seed(pg, ['acme'], 2)
    const planPath = join(pg.dir, 'p.json')
    await eraseCustomer(pg.clients, pg.map, options({planOnly: true, planOut: planPath}))
    await pg
      .service('contosoprod')
      .getContainerClient(pg.shared)
      .getBlockBlobClient('acme/late-arrival.txt')
      .upload('new', 3)
    const error = await refusal(eraseCustomer(pg.clients, pg.map, options({planPath})))
    assert.equal(error.code, 'PlanOutdated')
    assert.match(error.message, /acme\/late-arrival\.txt is not in the plan/)
    assert.equal(await countCustomer(pg, 'acme'), 2 * 3 + 2 + 1)
  })

  it('a dry run lists everything, fingerprints it and changes nothing', async () => {
    const pg = makePlayground()
    await seed(pg, ['acme', 'globex'], 2)
    const before = await everything(pg)
    const run = await runCli(['customer', 'erase', 'acme', '--config', pg.configPath, '--dry-run', '--json'])
    assert.equal(run.code, 0, run.stderr)
    const out = run.json() as {
      mode: string
      plan: {items: number; fingerprint: string; stores: Array<{store: string; items: number; snapshots: number}>}
    }
    assert.equal(out.mode, 'plan')
    assert.equal(out.plan.items, 2 * 3 + 2)
    assert.match(out.plan.fingerprint, /^[0-9a-f]{64}$/)
    assert.deepEqual(
      out.plan.stores.map((s) => [s.store, s.items, s.snapshots]),
      [
        ['documents', 3, 1],
        ['attachments', 3, 1],
        ['nightly-db', 2, 0],
      ],
    )
    assert.deepEqual(await everything(pg), before)
  })

  it('on a terminal the operator must type the customer id: anything else refuses (exit 3) and deletes nothing', async () => {
    const typed = async (text: string) => {
      const input = new PassThrough()
      const output = new PassThrough()
      let shown = ''
      output.on('data', (c: Buffer) => (shown += c.toString()))
      const answer = confirmByTyping('acme', 'Erase customer acme: 3 objects', {input, output})
      input.end(`${text}\n`)
      return {ok: await answer, shown}
    }

    assert.equal((await typed('acme')).ok, true)
    assert.equal((await typed('acme-corp')).ok, false)
    assert.equal((await typed('ACME')).ok, false)
    assert.match((await typed('')).shown, /Erase customer acme: 3 objects[\s\S]*Type the customer id \(acme\)/)

    const pg = makePlayground()
    await seed(pg, ['acme'], 1)
    const summaries: string[] = []
    const error = await refusal(
      eraseCustomer(
        pg.clients,
        pg.map,
        options({
          yes: false,
          planOut: join(pg.dir, 'p.json'),
          confirm: async (summary) => {
            summaries.push(summary)
            return false
          },
        }),
      ),
    )
    assert.equal(error.code, 'NotConfirmed')
    assert.equal(error.exitCode, 3)
    assert.match(summaries[0], /Erase customer acme: 5 objects/)
    assert.equal(await countCustomer(pg, 'acme'), 3 + 2)
    const confirmed = await eraseCustomer(
      pg.clients,
      pg.map,
      options({yes: false, planPath: join(pg.dir, 'p.json'), confirm: async () => true}),
    )
    assert.equal(confirmed.exitCode, 0)
    assert.equal(await countCustomer(pg, 'acme'), 0)
  })

  it('without a terminal, erasing needs --yes (exit 2) and deletes nothing', async () => {
    const pg = makePlayground()
    await seed(pg, ['acme'], 1)
    const run = await runCli(['customer', 'erase', 'acme', '--config', pg.configPath, '--no-export-required'])
    assert.equal(run.code, 2, run.stderr)
    assert.match(run.stderr, /Refusing to erase without --yes/)
    assert.equal(await countCustomer(pg, 'acme'), 3 + 2)
  })

  it('the certificate verifies (exit 0, "unsigned") and fails with exit 1 after one changed character', async () => {
    const pg = makePlayground()
    await seed(pg, ['acme'], 2)
    const planPath = join(pg.dir, 'acme.plan.json')
    const erased = await runCli([
      'customer',
      'erase',
      'acme',
      '--config',
      pg.configPath,
      '--plan-out',
      planPath,
      '--yes',
      '--no-export-required',
      '--json',
    ])
    assert.equal(erased.code, 0, erased.stderr)
    const certificate = (erased.json() as {certificate: {json: string}}).certificate.json
    assert.equal(certificate, join(pg.dir, 'acme.plan.certificate.json'))
    // The JSON shapes scripts rely on (CustomerEraseResult, CertificateVerifyResult).
    assert.deepEqual(Object.keys(erased.json()).sort(), [
      'apply',
      'certificate',
      'customer',
      'exitCode',
      'guards',
      'key',
      'mode',
      'operationId',
      'plan',
      'verification',
    ])
    assert.deepEqual(Object.keys((erased.json() as {certificate: object}).certificate).sort(), [
      'html',
      'json',
      'sha256',
      'signed',
      'text',
    ])

    // No signing key in this data map: an unsigned certificate is accepted only when asked to.
    const refused = await runCli(['certificate', 'verify', certificate, '--json'])
    assert.equal(refused.code, 1, refused.stdout)
    assert.deepEqual([(refused.json() as {status: string; valid: boolean}).valid], [false])
    const ok = await runCli(['certificate', 'verify', certificate, '--allow-unsigned', '--json'])
    assert.equal(ok.code, 0, ok.stdout)
    assert.deepEqual(
      [(ok.json() as {status: string}).status, (ok.json() as {hash: string}).hash],
      ['unsigned', 'valid'],
    )
    assert.deepEqual(Object.keys(ok.json()).sort(), [
      'audit',
      'consistency',
      'file',
      'hash',
      'kind',
      'sha256',
      'signature',
      'status',
      'valid',
    ])
    const text = await runCli(['certificate', 'verify', certificate])
    assert.match(text.stdout, /UNSIGNED/)

    const original = readFileSync(certificate, 'utf8')
    const at = original.indexOf('"customer": "acme"') + '"customer": "a'.length
    writeFileSync(certificate, `${original.slice(0, at)}x${original.slice(at + 1)}`)
    const bad = await runCli(['certificate', 'verify', certificate, '--json'])
    assert.equal(bad.code, 1, bad.stdout)
    assert.equal((bad.json() as {status: string}).status, 'altered')
  })
})
