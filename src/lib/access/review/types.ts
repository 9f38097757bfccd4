/** The result of `access review` (plain objects: the command's JSON output). */
import type {Severity} from '../../posture/catalogue.js'

export type ReviewFindingType =
  | 'unexpected-principal'
  | 'guest'
  | 'foreign-tenant'
  | 'privileged-unexpected'
  | 'stale'
  | 'disabled-holder'
  | 'orphaned'
  | 'db-access'

export type PrincipalKind = 'user' | 'guest' | 'group' | 'service-principal' | 'managed-identity' | 'unknown'

/** A principal as Graph resolved it (or could not: `resolved: false`, a deleted identity). */
export interface ReviewPrincipal {
  id: string
  kind: PrincipalKind
  resolved: boolean
  /** what people read: UPN, service principal or group name, or the id */
  name: string
  displayName?: string
  userPrincipalName?: string
  /** users: the domain of their home account (a guest's `a_contoso.com#EXT#@…` → contoso.com) */
  homeDomain?: string
  enabled?: boolean
  /** service principals: the tenant that owns the application */
  appOwnerTenant?: string | null
  /** users: last sign-in (interactive or not), ISO 8601; null = never */
  lastSignIn?: string | null
  /** groups holding roles: ids of their (transitive) members */
  members?: string[]
}

/** A mapped resource (or the subscription) whose access was reviewed. */
export interface ReviewScope {
  id: string
  /** data-map entries that name it: `azure.subscription`, `stores.documents`, `keys.vault`, `databases.app-db` */
  usedBy: string[]
}

/** One role assignment, with the mapped scopes it reaches. */
export interface ReviewAssignment {
  /** the assignment's ARM id (what `az role assignment delete --ids` takes) */
  id: string
  /** the scope it is made at */
  scope: string
  role: string
  roleDefinitionId: string
  privileged: boolean
  principalId: string
  principalType: string
  /** reviewed scopes it applies to; `inheritedBy` those where it comes from above */
  appliesTo: string[]
  inheritedBy: string[]
}

export interface DatabaseRoleAccess {
  database: string
  role: string
  table: string
  select: boolean
  delete: boolean
  expected: boolean
}

export interface ReviewFinding {
  type: ReviewFindingType
  severity: Severity
  /** principal id (database findings: the database role) */
  principal: string
  /** what people read */
  principalName: string
  kind: PrincipalKind | 'database-role'
  role: string
  /** assignment scope, or `database <name> table <t>` */
  scope: string
  /** the group through which a member holds the role */
  via?: string
  /** one sentence */
  why: string
  /** the command that removes the access */
  fix: string
  /** the role assignment id, when the finding is about one */
  assignment?: string
}

export interface AccessReview {
  checkedAt: string
  failOn: Severity
  settings: {
    staleAfter: string
    homeTenant?: string
    expected: {principals: number; domains: string[]; tenants: string[]; privileged: number}
  }
  scopes: ReviewScope[]
  principals: ReviewPrincipal[]
  assignments: ReviewAssignment[]
  databases: DatabaseRoleAccess[]
  findings: ReviewFinding[]
  notes: string[]
  summary: {
    assignments: number
    principals: number
    findings: number
    /** findings at or above failOn: what makes the command exit 1 */
    failing: number
    byType: Partial<Record<ReviewFindingType, number>>
  }
}
