/**
 * Values the schema lets through as strings but that custos must be able to read later: every
 * account (not only those of stores and backups), every duration and every endpoint URL. Checked
 * when the data map is loaded, so that a bad value is a configuration error naming its field
 * (exit 2) instead of an "Invalid URL" or "Invalid time value" deep inside a command.
 */
import {parseAccount} from '../azure/account.js'
import {parseDurationInMs} from '../duration.js'
import type {DataMap} from './types.js'

/** One problem line (`field: what is wrong`) per value that cannot be read. */
export function checkValues(map: DataMap): string[] {
  const problems: string[] = []
  const accounts: Array<[string, string | undefined]> = [
    ['logs.archive.account', map.logs?.archive?.account],
    ['exports.account', map.exports?.account],
    ['audit.account', map.audit?.account],
  ]
  for (const [path, account] of accounts) {
    if (account === undefined) continue
    try {
      parseAccount(account)
    } catch (error) {
      problems.push(`${path}: ${(error as Error).message}`)
    }
  }

  const durations: Array<[string, string | undefined]> = [
    ...map.backups.flatMap((b, i): Array<[string, string | undefined]> => [
      [`backups[${i}].expect.every`, b.expect?.every],
      [`backups[${i}].expect.maxAge`, b.expect?.maxAge],
    ]),
    ['exports.linkExpiry', map.exports?.linkExpiry],
    ['erase.exportWindow', map.erase?.exportWindow],
    ['incident.warnWithin', map.incident?.warnWithin],
    ['access.staleAfter', map.access?.staleAfter],
  ]
  for (const [path, duration] of durations) {
    if (duration === undefined) continue
    try {
      parseDurationInMs(duration)
    } catch (error) {
      problems.push(`${path}: ${(error as Error).message}`)
    }
  }

  const urls: Array<[string, string | undefined]> = [
    ['keys.vault', map.keys?.vault],
    ['azure.resourceManager', map.azure?.resourceManager],
    ['azure.logAnalytics', map.azure?.logAnalytics],
    ['azure.graph', map.azure?.graph],
  ]
  for (const [path, url] of urls) {
    if (url !== undefined && !URL.canParse(url)) problems.push(`${path}: is not a URL`)
  }

  return problems
}
