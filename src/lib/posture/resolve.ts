/**
 * Which ARM resources the data map's accounts and vault are. An account is found by its `resourceId`
 * (stores and backups may carry one), else by listing the subscription's storage accounts and
 * comparing `primaryEndpoints.blob` with the account's blob endpoint. The vault is found by
 * `azure.keyVaultResourceId`, else by listing the subscription's vaults and comparing `vaultUri`.
 * What cannot be found is reported, not thrown: the checks of that resource become `unknown`.
 */
import type {Vault} from '@azure/arm-keyvault'
import type {StorageAccount} from '@azure/arm-storage'

import {accountKey, parseAccount} from '../azure/account.js'
import type {AzureClients} from '../azure/clients.js'
import type {DataMap} from '../datamap/types.js'
import {fromAzureError, isAbortError} from '../errors.js'

export interface OperationOptions {
  abortSignal?: AbortSignal
}

/** One storage account of the data map, with every entry that uses it. */
export interface AccountTarget {
  /** blob endpoint without trailing slash (AccountRef.endpoint) */
  endpoint: string
  /** account name from the endpoint */
  name: string
  /** e.g. `stores.documents`, `backups.nightly-db`, `logs.archive`, `exports`, `audit` */
  usedBy: string[]
  /** the first `resourceId` a data-map entry of this account names */
  resourceId?: string
  /** some entry of this account sets `requireCustomerManagedKey: true` */
  requireCustomerManagedKey: boolean
}

export type Located<T> = {found: true; resource: T} | {found: false; reason: string; hint: string}

export interface ResourceIdParts {
  subscription: string
  resourceGroup: string
  name: string
}

/** Subscription, resource group and (last segment) name of an ARM id; undefined when it is not one. */
export function parseResourceId(id: string): ResourceIdParts | undefined {
  const parts = id.split('/').filter(Boolean)
  const lower = parts.map((p) => p.toLowerCase())
  const sub = lower.indexOf('subscriptions')
  const rg = lower.indexOf('resourcegroups')
  if (sub === -1 || rg === -1 || !parts[sub + 1] || !parts[rg + 1] || parts.length < rg + 4) return undefined
  return {subscription: parts[sub + 1], resourceGroup: parts[rg + 1], name: parts.at(-1) as string}
}

/** Every storage account the data map names (stores, backups, log archive, exports, audit), once each. */
export function accountTargets(map: DataMap): AccountTarget[] {
  const targets = new Map<string, AccountTarget>()
  const add = (account: string, usedBy: string, resourceId?: string, requireCustomerManagedKey = false) => {
    const key = accountKey(account)
    let target = targets.get(key)
    if (!target) {
      const ref = parseAccount(account)
      target = {endpoint: ref.endpoint, name: ref.name, usedBy: [], requireCustomerManagedKey: false}
      targets.set(key, target)
    }

    if (!target.usedBy.includes(usedBy)) target.usedBy.push(usedBy)
    target.resourceId ??= resourceId
    target.requireCustomerManagedKey ||= requireCustomerManagedKey
  }

  for (const s of map.stores) add(s.account, `stores.${s.name}`, s.resourceId, s.requireCustomerManagedKey)
  for (const b of map.backups) add(b.account, `backups.${b.name}`, b.resourceId, b.requireCustomerManagedKey)
  if (map.logs?.archive) add(map.logs.archive.account, 'logs.archive')
  if (map.exports) add(map.exports.account, 'exports')
  add(map.audit.account, 'audit')
  return [...targets.values()]
}

/**
 * The subscription to search when an account or the vault has no resource id: `azure.subscription`,
 * else `activityLog.subscription`, else the subscription of the first `resourceId` in the data map.
 */
export function searchSubscription(map: DataMap): string | undefined {
  if (map.azure.subscription) return map.azure.subscription
  if (map.activityLog?.subscription) return map.activityLog.subscription
  for (const entry of [...map.stores, ...map.backups]) {
    const parts = entry.resourceId ? parseResourceId(entry.resourceId) : undefined
    if (parts) return parts.subscription
  }

  return undefined
}

/** `https://x.blob.core.windows.net/` and `https://X.blob.core.windows.net` compare equal. */
export function normalizeEndpoint(url: string): string {
  return url.trim().replace(/\/+$/, '').toLowerCase()
}

/**
 * A read that failed because the resource is missing or the identity may not read it becomes a
 * reason and a hint; anything else (network, throttling after retries) is an Azure failure (exit 4).
 */
export function lookupFailure(error: unknown, what: string): {reason: string; hint: string} {
  if (isAbortError(error)) throw error
  const status = (error as {statusCode?: number} | undefined)?.statusCode
  if (status === 404) return {reason: `${what} was not found (404)`, hint: 'Check the resource id in the data map.'}
  if (status === 401 || status === 403) {
    return {
      reason: `reading ${what} was denied (${status})`,
      hint: 'Grant the signed-in identity the Reader role on the resource (or its resource group).',
    }
  }

  throw fromAzureError(error, what)
}

