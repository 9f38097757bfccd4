/**
 * The incident model. An incident has no local state: it is the fold of its records in custos's
 * audit trail (`incident.open`, `incident.update`, `incident.notify`, `incident.evidence`,
 * `incident.close`), each carrying `details.incident` = the incident id. These types are both the
 * shape of those records' details and the folded state.
 */

/** The terms promise notice to the customer within 72 hours of detection. */
export const NOTIFICATION_WINDOW_IN_MS = 72 * 3_600_000

export const INCIDENT_ACTIONS = [
  'incident.open',
  'incident.update',
  'incident.notify',
  'incident.evidence',
  'incident.close',
] as const
export type IncidentAction = (typeof INCIDENT_ACTIONS)[number]

/** Version of the details written by this code (readers accept records without it as version 1). */
export const INCIDENT_RECORD_VERSION = 1

/** What GDPR Art. 33(3) asks a notice to contain, besides the summary. */
export interface IncidentFacts {
  /** the nature of the breach (Art. 33(3)(a)) */
  nature?: string
  /** categories of personal data records concerned (Art. 33(3)(a)) */
  dataCategories?: string[]
  /** categories of data subjects concerned (Art. 33(3)(a)) */
  subjectCategories?: string[]
  /** approximate number of data subjects (Art. 33(3)(a)) */
  subjects?: number
  /** approximate number of personal data records (Art. 33(3)(a)) */
  records?: number
  /** likely consequences (Art. 33(3)(c)) */
  consequences?: string
  /** measures taken or proposed, including mitigation (Art. 33(3)(d)) */
  measures?: string
  /** data protection officer or other contact point (Art. 33(3)(b)) */
  contact?: string
}

export const FACT_NAMES = [
  'nature',
  'dataCategories',
  'subjectCategories',
  'subjects',
  'records',
  'consequences',
  'measures',
  'contact',
] as const satisfies ReadonlyArray<keyof IncidentFacts>
export type FactName = (typeof FACT_NAMES)[number]

/** `details` of an `incident.open` record. */
export interface OpenDetails {
  incident: string
  v?: number
  detectedAt: string
  summary: string
  customers: string[]
  facts: IncidentFacts
}

/** `details` of an `incident.update` record: only what changed. */
export interface UpdateDetails {
  incident: string
  v?: number
  detectedAt?: string
  summary?: string
  addCustomers?: string[]
  removeCustomers?: string[]
  facts?: IncidentFacts
  /** facts that hold for one customer only (its own numbers of subjects and records, say) */
  customerFacts?: Record<string, IncidentFacts>
}

/** `details` of an `incident.notify` record (the record's `customer` is the notified customer). */
export interface NotifyDetails {
  incident: string
  v?: number
  lang: string
  /** `built-in` or the template folder */
  template: string
  text: {sha256: string; bytes: number}
  html: {sha256: string; bytes: number}
  deadline: string
  /** issued after the deadline */
  late: boolean
}

/** `details` of an `incident.evidence` record. */
export interface EvidenceDetails {
  incident: string
  v?: number
  file: string
  sha256: string
  bytes: number
  manifestSha256: string
  signed: boolean
  kid?: string
  window: {since: string; until: string}
  customers: Array<{customer: string; records: number; findings: number}>
}

/** `details` of an `incident.close` record. */
export interface CloseDetails {
  incident: string
  v?: number
  resolution: string
  /** affected customers that had not been notified when the incident was closed */
  unnotified: string[]
}

export interface IncidentNotice {
  customer: string
  at: string
  by: string
  lang: string
  template: string
  late: boolean
  sha256: string
  seq: number
}

export interface IncidentEvidenceRef {
  at: string
  by: string
  file: string
  sha256: string
  signed: boolean
  window: {since: string; until: string}
  seq: number
}

/** One audit record of the incident, as shown in `incident show`. */
export interface IncidentHistoryEntry {
  seq: number
  time: string
  actor: string
  action: IncidentAction
  customer?: string
  hash: string
}

/** The folded state of one incident. */
export interface Incident {
  id: string
  status: 'open' | 'closed'
  summary: string
  detectedAt: string
  /** detectedAt + 72 h */
  deadline: string
  openedAt: string
  openedBy: string
  customers: string[]
  facts: IncidentFacts
  customerFacts: Record<string, IncidentFacts>
  notices: IncidentNotice[]
  evidence: IncidentEvidenceRef[]
  closedAt?: string
  closedBy?: string
  resolution?: string
  history: IncidentHistoryEntry[]
}
