/**
 * `access review`: who *can* reach the infrastructure and the data. Lists the role assignments on
 * the subscription and on every resource the data map names, resolves roles and principals, reads
 * which database roles can SELECT or DELETE on mapped tables, and evaluates them (evaluate.ts).
 *
 * Requests: one role-assignment listing per reviewed scope (the subscription with `atScope()`: what
 * is assigned there or above; each resource without a filter: at, above and below it, so
 * container-level assignments are seen too); one role-definition GET per custom role; Graph
 * `getByIds` per 1,000 principals, `transitiveMembers` per group holding a role, and the users'
 * `signInActivity` (paged by 999).
 */
import type {AzureClients} from '../../azure/clients.js'
import {listEntraAdministrators} from '../../azure/postgres-server.js'
import type {JsonRestClient} from '../../azure/json-rest.js'
import {postgresDatabases} from '../../datamap/databases.js'
import type {AccessExpectation, DataMap} from '../../datamap/types.js'
import {parseDurationInMs} from '../../duration.js'
import {configError, CustosError, fromAzureError} from '../../errors.js'
import {severityRank, type Severity} from '../../posture/catalogue.js'
import {connect, fromPostgresError} from '../../stores/postgres/connection.js'
import {mappedTables, type PostgresDatabaseConfig} from '../../stores/postgres/types.js'
import {
  entraAdministratorFindings,
  evaluateAssignments,
  evaluateDatabaseAccess,
  names,
  type PostgresEntraAdministrator,
} from './evaluate.js'
import {builtInRole, customRolePrivileged, roleDefinitionGuid} from './roles.js'
import type {
  AccessReview,
  DatabaseRoleAccess,
  ReviewAssignment,
  ReviewFinding,
  ReviewPrincipal,
  ReviewScope,
} from './types.js'

const AUTHORIZATION_API_VERSION = '2022-04-01'
/** `access.staleAfter` when the map does not set it (the schema's default too) */
const DEFAULT_STALE_AFTER = '90d'
/** Graph's getByIds limit per request. */
const GET_BY_IDS_BATCH = 1000
/** Graph's "never" for signInActivity times. */
const GRAPH_NEVER = '0001-01-01T00:00:00Z'

export interface ReviewAccessOptions {
  failOn: Severity
  /** the clock (tests inject it) */
  now?: Date
  abortSignal?: AbortSignal
  /**
   * The PostgreSQL Microsoft Entra administrators of a database's server (ARM
   * AdministratorsListByServer); default: read over Resource Manager for every database entry with
   * a `resourceId`.
   */
  listEntraAdministrators?: (database: PostgresDatabaseConfig) => Promise<PostgresEntraAdministrator[]>
  /** Graph and ARM request counters (bench) */
  onRequests?: (counts: {arm: number; graph: number}) => void
}

interface RawAssignment {
  id: string
  name: string
  properties: {roleDefinitionId: string; principalId: string; principalType: string; scope: string}
}

interface GraphObject {
  '@odata.type'?: string
  id: string
  displayName?: string | null
  userPrincipalName?: string | null
  mail?: string | null
  userType?: string | null
  accountEnabled?: boolean | null
  appOwnerOrganizationId?: string | null
  servicePrincipalType?: string | null
}

