/**
 * The rules of `access review`: from the role assignments, the resolved principals and the
 * database privileges to findings, against `access.expected`. Pure (no I/O, the clock injected),
 * so every rule is tested on its own, negatives included.
 */
import type {AccessExpectation} from '../../datamap/types.js'
import type {Severity} from '../../posture/catalogue.js'
import type {DatabaseRoleAccess, ReviewAssignment, ReviewFinding, ReviewFindingType, ReviewPrincipal} from './types.js'

export const FINDING_SEVERITY: Record<ReviewFindingType, Severity> = {
  'privileged-unexpected': 'critical',
  'unexpected-principal': 'high',
  guest: 'high',
  'foreign-tenant': 'high',
  'db-access': 'high',
  orphaned: 'medium',
  'disabled-holder': 'medium',
  stale: 'medium',
}

/** Every finding kind with what it means, in the order reports list them (README "Access review"). */
export const FINDING_TYPES: ReadonlyArray<{type: ReviewFindingType; title: string}> = [
  {type: 'privileged-unexpected', title: 'A privileged role held by someone not in access.expected.privileged'},
  {type: 'unexpected-principal', title: 'A role held by a principal access.expected does not name'},
  {type: 'guest', title: 'A role held by a guest (B2B, #EXT#) user'},
  {type: 'foreign-tenant', title: 'A role held by a service principal of an application owned by another tenant'},
  {type: 'db-access', title: 'A database role outside the expected set can read or delete customer rows'},
  {type: 'orphaned', title: 'A role assignment to a principal the directory no longer has (deleted identity)'},
  {type: 'disabled-holder', title: 'A disabled account still holds a role'},
  {type: 'stale', title: 'A role held by a user without a sign-in within access.staleAfter'},
]

export interface EvaluateOptions {
  expected: AccessExpectation
  /** the directory's own tenant (azure.tenant) */
  homeTenant?: string
  now: Date
  staleAfterInMs: number
  staleAfter: string
  /** false when Graph's signInActivity could not be read: no stale findings then */
  signInActivityKnown: boolean
}

const lower = (s: string | null | undefined) => (s ?? '').toLowerCase()

/** Whether `list` names the principal: by object id, UPN or display name (case-insensitive). */
export function names(list: readonly string[], p: ReviewPrincipal | undefined): boolean {
  if (!p) return false
  const keys = new Set([p.id, p.userPrincipalName, p.displayName].filter(Boolean).map((k) => lower(k)))
  return list.some((entry) => keys.has(lower(entry)))
}

/** `az role assignment delete` for an assignment (quoted: ids contain no spaces, but may be pasted into any shell). */
function deleteAssignmentCommand(assignmentId: string): string {
  return `az role assignment delete --ids "${assignmentId}"`
}

function removeMemberCommand(groupId: string, memberId: string): string {
  return `az ad group member remove --group ${groupId} --member-id ${memberId}`
}

/** Findings of the role assignments. */
export function evaluateAssignments(
  assignments: readonly ReviewAssignment[],
  principals: ReadonlyMap<string, ReviewPrincipal>,
  options: EvaluateOptions,
): ReviewFinding[] {
  const findings: ReviewFinding[] = []
  const {expected} = options
  const tenants = new Set([options.homeTenant, ...expected.tenants].filter(Boolean).map((t) => lower(t)))
  const domains = new Set(expected.domains.map((d) => lower(d)))

  for (const a of assignments) {
    const direct = principals.get(lower(a.principalId))
    const holders: Array<{p: ReviewPrincipal | undefined; id: string; via?: ReviewPrincipal}> = [
      {p: direct, id: a.principalId},
    ]
    if (direct?.kind === 'group')
      for (const m of direct.members ?? []) holders.push({p: principals.get(lower(m)), id: m, via: direct})

    for (const {p, id, via} of holders) {
      const add = (type: ReviewFindingType, why: string) =>
        findings.push({
          type,
          severity: FINDING_SEVERITY[type],
          principal: id,
          principalName: p?.name ?? id,
          kind: p?.kind ?? 'unknown',
          role: a.role,
          scope: a.scope,
          ...(via ? {via: via.name} : {}),
          why,
          fix: via ? removeMemberCommand(via.id, id) : deleteAssignmentCommand(a.id),
          assignment: a.id,
        })
      const through = via ? ` through group ${via.name}` : ''
      if (!p?.resolved) {
        if (!via)
          add(
            'orphaned',
            `The ${a.principalType} ${id} holds ${a.role} at ${a.scope}, but the directory has no such object (a deleted identity).`,
          )
        continue
      }

      const isGuest = p.kind === 'guest'
      const isApp = p.kind === 'service-principal'
      if (isGuest)
        add('guest', `The guest user ${p.name} (home domain ${p.homeDomain ?? 'unknown'}) holds ${a.role}${through}.`)
      if (isApp && !tenants.has(lower(p.appOwnerTenant))) {
        add(
          'foreign-tenant',
          `The service principal ${p.name} belongs to an application of tenant ${p.appOwnerTenant ?? 'unknown'}, not this directory's, and holds ${a.role}${through}.`,
        )
      }

      const listed = names(expected.principals, p) || (via !== undefined && names(expected.principals, via))
      const byDomain = p.kind === 'user' && p.homeDomain !== undefined && domains.has(lower(p.homeDomain))
      const byTenant =
        isApp && p.appOwnerTenant !== undefined && expected.tenants.some((t) => lower(t) === lower(p.appOwnerTenant))
      if (!listed && !byDomain && !byTenant)
        add(
          'unexpected-principal',
          `${p.name} (${p.kind}) holds ${a.role}${through}, and access.expected names neither it nor its ${isApp ? 'tenant' : 'domain'}.`,
        )
      if (a.privileged && !names(expected.privileged, p) && !(via && names(expected.privileged, via)))
        add(
          'privileged-unexpected',
          `${p.name} holds the privileged role ${a.role}${through} and is not in access.expected.privileged.`,
        )
      if (p.enabled === false)
        add('disabled-holder', `The account ${p.name} is disabled but still holds ${a.role}${through}.`)
      else if ((p.kind === 'user' || p.kind === 'guest') && options.signInActivityKnown) {
        const last = p.lastSignIn ? Date.parse(p.lastSignIn) : undefined
        if (last === undefined || options.now.getTime() - last > options.staleAfterInMs)
          add(
            'stale',
            `${p.name} holds ${a.role}${through} but ${last === undefined ? 'has never signed in' : `last signed in ${p.lastSignIn}`} (staleAfter ${options.staleAfter}).`,
          )
      }
    }
  }

  return findings
}

