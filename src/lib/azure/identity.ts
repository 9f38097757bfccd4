/**
 * Who is running custos, for certificates and the audit trail. Read from the claims of the token
 * the configured credential hands out (the token itself is never stored or printed).
 */
import {userInfo, hostname} from 'node:os'

import type {DataMap} from '../datamap/types.js'
import {parseAccount} from './account.js'
import type {AzureClients} from './clients.js'
import {STORAGE_SCOPE} from './credential.js'

export interface OperatorIdentity {
  /** user principal name, app id or local user */
  name: string
  objectId?: string
  tenantId?: string
  kind: 'user' | 'service-principal' | 'managed-identity' | 'local-development' | 'unknown'
  host: string
}

let cached: OperatorIdentity | undefined

export async function operatorIdentity(clients: AzureClients): Promise<OperatorIdentity> {
  if (cached) return cached
  const host = hostname()
  if (clients.map.azure.credential === 'local') {
    cached = {name: `${safeUser()}@${host} (local development)`, kind: 'local-development', host}
    return cached
  }

  if (!usesEntraId(clients.map)) {
    // No token is needed for anything in this data map: asking DefaultAzureCredential would probe
    // the instance metadata service and spawn the Azure CLI only to learn a name.
    cached = {name: `${safeUser()}@${host}`, kind: 'unknown', host}
    return cached
  }

  try {
    const token = await clients.credential.getToken(STORAGE_SCOPE)
    const claims = token ? decodeClaims(token.token) : {}
    const name = (claims.upn ??
      claims.unique_name ??
      claims.preferred_username ??
      claims.app_displayname ??
      claims.appid ??
      claims.oid ??
      'unknown') as string
    const kind =
      claims.upn || claims.preferred_username
        ? 'user'
        : claims.xms_mirid
          ? 'managed-identity'
          : claims.appid
            ? 'service-principal'
            : 'unknown'
    cached = {name, objectId: claims.oid as string | undefined, tenantId: claims.tid as string | undefined, kind, host}
  } catch {
    cached = {name: `${safeUser()}@${host}`, kind: 'unknown', host}
  }

  return cached
}

/**
 * Whether anything the data map names authenticates with an Entra ID token: a storage account given
 * as a URL without a SAS, Key Vault, the resource manager (ARM resource ids, the activity log) or a
 * Log Analytics workspace.
 */
export function usesEntraId(map: DataMap): boolean {
  const accounts = [...map.stores, ...map.backups].map((s) => s.account)
  accounts.push(map.audit.account)
  if (map.exports) accounts.push(map.exports.account)
  if (map.logs?.archive) accounts.push(map.logs.archive.account)
  const tokenAccount = accounts.some((account) => {
    try {
      const ref = parseAccount(account)
      return !ref.sharedKey && !ref.sas
    } catch {
      return true
    }
  })
  const arm =
    [...map.stores, ...map.backups].some((s) => s.resourceId) ||
    Boolean(map.activityLog || map.azure.keyVaultResourceId)
  return tokenAccount || Boolean(map.keys?.vault) || Boolean(map.logs?.workspace) || arm
}

function decodeClaims(jwt: string): Record<string, unknown> {
  const payload = jwt.split('.')[1]
  if (!payload) return {}
  try {
    return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>
  } catch {
    return {}
  }
}

function safeUser(): string {
  try {
    return userInfo().username
  } catch {
    return 'unknown'
  }
}
