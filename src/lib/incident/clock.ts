/**
 * The 72-hour clock. The deadline is an instant (detection + 72 h of elapsed time), never "the same
 * wall-clock time three days later": across the October change in Europe/Berlin a detection at
 * 12:00 CEST has its deadline at 11:00 CET. Times are shown in UTC and in `incident.timeZone`
 * through Intl.DateTimeFormat (the zone database of the running Node).
 */
import {configError} from '../errors.js'
import {wallClockFormat} from '../wall-clock.js'
import {firstNotices} from './fold.js'
import type {Incident} from './types.js'

/** An instant, as UTC and as wall-clock time in a zone. */
export interface ZonedTime {
  /** ISO 8601 UTC, e.g. 2026-10-27T10:00:00.000Z */
  utc: string
  /** ISO 8601 with the zone's offset, e.g. 2026-10-27T11:00:00+01:00 */
  local: string
  timeZone: string
  /** CET, CEST, or GMT+9 where the zone has no common abbreviation */
  abbreviation: string
  /** for people: `2026-10-27 11:00 CET` */
  text: string
}

const formatters = new Map<string, Intl.DateTimeFormat>()

function formatter(timeZone: string, timeZoneName: 'short' | 'longOffset'): Intl.DateTimeFormat {
  const key = `${timeZone}|${timeZoneName}`
  let f = formatters.get(key)
  if (!f) {
    // en-GB: the zone's common abbreviation (CET, CEST) where en-US would say GMT+1
    f = wallClockFormat(timeZone, 'en-GB', timeZoneName)
    formatters.set(key, f)
  }

  return f
}

/** Throws a configuration error (exit 2) naming the field when `timeZone` is not an IANA zone Node knows. */
export function assertTimeZone(timeZone: string, field = 'incident.timeZone'): string {
  try {
    formatter(timeZone, 'short')
  } catch {
    throw configError(
      `${field} "${timeZone}" is not a time zone this Node.js knows.`,
      [],
      'Use an IANA zone name such as Europe/Berlin or UTC.',
    )
  }

  return timeZone
}

export function zonedTime(instant: Date | string, timeZone: string): ZonedTime {
  const date = typeof instant === 'string' ? new Date(instant) : instant
  const parts = Object.fromEntries(
    formatter(timeZone, 'short')
      .formatToParts(date)
      .map((p) => [p.type, p.value]),
  )
  const offsetName =
    formatter(timeZone, 'longOffset')
      .formatToParts(date)
      .find((p) => p.type === 'timeZoneName')?.value ?? 'GMT'
  // "GMT+01:00" → "+01:00"; plain "GMT" is UTC
  const offset = offsetName === 'GMT' ? '+00:00' : offsetName.replace('GMT', '')
  const day = `${parts.year}-${parts.month}-${parts.day}`
  const clock = `${parts.hour}:${parts.minute}`
  return {
    utc: date.toISOString(),
    local: `${day}T${clock}:${parts.second}${offset}`,
    timeZone,
    abbreviation: parts.timeZoneName ?? offsetName,
    text: `${day} ${clock} ${parts.timeZoneName ?? offsetName}`,
  }
}

/** `2026-10-27 10:00 UTC` */
export function utcText(instant: Date | string): string {
  const iso = (typeof instant === 'string' ? new Date(instant) : instant).toISOString()
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`
}

/**
 * Where one clock stands: `ok`, `warning` (less than the warning window left), `overdue`,
 * `notified` (in time) or `notified-late`, and `closed` for a closed incident's unnotified customers.
 */
export type ClockState = 'ok' | 'warning' | 'overdue' | 'notified' | 'notified-late' | 'closed'

export interface CustomerClock {
  /** the customer, or null while the incident names no affected customer yet (the clock runs anyway) */
  customer: string | null
  state: ClockState
  /** deadline − now; negative when overdue (also set once notified, for the record) */
  timeLeftInMs: number
  notifiedAt?: string
  notifiedBy?: string
  lang?: string
}

export type IncidentState = 'ok' | 'warning' | 'overdue' | 'notified' | 'closed'

export interface IncidentStatus {
  id: string
  status: Incident['status']
  summary: string
  /** worst clock of the incident: overdue > warning > ok > notified; `closed` once closed */
  state: IncidentState
  detectedAt: ZonedTime
  deadline: ZonedTime
  timeLeftInMs: number
  openedAt: string
  openedBy: string
  customers: CustomerClock[]
  closedAt?: string
}

export interface ClockOptions {
  now: Date
  warnWithinInMs: number
  timeZone: string
}

const RANK: Record<IncidentState, number> = {overdue: 0, warning: 1, ok: 2, notified: 3, closed: 4}

function pendingState(timeLeftInMs: number, warnWithinInMs: number): 'ok' | 'warning' | 'overdue' {
  if (timeLeftInMs < 0) return 'overdue'
  if (timeLeftInMs <= warnWithinInMs) return 'warning'
  return 'ok'
}

/** Where the clock of `incident` and of each affected customer stands at `options.now`. */
export function incidentStatus(incident: Incident, options: ClockOptions): IncidentStatus {
  const timeLeftInMs = Date.parse(incident.deadline) - options.now.getTime()
  const notices = firstNotices(incident)
  const closed = incident.status === 'closed'
  const customers: CustomerClock[] = incident.customers.map((customer) => {
    const notice = notices.get(customer)
    if (notice)
      return {
        customer,
        state: notice.late ? 'notified-late' : 'notified',
        timeLeftInMs,
        notifiedAt: notice.at,
        notifiedBy: notice.by,
        lang: notice.lang,
      }
    return {customer, state: closed ? 'closed' : pendingState(timeLeftInMs, options.warnWithinInMs), timeLeftInMs}
  })
  if (customers.length === 0)
    customers.push({
      customer: null,
      state: closed ? 'closed' : pendingState(timeLeftInMs, options.warnWithinInMs),
      timeLeftInMs,
    })
  let state: IncidentState = 'notified'
  if (closed) state = 'closed'
  else
    for (const c of customers)
      if (c.state === 'ok' || c.state === 'warning' || c.state === 'overdue')
        state = RANK[c.state] < RANK[state] ? c.state : state
  return {
    id: incident.id,
    status: incident.status,
    summary: incident.summary,
    state,
    detectedAt: zonedTime(incident.detectedAt, options.timeZone),
    deadline: zonedTime(incident.deadline, options.timeZone),
    timeLeftInMs,
    openedAt: incident.openedAt,
    openedBy: incident.openedBy,
    customers,
    ...(incident.closedAt ? {closedAt: incident.closedAt} : {}),
  }
}

/** True when the incident needs attention: open, a customer not notified, and overdue or inside the warning window. */
export function needsAttention(status: IncidentStatus): boolean {
  return status.state === 'warning' || status.state === 'overdue'
}

/** Orders statuses worst first, then by deadline. */
export function byUrgency(a: IncidentStatus, b: IncidentStatus): number {
  return RANK[a.state] - RANK[b.state] || Date.parse(a.deadline.utc) - Date.parse(b.deadline.utc)
}

/** `2d 3h left`, `5h 10m overdue` */
export function timeLeftText(ms: number): string {
  const abs = Math.abs(ms)
  const minutes = Math.floor(abs / 60_000)
  const d = Math.floor(minutes / 1440)
  const h = Math.floor((minutes % 1440) / 60)
  const m = minutes % 60
  const text = d > 0 ? `${d}d ${h}h` : h > 0 ? `${h}h ${m}m` : `${m}m`
  return ms < 0 ? `${text} overdue` : `${text} left`
}