/** The scopes to review: the subscription and every resource the data map names by resource id. */
export function reviewScopes(map: DataMap): {scopes: ReviewScope[]; notes: string[]} {
  const scopes = new Map<string, ReviewScope>()
  const notes: string[] = []
  const add = (id: string | undefined, usedBy: string) => {
    if (!id) return
    const key = id.toLowerCase()
    const scope = scopes.get(key) ?? {id, usedBy: []}
    if (!scope.usedBy.includes(usedBy)) scope.usedBy.push(usedBy)
    scopes.set(key, scope)
  }

  const subscription = map.azure.subscription ?? map.activityLog?.subscription
  if (subscription)
    add(`/subscriptions/${subscription}`, map.azure.subscription ? 'azure.subscription' : 'activityLog.subscription')
  for (const s of map.stores) {
    if (s.resourceId) add(s.resourceId, `stores.${s.name}`)
    else notes.push(`stores.${s.name} has no resourceId: only assignments on the subscription and above cover it`)
  }

  for (const b of map.backups) if (b.resourceId) add(b.resourceId, `backups.${b.name}`)
  if (map.keys?.vault) {
    if (map.azure.keyVaultResourceId) add(map.azure.keyVaultResourceId, 'keys.vault')
    else
      notes.push('keys.vault has no azure.keyVaultResourceId: only assignments on the subscription and above cover it')
  }

  for (const d of postgresDatabases(map)) if (d.resourceId) add(d.resourceId, `databases.${d.name}`)
  const workspace = map.logs?.workspace
  if (workspace?.startsWith('/subscriptions/')) add(workspace, 'logs.workspace')
  else if (workspace)
    notes.push(
      'logs.workspace is a workspace id, not a resource id: only assignments on the subscription and above cover it',
    )
  if (scopes.size === 0 && map.databases.length === 0)
    throw configError(
      'The data map names nothing whose access can be reviewed.',
      [],
      'Set azure.subscription, or resourceId on the stores, or map databases.',
    )
  return {scopes: [...scopes.values()], notes}
}

function atOrAbove(a: string, b: string): boolean {
  const x = a.toLowerCase().replace(/\/+$/, '')
  const y = b.toLowerCase().replace(/\/+$/, '')
  return x === '' || x === y || y.startsWith(`${x}/`)
}

async function* listAssignments(
  arm: JsonRestClient,
  scope: ReviewScope,
  abortSignal?: AbortSignal,
): AsyncGenerator<RawAssignment> {
  const isSubscription = /^\/subscriptions\/[^/]+$/i.test(scope.id)
  let next: string | undefined = `${scope.id}/providers/Microsoft.Authorization/roleAssignments`
  let query: Record<string, string> | undefined = {
    'api-version': AUTHORIZATION_API_VERSION,
    ...(isSubscription ? {$filter: 'atScope()'} : {}),
  }
  while (next) {
    const page: {value: RawAssignment[]; nextLink?: string | null} = await arm.get(next, {
      abortSignal,
      ...(query ? {query} : {}),
    })
    yield* page.value
    next = page.nextLink ?? undefined
    query = undefined // a nextLink is followed as given
  }
}

