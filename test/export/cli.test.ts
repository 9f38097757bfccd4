/**
 * The export as an operator's job runs it: the built CLI (`bin/run.js`, built first when missing
 * or stale) as a child process with --json.
 */
import assert from 'node:assert/strict'
import {readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import type {CustomerExportResult} from '../../src/commands/customer/export.js'
import type {ExportManifest} from '../../src/lib/export/manifest.js'
import {runCli, startCli} from '../support/cli.js'
import {exists, makeMap, newTempDir, readTree} from './fixtures.js'

async function journalLines(dir: string): Promise<number> {
  try {
    const text = await readFile(join(dir, '.custos-export-journal.jsonl'), 'utf8')
    return text.split('\n').length - 2 // header line and the empty string after the last newline
  } catch {
    return 0
  }
}

describe('customer export, the CLI as a process (bin/run.js)', function () {
  this.timeout(180_000)
  let configPath: string
  let objects = 0

  before(async () => {
    const base = makeMap()
    const docs = base.container(base.tenantTemplate.replace('{customer}', 'killco'))
    await docs.createIfNotExists()
    const uploads: Array<Promise<unknown>> = []
    for (let i = 0; i < 400; i++) {
      const data = Buffer.alloc(64 * 1024, i % 251)
      data.write(`object ${i}`)
      uploads.push(docs.getBlockBlobClient(`batch/${String(i).padStart(4, '0')} part.bin`).uploadData(data))
      objects++
    }

    for (let i = 0; i < 4; i++) {
      uploads.push(docs.getBlockBlobClient(`large/${i}.bin`).uploadData(Buffer.alloc(4 * 1024 * 1024, i + 1)))
      objects++
    }

    const shared = base.container(base.shared)
    await shared.createIfNotExists()
    uploads.push(shared.getBlockBlobClient('killco/note ü.txt').uploadData(Buffer.from('hello')))
    objects++
    uploads.push(shared.getBlockBlobClient('killco-ltd/other.txt').uploadData(Buffer.from('not ours')))
    await Promise.all(uploads)
    const corrupt = base.container(base.tenantTemplate.replace('{customer}', 'broken'))
    await corrupt.createIfNotExists()
    const blob = corrupt.getBlockBlobClient('bad.bin')
    await blob.uploadData(Buffer.alloc(100, 1))
    await blob.setHTTPHeaders({blobContentMD5: Buffer.alloc(16, 9)})
    configPath = join(await newTempDir('cli'), 'custos.json')
    await writeFile(configPath, JSON.stringify(base.raw))
  })

  it('resumes a kill -9 to the manifest an uninterrupted run writes, without downloading finished objects again', async () => {
    const root = await newTempDir('killed')
    const killed = join(root, 'killed')
    const clean = join(root, 'clean')
    const args = (dir: string) => [
      'customer',
      'export',
      'killco',
      '--to',
      dir,
      '--config',
      configPath,
      '--concurrency',
      '2',
      '--json',
    ]

    const first = startCli(args(killed))
    let seen = 0
    while ((seen = await journalLines(killed)) < 25) {
      if (first.exited) break
      await new Promise((r) => setTimeout(r, 5))
    }

    first.kill9()
    const firstEnd = await first.done
    assert.equal(
      firstEnd.signal,
      'SIGKILL',
      `the export finished before it could be killed (${seen} journal lines); stderr: ${firstEnd.stderr}`,
    )
    assert.equal(await exists(join(killed, 'manifest.json')), false, 'no manifest after a kill')
    const finishedBeforeKill = await journalLines(killed)
    assert.ok(
      finishedBeforeKill > 0 && finishedBeforeKill < objects,
      `killed midway (${finishedBeforeKill} of ${objects})`,
    )
    const firstHeader = JSON.parse(
      (await readFile(join(killed, '.custos-export-journal.jsonl'), 'utf8')).split('\n')[0],
    ) as {startedAt: string}

    const second = await runCli(args(killed))
    assert.equal(second.code, 0, second.stderr)
    const resumed = JSON.parse(second.stdout) as CustomerExportResult
    assert.equal(resumed.resumed, true)
    assert.equal(resumed.verified, true)
    assert.ok(
      resumed.kept.objects >= finishedBeforeKill,
      `kept ${resumed.kept.objects}, journal had ${finishedBeforeKill}`,
    )
    assert.equal(resumed.kept.objects + resumed.transferred.objects, objects)
    assert.equal(resumed.startedAt, firstHeader.startedAt, "the first attempt's start time is kept")

    const third = await runCli(args(clean))
    assert.equal(third.code, 0, third.stderr)
    const uninterrupted = JSON.parse(third.stdout) as CustomerExportResult
    assert.equal(uninterrupted.transferred.objects, objects)

    const a = JSON.parse(await readFile(join(killed, 'manifest.json'), 'utf8')) as ExportManifest
    const b = JSON.parse(await readFile(join(clean, 'manifest.json'), 'utf8')) as ExportManifest
    assert.equal(a.body.objects.length, objects)
    assert.deepEqual(
      {...a.body, startedAt: undefined, audit: undefined},
      {...b.body, startedAt: undefined, audit: undefined},
      'same manifest body (apart from the start time and the audit record of each first attempt)',
    )
    assert.equal(a.body.audit?.seq, 1, "the resumed export names its first attempt's audit record")
    const [treeA, treeB] = [
      await readTree(killed, ['.custos-export-journal.jsonl']),
      await readTree(clean, ['.custos-export-journal.jsonl']),
    ]
    assert.deepEqual([...treeA.keys()].sort(), [...treeB.keys()].sort())
    for (const [path, data] of treeB) if (path !== 'manifest.json') assert.ok(treeA.get(path)!.equals(data), path)
  })

  it('stops at a safe point on Ctrl-C (exit 130), records the failure, and the next run resumes', async () => {
    const dir = join(await newTempDir('sigint'), 'out')
    const run = startCli([
      'customer',
      'export',
      'killco',
      '--to',
      dir,
      '--config',
      configPath,
      '--concurrency',
      '2',
      '--json',
    ])
    while ((await journalLines(dir)) < 10 && !run.exited) await new Promise((r) => setTimeout(r, 5))
    run.kill('SIGINT')
    const end = await run.done
    assert.equal(end.code, 130, end.stderr)
    assert.equal((JSON.parse(end.stdout) as {error: {code: string}}).error.code, 'Interrupted')
    assert.equal(await exists(join(dir, 'manifest.json')), false)
    const journaled = await journalLines(dir)
    const again = await runCli(['customer', 'export', 'killco', '--to', dir, '--config', configPath, '--json'])
    assert.equal(again.code, 0, again.stderr)
    const result = JSON.parse(again.stdout) as CustomerExportResult
    assert.ok(result.kept.objects >= journaled)
    assert.equal(result.kept.objects + result.transferred.objects, objects)
  })

  it('ends the progress with "stopped", not "done", when the export is interrupted', async () => {
    const dir = join(await newTempDir('sigint-progress'), 'out')
    const run = startCli(['customer', 'export', 'killco', '--to', dir, '--config', configPath, '--concurrency', '2'])
    while ((await journalLines(dir)) < 10 && !run.exited) await new Promise((r) => setTimeout(r, 5))
    run.kill('SIGINT')
    const end = await run.done
    assert.equal(end.code, 130, end.stderr)
    assert.match(end.stderr, /^killco: exported .*objects?.*, stopped$/m)
    assert.doesNotMatch(end.stderr, /, done$/m)
  })

  it('prints a JSON error and exits 4 on an integrity mismatch, 3 on a refusal, 2 on a usage error', async () => {
    const dir = join(await newTempDir('cli-err'), 'out')
    const bad = await runCli(['customer', 'export', 'broken', '--to', dir, '--config', configPath, '--json'])
    assert.equal(bad.code, 4, bad.stderr)
    const error = JSON.parse(bad.stdout) as {error: {code: string; message: string; exitCode: number}}
    assert.equal(error.error.code, 'IntegrityMismatch')
    assert.match(error.error.message, /"bad\.bin"/)
    assert.equal(await exists(join(dir, 'manifest.json')), false)

    const foreign = await newTempDir('cli-foreign')
    await writeFile(join(foreign, 'keep.txt'), 'x')
    const refused = await runCli(['customer', 'export', 'killco', '--to', foreign, '--config', configPath, '--json'])
    assert.equal(refused.code, 3)
    assert.equal((JSON.parse(refused.stdout) as {error: {code: string}}).error.code, 'DestinationNotEmpty')

    const both = await runCli([
      'customer',
      'export',
      'killco',
      '--to',
      dir,
      '--server-side',
      '--config',
      configPath,
      '--json',
    ])
    assert.equal(both.code, 2)
  })

  it('--dry-run prints the counts as JSON and writes nothing', async () => {
    const dir = join(await newTempDir('cli-dry'), 'never')
    const run = await runCli([
      'customer',
      'export',
      'killco',
      '--to',
      dir,
      '--dry-run',
      '--config',
      configPath,
      '--json',
    ])
    assert.equal(run.code, 0, run.stderr)
    const result = JSON.parse(run.stdout) as CustomerExportResult
    assert.equal(result.dryRun, true)
    assert.equal(result.totals.objects, objects)
    assert.deepEqual(Object.keys(result).sort(), [
      'customer',
      'destination',
      'dryRun',
      'durationMs',
      'kept',
      'notes',
      'resumed',
      'startedAt',
      'stores',
      'totals',
      'transferred',
      'verified',
    ])
    assert.equal(await exists(dir), false)
  })
})