/** Locates every target; the map is keyed by `target.endpoint` lower-cased. */
export async function locateStorageAccounts(
  clients: AzureClients,
  map: DataMap,
  targets: AccountTarget[],
  options: OperationOptions = {},
): Promise<Map<string, Located<StorageAccount>>> {
  const located = new Map<string, Located<StorageAccount>>()
  const byEndpoint = new Map<string, AccountTarget>()
  await Promise.all(
    targets.map(async (target) => {
      const key = normalizeEndpoint(target.endpoint)
      if (!target.resourceId) {
        byEndpoint.set(key, target)
        return
      }

      const parts = parseResourceId(target.resourceId)
      if (!parts) {
        located.set(key, {
          found: false,
          reason: `resourceId ${target.resourceId} is not a storage account id`,
          hint: 'Fix resourceId in the data map.',
        })
        return
      }

      try {
        const resource = await clients
          .storageManagement(parts.subscription)
          .storageAccounts.getProperties(parts.resourceGroup, parts.name, {abortSignal: options.abortSignal})
        located.set(key, {found: true, resource})
      } catch (error) {
        const failure = lookupFailure(error, `storage account ${target.resourceId}`)
        located.set(key, {
          found: false,
          reason: failure.reason,
          hint: `${failure.hint} (resourceId of ${target.usedBy.join(', ')})`,
        })
      }
    }),
  )
  if (byEndpoint.size === 0) return located
  const addResourceIdHint = (target: AccountTarget) =>
    `Add resourceId: /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Storage/storageAccounts/${target.name} to ${target.usedBy.join(', ')} in the data map.`
  const subscription = searchSubscription(map)
  if (!subscription) {
    for (const [key, target] of byEndpoint) {
      located.set(key, {
        found: false,
        reason: `no resourceId and no subscription to search for account ${target.name}`,
        hint: `${addResourceIdHint(target)} Or set azure.subscription.`,
      })
    }

    return located
  }

  try {
    // Stream the subscription's accounts page by page and stop as soon as every endpoint is matched.
    const pages = clients
      .storageManagement(subscription)
      .storageAccounts.list({abortSignal: options.abortSignal})
      .byPage()
    for await (const page of pages) {
      for (const account of page) {
        const blob = account.primaryEndpoints?.blob
        const key = blob ? normalizeEndpoint(blob) : undefined
        if (key && byEndpoint.has(key) && !located.has(key)) located.set(key, {found: true, resource: account})
      }

      if ([...byEndpoint.keys()].every((key) => located.has(key))) break
    }
  } catch (error) {
    const failure = lookupFailure(error, `the storage accounts of subscription ${subscription}`)
    for (const [key, target] of byEndpoint) {
      if (!located.has(key))
        located.set(key, {
          found: false,
          reason: failure.reason,
          hint: `${failure.hint} Or: ${addResourceIdHint(target)}`,
        })
    }

    return located
  }

  for (const [key, target] of byEndpoint) {
    if (!located.has(key)) {
      located.set(key, {
        found: false,
        reason: `no storage account of subscription ${subscription} has the blob endpoint ${target.endpoint}`,
        hint: addResourceIdHint(target),
      })
    }
  }

  return located
}

/** Locates the `keys.vault` vault: by `azure.keyVaultResourceId`, else by listing the subscription's vaults. */
export async function locateVault(
  clients: AzureClients,
  map: DataMap,
  options: OperationOptions = {},
): Promise<Located<Vault>> {
  const vaultUrl = map.keys?.vault
  if (!vaultUrl) return {found: false, reason: 'keys.vault is not configured', hint: 'Add keys.vault to the data map.'}
  const hint =
    'Set azure.keyVaultResourceId: /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.KeyVault/vaults/<name> in the data map.'
  const configured = map.azure.keyVaultResourceId
  if (configured) {
    const parts = parseResourceId(configured)
    if (!parts) return {found: false, reason: `azure.keyVaultResourceId ${configured} is not a vault id`, hint}
    try {
      return {
        found: true,
        resource: await clients
          .keyVaultManagement(parts.subscription)
          .vaults.get(parts.resourceGroup, parts.name, {abortSignal: options.abortSignal}),
      }
    } catch (error) {
      const failure = lookupFailure(error, `key vault ${configured}`)
      return {found: false, ...failure}
    }
  }

  const subscription = searchSubscription(map)
  if (!subscription)
    return {
      found: false,
      reason: `no subscription to search for the vault ${vaultUrl}`,
      hint: `${hint} Or set azure.subscription.`,
    }
  const want = normalizeEndpoint(vaultUrl)
  try {
    for await (const page of clients
      .keyVaultManagement(subscription)
      .vaults.listBySubscription({abortSignal: options.abortSignal})
      .byPage()) {
      const match = page.find((v) => v.properties?.vaultUri && normalizeEndpoint(v.properties.vaultUri) === want)
      if (match) return {found: true, resource: match}
    }
  } catch (error) {
    const failure = lookupFailure(error, `the key vaults of subscription ${subscription}`)
    return {found: false, reason: failure.reason, hint: `${failure.hint} Or: ${hint}`}
  }

  return {found: false, reason: `no key vault of subscription ${subscription} has the URI ${vaultUrl}`, hint}
}