export async function reviewAccess(
  clients: AzureClients,
  map: DataMap,
  options: ReviewAccessOptions,
): Promise<AccessReview> {
  const now = options.now ?? new Date()
  const {scopes, notes} = reviewScopes(map)
  const arm = clients.armRest()
  const graph = clients.graph()
  const {abortSignal} = options

  // 1. role assignments, deduplicated, with the reviewed scopes each reaches
  const assignments = new Map<string, ReviewAssignment>()
  for (const scope of scopes) {
    try {
      for await (const raw of listAssignments(arm, scope, abortSignal)) {
        const key = raw.id.toLowerCase()
        let a = assignments.get(key)
        if (!a) {
          a = {
            id: raw.id,
            scope: raw.properties.scope,
            role: '',
            roleDefinitionId: raw.properties.roleDefinitionId,
            privileged: false,
            principalId: raw.properties.principalId,
            principalType: raw.properties.principalType,
            appliesTo: [],
            inheritedBy: [],
          }
          assignments.set(key, a)
        }

        if (!a.appliesTo.includes(scope.id)) a.appliesTo.push(scope.id)
        if (
          atOrAbove(a.scope, scope.id) &&
          a.scope.toLowerCase() !== scope.id.toLowerCase() &&
          !a.inheritedBy.includes(scope.id)
        )
          a.inheritedBy.push(scope.id)
      }
    } catch (error) {
      throw fromAzureError(error, `the role assignments of ${scope.id}`)
    }
  }

  // 2. role names: the built-in table, else one GET per custom role
  const custom = new Map<string, {name: string; privileged: boolean}>()
  for (const a of assignments.values()) {
    const builtIn = builtInRole(a.roleDefinitionId)
    if (builtIn) {
      a.role = builtIn.name
      a.privileged = builtIn.privileged
      continue
    }

    const guid = roleDefinitionGuid(a.roleDefinitionId)
    let def = custom.get(guid)
    if (!def) {
      try {
        const body: {
          properties: {roleName: string; permissions?: Array<{actions?: string[]; dataActions?: string[]}>}
        } = await arm.get(
          `${a.scope === '/' ? '' : a.scope}/providers/Microsoft.Authorization/roleDefinitions/${guid}`,
          {
            abortSignal,
            query: {'api-version': AUTHORIZATION_API_VERSION},
          },
        )
        def = {name: body.properties.roleName, privileged: customRolePrivileged(body.properties.permissions ?? [])}
      } catch (error) {
        if ((error as {statusCode?: number}).statusCode !== 404) throw fromAzureError(error, `role definition ${guid}`)
        def = {name: `unknown role ${guid}`, privileged: true}
        notes.push(`role definition ${guid} was not found: counted as privileged`)
      }

      custom.set(guid, def)
    }

    a.role = def.name
    a.privileged = def.privileged
  }

  // 3. principals over Graph: getByIds in batches, groups expanded, users' sign-in activity
  const principals = new Map<string, ReviewPrincipal>()
  const ids = [...new Set([...assignments.values()].map((a) => a.principalId.toLowerCase()))]
  try {
    for (let i = 0; i < ids.length; i += GET_BY_IDS_BATCH) {
      const batch = ids.slice(i, i + GET_BY_IDS_BATCH)
      const body: {value: GraphObject[]} = await graph.post(
        '/directoryObjects/getByIds',
        {ids: batch, types: ['user', 'group', 'servicePrincipal']},
        {abortSignal},
      )
      for (const o of body.value) principals.set(o.id.toLowerCase(), toPrincipal(o))
    }

    for (const group of [...principals.values()].filter((p) => p.kind === 'group')) {
      group.members = []
      let next: string | undefined = `/groups/${group.id}/transitiveMembers`
      let query: Record<string, string> | undefined = {$top: '999'}
      while (next) {
        const page: {value: GraphObject[]; '@odata.nextLink'?: string} = await graph.get(next, {
          abortSignal,
          ...(query ? {query} : {}),
        })
        for (const o of page.value) {
          if (o['@odata.type'] === '#microsoft.graph.group') continue // its members are listed too
          group.members.push(o.id)
          if (!principals.has(o.id.toLowerCase())) principals.set(o.id.toLowerCase(), toPrincipal(o))
        }

        next = page['@odata.nextLink']
        query = undefined
      }
    }
  } catch (error) {
    throw fromAzureError(error, 'Microsoft Graph (directory objects)')
  }

  for (const id of ids) if (!principals.has(id)) principals.set(id, {id, kind: 'unknown', resolved: false, name: id})

  let signInActivityKnown = false
  if ([...principals.values()].some((p) => p.kind === 'user' || p.kind === 'guest')) {
    try {
      let next: string | undefined = '/users'
      let query: Record<string, string> | undefined = {$select: 'id,userPrincipalName,signInActivity', $top: '999'}
      while (next) {
        const page: {value: Array<{id: string; signInActivity?: Record<string, string>}>; '@odata.nextLink'?: string} =
          await graph.get(next, {
            abortSignal,
            ...(query ? {query} : {}),
          })
        for (const u of page.value) {
          const p = principals.get(u.id.toLowerCase())
          if (p) p.lastSignIn = lastSignIn(u.signInActivity)
        }

        next = page['@odata.nextLink']
        query = undefined
      }

      signInActivityKnown = true
    } catch (error) {
      const status = (error as {statusCode?: number}).statusCode
      if (status !== 403 && status !== 400) throw fromAzureError(error, 'Microsoft Graph (users signInActivity)')
      notes.push(
        `users' signInActivity could not be read (${status}; it needs AuditLog.Read.All and Entra ID P1 or P2): no stale findings`,
      )
    }
  }

  options.onRequests?.({arm: arm.requests, graph: graph.requests})

  // 4. rules
  const expected: AccessExpectation = {principals: [], domains: [], tenants: [], privileged: [], ...map.access.expected}
  const staleAfter = map.access.staleAfter ?? DEFAULT_STALE_AFTER
  const staleAfterInMs = parseDurationInMs(staleAfter)
  const findings: ReviewFinding[] = evaluateAssignments([...assignments.values()], principals, {
    expected,
    homeTenant: map.azure.tenant,
    now,
    staleAfter,
    staleAfterInMs,
    signInActivityKnown,
  })

  // 5. databases
  const databases: DatabaseRoleAccess[] = []
  for (const db of postgresDatabases(map)) {
    if (db.isolation !== 'shared') {
      notes.push(
        `databases.${db.name}: isolation "${db.isolation}" has no mapped tables to check; database roles not reviewed`,
      )
      continue
    }

    const rows = await databaseRoleAccess(clients, db, expected.principals)
    databases.push(...rows.access)
    findings.push(
      ...evaluateDatabaseAccess(
        {
          name: db.name,
          host: db.host,
          port: db.port ?? 5432,
          database: db.database,
          user: db.user,
          superusers: rows.superusers,
        },
        rows.access,
      ),
    )
    if (db.resourceId) {
      const read = options.listEntraAdministrators ?? ((d: PostgresDatabaseConfig) => serverAdministrators(clients, d))
      const admins = await read(db)
      findings.push(
        ...entraAdministratorFindings({name: db.name, resourceId: db.resourceId}, admins, expected, map.azure.tenant),
      )
    } else if (db.auth === 'entra') {
      notes.push(
        `databases.${db.name}: the server's Microsoft Entra administrators were not reviewed (the data map gives no resourceId)`,
      )
    }
  }

  findings.sort(
    (x, y) =>
      severityRank(y.severity) - severityRank(x.severity) ||
      x.type.localeCompare(y.type) ||
      x.principalName.localeCompare(y.principalName),
  )
  const byType: AccessReview['summary']['byType'] = {}
  for (const f of findings) byType[f.type] = (byType[f.type] ?? 0) + 1
  const principalList = [...principals.values()].sort((x, y) => x.name.localeCompare(y.name))
  return {
    checkedAt: now.toISOString(),
    failOn: options.failOn,
    settings: {
      staleAfter,
      ...(map.azure.tenant ? {homeTenant: map.azure.tenant} : {}),
      expected: {
        principals: expected.principals.length,
        domains: expected.domains,
        tenants: expected.tenants,
        privileged: expected.privileged.length,
      },
    },
    scopes,
    principals: principalList,
    assignments: [...assignments.values()],
    databases,
    findings,
    notes,
    summary: {
      assignments: assignments.size,
      principals: principals.size,
      findings: findings.length,
      failing: findings.filter((f) => severityRank(f.severity) >= severityRank(options.failOn)).length,
      byType,
    },
  }
}