/** Where a database is, for findings and the fix line. */
export interface DatabaseTarget {
  name: string
  host: string
  port: number
  database: string
  /** the role custos logs in as: expected */
  user: string
  /** roles with superuser rights: REVOKE does not take their access away */
  superusers: string[]
}

/** Findings of database roles that can SELECT or DELETE on mapped tables, grouped per role. */
export function evaluateDatabaseAccess(target: DatabaseTarget, access: readonly DatabaseRoleAccess[]): ReviewFinding[] {
  const byRole = new Map<string, DatabaseRoleAccess[]>()
  for (const row of access) {
    if (row.expected || (!row.select && !row.delete)) continue
    byRole.set(row.role, [...(byRole.get(row.role) ?? []), row])
  }

  const findings: ReviewFinding[] = []
  for (const [role, rows] of byRole) {
    const privileges = [
      ...new Set(rows.flatMap((r) => [r.select ? 'SELECT' : '', r.delete ? 'DELETE' : '']).filter(Boolean)),
    ]
    const tables = rows.map((r) => r.table)
    const superuser = target.superusers.includes(role)
    const connection = `host=${target.host} port=${target.port} dbname=${target.database} sslmode=verify-full`
    findings.push({
      type: 'db-access',
      severity: FINDING_SEVERITY['db-access'],
      principal: role,
      principalName: role,
      kind: 'database-role',
      role: `${privileges.join(', ')} on ${tables.length} mapped table${tables.length === 1 ? '' : 's'}`,
      scope: `databases.${target.name} (${target.database} on ${target.host})`,
      why: `The database role ${role} can ${privileges.join(' and ')} customer rows in ${tables.join(', ')}${superuser ? ' as a superuser' : ''}, and access.expected does not name it.`,
      fix: superuser
        ? `psql "${connection}" -c 'ALTER ROLE "${role}" NOSUPERUSER'`
        : `psql "${connection}" -c 'REVOKE ${privileges.join(', ')} ON ${tables.join(', ')} FROM "${role}"'`,
    })
  }

  return findings
}

/**
 * A PostgreSQL Microsoft Entra administrator as ARM lists it
 * (`postgresql/AdministratorsListByServer.json`: no `name`; the id ends in the object id).
 */
export interface PostgresEntraAdministrator {
  principalType: 'User' | 'Group' | 'ServicePrincipal' | string
  principalName: string
  objectId: string
  tenantId?: string
}

/**
 * Findings of a server's Entra administrators: an administrator can read and delete every row.
 * The ARM reader of the administrators list (AdministratorsListByServer) is added separately;
 * `reviewAccess` calls this with whatever its `listEntraAdministrators` option returns.
 */
export function entraAdministratorFindings(
  target: {name: string; resourceId: string},
  administrators: readonly PostgresEntraAdministrator[],
  expected: AccessExpectation,
  homeTenant?: string,
): ReviewFinding[] {
  const findings: ReviewFinding[] = []
  for (const admin of administrators) {
    const listed = [admin.objectId, admin.principalName].some((k) =>
      [...expected.principals, ...expected.privileged].some((e) => lower(e) === lower(k)),
    )
    const foreign =
      admin.tenantId !== undefined && homeTenant !== undefined && lower(admin.tenantId) !== lower(homeTenant)
    if (listed && !foreign) continue
    findings.push({
      type: 'db-access',
      severity: FINDING_SEVERITY['db-access'],
      principal: admin.objectId,
      principalName: admin.principalName,
      kind: admin.principalType === 'Group' ? 'group' : admin.principalType === 'User' ? 'user' : 'service-principal',
      role: 'Microsoft Entra administrator',
      scope: target.resourceId,
      why: `${admin.principalName} is a Microsoft Entra administrator of the PostgreSQL server of databases.${target.name}${foreign ? ` from tenant ${admin.tenantId}` : ''}, and access.expected does not name it.`,
      fix: `az postgres flexible-server microsoft-entra-admin delete --ids "${target.resourceId}" --object-id ${admin.objectId}`,
    })
  }

  return findings
}
