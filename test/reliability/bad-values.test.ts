/**
 * Bad values on the command line and in the data map, through the built CLI: each exits 2 with one
 * `Error:` line naming the flag or the field (they used to reach the commands and exit 4 as
 * "custos failed unexpectedly"). The flag cases run under three host time zones: what custos reads
 * from a time, and what it refuses, must not depend on the TZ of the machine that runs the job.
 * Nothing here reaches Azure: the values are refused before any request.
 */
import assert from 'node:assert/strict'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {runCli, type CliResult} from '../support/cli.js'
import {describeFailure} from './cli.js'

const ZONES = ['UTC', 'America/Los_Angeles', 'Asia/Kolkata']

/** Runs `jobs` two at a time (the machine's two cores are shared). */
async function inPairs<T>(jobs: Array<() => Promise<T>>): Promise<T[]> {
  const out: T[] = []
  for (let i = 0; i < jobs.length; i += 2) out.push(...(await Promise.all(jobs.slice(i, i + 2).map((j) => j()))))
  return out
}

function assertUsage(label: string, result: CliResult, first: RegExp, code = 2): void {
  const f = describeFailure(result)
  assert.equal(f.code, code, `${label}: exit ${f.code}\n${result.stdout}${result.stderr}`)
  assert.match(f.first, first, label)
  assert.equal(f.errorLines, 1, `${label}: one Error: line\n${result.stderr}`)
  assert.equal(f.stackTrace, false, `${label}: no stack trace`)
  assert.equal(result.stdout, '', `${label}: nothing on stdout`)
}

describe('reliability: bad flag values and data-map values exit 2 naming the flag or field', function () {
  this.timeout(180_000)
  const dir = mkdtempSync(join(tmpdir(), 'custos-bad-values-'))
  const config = join(dir, 'never-read.yaml')

  it('times and durations that cannot be read, without a zone or on impossible dates, under every TZ', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['logs', 'bundle', 'acme', '--since', 'yesterday'], /^Error: --since "yesterday" is not a time\.$/],
      [
        ['logs', 'bundle', 'acme', '--since', '2026-13-45'],
        /^Error: --since "2026-13-45" is not a date: there is no month 13\.$/,
      ],
      [
        ['logs', 'bundle', 'acme', '--since', '-99999999999999w'],
        /^Error: --since "-99999999999999w" reaches further back than custos accepts/,
      ],
      [
        ['logs', 'bundle', 'acme', '--since', '2026-02-30T00:00:00Z'],
        /^Error: --since "2026-02-30T00:00:00Z" is not a date: 2026-02 has no day 30\.$/,
      ],
      [
        ['logs', 'bundle', 'acme', '--since', '2026-12-05T10:00'],
        /^Error: --since "2026-12-05T10:00" has no time zone, and custos does not guess one \(add Z for UTC, or an offset like \+01:00\)\.$/,
      ],
      [
        ['incident', 'open', '--detected', '2026-12-05T10:00', '--summary', 'x'],
        /^Error: --detected "2026-12-05T10:00" has no time zone/,
      ],
      [
        ['incident', 'evidence', 'inc-20261205-abcdef', '--until', '2026-12-05T10:00:00'],
        /^Error: --until "2026-12-05T10:00:00" has no time zone/,
      ],
      [
        ['access', 'report', '--since', '-1d', '--burst-window', 'abc'],
        /^Error: --burst-window "abc" is not a duration/,
      ],
      [['incident', 'list', '--warn-within', '1e5h'], /^Error: --warn-within "1e5h" is not a duration/],
      [['customer', 'export', 'acme', '--to', dir, '--concurrency', '0'], /^Error: --concurrency: Expected an integer/],
    ]
    // Every case under the first zone; the zone-sensitive ones (a time without a zone, an impossible date) under all.
    const runs = ZONES.flatMap((zone, z) =>
      cases
        .filter(([args]) => z === 0 || args.some((a) => a.startsWith('2026-')))
        .map(([args, first]) => ({zone, args, first})),
    )
    const results = await inPairs(
      runs.map(
        ({zone, args}) =>
          () =>
            runCli([...args, '--config', config], {env: {TZ: zone}}),
      ),
    )
    for (const [i, {zone, args, first}] of runs.entries())
      assertUsage(`${args.join(' ')} (TZ=${zone})`, results[i], first)

    const json = await runCli([
      'logs',
      'bundle',
      'acme',
      '--since',
      '2026-02-30T00:00:00Z',
      '--config',
      config,
      '--json',
    ])
    assert.equal(json.code, 2)
    const error = json.json<{error: {code: string; message: string; hint: string; exitCode: number}}>().error
    assert.deepEqual([error.code, error.exitCode], ['Usage', 2])
    assert.match(error.hint, /2026-11-01T00:00:00Z/)

    const debug = await runCli(['logs', 'bundle', 'acme', '--since', 'yesterday', '--config', config, '--debug'])
    assert.equal(debug.code, 2)
    assert.match(debug.stderr, /\n\s+at .+:\d+:\d+/, 'the stack of a flag error under --debug')
  })

  it('a connection string whose BlobEndpoint is not a URL, and unreadable durations, are data-map errors naming the field', async () => {
    const write = (name: string, raw: Record<string, unknown>) => {
      const path = join(dir, `${name}.json`)
      writeFileSync(path, JSON.stringify(raw))
      return path
    }

    const store = (account: string) => ({name: 'documents', account, container: 'tenant-{customer}'})
    const key = Buffer.alloc(64, 1).toString('base64')
    const badEndpoint = write('bad-endpoint', {
      stores: [store(`DefaultEndpointsProtocol=http;AccountName=contosoprod;AccountKey=${key};BlobEndpoint=not a url`)],
    })
    const badExports = write('bad-exports', {
      stores: [store('https://contosoprod.blob.core.windows.net')],
      exports: {account: 'BlobEndpoint=ftp://127.0.0.1/x;AccountName=x', container: 'exports'},
    })
    const badDuration = write('bad-duration', {
      stores: [store('https://contosoprod.blob.core.windows.net')],
      erase: {exportWindow: '99999999999999w'},
    })
    const cases: Array<[string[], RegExp, RegExp]> = [
      [
        ['config', 'validate', '--config', badEndpoint],
        /^Error: The data map .*bad-endpoint\.json is invalid: 1 problem\.$/,
        /\n {2}stores\[0\]\.account: is a connection string whose BlobEndpoint does not make a URL\n/,
      ],
      [
        ['customer', 'inventory', 'acme', '--config', badEndpoint],
        /^Error: The data map .*bad-endpoint\.json is invalid: 1 problem\.$/,
        /\n {2}stores\[0\]\.account: is a connection string whose BlobEndpoint does not make a URL\n/,
      ],
      [
        ['config', 'validate', '--config', badExports],
        /^Error: The data map .*bad-exports\.json is invalid: 1 problem\.$/,
        /\n {2}exports\.account: is a connection string whose BlobEndpoint is not an http\(s\):\/\/ URL\n/,
      ],
      [
        ['customer', 'erase', 'acme', '--dry-run', '--config', badDuration],
        /^Error: The data map .*bad-duration\.json is invalid: 1 problem\.$/,
        /\n {2}erase\.exportWindow: "99999999999999w" is longer than custos accepts/,
      ],
    ]
    const results = await inPairs(
      cases.map(
        ([args]) =>
          () =>
            runCli(args),
      ),
    )
    for (const [i, [args, first, detail]] of cases.entries()) {
      assertUsage(args.slice(0, 2).join(' '), results[i], first)
      assert.match(results[i].stderr, detail, args.join(' '))
    }
  })
})
