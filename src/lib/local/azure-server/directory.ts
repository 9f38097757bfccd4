/**
 * The local server's role assignments, role definitions and Entra ID directory (users, groups,
 * service principals), for `access review`. Kept in the wire format of
 * `../shared/azure-contracts/authorization/` and `graph/`, and served as stored.
 */
import {randomUUID} from 'node:crypto'

import type {JsonObject} from './state.js'

export type PrincipalType = 'User' | 'Group' | 'ServicePrincipal' | 'ForeignGroup' | 'Device'

export interface RoleAssignmentInput {
  /** ARM scope with a leading slash: `/subscriptions/…` or a resource id */
  scope: string
  /** the role definition's GUID (or its tenant-level id `/providers/Microsoft.Authorization/roleDefinitions/{guid}`) */
  roleDefinitionId: string
  principalId: string
  /** default User */
  principalType?: PrincipalType
  /** the assignment's name (a GUID); default random */
  name?: string
}

export interface RoleDefinitionInput {
  /** GUID */
  name: string
  roleName: string
  /** `BuiltInRole` or `CustomRole` (default CustomRole) */
  type?: string
  description?: string
  assignableScopes?: string[]
  actions?: string[]
  dataActions?: string[]
}

export interface UserInput {
  id?: string
  displayName: string
  userPrincipalName: string
  mail?: string | null
  /** Member (default) or Guest */
  userType?: 'Member' | 'Guest'
  /** default true */
  accountEnabled?: boolean
  /** ISO 8601; undefined = never (Graph's `0001-01-01T00:00:00Z`) */
  lastSignInDateTime?: string
  lastNonInteractiveSignInDateTime?: string
}

export interface ServicePrincipalInput {
  id?: string
  displayName: string
  appId?: string
  /** the tenant that owns the application */
  appOwnerOrganizationId: string | null
  /** Application (default), ManagedIdentity, Legacy, SocialIdp; Graph may also answer null */
  servicePrincipalType?: string | null
  accountEnabled?: boolean
  /** for managed identities: the resource id they belong to */
  alternativeNames?: string[]
}

export interface GroupInput {
  id?: string
  displayName: string
  /** object ids of direct members (users, service principals, groups) */
  members?: string[]
}

/** Graph's "never": `signInActivity` times are this, not null (users-list-signInActivity-response.json). */
export const GRAPH_NEVER = '0001-01-01T00:00:00Z'

const ROLE_ASSIGNMENT_TYPE = 'Microsoft.Authorization/roleAssignments'

function normalizeScope(scope: string): string {
  return '/' + scope.split('/').filter(Boolean).join('/')
}

function guidOf(roleDefinitionId: string): string {
  return roleDefinitionId.split('/').findLast(Boolean) ?? roleDefinitionId
}

export class LocalDirectory {
  /** role assignments in insertion order (wire format) */
  readonly roleAssignments: JsonObject[] = []
  /** role definitions by lower-case GUID (wire format without the scope-dependent id) */
  readonly roleDefinitions = new Map<string, JsonObject>()
  /** directory objects by lower-case id, with `@odata.type` (wire format) */
  readonly objects = new Map<string, JsonObject>()
  /** direct members of groups, by lower-case group id */
  readonly groupMembers = new Map<string, string[]>()
  /** signInActivity of users, by lower-case id */
  readonly signInActivity = new Map<string, JsonObject>()

  addRoleAssignment(input: RoleAssignmentInput): JsonObject {
    const scope = normalizeScope(input.scope)
    const name = input.name ?? randomUUID()
    const assignment: JsonObject = {
      properties: {
        roleDefinitionId: `/providers/Microsoft.Authorization/roleDefinitions/${guidOf(input.roleDefinitionId)}`,
        principalId: input.principalId,
        principalType: input.principalType ?? 'User',
        scope,
      },
      id: `${scope === '/' ? '' : scope}/providers/Microsoft.Authorization/roleAssignments/${name}`,
      type: ROLE_ASSIGNMENT_TYPE,
      name,
    }
    this.roleAssignments.push(assignment)
    return assignment
  }

