/**
 * Built-in Azure roles custos names without asking Resource Manager. Built-in role definition ids
 * are the same GUID in every tenant and subscription (Microsoft's "Azure built-in roles" reference,
 * learn.microsoft.com/azure/role-based-access-control/built-in-roles); any other id — a custom role —
 * is resolved with `GET {scope}/providers/Microsoft.Authorization/roleDefinitions/{id}`.
 *
 * `privileged`: the role can change the resources or who has access, or read or change customer
 * data (the data-plane roles): holding it is what the terms' "administrative access to customer
 * data" means. Reader-type management roles are not privileged.
 */
export interface BuiltInRole {
  id: string
  name: string
  privileged: boolean
}

const BUILT_IN_ROLES: readonly BuiltInRole[] = [
  {id: '8e3af657-a8ff-443c-a75c-2fe8c4bcb635', name: 'Owner', privileged: true},
  {id: 'b24988ac-6180-42a0-ab88-20f7382dd24c', name: 'Contributor', privileged: true},
  {id: '18d7d88d-d35e-4fb5-a5c3-7773c20a72d9', name: 'User Access Administrator', privileged: true},
  {id: 'f58310d9-a9f6-439a-9e8d-f62e7b41a168', name: 'Role Based Access Control Administrator', privileged: true},
  {id: 'acdd72a7-3385-48ef-bd42-f606fba81ae7', name: 'Reader', privileged: false},
  {id: '17d1049b-9a84-46fb-8f53-869881c3d3ab', name: 'Storage Account Contributor', privileged: true},
  {id: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b', name: 'Storage Blob Data Owner', privileged: true},
  {id: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe', name: 'Storage Blob Data Contributor', privileged: true},
  {id: '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1', name: 'Storage Blob Data Reader', privileged: true},
  {id: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3', name: 'Storage Table Data Contributor', privileged: true},
  {id: '76199698-9eea-4c19-bc75-cec21354c6b6', name: 'Storage Table Data Reader', privileged: true},
  {id: '00482a5a-887f-4fb3-b363-3b7fe8e74483', name: 'Key Vault Administrator', privileged: true},
  {id: '14b46e9e-c2b7-41b4-b07b-48a6ebf60603', name: 'Key Vault Crypto Officer', privileged: true},
  {id: '12338af0-0e69-4776-bea7-57ae8d297424', name: 'Key Vault Crypto User', privileged: true},
  {id: 'f25e0fa2-a7c8-4377-a976-54943a77a395', name: 'Key Vault Contributor', privileged: true},
  {id: '21090545-7ca7-4776-b22c-e363652d74d2', name: 'Key Vault Reader', privileged: false},
  {id: '92aaf0da-9dab-42b6-94a3-d43ce8d16293', name: 'Log Analytics Contributor', privileged: true},
  {id: '73c42c96-874c-492b-b04d-ab87d138a893', name: 'Log Analytics Reader', privileged: false},
  {id: '43d0d8ad-25c7-4714-9337-8ba259a9fe05', name: 'Monitoring Reader', privileged: false},
]

const byId = new Map(BUILT_IN_ROLES.map((r) => [r.id, r]))

/** The GUID of a role definition id in any of its forms (tenant-level, subscription-level, bare). */
export function roleDefinitionGuid(roleDefinitionId: string): string {
  return (roleDefinitionId.split('/').findLast(Boolean) ?? roleDefinitionId).toLowerCase()
}

export function builtInRole(roleDefinitionId: string): BuiltInRole | undefined {
  return byId.get(roleDefinitionGuid(roleDefinitionId))
}

/**
 * Whether a custom role is privileged, from its permissions: any write, delete or action on
 * management (`*`, `…/write`, `…/delete`, `…/action`, role assignments) or any data action.
 */
export function customRolePrivileged(permissions: Array<{actions?: string[]; dataActions?: string[]}>): boolean {
  return permissions.some(
    (p) =>
      (p.dataActions ?? []).length > 0 ||
      (p.actions ?? []).some((a) => a === '*' || /\/(write|delete|action|\*)$/i.test(a)),
  )
}
