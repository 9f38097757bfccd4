/** The result shapes of `audit posture` (plain objects: they are the command's JSON output). */
import type {ResourceKind, Severity} from './catalogue.js'

/**
 * `pass`/`fail`: the live configuration keeps / breaks the promise. `unknown`: custos could not read
 * what it needs (the detail says why and the remediation how to fix that). `skipped`: the check does
 * not apply (e.g. no customer-managed key is required for this account).
 */
export type CheckStatus = 'pass' | 'fail' | 'unknown' | 'skipped'

export interface CheckResult {
  /** catalogue id, e.g. `storage.https-only` */
  check: string
  title: string
  severity: Severity
  status: CheckStatus
  /** what custos found, one sentence */
  detail: string
  /** for `fail` and `unknown`: the command (or step) that fixes it, filled in for this resource */
  remediation?: string
}

export interface PostureResource {
  kind: ResourceKind
  /** account, vault or subscription name */
  name: string
  /** ARM resource id, when custos could locate the resource */
  id?: string
  /** Azure region, when known */
  location?: string
  /** the data-map entries that use this resource, e.g. `stores.documents`, `logs.archive`, `keys.vault` */
  usedBy: string[]
  results: CheckResult[]
  /** PostgreSQL servers: the Entra administrators, by name (for the access review) */
  administrators?: Array<{principalName?: string; principalType?: string; objectId: string}>
}

export interface PostureSummary {
  checks: number
  passed: number
  failed: number
  unknown: number
  skipped: number
  /** failed or unknown results at or above `failOn`: what makes the command exit 1 */
  failing: number
}

export interface PostureReport {
  /** ISO 8601 time the audit ran */
  checkedAt: string
  failOn: Severity
  allowedRegions: string[]
  resources: PostureResource[]
  summary: PostureSummary
}
