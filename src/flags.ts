/** Flags and arguments shared by several commands, declared once. */
import {Args, Flags} from '@oclif/core'

import {durationText, parseDurationInMs, parseTime} from './lib/duration.js'
import {usageError} from './lib/errors.js'

/** The customer a command works on; every command checks it against `customers.idPattern`. */
export const customerArg = Args.string({
  description: 'customer id (checked against customers.idPattern)',
  required: true,
})

export const configFlag = Flags.string({
  summary: 'Path of the data map (custos.yaml or .json).',
  env: 'CUSTOS_CONFIG',
  helpGroup: 'GLOBAL',
})

export const debugFlag = Flags.boolean({
  summary: 'Show stack traces and request details on errors.',
  helpGroup: 'GLOBAL',
})

/**
 * A usage error (exit 2) that names the flag: oclif wraps whatever a flag parser throws in
 * "Parsing --flag …"; src/base-command.ts unwraps it again, so the operator reads one line.
 */
function flagError(name: string, error: unknown, hint: string) {
  return usageError(`--${name} ${(error as Error).message}.`, hint)
}

/**
 * A duration such as `26h` or `7d`, parsed to milliseconds (src/lib/duration.ts); the code reads
 * milliseconds, help shows `<duration>` and the default as a duration (`[default: 7d]`, not
 * `[default: 604800000]`). A flag sets `default` in milliseconds; nothing else is needed.
 */
export const durationFlag = Flags.custom<number>({
  helpValue: '<duration>',
  async defaultHelp({options}) {
    return typeof options.default === 'number' ? durationText(options.default) : undefined
  },
  async parse(input, _context, options) {
    try {
      return parseDurationInMs(input)
    } catch (error) {
      throw flagError(options.name, error, 'Durations are written 90s, 45m, 26h, 7d or 2w.')
    }
  },
})

/**
 * A time: ISO 8601 with a zone (`Z` or an offset), `now`, or relative like `-24h`. A time without
 * a zone is refused (src/lib/duration.ts says why).
 */
export const timeFlag = Flags.custom<Date>({
  description:
    'Times are ISO 8601 with a zone (2026-11-01T00:00:00Z, 2026-11-01T01:00:00+01:00), now, or relative (-24h, 7d ago). A time without a zone is refused rather than read in the zone of the machine that runs custos, and so is an impossible date such as 2026-02-30.',
  async parse(input, _context, options) {
    try {
      return parseTime(input)
    } catch (error) {
      throw flagError(
        options.name,
        error,
        'Write 2026-11-01T00:00:00Z (UTC) or 2026-11-01T01:00:00+01:00, or relative like -24h or 7d ago.',
      )
    }
  },
})

/** One rule for every flag that names an output file: an existing file is replaced only with --force. */
export const forceFlag = Flags.boolean({
  summary: 'Replace output files that exist already (without it custos refuses, exit 3).',
})

export const concurrencyFlag = Flags.integer({
  summary: 'Parallel requests to the storage service.',
  min: 1,
  max: 256,
  default: 16,
})

export const retriesFlag = Flags.integer({
  summary: 'Attempts per request before giving up (throttling and network faults are retried with backoff).',
  min: 1,
  max: 20,
  default: 6,
})

/**
 * `-o, --output`: where a command writes its main artefact (PRODUCT.md, "Output conventions").
 * `was` lists the spellings the flag had before custos 0.3 (`--out`, `--out-dir`, `--certificate-out`):
 * hidden aliases that keep scheduled jobs working; BaseCommand prints one deprecation line when a
 * run uses one, and `BaseCommand.spelling` names the spelling the operator typed in errors.
 */
export function outputFlag(options: {summary: string; was?: string[]; default?: string}) {
  return Flags.string({
    char: 'o',
    summary: options.summary,
    ...(options.was ? {aliases: options.was} : {}),
    ...(options.default === undefined ? {} : {default: options.default}),
  })
}
