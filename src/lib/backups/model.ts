/**
 * The result shapes of `backups verify`: plain data (never SDK classes), one report per customer with
 * one entry per backup set, each holding the named checks.
 */

/** The checks, in the order they are shown. */
export const CHECK_NAMES = [
  'retired',
  'residual',
  'retention',
  'fresh',
  'restorable',
  'complete',
  'separate',
  'encrypted',
  'resident',
  'intact',
  'restore',
] as const
export type CheckName = (typeof CHECK_NAMES)[number]

/**
 * `pass`; `warn`: a finding that is not an outage (a missing day in the past, an unverifiable hash);
 * `fail`: a broken promise (stale, unencrypted, wrong region, corrupt); `unknown`: could not be checked;
 * `retired`: the customer was erased by custos, so having no backups is what was promised.
 */
export type CheckStatus = 'pass' | 'retired' | 'warn' | 'fail' | 'unknown'

export interface CheckResult {
  check: CheckName
  status: CheckStatus
  /** one line, naming the blob, day, region or key concerned */
  detail: string
}

/** One customer in one backup set. */
export interface CustomerSetReport {
  set: string
  /** account/container/prefix (never a connection string) */
  scope: string
  status: CheckStatus
  backups: number
  bytes: number
  newest?: string
  /** where the newest backup's time was read from */
  newestFrom?: 'path' | 'metadata' | 'last-modified'
  newestAgeInMs?: number
  oldest?: string
  /** days (YYYY-MM-DD, UTC) or periods within keepDays without a backup */
  missing: string[]
  checks: CheckResult[]
}

export interface CustomerBackupReport {
  customer: string
  status: CheckStatus
  /** set when custos erased the customer (a trusted erase record in the audit trail) */
  erasedAt?: string
  sets: CustomerSetReport[]
}

/** The point-in-time-restore backups of one `databases[]` entry's flexible server. */
export interface DatabaseBackupReport {
  /** the `databases[]` entry */
  database: string
  /** the flexible server's name */
  server: string
  resourceId: string
  status: CheckStatus
  region?: string
  /** the paired region its geo-redundant backups go to */
  pairedRegion?: string
  retentionDays?: number
  geoRedundantBackup?: string
  earliestRestoreDate?: string
  /** `dataEncryption.type`: SystemManaged or AzureKeyVault */
  encryption?: string
  /** completion time of the newest automatic backup */
  newest?: string
  newestAgeInMs?: number
  automaticBackups?: number
  longTermRetention?: {
    operations: number
    latest?: {backupName?: string; status?: string; startTime?: string}
    error?: string
  }
  checks: CheckResult[]
}

/** What custos learned about a backup set as a whole. */
export interface BackupSetSummary {
  set: string
  account: string
  container: string
  layout: 'container-per-customer' | 'prefix-per-customer'
  /** expect.maxAge */
  maxAgeInMs: number
  /** where the customers came from: --customer, customers.known, or the listing itself */
  customersFrom: 'flag' | 'known' | 'listing'
  customers: number
  /** listing passes: 1 for a shared container, one per customer for container-per-customer or --customer */
  listings: number
  /** names listed */
  listed: number
  /** names that belong to no checked customer (no customer id in the path, an invalid id, or not in customers.known) */
  ignored: number
  ignoredExamples: string[]
  /** false when the (shared) backup container does not exist */
  containerExists: boolean
  region?: string
  secondaryRegion?: string
  replication?: string
  keySource?: string
}

export interface RestoreSummary {
  downloads: number
  bytes: number
  /** wall-clock time of the restore phase */
  seconds: number
  bytesPerSecond: number
  failures: number
}

export interface BackupsVerifyResult {
  checkedAt: string
  status: CheckStatus
  totals: {
    customers: number
    pass: number
    /** customers erased by custos */
    retired: number
    warn: number
    fail: number
    unknown: number
    /** database servers checked */
    databases: number
    backups: number
    bytes: number
    missingDays: number
  }
  sets: BackupSetSummary[]
  customers: CustomerBackupReport[]
  /** the database servers' own backups (`databases[]` entries with a resourceId) */
  databases: DatabaseBackupReport[]
  /** run-level remarks: containers that do not exist, names that belong to no customer */
  notes: string[]
  restore?: RestoreSummary
}

const severity: Record<CheckStatus, number> = {pass: 0, retired: 1, unknown: 2, warn: 3, fail: 4}

/** The worst of `statuses` (fail > warn > unknown > retired > pass); `pass` for none. */
export function worstStatus(statuses: Iterable<CheckStatus>): CheckStatus {
  let worst: CheckStatus = 'pass'
  for (const s of statuses) if (severity[s] > severity[worst]) worst = s
  return worst
}

/** Names at most `max` examples and says how many more there are: `a, b, c and 4 more`. */
export function examples(names: string[], total: number, max = 3): string {
  const shown = names.slice(0, max).join(', ')
  return total > Math.min(names.length, max) ? `${shown} and ${total - Math.min(names.length, max)} more` : shown
}

/** Collects up to `max` example names plus a count, so that memory does not grow with the findings. */
export class Examples {
  count = 0
  readonly names: string[] = []

  constructor(private readonly max = 3) {}

  add(name: string): void {
    this.count++
    if (this.names.length < this.max) this.names.push(name)
  }

  toString(): string {
    return examples(this.names, this.count, this.max)
  }
}

/** One finding of a check; `always` facts are shown even next to problems (others only when all pass). */
export interface CheckPart {
  status: CheckStatus
  text: string
  always?: boolean
}

/** One check from several findings: the worst status, problems first, then the passing facts. */
export function joinParts(check: CheckName, parts: CheckPart[]): CheckResult {
  const problems = parts.filter((p) => p.status !== 'pass')
  const facts = parts.filter((p) => p.status === 'pass' && (problems.length === 0 || p.always))
  return {
    check,
    status: worstStatus(parts.map((p) => p.status)),
    detail: [...problems, ...facts].map((p) => p.text).join('; '),
  }
}