function lastSignIn(activity: Record<string, string> | undefined): string | null {
  const times = [activity?.lastSignInDateTime, activity?.lastNonInteractiveSignInDateTime]
    .filter((t): t is string => typeof t === 'string' && t !== '' && t !== GRAPH_NEVER && !Number.isNaN(Date.parse(t)))
    .sort((a, b) => Date.parse(b) - Date.parse(a))
  return times[0] ?? null
}

/** `a_contoso.com#EXT#@fabrikam.onmicrosoft.com` → contoso.com; `adele@contoso.com` → contoso.com. */
function homeDomain(upn: string | null | undefined, mail?: string | null): string | undefined {
  if (upn) {
    const ext = /^(.*)#EXT#@/i.exec(upn)
    if (ext) {
      const at = ext[1].lastIndexOf('_')
      return at !== -1 ? ext[1].slice(at + 1).toLowerCase() : undefined
    }

    const at = upn.lastIndexOf('@')
    if (at !== -1) return upn.slice(at + 1).toLowerCase()
  }

  return mail?.includes('@') ? mail.slice(mail.lastIndexOf('@') + 1).toLowerCase() : undefined
}

function toPrincipal(o: GraphObject): ReviewPrincipal {
  const type = o['@odata.type'] ?? ''
  if (type === '#microsoft.graph.user') {
    const guest = o.userType === 'Guest' || /#EXT#/i.test(o.userPrincipalName ?? '')
    return {
      id: o.id,
      kind: guest ? 'guest' : 'user',
      resolved: true,
      name: o.userPrincipalName ?? o.displayName ?? o.id,
      ...(o.displayName ? {displayName: o.displayName} : {}),
      ...(o.userPrincipalName ? {userPrincipalName: o.userPrincipalName} : {}),
      ...(homeDomain(o.userPrincipalName, o.mail) ? {homeDomain: homeDomain(o.userPrincipalName, o.mail)} : {}),
      ...(typeof o.accountEnabled === 'boolean' ? {enabled: o.accountEnabled} : {}),
    }
  }

  if (type === '#microsoft.graph.servicePrincipal') {
    return {
      id: o.id,
      kind: o.servicePrincipalType === 'ManagedIdentity' ? 'managed-identity' : 'service-principal',
      resolved: true,
      name: o.displayName ?? o.id,
      ...(o.displayName ? {displayName: o.displayName} : {}),
      ...(typeof o.accountEnabled === 'boolean' ? {enabled: o.accountEnabled} : {}),
      appOwnerTenant: o.appOwnerOrganizationId ?? null,
    }
  }

  return {
    id: o.id,
    kind: type === '#microsoft.graph.group' ? 'group' : 'unknown',
    resolved: true,
    name: o.displayName ?? o.id,
    ...(o.displayName ? {displayName: o.displayName} : {}),
  }
}

