/**
 * One rule for every flag that names a file custos writes (--output, --out, --archive, --plan-out,
 * --certificate-out, --out-dir): an existing file is refused (exit 3, one line naming it and the
 * flag, the file untouched) unless --force, and what custos writes is private — files 0600 and
 * folders 0700 — also where --force replaced a file that had another mode.
 */
import assert from 'node:assert/strict'
import {chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import type {CliResult} from '../support/cli.js'
import {describeFailure, runCli} from './cli.js'
import {createWorld, reliabilityEnv, type ReliabilityEnv, type World} from './world.js'

const mode = (path: string) => (statSync(path).mode & 0o777).toString(8)

function assertRefusedOverwrite(label: string, result: CliResult, path: string, flag: string): void {
  const f = describeFailure(result)
  assert.equal(f.code, 3, `${label}: exit ${f.code}\n${result.stdout}${result.stderr}`)
  assert.equal(f.first, `Error: Refused to overwrite ${path}: it exists (${flag}).`, label)
  assert.equal(f.errorLines, 1, label)
  assert.match(result.stderr, /\nHint: Give .* a new path, or add --force to replace it\.\n/, label)
}

describe('reliability: output files are never replaced without --force, and are private', function () {
  this.timeout(240_000)
  let renv: ReliabilityEnv
  let world: World
  let incident: string

  before(async function () {
    this.timeout(120_000)
    renv = await reliabilityEnv()
    world = await createWorld(renv, {keys: false, content: {acme: {documents: 3, attachments: 1, backups: 1}}})
    const opened = await runCli([
      'incident',
      'open',
      '--detected',
      '-1h',
      '--summary',
      'Test incident',
      '--customer',
      'acme',
      '--nature',
      'Read access',
      '--subject-categories',
      'end users',
      '--subjects',
      '3',
      '--data-categories',
      'contact data',
      '--records',
      '9',
      '--contact',
      'DPO',
      '--consequences',
      'Disclosure',
      '--measures',
      'Keys rotated',
      '--config',
      world.configPath,
      '--json',
    ])
    assert.equal(opened.code, 0, opened.stdout + opened.stderr)
    incident = opened.json<{incident: {id: string}}>().incident.id
  })

  it('each output flag refuses an existing file (exit 3, naming it), and --force replaces it with a 0600 file', async () => {
    const dir = join(world.dir, 'outputs')
    mkdirSync(dir)
    /** an existing file someone else made: 0644, with content that must survive a refusal */
    const existing = (name: string) => {
      const path = join(dir, name)
      writeFileSync(path, 'precious')
      chmodSync(path, 0o644)
      return path
    }

    const bundle = existing('acme-logs.tar.gz')
    const report = existing('access.json')
    const archive = existing('acme.tar.gz')
    const plan = existing('acme.plan.json')
    const notices = join(dir, 'notices')
    mkdirSync(notices)
    const notice = join(notices, `notice-${incident}-acme.en.txt`)
    writeFileSync(notice, 'precious')
    chmodSync(notice, 0o644)
    const evidence = existing('evidence.tar.gz')
    const certificate = existing('acme-cert.json')
    const demo = renv.env.configPath
    const cases: Array<{label: string; args: string[]; path: string; flag: string; replaceable: boolean}> = [
      {
        label: 'logs bundle --output',
        args: ['logs', 'bundle', 'acme', '--since', '-2h', '--output', bundle, '--config', demo],
        path: bundle,
        flag: '--output',
        replaceable: true,
      },
      {
        label: 'access report --out',
        args: ['access', 'report', '--since', '-2h', '--out', report, '--config', demo],
        path: report,
        flag: '--out',
        replaceable: true,
      },
      {
        label: 'customer export --archive',
        args: ['customer', 'export', 'acme', '--archive', archive, '--config', world.configPath],
        path: archive,
        flag: '--archive',
        replaceable: true,
      },
      {
        label: 'customer erase --plan-out',
        args: ['customer', 'erase', 'acme', '--plan-out', plan, '--config', world.configPath],
        path: plan,
        flag: '--plan-out',
        replaceable: true,
      },
      {
        label: 'incident notify --out-dir',
        args: ['incident', 'notify', incident, '--customer', 'acme', '--preview', '--out-dir', notices],
        path: notice,
        flag: '--out-dir',
        replaceable: true,
      },
      {
        label: 'incident evidence --output',
        args: ['incident', 'evidence', incident, '--output', evidence, '--config', world.configPath],
        path: evidence,
        flag: '--output',
        replaceable: false,
      },
      {
        // refused before the lock is taken or anything is listed
        label: 'customer erase --certificate-out',
        args: [
          'customer',
          'erase',
          'acme',
          '--yes',
          '--no-export-required',
          '--config',
          world.configPath,
          '--plan-out',
          join(dir, 'never.plan.json'),
          '--certificate-out',
          join(dir, 'acme-cert'),
        ],
        path: certificate,
        flag: '--certificate-out',
        replaceable: false,
      },
    ]
    for (const c of cases) if (c.label.startsWith('incident notify')) c.args.push('--config', world.configPath)

    const refused = await Promise.all(cases.map((c) => runCli(c.args)))
    for (const [i, c] of cases.entries()) {
      assertRefusedOverwrite(c.label, refused[i], c.path, c.flag)
      assert.equal(readFileSync(c.path, 'utf8'), 'precious', `${c.label}: the file is untouched`)
    }

    assert.equal(existsSync(join(dir, 'never.plan.json')), false, 'the refused erase made no plan')
    const replaceable = cases.filter((c) => c.replaceable)
    const forced = await Promise.all(replaceable.map((c) => runCli([...c.args, '--force'])))
    for (const [i, c] of replaceable.entries()) {
      // access report exits 1 when it has findings (the demo data has some)
      const ok = c.label.startsWith('access report') ? [0, 1] : [0]
      assert.ok(ok.includes(forced[i].code!), `${c.label} --force: ${forced[i].stdout}${forced[i].stderr}`)
      assert.notEqual(readFileSync(c.path, 'utf8'), 'precious', `${c.label} --force replaced the file`)
      assert.equal(mode(c.path), '600', `${c.label} --force: the new file is private`)
    }
  })

  it('an erase writes its plan, journal and certificate 0600 (a re-run replaces only its own certificate), and notices go to a new 0700 folder as 0600 files', async () => {
    const dir = join(world.dir, 'erase')
    mkdirSync(dir)
    const plan = join(dir, 'acme.plan.json')
    const erased = await runCli([
      'customer',
      'erase',
      'acme',
      '--yes',
      '--no-export-required',
      '--plan-out',
      plan,
      '--config',
      world.configPath,
      '--json',
    ])
    assert.equal(erased.code, 0, erased.stdout + erased.stderr)
    const {certificate} = erased.json<{certificate: {json: string}}>()
    for (const path of [
      plan,
      `${plan}.journal.jsonl`,
      certificate.json,
      certificate.json.replace(/\.json$/, '.txt'),
      certificate.json.replace(/\.json$/, '.html'),
    ])
      assert.equal(mode(path), '600', path)

    // A plan's re-run replaces the certificate its own earlier run wrote (it retries what failed:
    // its journal names that certificate), but not a file of the same name that it did not write.
    const again = await runCli([
      'customer',
      'erase',
      'acme',
      '--yes',
      '--no-export-required',
      '--plan',
      plan,
      '--config',
      world.configPath,
      '--json',
    ])
    assert.equal(again.code, 0, again.stdout + again.stderr)
    const otherPlan = join(dir, 'globex.plan.json')
    const planned = await runCli(['customer', 'erase', 'globex', '--plan-out', otherPlan, '--config', world.configPath])
    assert.equal(planned.code, 0, planned.stderr)
    const foreign = join(dir, 'globex.plan.certificate.json')
    writeFileSync(foreign, 'precious')
    const refused = await runCli([
      'customer',
      'erase',
      'globex',
      '--yes',
      '--no-export-required',
      '--plan',
      otherPlan,
      '--config',
      world.configPath,
    ])
    assertRefusedOverwrite('erase --plan with a foreign certificate', refused, foreign, '--certificate-out')
    assert.equal(readFileSync(foreign, 'utf8'), 'precious')

    const notices = join(dir, 'new', 'notices')
    const notified = await runCli([
      'incident',
      'notify',
      incident,
      '--customer',
      'acme',
      '--lang',
      'de',
      '--preview',
      '--out-dir',
      notices,
      '--config',
      world.configPath,
    ])
    assert.equal(notified.code, 0, notified.stderr)
    assert.equal(mode(join(dir, 'new')), '700')
    assert.equal(mode(notices), '700')
    for (const ext of ['txt', 'html']) assert.equal(mode(join(notices, `notice-${incident}-acme.de.${ext}`)), '600')
  })
})
