/** Durations are written once, the same way everywhere: `90s`, `26h`, `7d`, `2w`. */

const unitsInMs: Record<string, number> = {ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000}

const durationPattern = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d|w)$/

/** Parses a duration such as `26h` into milliseconds; throws a RangeError naming the value. */
export function parseDurationInMs(text: string): number {
  const match = durationPattern.exec(text.trim())
  if (!match) throw new RangeError(`"${text}" is not a duration (write it like 90s, 26h or 7d)`)
  return Number(match[1]) * unitsInMs[match[2]]
}

export function isDuration(text: string): boolean {
  return durationPattern.test(text.trim())
}

/** Renders milliseconds as the largest whole unit pair, e.g. `1d 2h`, `5m 3s`, `850ms`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`
  const parts: string[] = []
  let rest = Math.round(ms / 1000)
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`)
      rest %= size
    }

    if (parts.length === 2) break
  }

  return parts.join(' ')
}

/** Parses a time given on the command line: ISO 8601, or relative to now (`-24h`, `7d` ago). */
export function parseTime(text: string, now: Date = new Date()): Date {
  const trimmed = text.trim()
  if (trimmed === 'now') return now
  const relative = /^-?(.+?)( ago)?$/.exec(trimmed)
  if (relative && isDuration(relative[1]) && (trimmed.startsWith('-') || relative[2])) {
    return new Date(now.getTime() - parseDurationInMs(relative[1]))
  }

  const date = new Date(trimmed)
  if (Number.isNaN(date.getTime()))
    throw new RangeError(`"${text}" is not a time (use ISO 8601 like 2026-11-01T00:00:00Z, or -24h)`)
  return date
}