/**
 * Which database roles (PostgreSQL's predefined `pg_*` roles aside) can SELECT or DELETE on each
 * mapped table (`has_table_privilege`, which counts grants through role membership, ownership and
 * superuser rights). Expected: the role custos logs in as and roles access.expected.principals names.
 */
async function databaseRoleAccess(
  clients: AzureClients,
  db: PostgresDatabaseConfig,
  expectedPrincipals: readonly string[],
): Promise<{access: DatabaseRoleAccess[]; superusers: string[]}> {
  const tables = mappedTables(db)
  const client = await connect(db, clients.postgresConnectOptions())
  try {
    const result = await client.query<{
      role: string
      table: string
      can_select: boolean
      can_delete: boolean
      superuser: boolean
    }>(
      `SELECT r.rolname AS role, t.display AS table,
              has_table_privilege(r.oid, t.oid, 'SELECT') AS can_select,
              has_table_privilege(r.oid, t.oid, 'DELETE') AS can_delete,
              r.rolsuper AS superuser
         FROM pg_roles r
         CROSS JOIN (SELECT c.oid, m.display
                       FROM unnest($1::text[], $2::text[], $3::text[]) AS m(schema, name, display)
                       JOIN pg_namespace n ON n.nspname = m.schema
                       JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = m.name) t
        WHERE r.rolname NOT LIKE 'pg\\_%'
        ORDER BY r.rolname, t.display`,
      [tables.map((t) => t.schema), tables.map((t) => t.table), tables.map((t) => t.display)],
    )
    const expected = (role: string) =>
      role === db.user || names(expectedPrincipals, {id: role, kind: 'unknown', resolved: true, name: role})
    return {
      access: result.rows.map((r) => ({
        database: db.name,
        role: r.role,
        table: r.table,
        select: r.can_select,
        delete: r.can_delete,
        expected: expected(r.role),
      })),
      superusers: [...new Set(result.rows.filter((r) => r.superuser).map((r) => r.role))],
    }
  } catch (error) {
    if (error instanceof CustosError) throw error
    throw fromPostgresError(error, `database ${db.database} on ${db.host}`, db.user)
  } finally {
    await client.end().catch(() => {})
  }
}

/** A server's Entra administrators over Resource Manager (azure/postgres-server.ts). */
async function serverAdministrators(
  clients: AzureClients,
  database: PostgresDatabaseConfig,
): Promise<PostgresEntraAdministrator[]> {
  const admins: PostgresEntraAdministrator[] = []
  for await (const a of listEntraAdministrators(clients, database.resourceId!))
    admins.push({
      objectId: a.objectId,
      principalName: a.principalName ?? a.objectId,
      principalType: a.principalType ?? 'Unknown',
      ...(a.tenantId ? {tenantId: a.tenantId} : {}),
    })
  return admins
}
