/**
 * The state of every incident is the fold of its audit records, read back in chain order. The
 * fold is pure (no I/O), so it is tested without storage; `IncidentLog` (log.ts) feeds it the trail.
 * Records it cannot place (an update before its open, an unknown action) are skipped and counted,
 * never guessed at: `audit trail --verify` is the place that says whether the trail was altered.
 */
import type {AuditRecord} from '../audit/trail.js'
import {
  FACT_NAMES,
  INCIDENT_ACTIONS,
  NOTIFICATION_WINDOW_IN_MS,
  type CloseDetails,
  type EvidenceDetails,
  type Incident,
  type IncidentAction,
  type IncidentFacts,
  type NotifyDetails,
  type OpenDetails,
  type UpdateDetails,
} from './types.js'

export interface FoldResult {
  /** by id, in the order they were opened */
  incidents: Map<string, Incident>
  /** incident records that could not be applied (e.g. an update of an id never opened) */
  skipped: Array<{seq: number; action: string; reason: string}>
}

export function isIncidentRecord(
  record: AuditRecord | undefined,
): record is AuditRecord & {action: IncidentAction; details: {incident: string}} {
  return Boolean(
    record &&
    (INCIDENT_ACTIONS as readonly string[]).includes(record.action) &&
    record.details &&
    typeof (record.details as {incident?: unknown}).incident === 'string',
  )
}

function deadlineOf(detectedAt: string | Date): string {
  const ms =
    (typeof detectedAt === 'string' ? Date.parse(detectedAt) : detectedAt.getTime()) + NOTIFICATION_WINDOW_IN_MS
  return new Date(ms).toISOString()
}

/** Copies the known fact fields of `from` over `into` (undefined leaves a field as it is). */
function mergeFacts(into: IncidentFacts, from: IncidentFacts | undefined): IncidentFacts {
  const out: IncidentFacts = {...into}
  if (!from) return out
  for (const name of FACT_NAMES) {
    const value = from[name]
    if (value !== undefined) (out as Record<string, unknown>)[name] = Array.isArray(value) ? [...value] : value
  }

  return out
}

/** The facts a notice to `customer` uses: the incident's, overridden by the customer's own. */
export function factsFor(incident: Incident, customer: string): IncidentFacts {
  return mergeFacts(incident.facts, incident.customerFacts[customer])
}

/** Folds audit records (any records; non-incident ones are ignored) into incidents. */
export class IncidentFolder {
  readonly incidents = new Map<string, Incident>()
  readonly skipped: FoldResult['skipped'] = []

  add(record: AuditRecord | undefined): void {
    if (!isIncidentRecord(record)) return
    const id = record.details.incident
    const skip = (reason: string): void => {
      this.skipped.push({seq: record.seq, action: record.action, reason})
    }

    const existing = this.incidents.get(id)
    if (record.action === 'incident.open') {
      if (existing) return skip(`incident ${id} was already opened`)
      const d = record.details as unknown as OpenDetails
      if (typeof d.detectedAt !== 'string' || Number.isNaN(Date.parse(d.detectedAt)))
        return skip('the open record has no valid detection time')
      this.incidents.set(id, {
        id,
        status: 'open',
        summary: String(d.summary ?? ''),
        detectedAt: d.detectedAt,
        deadline: deadlineOf(d.detectedAt),
        openedAt: record.time,
        openedBy: record.actor,
        customers: [...new Set(Array.isArray(d.customers) ? d.customers : [])],
        facts: mergeFacts({}, d.facts),
        customerFacts: {},
        notices: [],
        evidence: [],
        history: [],
      })
      this.history(record)
      return
    }

    if (!existing) return skip(`incident ${id} was never opened`)
    const incident = existing
    switch (record.action) {
      case 'incident.update': {
        const d = record.details as unknown as UpdateDetails
        if (typeof d.detectedAt === 'string' && !Number.isNaN(Date.parse(d.detectedAt))) {
          incident.detectedAt = d.detectedAt
          incident.deadline = deadlineOf(d.detectedAt)
        }

        if (typeof d.summary === 'string') incident.summary = d.summary
        if (Array.isArray(d.addCustomers))
          for (const c of d.addCustomers) if (!incident.customers.includes(c)) incident.customers.push(c)
        if (Array.isArray(d.removeCustomers))
          incident.customers = incident.customers.filter((c) => !d.removeCustomers!.includes(c))
        incident.facts = mergeFacts(incident.facts, d.facts)
        for (const [customer, facts] of Object.entries(d.customerFacts ?? {})) {
          incident.customerFacts[customer] = mergeFacts(incident.customerFacts[customer] ?? {}, facts)
        }

        break
      }

      case 'incident.notify': {
        const d = record.details as unknown as NotifyDetails
        if (!record.customer) return skip('the notice record names no customer')
        incident.notices.push({
          customer: record.customer,
          at: record.time,
          by: record.actor,
          lang: String(d.lang),
          template: String(d.template),
          late: Date.parse(record.time) > Date.parse(incident.deadline),
          sha256: d.text?.sha256 ?? '',
          seq: record.seq,
        })
        break
      }

      case 'incident.evidence': {
        const d = record.details as unknown as EvidenceDetails
        incident.evidence.push({
          at: record.time,
          by: record.actor,
          file: String(d.file),
          sha256: String(d.sha256),
          signed: Boolean(d.signed),
          window: d.window,
          seq: record.seq,
        })
        break
      }

      case 'incident.close': {
        const d = record.details as unknown as CloseDetails
        incident.status = 'closed'
        incident.closedAt = record.time
        incident.closedBy = record.actor
        incident.resolution = String(d.resolution ?? '')
        break
      }
    }

    this.history(record)
  }

  result(): FoldResult {
    return {incidents: this.incidents, skipped: this.skipped}
  }

  private history(record: AuditRecord & {action: IncidentAction; details: {incident: string}}): void {
    this.incidents.get(record.details.incident)!.history.push({
      seq: record.seq,
      time: record.time,
      actor: record.actor,
      action: record.action,
      ...(record.customer ? {customer: record.customer} : {}),
      hash: record.hash,
    })
  }
}

/** Folds a sequence of records (convenience for tests and small inputs). */
export function foldIncidents(records: Iterable<AuditRecord | undefined>): FoldResult {
  const folder = new IncidentFolder()
  for (const r of records) folder.add(r)
  return folder.result()
}

/** The first notice to each customer (later ones are re-sends and do not move the clock). */
export function firstNotices(incident: Incident): Map<string, Incident['notices'][number]> {
  const out = new Map<string, Incident['notices'][number]>()
  for (const n of incident.notices) if (!out.has(n.customer)) out.set(n.customer, n)
  return out
}
