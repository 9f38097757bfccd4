/**
 * One error, one exit code (src/base-command.ts): a command that throws is run in this process
 * with what it threw, and the exit code and the line an operator reads are checked. A bug is 70 and
 * says to report it with --debug; an Azure, network or file-system failure that nobody mapped is
 * still 4; a flag value its parser refuses is 2 naming the flag, with the stack under --debug.
 */
import assert from 'node:assert/strict'

import {Config} from '@oclif/core'

import {BaseCommand, type ErrorResult} from '../../src/base-command.js'
import {durationFlag, timeFlag} from '../../src/flags.js'
import {CustosError, ExitCode, usageError} from '../../src/lib/errors.js'
import {ROOT} from '../support/cli.js'

let thrown: unknown

class Throws extends BaseCommand<typeof Throws> {
  static override flags = {since: timeFlag({}), window: durationFlag({})}

  public async run(): Promise<void> {
    throw thrown
  }
}

interface Run {
  code: number | undefined
  stderr: string
  json?: ErrorResult
}

/** Runs the command with `argv`, throwing `error` from run(); stderr/stdout are captured, the exit code reset. */
async function run(error: unknown, argv: string[] = []): Promise<Run> {
  thrown = error
  const config = await Config.load(ROOT)
  const writes = {stderr: '', stdout: ''}
  const original = {stderr: process.stderr.write, stdout: process.stdout.write}
  const capture = (stream: 'stderr' | 'stdout') =>
    ((chunk: string) => {
      writes[stream] += chunk
      return true
    }) as typeof process.stderr.write
  process.stderr.write = capture('stderr')
  process.stdout.write = capture('stdout')
  const saved = process.exitCode
  try {
    await Throws.run(argv, config)
    return {
      code: process.exitCode as number | undefined,
      stderr: writes.stderr,
      ...(writes.stdout ? {json: JSON.parse(writes.stdout) as ErrorResult} : {}),
    }
  } finally {
    process.stderr.write = original.stderr
    process.stdout.write = original.stdout
    process.exitCode = saved
  }
}

const errorLine = (r: Run) => r.stderr.split('\n')[0]

describe('exit codes: errors are classified once, in the base command', () => {
  it('an unexpected exception is a bug: exit 70, one line asking to report it with --debug', async () => {
    const r = await run(new TypeError("Cannot read properties of undefined (reading 'kid')"))
    assert.equal(r.code, ExitCode.bug)
    assert.equal(ExitCode.bug, 70)
    assert.equal(
      errorLine(r),
      "Error: custos failed unexpectedly (a bug): Cannot read properties of undefined (reading 'kid')",
    )
    assert.match(
      r.stderr.split('\n')[1],
      /^Hint: Please report it, with the output of the same command run again with --debug\.$/,
    )
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack without --debug')

    const json = await run(new RangeError('Invalid time value'), ['--json'])
    assert.equal(json.code, 70)
    assert.deepEqual(
      {code: json.json!.error.code, exitCode: json.json!.error.exitCode},
      {code: 'InternalError', exitCode: 70},
    )

    const debug = await run(new TypeError('boom'), ['--debug'])
    assert.match(debug.stderr, /TypeError: boom\n\s+at /, 'the stack under --debug')
  })

  it('an Azure or network failure nobody mapped stays 4', async () => {
    const cases: Array<[string, unknown, RegExp]> = [
      [
        'RestError without a status',
        Object.assign(new Error('socket hang up'), {name: 'RestError', code: 'REQUEST_SEND_ERROR'}),
        /^Error: The request for Azure failed \(REQUEST_SEND_ERROR\)\.$/,
      ],
      [
        'RestError 503',
        Object.assign(new Error('busy'), {name: 'RestError', statusCode: 503, code: 'ServerBusy'}),
        /^Error: Azure refused the request for Azure \(503 ServerBusy\) after retries\.$/,
      ],
      [
        'a reset connection',
        Object.assign(new Error('read ECONNRESET'), {code: 'ECONNRESET', syscall: 'read'}),
        /^Error: Could not reach Azure \(ECONNRESET\)\.$/,
      ],
      [
        'fetch failed (undici)',
        new TypeError('fetch failed', {cause: Object.assign(new Error('connect'), {code: 'ECONNREFUSED'})}),
        /^Error: Could not reach Azure \(ECONNREFUSED\)\.$/,
      ],
      [
        'a full disk',
        Object.assign(new Error('ENOSPC: no space left on device, write'), {
          code: 'ENOSPC',
          syscall: 'write',
          path: '/x/acme.tar.gz',
        }),
        /^Error: A file operation failed: write \/x\/acme\.tar\.gz \(ENOSPC\)\.$/,
      ],
      [
        'a timeout nobody asked for',
        Object.assign(new Error('The operation was aborted.'), {name: 'AbortError'}),
        /^Error: A request to Azure was aborted/,
      ],
    ]
    for (const [label, error, line] of cases) {
      const r = await run(error)
      assert.equal(r.code, ExitCode.azure, `${label}: ${r.stderr}`)
      assert.match(errorLine(r), line, label)
    }
  })

  it('a CustosError keeps its own exit code', async () => {
    const r = await run(usageError('--to and --archive cannot both be given.', 'Choose one.'))
    assert.equal(r.code, 2)
    assert.equal(errorLine(r), 'Error: --to and --archive cannot both be given.')
    const refused = await run(new CustosError('Held.', {code: 'LegalHold', exitCode: ExitCode.refused}))
    assert.equal(refused.code, 3)
  })

  it('a flag value its parser refuses is a usage error naming the flag (exit 2), with the stack under --debug', async () => {
    const r = await run(undefined, ['--since', 'yesterday'])
    assert.equal(r.code, 2)
    assert.equal(errorLine(r), 'Error: --since "yesterday" is not a time.')
    assert.match(r.stderr, /\nHint: Write 2026-11-01T00:00:00Z \(UTC\)/)
    assert.doesNotMatch(r.stderr, /\n\s+at /)

    const window = await run(undefined, ['--window', '1e5h', '--json'])
    assert.equal(window.code, 2)
    assert.equal(window.json!.error.code, 'Usage')
    assert.match(window.json!.error.message, /^--window "1e5h" is not a duration/)

    const debug = await run(undefined, ['--since', '2026-12-05T10:00', '--debug'])
    assert.equal(debug.code, 2)
    assert.match(errorLine(debug), /^Error: --since "2026-12-05T10:00" has no time zone/)
    assert.match(debug.stderr, /\n\s+at .+:\d+:\d+/, 'the stack of a flag error under --debug')

    const unknown = await run(undefined, ['--nope'])
    assert.equal(unknown.code, 2)
    assert.match(errorLine(unknown), /^Error: Nonexistent flag: --nope/)
  })
})
