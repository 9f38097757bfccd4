/**
 * One CLI convention for the file a command writes: `-o, --output` (PRODUCT.md, "Output
 * conventions"). The spellings of custos 0.2 (`--out`, `--out-dir`, `--certificate-out`, and
 * `customer export --to` / `--archive`) still work for scheduled jobs: hidden from help, one
 * deprecation line after the run (so that the first line is what it was), nothing under --json.
 * test/reliability/outputs.test.ts pins the old spellings' refusals; this file pins the new ones.
 */
import assert from 'node:assert/strict'
import {existsSync, mkdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {describeFailure, runCli} from './cli.js'
import {createWorld, reliabilityEnv, type ReliabilityEnv, type World} from './world.js'

const DEPRECATED = /^Warning: --[\w-]+ is deprecated and will be removed in a later release; use -o, --output\.$/

describe('the output convention: -o, --output everywhere, old spellings still work', function () {
  this.timeout(240_000)
  let renv: ReliabilityEnv
  let world: World
  let dir: string

  before(async function () {
    this.timeout(120_000)
    renv = await reliabilityEnv()
    world = await createWorld(renv, {keys: false, content: {acme: {documents: 2, attachments: 1, backups: 0}}})
    dir = join(world.dir, 'convention')
    mkdirSync(dir)
  })

  it('--output names the file in a refusal, for every command that writes one', async () => {
    const existing = (name: string) => {
      const path = join(dir, name)
      writeFileSync(path, 'precious')
      return path
    }

    const report = existing('access.csv')
    const archive = existing('acme.zip')
    const certificate = existing('acme-cert.json')
    const cases = [
      {args: ['access', 'report', '--since', '-2h', '-o', report, '--config', renv.env.configPath], path: report},
      {args: ['customer', 'export', 'acme', '--output', archive, '--config', world.configPath], path: archive},
      {
        args: [
          'customer',
          'erase',
          'acme',
          '--yes',
          '--no-export-required',
          '--plan-out',
          join(dir, 'never.plan.json'),
          '-o',
          join(dir, 'acme-cert'),
          '--config',
          world.configPath,
        ],
        path: certificate,
      },
    ]
    const results = await Promise.all(cases.map((c) => runCli(c.args)))
    for (const [i, c] of cases.entries()) {
      const f = describeFailure(results[i])
      assert.equal(f.code, 3, `${c.args.slice(0, 2).join(' ')}: ${results[i].stderr}`)
      assert.equal(f.first, `Error: Refused to overwrite ${c.path}: it exists (--output).`)
      assert.doesNotMatch(results[i].stderr, /deprecated/)
      assert.equal(readFileSync(c.path, 'utf8'), 'precious')
    }
  })

  it('customer export --output writes a folder, or an archive when the name ends in .tar.gz, .tgz or .zip', async () => {
    const folder = join(dir, 'acme-export')
    const archive = join(dir, 'acme-export.tar.gz')
    const [toFolder, toArchive] = await Promise.all([
      runCli(['customer', 'export', 'acme', '--output', folder, '--config', world.configPath, '--json']),
      runCli(['customer', 'export', 'acme', '-o', archive, '--config', world.configPath, '--json']),
    ])
    assert.equal(toFolder.code, 0, toFolder.stdout + toFolder.stderr)
    assert.equal(toArchive.code, 0, toArchive.stdout + toArchive.stderr)
    assert.equal(toFolder.json<{destination: {kind: string}}>().destination.kind, 'folder')
    assert.equal(toArchive.json<{destination: {kind: string}}>().destination.kind, 'tar.gz')
    assert.ok(statSync(folder).isDirectory())
    assert.ok(existsSync(join(folder, 'manifest.json')))
    assert.ok(statSync(archive).isFile())
  })

  it('an old spelling still works and says so in one last line; --json stays quiet', async () => {
    const oldFolder = join(dir, 'old-export')
    const report = join(dir, 'old-access.csv')
    const [exported, reported, reportedJson] = await Promise.all([
      runCli(['customer', 'export', 'acme', '--to', oldFolder, '--config', world.configPath]),
      runCli(['access', 'report', '--since', '-2h', '--out', report, '--config', renv.env.configPath]),
      runCli([
        'access',
        'report',
        '--since',
        '-2h',
        '--out',
        join(dir, 'old-access.json'),
        '--config',
        renv.env.configPath,
        '--json',
      ]),
    ])
    assert.equal(exported.code, 0, exported.stderr)
    assert.ok(existsSync(join(oldFolder, 'manifest.json')))
    assert.ok([0, 1].includes(reported.code!), reported.stderr)
    assert.ok(existsSync(report))
    for (const r of [exported, reported]) {
      const lines = r.stderr.trimEnd().split('\n')
      assert.match(lines.at(-1)!, DEPRECATED)
      assert.equal(lines.filter((l) => /deprecated/.test(l)).length, 1)
    }

    assert.match(exported.stderr, /--to is deprecated/)
    assert.match(reported.stderr, /--out is deprecated/)
    assert.equal(reportedJson.stderr, '')
    assert.ok(existsSync(join(dir, 'old-access.json')))
  })

  it('help shows -o, --output and hides the old spellings', async () => {
    const commands = [
      ['access', 'report'],
      ['customer', 'export'],
      ['customer', 'erase'],
      ['logs', 'bundle'],
      ['incident', 'evidence'],
      ['incident', 'notify'],
    ]
    const helps = await Promise.all(commands.map((c) => runCli([...c, '--help'])))
    for (const [i, help] of helps.entries()) {
      assert.match(help.stdout, /-o, --output=/, commands[i].join(' '))
      assert.doesNotMatch(
        help.stdout,
        /--out[ =]|--out-dir|--certificate-out|--to[ =]|--archive[ =]/,
        commands[i].join(' '),
      )
    }
  })
})
