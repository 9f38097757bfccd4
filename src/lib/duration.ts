/**
 * Durations and times given by people — on the command line or in the data map — are read here
 * and nowhere else: durations as `90s`, `26h`, `7d`, `2w`; times as ISO 8601 **with** a zone
 * (`2026-11-01T00:00:00Z`, `2026-11-01T01:00:00+01:00`), `now`, or relative (`-24h`, `7d ago`).
 *
 * A time without a zone is refused rather than read in the host's zone: the 72-hour incident
 * deadline and the range of a log bundle must not move with the `TZ` of whichever machine runs
 * the job. Impossible dates (30 February, month 13) are refused instead of rolled over.
 */

const unitsInMs: Record<string, number> = {ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000}

const durationPattern = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d|w)$/

/** The longest duration custos accepts: 100 years (any window, lifetime or look-back is far shorter). */
export const MAX_DURATION_IN_MS = 36_500 * 86_400_000

/**
 * Parses a duration such as `26h` into milliseconds; throws a RangeError naming the value when it
 * is not written like `90s`, `26h` or `7d`, or is longer than {@link MAX_DURATION_IN_MS}.
 */
export function parseDurationInMs(text: string): number {
  const match = durationPattern.exec(text.trim())
  if (!match) throw new RangeError(`"${text}" is not a duration (write it like 90s, 26h or 7d)`)
  const ms = Number(match[1]) * unitsInMs[match[2]]
  if (!Number.isFinite(ms) || ms > MAX_DURATION_IN_MS)
    throw new RangeError(`"${text}" is longer than custos accepts (at most 36500d, 100 years)`)
  return ms
}

function isDuration(text: string): boolean {
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

/**
 * Renders milliseconds as one duration that {@link parseDurationInMs} reads back to the same value,
 * in the largest unit that divides it (`7d`, `36h`, `10m`, `90s`, `0s`): how help shows a default.
 * Weeks are left out on purpose: operators and PRODUCT.md write `7d`.
 */
export function durationText(ms: number): string {
  if (ms === 0) return '0s'
  for (const unit of ['d', 'h', 'm', 's'] as const)
    if (ms % unitsInMs[unit] === 0) return `${ms / unitsInMs[unit]}${unit}`
  return `${ms}ms`
}

/**
 * `YYYY-MM-DD`, then `THH:MM[:SS[.fraction]]` (a space may stand for the `T`) and a zone (`Z` or
 * `±HH:MM`). The time and the zone are optional here only so that their absence can be named.
 */
const isoPattern =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?(?:(Z)|([+-])(\d{2}):?(\d{2}))?$/i

/**
 * Parses a time given by a person: ISO 8601 with a zone, `now`, or relative to `now` (`-24h`,
 * `7d ago`). Throws a RangeError naming the value for anything else: no time or no zone, an
 * impossible date or time of day, a relative time more than 100 years back.
 */
export function parseTime(text: string, now: Date = new Date()): Date {
  const trimmed = text.trim()
  if (trimmed === 'now') return now
  const relative = /^-(.+)$/.exec(trimmed) ?? /^(.+?) ago$/.exec(trimmed)
  if (relative && isDuration(relative[1])) {
    let back: number
    try {
      back = parseDurationInMs(relative[1])
    } catch {
      throw new RangeError(`"${text}" reaches further back than custos accepts (at most 36500d, 100 years)`)
    }

    return new Date(now.getTime() - back)
  }

  const m = isoPattern.exec(trimmed)
  if (!m) throw new RangeError(`"${text}" is not a time`)
  const [, y, mo, d, h, mi, s, fraction = '', zulu, sign, offH, offM] = m
  const [year, month, day] = [y, mo, d].map(Number)
  if (month < 1 || month > 12) throw new RangeError(`"${text}" is not a date: there is no month ${mo}`)
  if (day < 1 || day > daysInMonth(year, month))
    throw new RangeError(`"${text}" is not a date: ${y}-${mo} has no day ${d}`)
  if (h === undefined)
    throw new RangeError(`"${text}" is a date without a time of day (write ${y}-${mo}-${d}T00:00:00Z for midnight UTC)`)
  if (!zulu && !sign)
    throw new RangeError(
      `"${text}" has no time zone, and custos does not guess one (add Z for UTC, or an offset like +01:00)`,
    )
  const [hour, minute, second] = [h, mi, s ?? '0'].map(Number)
  if (hour > 23 || minute > 59 || second > 59)
    throw new RangeError(`"${text}" is not a time of day: ${h}:${mi}${s === undefined ? '' : `:${s}`}`)
  if (sign && (Number(offH) > 23 || Number(offM) > 59))
    throw new RangeError(`"${text}" has an impossible offset ${sign}${offH}:${offM}`)
  const offsetInMinutes = sign ? (sign === '-' ? -1 : 1) * (Number(offH) * 60 + Number(offM)) : 0
  const date = new Date(
    Date.UTC(year, month - 1, day, hour, minute, second, Math.floor(Number(`0.${fraction}`) * 1000)),
  )
  // Date.UTC reads the years 0-99 as 1900-1999; the year given is the year meant.
  if (year < 100) date.setUTCFullYear(year)
  return new Date(date.getTime() - offsetInMinutes * 60_000)
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

function daysInMonth(year: number, month: number): number {
  return month === 2 && isLeapYear(year) ? 29 : DAYS_IN_MONTH[month - 1]
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0
}
