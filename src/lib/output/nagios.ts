/**
 * The one-line Nagios plugin output (https://nagios-plugins.org/doc/guidelines.html#AEN200) of
 * `backups verify --format nagios` and `incident list --format nagios`:
 * `SERVICE STATE - text | perfdata`, with the plugin exit code of the state.
 */

export type NagiosState = 'OK' | 'WARNING' | 'CRITICAL' | 'UNKNOWN'

export interface NagiosOutput {
  line: string
  exitCode: 0 | 1 | 2 | 3
}

const EXIT_CODES: Record<NagiosState, NagiosOutput['exitCode']> = {OK: 0, WARNING: 1, CRITICAL: 2, UNKNOWN: 3}

/** The longest status text of one line. */
const TEXT_LENGTH = 1000

/** Text a Nagios line may carry: no line breaks, no `|` (it starts the performance data); at most `max` characters. */
export function nagiosText(text: string, max = TEXT_LENGTH): string {
  const flat = text.replaceAll(/[\r\n]+/g, ' ').replaceAll('|', '/')
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat
}

/** `SERVICE STATE - text | perfdata` (no ` | ` without performance data) and the state's exit code. */
export function nagiosOutput(service: string, state: NagiosState, text: string, perfdata?: string): NagiosOutput {
  return {
    line: `${service} ${state} - ${nagiosText(text)}${perfdata ? ` | ${perfdata}` : ''}`,
    exitCode: EXIT_CODES[state],
  }
}
