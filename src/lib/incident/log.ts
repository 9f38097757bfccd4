/**
 * Incidents in the audit trail: every change is one `incident.*` record appended with
 * {@link AuditTrail.append}; reading folds the records back (fold.ts). Nothing is kept anywhere
 * else, so an incident recorded on one machine is seen, with its clock, on every other.
 */
import {randomBytes} from 'node:crypto'

import {AuditTrail, type AuditRecord} from '../audit/trail.js'
import type {AzureClients} from '../azure/clients.js'
import type {DataMap} from '../datamap/types.js'
import {CustosError, ExitCode, refusedError, usageError} from '../errors.js'
import {assertCustomerId} from '../scope.js'
import {IncidentFolder, type FoldResult} from './fold.js'
import {
  FACT_NAMES,
  INCIDENT_RECORD_VERSION,
  type CloseDetails,
  type EvidenceDetails,
  type Incident,
  type IncidentFacts,
  type NotifyDetails,
  type OpenDetails,
  type UpdateDetails,
} from './types.js'

/** Longest free text accepted for one field: the whole record must stay under the trail's 64 KiB. */
const MAX_TEXT_LENGTH = 4000
const MAX_LIST_ITEMS = 200
/** a detection time this far in the future is a typo, not clock skew */
const MAX_FUTURE_SKEW_IN_MS = 5 * 60_000

export interface OpenIncidentInput {
  detectedAt: Date
  summary: string
  customers?: string[]
  facts?: IncidentFacts
}

export interface UpdateIncidentInput {
  detectedAt?: Date
  summary?: string
  addCustomers?: string[]
  removeCustomers?: string[]
  facts?: IncidentFacts
  /** apply `facts` to this customer only */
  forCustomer?: string
}

export class IncidentLog {
  readonly trail: AuditTrail

  constructor(
    clients: AzureClients,
    private readonly map: DataMap,
    options: {trail?: AuditTrail} = {},
  ) {
    this.trail = options.trail ?? new AuditTrail(clients)
  }

  /** Reads the trail once and folds every incident record. */
  async readAll(): Promise<FoldResult> {
    return (await this.fold()).result()
  }

  /** The incident with `id` (case-insensitive); a usage error (exit 2) naming it when there is none. */
  async get(id: string): Promise<Incident> {
    return this.find(await this.fold(), id)
  }

  private async fold(): Promise<IncidentFolder> {
    const folder = new IncidentFolder()
    for await (const {record} of this.trail.read()) folder.add(record)
    return folder
  }

  private find(folder: IncidentFolder, id: string): Incident {
    const incident = folder.incidents.get(id.trim().toLowerCase())
    if (!incident) {
      throw new CustosError(`Incident ${JSON.stringify(id)} is not in the audit trail (${this.trail.location}).`, {
        code: 'IncidentNotFound',
        exitCode: ExitCode.usage,
        hint: 'List incidents with `custos incident list --all`; ids look like inc-20261024-7f3a9c.',
      })
    }

    return incident
  }

  async open(input: OpenIncidentInput, now: Date = new Date()): Promise<{incident: Incident; record: AuditRecord}> {
    checkDetection(input.detectedAt, now)
    const summary = checkText('--summary', input.summary, true)!
    const customers = this.checkCustomers(input.customers ?? [])
    const facts = checkFacts(input.facts ?? {})
    const {incidents} = await this.fold()
    let id: string
    do id = newIncidentId(input.detectedAt)
    while (incidents.has(id))
    const details: OpenDetails = {
      incident: id,
      v: INCIDENT_RECORD_VERSION,
      detectedAt: input.detectedAt.toISOString(),
      summary,
      customers,
      facts,
    }
    const record = await this.trail.append(
      {action: 'incident.open', result: 'recorded', details: details as unknown as Record<string, unknown>},
      () => now,
    )
    const folder = new IncidentFolder()
    folder.add(record)
    return {incident: folder.incidents.get(id)!, record}
  }

