/**
 * Durations read as durations (issue #21): help shows `[default: 7d]`, not `[default: 604800000]`,
 * and every flag that takes a duration accepts `7d`, `26h`, `10m`; the code still gets milliseconds.
 */
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'

import {durationText, parseDurationInMs} from '../../src/lib/duration.js'
import {ensureBuilt, ROOT, runCli} from '../support/cli.js'

interface ManifestFlag {
  name: string
  default?: unknown
  helpValue?: string
  type: string
}

function manifest(): Record<string, {flags: Record<string, ManifestFlag>}> {
  ensureBuilt()
  return JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8')).commands
}

/** [command id, flag] for every flag that takes a duration (durationFlag shows `<duration>` in help). */
function durationFlags(): Array<[string, ManifestFlag]> {
  return Object.entries(manifest()).flatMap(([id, command]) =>
    Object.values(command.flags)
      .filter((f) => f.helpValue === '<duration>')
      .map((f): [string, ManifestFlag] => [id, f]),
  )
}

describe('durations in flags and help', () => {
  it('a default is shown in the largest unit that divides it, and reads back to the same milliseconds', () => {
    const cases = {
      '7d': 604_800_000,
      '1d': 86_400_000,
      '36h': 129_600_000,
      '10m': 600_000,
      '90s': 90_000,
      '0s': 0,
      '1500ms': 1500,
    }
    for (const [text, ms] of Object.entries(cases)) {
      assert.equal(durationText(ms), text)
      assert.equal(parseDurationInMs(text), ms)
    }
  })

  it('every flag whose name says it is a window, a lifetime or a look-back takes a duration', () => {
    const named = Object.entries(manifest()).flatMap(([id, command]) =>
      Object.values(command.flags)
        .filter((f) => f.type === 'option' && /window|expiry|lookback|within|max-age|timeout|interval/.test(f.name))
        .map((f) => `${id} --${f.name}: ${f.helpValue}`),
    )
    assert.ok(named.length >= 9, named.join('\n'))
    assert.deepEqual(
      named.filter((n) => !n.endsWith(': <duration>')),
      [],
    )
  })

  it('help shows each duration default as a duration (7d, not 604800000)', () => {
    const flags = durationFlags()
    assert.ok(flags.length >= 9, `${flags.length} duration flags`)
    for (const [id, flag] of flags)
      if (flag.default !== undefined) assert.match(String(flag.default), /^\d+(ms|s|m|h|d)$/, `${id} --${flag.name}`)
  })

  it('incident evidence --help shows [default: 7d] and [default: 1d]', async () => {
    const help = await runCli(['incident', 'evidence', '--help'])
    assert.equal(help.code, 0, help.stderr)
    assert.match(help.stdout, /--known-ip-window=<duration>\s+\[default: 7d\]/)
    assert.match(help.stdout, /--lookback=<duration>\s+\[default: 1d\]/)
    assert.doesNotMatch(help.stdout, /604800000|86400000/)
  })

  it('every duration flag of every command accepts 7d, 26h and 10m, and the code gets milliseconds', async () => {
    for (const [id, flag] of durationFlags()) {
      const file = join(ROOT, 'dist', 'commands', ...id.split(':')) + '.js'
      const command = (await import(pathToFileURL(file).href)).default
      const parse = command.flags[flag.name].parse as (
        input: string,
        context: unknown,
        options: unknown,
      ) => Promise<number>
      for (const [text, ms] of [
        ['7d', 604_800_000],
        ['26h', 93_600_000],
        ['10m', 600_000],
      ] as const)
        assert.equal(await parse(text, {}, command.flags[flag.name]), ms, `${id} --${flag.name} ${text}`)
      await assert.rejects(parse('604800000', {}, command.flags[flag.name]), /is not a duration/)
    }
  })
})
