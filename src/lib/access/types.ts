/** The access report: plain data, the same document for --json, --format json and the renderers. */

/** Where an access event came from. */
export type AccessSourceName = 'activity-log' | 'archive' | 'workspace'

/** `sign-in`: Entra ID sign-ins; `operation`: management operations (activity log); `data`: data-plane access (storage, Key Vault). */
export type AccessEventKind = 'sign-in' | 'operation' | 'data'

/** One access, normalised from any source shape. */
export interface AccessEvent {
  kind: AccessEventKind
  /** Unix milliseconds */
  time: number
  /** lower-cased UPN, service principal name or id, or `sas (key1)` / `account-key (key1)` / `anonymous` */
  principal: string
  ip?: string
  /** ISO 3166 alpha-2, upper case (sign-ins only) */
  country?: string
  success: boolean
  /** sign-in result code when the sign-in failed (Entra ID error code, e.g. `50126`) */
  errorCode?: string
  /** operation name (activity log, storage, Key Vault) */
  operation?: string
  /** sign-ins: the result code asks for more (MFA, consent, …) rather than rejects; counted as an interrupt, not a failure (sign-ins.ts) */
  interrupt?: boolean
  /** sign-ins: the log category (SignInLogs, NonInteractiveUserSignInLogs, ServicePrincipalSignInLogs, ManagedIdentitySignInLogs) */
  category?: string
  /** sign-ins: `clientAppUsed` */
  clientApp?: string
  /** sign-ins: `authenticationRequirement` (singleFactorAuthentication / multiFactorAuthentication) */
  authRequirement?: string
  /** sign-ins: `status.failureReason` / `additionalDetails` */
  detail?: string
  /** sign-ins: `location.geoCoordinates` */
  geo?: {lat: number; lon: number}
}

/**
 * Why a record read from a source did not become an event of the report. Nothing is dropped
 * silently: every source counts its skipped records per reason.
 */
export type SkipReason =
  | 'operation-begin'
  | 'no-principal'
  | 'no-time'
  | 'not-access-record'
  | 'other-customer'
  | 'outside-range'
  | 'malformed'

/** Every reason, in the order reports list them, with the words they use. */
export const SKIP_REASONS: ReadonlyArray<{reason: SkipReason; says: string}> = [
  {reason: 'operation-begin', says: 'that begin an operation (Start/Accept; the record that ends it is counted)'},
  {reason: 'no-principal', says: 'without a caller'},
  {reason: 'no-time', says: 'without a readable time'},
  {reason: 'not-access-record', says: 'of categories that are not access (e.g. resource health, NSG counters)'},
  {reason: 'other-customer', says: 'of other customers (--customer)'},
  {reason: 'outside-range', says: 'outside the range and the look-back window'},
  {reason: 'malformed', says: 'malformed (not a JSON record)'},
]

export interface SkippedRecords {
  reason: SkipReason
  records: number
}

export interface SourceSummary {
  name: AccessSourceName
  /** subscription (activity log), account (archive) or workspace id */
  target: string
  /** archive containers read */
  containers?: string[]
  /** events counted in the range */
  events: number
  /** events read from the look-back window (new-IP detection) */
  lookbackEvents: number
  /**
   * records read but not counted, per reason (activity log and archive; the workspace aggregates in
   * KQL and reports no per-record reasons); only reasons that occurred, in {@link SKIP_REASONS} order
   */
  skipped?: SkippedRecords[]
  /** pages (activity log), bytes (archive) or queries (workspace) */
  pages?: number
  bytes?: number
  queries?: number
  notes?: string[]
}

export interface PrincipalSummary {
  principal: string
  signIns: number
  /** failed sign-ins (interrupts not included) */
  failures: number
  /** sign-ins interrupted to ask for MFA, consent, "keep me signed in" and the like (sign-ins.ts INTERRUPT_CODES) */
  interrupts: number
  /** failed sign-ins per result code */
  failuresByCode: Record<string, number>
  /** management and data operations */
  operations: number
  failedOperations: number
  operationsByName: Record<string, number>
  /** distinct source IPs, sorted */
  ips: string[]
  /** distinct sign-in countries, sorted */
  countries: string[]
  /** ISO 8601 */
  firstSeen: string
  lastSeen: string
  /** events outside working hours */
  offHours: number
}

export type SignInFindingType =
  | 'password-spray'
  | 'mfa-denied'
  | 'single-factor-privileged'
  | 'legacy-auth'
  | 'disabled-account'
  | 'impossible-travel'

export type FindingType = 'country-not-allowed' | 'failure-burst' | 'new-ip' | 'off-hours' | SignInFindingType

interface FindingBase {
  type: FindingType
  principal: string
  /** one sentence for people */
  message: string
}

export interface CountryFinding extends FindingBase {
  type: 'country-not-allowed'
  country: string
  signIns: number
  ips: string[]
  firstSeen: string
  lastSeen: string
}

export interface BurstFinding extends FindingBase {
  type: 'failure-burst'
  /** most failures inside one window of the configured length */
  failures: number
  /** the span of the windows that reached the threshold */
  from: string
  to: string
}

export interface NewIpFinding extends FindingBase {
  type: 'new-ip'
  ip: string
  events: number
  firstSeen: string
}

export interface OffHoursFinding extends FindingBase {
  type: 'off-hours'
  events: number
  firstSeen: string
  lastSeen: string
}

/** The sign-in findings of sign-ins.ts; `principal` is the IP for password-spray. */
export interface SignInFinding extends FindingBase {
  type: SignInFindingType
  /** sign-ins concerned (password-spray: accounts; impossible-travel: 2) */
  events: number
  firstSeen: string
  lastSeen: string
  ips: string[]
  /** password-spray: the accounts the IP failed on */
  accounts?: string[]
  /** legacy-auth: the client */
  clientApp?: string
  /** impossible-travel: the distance */
  distanceKm?: number
}

export type Finding = CountryFinding | BurstFinding | NewIpFinding | OffHoursFinding | SignInFinding

export interface DailyCount {
  /** YYYY-MM-DD in access.timeZone */
  day: string
  signIns: number
  failures: number
}

export interface CountryCount {
  country: string
  signIns: number
}

export interface AccessReportSettings {
  allowedCountries: string[]
  timeZone: string
  workingHours: string
  workingDays: number[]
  burstFailures: number
  burstWindowInMs: number
  lookbackInMs: number
  sprayAccounts: number
  sprayWindowInMs: number
}

export interface AccessReport {
  range: {since: string; until: string}
  /** the customer the report is limited to, if any */
  customer?: string
  generatedAt: string
  settings: AccessReportSettings
  sources: SourceSummary[]
  totals: {
    principals: number
    signIns: number
    failures: number
    interrupts: number
    operations: number
    findings: number
  }
  principals: PrincipalSummary[]
  findings: Finding[]
  daily: DailyCount[]
  countries: CountryCount[]
}