  addRoleDefinition(input: RoleDefinitionInput): void {
    this.roleDefinitions.set(input.name.toLowerCase(), {
      properties: {
        roleName: input.roleName,
        type: input.type ?? 'CustomRole',
        description: input.description ?? '',
        assignableScopes: input.assignableScopes ?? ['/'],
        permissions: [
          {actions: input.actions ?? [], notActions: [], dataActions: input.dataActions ?? [], notDataActions: []},
        ],
      },
      type: 'Microsoft.Authorization/roleDefinitions',
      name: input.name,
    })
  }

  addUser(input: UserInput): JsonObject {
    const id = input.id ?? randomUUID()
    const user: JsonObject = {
      '@odata.type': '#microsoft.graph.user',
      id,
      accountEnabled: input.accountEnabled ?? true,
      displayName: input.displayName,
      userPrincipalName: input.userPrincipalName,
      mail: input.mail === undefined ? input.userPrincipalName : input.mail,
      userType: input.userType ?? 'Member',
    }
    this.objects.set(id.toLowerCase(), user)
    this.signInActivity.set(id.toLowerCase(), {
      lastSignInDateTime: input.lastSignInDateTime ?? GRAPH_NEVER,
      lastSignInRequestId: input.lastSignInDateTime ? randomUUID() : '',
      lastNonInteractiveSignInDateTime: input.lastNonInteractiveSignInDateTime ?? GRAPH_NEVER,
      lastNonInteractiveSignInRequestId: input.lastNonInteractiveSignInDateTime ? randomUUID() : '',
    })
    return user
  }

  /** A service principal in the shape of servicePrincipal-get-response.json (its explicit nulls included). */
  addServicePrincipal(input: ServicePrincipalInput): JsonObject {
    const id = input.id ?? randomUUID()
    const sp: JsonObject = {
      '@odata.type': '#microsoft.graph.servicePrincipal',
      accountEnabled: input.accountEnabled ?? true,
      addIns: [],
      alternativeNames: input.alternativeNames ?? [],
      appDisplayName: input.displayName,
      appId: input.appId ?? randomUUID(),
      appOwnerOrganizationId: input.appOwnerOrganizationId,
      appRoleAssignmentRequired: false,
      appRoles: [],
      disabledByMicrosoftStatus: null,
      displayName: input.displayName,
      endpoints: [],
      homepage: null,
      id,
      verifiedPublisher: {displayName: null, verifiedPublisherId: null, addedDateTime: null},
      info: {termsOfServiceUrl: null, supportUrl: null, privacyStatementUrl: null, marketingUrl: null, logoUrl: null},
      keyCredentials: [],
      logoutUrl: null,
      oauth2PermissionScopes: [],
      passwordCredentials: [],
      publisherName: null,
      replyUrls: [],
      resourceSpecificApplicationPermissions: [],
      servicePrincipalNames: [],
      servicePrincipalType: input.servicePrincipalType === undefined ? 'Application' : input.servicePrincipalType,
      signInAudience: input.servicePrincipalType === 'ManagedIdentity' ? null : 'AzureADMyOrg',
      tags: [],
      tokenEncryptionKeyId: null,
    }
    this.objects.set(id.toLowerCase(), sp)
    return sp
  }

  addGroup(input: GroupInput): JsonObject {
    const id = input.id ?? randomUUID()
    const group: JsonObject = {
      '@odata.type': '#microsoft.graph.group',
      id,
      displayName: input.displayName,
      mailEnabled: false,
      securityEnabled: true,
    }
    this.objects.set(id.toLowerCase(), group)
    this.groupMembers.set(id.toLowerCase(), [...(input.members ?? [])])
    return group
  }

  /** Removes a directory object (a deleted identity): its role assignments stay, like in Azure. */
  deleteObject(id: string): boolean {
    this.signInActivity.delete(id.toLowerCase())
    return this.objects.delete(id.toLowerCase())
  }

  /** Every member of a group, members of nested groups included (each once), in discovery order. */
  transitiveMembers(groupId: string): JsonObject[] {
    const out: JsonObject[] = []
    const seen = new Set<string>([groupId.toLowerCase()])
    const queue = [...(this.groupMembers.get(groupId.toLowerCase()) ?? [])]
    while (queue.length > 0) {
      const id = queue.shift()!.toLowerCase()
      if (seen.has(id)) continue
      seen.add(id)
      const object = this.objects.get(id)
      if (!object) continue
      out.push(object)
      if (object['@odata.type'] === '#microsoft.graph.group') queue.push(...(this.groupMembers.get(id) ?? []))
    }

    return out
  }
}
