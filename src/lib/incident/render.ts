/**
 * Text renderings of incidents for a terminal: the clock line after open/update, the list table and
 * the full `show` view. Colour comes from the caller's chalk (none when stdout is not a terminal).
 */
import type {ChalkInstance} from 'chalk'

import {renderTable} from '../output/table.js'
import {timeLeftText, utcText, type ClockState, type CustomerClock, type IncidentStatus} from './clock.js'
import {factsFor} from './fold.js'
import {missingItems} from './notice.js'
import type {IncidentList} from './status.js'
import type {Incident} from './types.js'

function paintState(paint: ChalkInstance, state: ClockState | IncidentStatus['state'], text: string = state): string {
  switch (state) {
    case 'overdue':
    case 'notified-late': {
      return paint.red.bold(text)
    }

    case 'warning': {
      return paint.yellow(text)
    }

    case 'ok':
    case 'notified': {
      return paint.green(text)
    }

    default: {
      return paint.dim(text)
    }
  }
}

function clockText(paint: ChalkInstance, c: CustomerClock): string {
  if (c.notifiedAt)
    return paintState(
      paint,
      c.state,
      `notified ${utcText(c.notifiedAt)}${c.state === 'notified-late' ? ' (late)' : ''}`,
    )
  if (c.state === 'closed') return paint.dim('closed without notice')
  return paintState(paint, c.state, timeLeftText(c.timeLeftInMs))
}

/** The two lines an operator needs after open/update: the deadline in UTC and locally, and the time left. */
export function renderClock(status: IncidentStatus, paint: ChalkInstance): string {
  return [
    `Detected:  ${utcText(status.detectedAt.utc)}  =  ${status.detectedAt.text} (${status.detectedAt.timeZone})`,
    `Deadline:  ${paint.bold(utcText(status.deadline.utc))}  =  ${paint.bold(status.deadline.text)} (${status.deadline.timeZone})  — detection + 72 h`,
    `Clock:     ${paintState(paint, status.state, status.state === 'notified' ? 'every affected customer notified' : status.state === 'closed' ? 'closed' : timeLeftText(status.timeLeftInMs))}`,
  ].join('\n')
}

export function renderList(list: IncidentList, paint: ChalkInstance): string {
  if (list.incidents.length === 0) return paint.green('No open incident.')
  const rows = list.incidents.flatMap((s) =>
    s.customers.map((c, i) => [
      i === 0 ? s.id : '',
      i === 0 ? s.summary.slice(0, 40) + (s.summary.length > 40 ? '…' : '') : '',
      i === 0 ? s.deadline.text : '',
      i === 0 ? utcText(s.deadline.utc) : '',
      c.customer ?? paint.italic('(none named yet)'),
      paintState(paint, c.state),
      clockText(paint, c),
    ]),
  )
  const t = list.totals
  const footer = `${t.open} open (${paintState(paint, 'overdue', `${t.overdue} overdue`)}, ${paintState(paint, 'warning', `${t.warning} due within the warning window`)}, ${t.notified} fully notified), ${t.pendingCustomers} customer notice(s) pending${t.closed ? `, ${t.closed} closed shown` : ''}.`
  return `${renderTable(['incident', 'summary', `deadline (${list.timeZone})`, 'deadline (UTC)', 'customer', 'state', 'notice'], rows)}\n${footer}`
}

/** `defaultContact`: the data map's incident.contact, used where the incident sets none. */
export function renderIncident(
  incident: Incident,
  status: IncidentStatus,
  paint: ChalkInstance,
  defaultContact?: string,
): string {
  const lines = [
    paint.bold(`Incident ${incident.id}`) +
      `  ${paintState(paint, status.state, status.status === 'closed' ? 'closed' : status.state)}`,
    `Summary:   ${incident.summary}`,
    `Opened:    ${utcText(incident.openedAt)} by ${incident.openedBy}`,
    renderClock(status, paint),
  ]
  if (incident.closedAt)
    lines.push(`Closed:    ${utcText(incident.closedAt)} by ${incident.closedBy}: ${incident.resolution}`)
  lines.push(
    '',
    renderTable(
      ['customer', 'state', 'notice'],
      status.customers.map((c) => [c.customer ?? '(none named yet)', paintState(paint, c.state), clockText(paint, c)]),
      {title: paint.bold('Affected customers')},
    ),
  )
  const facts = incident.facts
  const show = (v: unknown) =>
    v === undefined || (Array.isArray(v) && v.length === 0) || v === ''
      ? paint.yellow('(not set)')
      : Array.isArray(v)
        ? v.join(', ')
        : String(v)
  lines.push(
    '',
    paint.bold('Notice facts (GDPR Art. 33(3))'),
    `  nature:              ${show(facts.nature)}`,
    `  subject categories:  ${show(facts.subjectCategories)}`,
    `  data subjects:       ${show(facts.subjects)}`,
    `  data categories:     ${show(facts.dataCategories)}`,
    `  records:             ${show(facts.records)}`,
    `  consequences:        ${show(facts.consequences)}`,
    `  measures:            ${show(facts.measures)}`,
    `  contact:             ${facts.contact || (defaultContact ? `${defaultContact} (incident.contact)` : show(undefined))}`,
  )
  for (const [customer, own] of Object.entries(incident.customerFacts)) {
    lines.push(
      `  for ${customer}: ${Object.entries(own)
        .map(([k, v]) => `${k} ${Array.isArray(v) ? v.join(', ') : v}`)
        .join('; ')}`,
    )
  }

  const incomplete = incident.customers.filter(
    (c) => missingItems({contact: defaultContact, ...withoutEmpty(factsFor(incident, c))}).length > 0,
  )
  if (incomplete.length > 0)
    lines.push(
      paint.yellow(`  A notice cannot be rendered yet for: ${incomplete.join(', ')} (see the items marked "not set").`),
    )
  if (incident.evidence.length > 0) {
    lines.push(
      '',
      renderTable(
        ['collected', 'by', 'window', 'file', 'signed'],
        incident.evidence.map((e) => [
          utcText(e.at),
          e.by,
          `${e.window.since.slice(0, 16)}Z – ${e.window.until.slice(0, 16)}Z`,
          e.file,
          e.signed ? 'yes' : 'no',
        ]),
        {title: paint.bold('Evidence')},
      ),
    )
  }

  lines.push(
    '',
    renderTable(
      ['seq', 'time', 'actor', 'action', 'customer'],
      incident.history.map((h) => [h.seq, h.time, h.actor, h.action, h.customer ?? '']),
      {title: paint.bold('Audit records')},
    ),
  )
  return lines.join('\n')
}

function withoutEmpty<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== '')) as Partial<T>
}