  async update(
    id: string,
    input: UpdateIncidentInput,
    now: Date = new Date(),
  ): Promise<{incident: Incident; record: AuditRecord}> {
    const folder = await this.fold()
    const incident = this.find(folder, id)
    assertOpen(incident, 'updated')
    const details: UpdateDetails = {incident: incident.id, v: INCIDENT_RECORD_VERSION}
    if (input.detectedAt) {
      checkDetection(input.detectedAt, now)
      details.detectedAt = input.detectedAt.toISOString()
    }

    if (input.summary !== undefined) details.summary = checkText('--summary', input.summary, true)
    if (input.addCustomers?.length) details.addCustomers = this.checkCustomers(input.addCustomers)
    if (input.removeCustomers?.length) {
      const unknown = input.removeCustomers.filter((c) => !incident.customers.includes(c))
      if (unknown.length > 0)
        throw usageError(
          `Incident ${incident.id} does not name ${unknown.join(', ')} as affected, so ${unknown.length === 1 ? 'it' : 'they'} cannot be removed.`,
          `Affected customers: ${incident.customers.join(', ') || 'none yet'}.`,
        )
      details.removeCustomers = [...new Set(input.removeCustomers)]
    }

    const facts = checkFacts(input.facts ?? {})
    if (Object.keys(facts).length > 0) {
      if (input.forCustomer) {
        const customer = assertCustomerId(input.forCustomer, this.map.customers.idPattern)
        const affected = new Set([...incident.customers, ...(details.addCustomers ?? [])])
        if (!affected.has(customer))
          throw usageError(
            `--for ${customer}: the customer is not affected by incident ${incident.id}.`,
            'Add it with --customer first (in the same update is fine).',
          )
        details.customerFacts = {[customer]: facts}
      } else {
        details.facts = facts
      }
    } else if (input.forCustomer) {
      throw usageError(
        '--for names a customer, but no fact to set for it was given.',
        'Give --subjects, --records or another fact flag with --for.',
      )
    }

    if (Object.keys(details).length <= 2)
      throw usageError(
        `Nothing to update for incident ${incident.id}.`,
        'Give at least one flag, e.g. --measures "…" or --customer acme.',
      )
    const record = await this.trail.append(
      {action: 'incident.update', result: 'recorded', details: details as unknown as Record<string, unknown>},
      () => now,
    )
    folder.add(record)
    return {incident: this.find(folder, incident.id), record}
  }

  /** Records that a notice was issued to `customer` (its text and HTML by hash). */
  async recordNotice(
    incident: Incident,
    customer: string,
    details: Omit<NotifyDetails, 'incident' | 'v'>,
    now: Date = new Date(),
  ): Promise<AuditRecord> {
    const body: NotifyDetails = {incident: incident.id, v: INCIDENT_RECORD_VERSION, ...details}
    return this.trail.append(
      {action: 'incident.notify', result: 'recorded', customer, details: body as unknown as Record<string, unknown>},
      () => now,
    )
  }

  async recordEvidence(
    incident: Incident,
    details: Omit<EvidenceDetails, 'incident' | 'v'>,
    now: Date = new Date(),
  ): Promise<AuditRecord> {
    const body: EvidenceDetails = {incident: incident.id, v: INCIDENT_RECORD_VERSION, ...details}
    return this.trail.append(
      {action: 'incident.evidence', result: 'recorded', details: body as unknown as Record<string, unknown>},
      () => now,
    )
  }

  /**
   * Closes the incident. Refuses (exit 3) while an affected customer has not been notified, unless
   * `allowUnnotified` — the close record then names those customers.
   */
  async close(
    id: string,
    input: {resolution: string; allowUnnotified?: boolean},
    now: Date = new Date(),
  ): Promise<{incident: Incident; record: AuditRecord}> {
    const folder = await this.fold()
    const incident = this.find(folder, id)
    assertOpen(incident, 'closed again')
    const resolution = checkText('--resolution', input.resolution, true)!
    const notified = new Set(incident.notices.map((n) => n.customer))
    const unnotified = incident.customers.filter((c) => !notified.has(c))
    if (unnotified.length > 0 && !input.allowUnnotified) {
      throw refusedError(
        'CustomersNotNotified',
        `Incident ${incident.id} still has ${unnotified.length} affected customer${unnotified.length === 1 ? '' : 's'} without a notice: ${unnotified.join(', ')}.`,
        `Notify them (custos incident notify ${incident.id} --customer <id>), remove them with incident update --remove-customer, or close with --allow-unnotified and say why in --resolution.`,
      )
    }

    const details: CloseDetails = {incident: incident.id, v: INCIDENT_RECORD_VERSION, resolution, unnotified}
    const record = await this.trail.append(
      {action: 'incident.close', result: 'recorded', details: details as unknown as Record<string, unknown>},
      () => now,
    )
    folder.add(record)
    return {incident: this.find(folder, incident.id), record}
  }

