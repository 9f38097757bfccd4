/**
 * `incident list` / `show`: where every clock stands, the exit code a scheduled job alerts on, and
 * the one-line Nagios plugin output (https://nagios-plugins.org/doc/guidelines.html#AEN200).
 */
import type {AzureClients} from '../azure/clients.js'
import type {DataMap} from '../datamap/types.js'
import {formatDuration, parseDurationInMs} from '../duration.js'
import {ExitCode} from '../errors.js'
import {nagiosOutput, type NagiosOutput, type NagiosState} from '../output/nagios.js'
import {assertTimeZone, byUrgency, incidentStatus, needsAttention, timeLeftText, type IncidentStatus} from './clock.js'
import {IncidentLog} from './log.js'
import type {Incident} from './types.js'

export interface IncidentListOptions {
  /** include closed incidents */
  all?: boolean
  /** default: incident.warnWithin of the data map */
  warnWithinInMs?: number
  now?: Date
}

export interface IncidentListTotals {
  open: number
  ok: number
  warning: number
  overdue: number
  /** open incidents whose every affected customer was notified */
  notified: number
  closed: number
  /** affected customers of open incidents still waiting for a notice */
  pendingCustomers: number
}

export interface IncidentList {
  now: string
  timeZone: string
  warnWithinInMs: number
  incidents: IncidentStatus[]
  totals: IncidentListTotals
  /** incident records the fold could not place */
  skippedRecords: number
}

/** The clock settings of the data map, checked: the zone must exist. */
export function clockSettings(map: DataMap, warnWithinInMs?: number): {timeZone: string; warnWithinInMs: number} {
  return {
    timeZone: assertTimeZone(map.incident.timeZone),
    warnWithinInMs: warnWithinInMs ?? parseDurationInMs(map.incident.warnWithin),
  }
}

export function summarize(statuses: IncidentStatus[]): IncidentListTotals {
  const totals: IncidentListTotals = {
    open: 0,
    ok: 0,
    warning: 0,
    overdue: 0,
    notified: 0,
    closed: 0,
    pendingCustomers: 0,
  }
  for (const s of statuses) {
    if (s.status === 'closed') {
      totals.closed++
      continue
    }

    totals.open++
    totals[s.state as 'ok' | 'warning' | 'overdue' | 'notified']++
    totals.pendingCustomers += s.customers.filter(
      (c) => c.customer !== null && (c.state === 'ok' || c.state === 'warning' || c.state === 'overdue'),
    ).length
  }

  return totals
}

/** Evaluates already folded incidents (pure; used by list and by tests). */
export function evaluateIncidents(
  incidents: Iterable<Incident>,
  options: {now: Date; warnWithinInMs: number; timeZone: string; all?: boolean},
): IncidentStatus[] {
  const out: IncidentStatus[] = []
  for (const incident of incidents) {
    if (incident.status === 'closed' && !options.all) continue
    out.push(incidentStatus(incident, options))
  }

  return out.sort(byUrgency)
}

/** Reads the trail and says where every open (or, with `all`, every) incident's clock stands. */
export async function listIncidents(
  clients: AzureClients,
  map: DataMap,
  options: IncidentListOptions = {},
): Promise<IncidentList> {
  const now = options.now ?? new Date()
  const settings = clockSettings(map, options.warnWithinInMs)
  const {incidents, skipped} = await new IncidentLog(clients, map).readAll()
  const statuses = evaluateIncidents(incidents.values(), {now, ...settings, all: options.all})
  return {
    now: now.toISOString(),
    ...settings,
    incidents: statuses,
    totals: summarize(statuses),
    skippedRecords: skipped.length,
  }
}

/** 1 when any open incident is overdue or inside the warning window, else 0. */
export function exitCodeOf(statuses: IncidentStatus[]): number {
  return statuses.some(needsAttention) ? ExitCode.findings : ExitCode.ok
}

function pendingOf(s: IncidentStatus): string[] {
  return s.customers
    .filter((c) => c.state === 'ok' || c.state === 'warning' || c.state === 'overdue')
    .map((c) => c.customer ?? 'customers not yet known')
}

function describe(s: IncidentStatus): string {
  const pending = pendingOf(s)
  const shown = pending.slice(0, 3).join(', ') + (pending.length > 3 ? ` and ${pending.length - 3} more` : '')
  return `${s.id} ${timeLeftText(s.timeLeftInMs)} (deadline ${s.deadline.utc.slice(0, 16)}Z; not notified: ${shown})`
}

/**
 * `INCIDENTS CRITICAL - 1 overdue: … | open=2;;;0 …` and the plugin exit code: 0 OK, 1 WARNING
 * (a deadline inside the warning window), 2 CRITICAL (a deadline passed without notice), 3 UNKNOWN.
 */
export function nagiosLine(list: IncidentList): NagiosOutput {
  const t = list.totals
  const open = list.incidents.filter((s) => s.status === 'open')
  const overdue = open.filter((s) => s.state === 'overdue')
  const warning = open.filter((s) => s.state === 'warning')
  let state: NagiosState
  const parts: string[] = []
  if (overdue.length > 0) {
    state = 'CRITICAL'
    parts.push(`${overdue.length} overdue: ${overdue.slice(0, 3).map(describe).join('; ')}`)
  } else {
    state = warning.length > 0 ? 'WARNING' : 'OK'
  }

  if (warning.length > 0)
    parts.push(
      `${warning.length} due within ${formatDuration(list.warnWithinInMs)}: ${warning.slice(0, 3).map(describe).join('; ')}`,
    )
  if (parts.length === 0) {
    const pending = open.filter((s) => s.state === 'ok')
    const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`
    if (open.length === 0) parts.push('no open incident')
    else if (pending.length === 0)
      parts.push(`${plural(open.length, 'open incident')}, every affected customer notified`)
    else
      parts.push(
        `${plural(open.length, 'open incident')}, ${plural(t.pendingCustomers, 'customer notice')} pending, next deadline in ${timeLeftText(Math.min(...pending.map((s) => s.timeLeftInMs))).replace(' left', '')}`,
      )
  }

  return nagiosOutput('INCIDENTS', state, parts.join('; '), perfdata(list))
}

/** The line for a run that could not read the incidents (configuration or Azure failure). */
export function nagiosUnknown(message: string): NagiosOutput {
  return nagiosOutput('INCIDENTS', 'UNKNOWN', message)
}

function perfdata(list: IncidentList): string {
  const t = list.totals
  // overdue > 0 is CRITICAL and warning > 0 a WARNING, as the state says
  const out = [
    `open=${t.open};;;0`,
    `overdue=${t.overdue};;0;0`,
    `warning=${t.warning};0;;0`,
    `pending_customers=${t.pendingCustomers};;;0`,
  ]
  const pending = list.incidents.filter(
    (s) => s.status === 'open' && (s.state === 'ok' || s.state === 'warning' || s.state === 'overdue'),
  )
  if (pending.length > 0) {
    // The least time left of any pending notice; WARNING below the warning window, CRITICAL below 0.
    const least = Math.min(...pending.map((s) => s.timeLeftInMs))
    out.push(`time_left=${Math.round(least / 1000)}s;${Math.round(list.warnWithinInMs / 1000)}:;0:;;`)
  }

  return out.join(' ')
}
