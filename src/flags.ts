/** Flags shared by several commands, declared once. */
import {Flags} from '@oclif/core'

import {isDuration, parseDurationInMs, parseTime} from './lib/duration.js'

export const configFlag = Flags.string({
  summary: 'Path of the data map (custos.yaml or .json).',
  env: 'CUSTOS_CONFIG',
  helpGroup: 'GLOBAL',
})

export const debugFlag = Flags.boolean({
  summary: 'Show stack traces and request details on errors.',
  helpGroup: 'GLOBAL',
})

/** A duration such as `26h` or `7d`, parsed to milliseconds. */
export const durationFlag = Flags.custom<number>({
  async parse(input) {
    if (!isDuration(input)) throw new Error(`"${input}" is not a duration (write it like 90s, 26h or 7d)`)
    return parseDurationInMs(input)
  },
})

/** A time: ISO 8601, `now`, or relative like `-24h`. */
export const timeFlag = Flags.custom<Date>({
  async parse(input) {
    return parseTime(input)
  },
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