  private checkCustomers(customers: string[]): string[] {
    if (customers.length > MAX_LIST_ITEMS)
      throw usageError(`Too many customers (${customers.length}); one incident names at most ${MAX_LIST_ITEMS}.`)
    return [...new Set(customers.map((c) => assertCustomerId(c.trim(), this.map.customers.idPattern)))]
  }
}

/** `inc-20261024-7f3a9c`: the UTC day of detection and 24 random bits. */
function newIncidentId(detectedAt: Date): string {
  return `inc-${detectedAt.toISOString().slice(0, 10).replaceAll('-', '')}-${randomBytes(3).toString('hex')}`
}

function assertOpen(incident: Incident, verb: string): void {
  if (incident.status === 'closed') {
    throw refusedError(
      'IncidentClosed',
      `Incident ${incident.id} was closed on ${incident.closedAt} by ${incident.closedBy} and cannot be ${verb}.`,
      'Open a new incident that refers to it if there is more to record.',
    )
  }
}

function checkDetection(detectedAt: Date, now: Date): void {
  if (Number.isNaN(detectedAt.getTime()))
    throw usageError(
      '--detected is not a valid time.',
      'Write it as ISO 8601 (2026-10-24T10:00:00Z) or relative (-3h).',
    )
  if (detectedAt.getTime() > now.getTime() + MAX_FUTURE_SKEW_IN_MS) {
    throw usageError(
      `--detected ${detectedAt.toISOString()} lies in the future.`,
      'Give the time the incident was detected; a time zone offset may be missing (write Z or +01:00).',
    )
  }
}

function checkText(flag: string, value: string | undefined, required: boolean): string | undefined {
  if (value === undefined) return undefined
  const text = value.trim()
  if (required && text === '') throw usageError(`${flag} must not be empty.`)
  if (text.length > MAX_TEXT_LENGTH)
    throw usageError(
      `${flag} is ${text.length} characters long; at most ${MAX_TEXT_LENGTH} are kept in the audit trail.`,
      'Shorten it and refer to a document for the details.',
    )
  return text
}

const FACT_FLAGS: Record<keyof IncidentFacts, string> = {
  nature: '--nature',
  dataCategories: '--data-categories',
  subjectCategories: '--subject-categories',
  subjects: '--subjects',
  records: '--records',
  consequences: '--consequences',
  measures: '--measures',
  contact: '--contact',
}

export function factFlag(name: keyof IncidentFacts): string {
  return FACT_FLAGS[name]
}

/** Drops undefined fields, trims text, checks lengths and counts. */
function checkFacts(facts: IncidentFacts): IncidentFacts {
  const out: IncidentFacts = {}
  for (const name of FACT_NAMES) {
    const value = facts[name]
    if (value === undefined) continue
    if (name === 'subjects' || name === 'records') {
      const n = value as number
      if (!Number.isSafeInteger(n) || n < 0)
        throw usageError(`${FACT_FLAGS[name]} must be a whole number of 0 or more (an estimate is fine).`)
      out[name] = n
    } else if (name === 'dataCategories' || name === 'subjectCategories') {
      const items = [...new Set((value as string[]).map((s) => s.trim()).filter(Boolean))]
      if (items.length > MAX_LIST_ITEMS)
        throw usageError(`${FACT_FLAGS[name]} lists ${items.length} categories; at most ${MAX_LIST_ITEMS} are kept.`)
      for (const item of items) checkText(FACT_FLAGS[name], item, false)
      out[name] = items
    } else {
      out[name] = checkText(FACT_FLAGS[name], value as string, false)
    }
  }

  return out
}
