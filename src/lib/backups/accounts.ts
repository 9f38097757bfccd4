/**
 * What Resource Manager says about the accounts behind the backup sets and the primary stores:
 * region, secondary region, replication (SKU), encryption key source and encryption scopes. Each
 * account is read once per run, whatever the number of customers.
 */
import type {AzureClients} from '../azure/clients.js'
import type {BackupSetConfig, DataMap} from '../datamap/types.js'
import {fromAzureError} from '../errors.js'
import {joinParts, type CheckPart, type CheckResult, type CheckStatus} from './model.js'

export interface AccountFacts {
  resourceId: string
  name: string
  location: string
  secondaryLocation?: string
  sku?: string
  /** Microsoft.Storage or Microsoft.Keyvault */
  keySource?: string
  keyName?: string
  keyVaultUri?: string
}

export interface EncryptionScopeFacts {
  name: string
  source?: string
  state?: string
  keyUri?: string
}

/** A lookup either found the resource or says, in one sentence, why not. */
export type Lookup<T> = {ok: true; value: T} | {ok: false; error: string}

export interface StorageResourceId {
  subscription: string
  resourceGroup: string
  name: string
}

function parseStorageResourceId(id: string): StorageResourceId {
  const m =
    /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Storage\/storageAccounts\/([^/]+)$/i.exec(
      id.trim(),
    )
  if (!m) throw new RangeError(`"${id}" is not a storage account resource id`)
  return {subscription: m[1], resourceGroup: m[2], name: m[3]}
}

function normalizeRegion(region: string | undefined): string | undefined {
  return region?.toLowerCase().replaceAll(/\s+/g, '')
}

export interface AccountDirectoryOptions {
  abortSignal?: AbortSignal
}

/** Reads storage accounts and their encryption scopes through Resource Manager, once each. */
export class AccountDirectory {
  private readonly accounts = new Map<string, Promise<Lookup<AccountFacts>>>()
  private readonly scopes = new Map<string, Promise<Lookup<Map<string, EncryptionScopeFacts>>>>()

  constructor(
    private readonly clients: AzureClients,
    private readonly options: AccountDirectoryOptions = {},
  ) {}

  account(resourceId: string): Promise<Lookup<AccountFacts>> {
    const key = resourceId.toLowerCase()
    let found = this.accounts.get(key)
    if (!found) {
      found = this.readAccount(resourceId)
      this.accounts.set(key, found)
    }

    return found
  }

  /** The account's encryption scopes by lower-case name (one paged list call per account). */
  encryptionScopes(resourceId: string): Promise<Lookup<Map<string, EncryptionScopeFacts>>> {
    const key = resourceId.toLowerCase()
    let found = this.scopes.get(key)
    if (!found) {
      found = this.readScopes(resourceId)
      this.scopes.set(key, found)
    }

    return found
  }

  private async readAccount(resourceId: string): Promise<Lookup<AccountFacts>> {
    const id = parseStorageResourceId(resourceId)
    try {
      const a = await this.clients
        .storageManagement(id.subscription)
        .storageAccounts.getProperties(id.resourceGroup, id.name, {abortSignal: this.options.abortSignal})
      const encryption = a.encryption
      return {
        ok: true,
        value: {
          resourceId,
          name: a.name ?? id.name,
          location: normalizeRegion(a.location ?? a.primaryLocation) ?? '',
          ...(a.secondaryLocation ? {secondaryLocation: normalizeRegion(a.secondaryLocation)} : {}),
          ...(a.sku?.name ? {sku: a.sku.name} : {}),
          ...(encryption?.keySource ? {keySource: encryption.keySource} : {}),
          ...(encryption?.keyVaultProperties?.keyName ? {keyName: encryption.keyVaultProperties.keyName} : {}),
          ...(encryption?.keyVaultProperties?.keyVaultUri
            ? {keyVaultUri: encryption.keyVaultProperties.keyVaultUri}
            : {}),
        },
      }
    } catch (error) {
      return {ok: false, error: describe(error, `storage account ${id.name} in Resource Manager`)}
    }
  }

  private async readScopes(resourceId: string): Promise<Lookup<Map<string, EncryptionScopeFacts>>> {
    const id = parseStorageResourceId(resourceId)
    const scopes = new Map<string, EncryptionScopeFacts>()
    try {
      for await (const s of this.clients
        .storageManagement(id.subscription)
        .encryptionScopes.list(id.resourceGroup, id.name, {abortSignal: this.options.abortSignal})) {
        if (!s.name) continue
        scopes.set(s.name.toLowerCase(), {
          name: s.name,
          ...(s.source ? {source: s.source} : {}),
          ...(s.state ? {state: s.state} : {}),
          ...(s.keyVaultProperties?.keyUri ? {keyUri: s.keyVaultProperties.keyUri} : {}),
        })
      }

      return {ok: true, value: scopes}
    } catch (error) {
      return {
        ok: false,
        error: describe(error, `the encryption scopes of storage account ${id.name} in Resource Manager`),
      }
    }
  }
}

function describe(error: unknown, what: string): string {
  const mapped = fromAzureError(error, what)
  if (mapped instanceof Error && (mapped as {name?: string}).name === 'AbortError') throw mapped
  return mapped instanceof Error ? mapped.message : String(mapped)
}

/** The accounts of the primary stores (stores[].resourceId), each read once. */
export async function primaryAccounts(
  map: DataMap,
  directory: AccountDirectory,
): Promise<Array<{store: string; lookup?: Lookup<AccountFacts>}>> {
  return Promise.all(
    map.stores.map(async (s) => ({
      store: s.name,
      ...(s.resourceId ? {lookup: await directory.account(s.resourceId)} : {}),
    })),
  )
}

/**
 * "Separate and resident": the backup account sits in an allowed region (its geo-replica too), in a
 * region different from every primary store's account, and its replication is reported.
 */
export function checkResidency(
  set: BackupSetConfig,
  backup: Lookup<AccountFacts> | undefined,
  primaries: Array<{store: string; lookup?: Lookup<AccountFacts>}>,
  allowedRegions: string[],
): CheckResult {
  if (!set.resourceId || !backup) {
    return {
      check: 'resident',
      status: 'warn',
      detail: `backup set ${set.name} has no resourceId, so its region cannot be checked (set backups[].resourceId)`,
    }
  }

  if (!backup.ok) return {check: 'resident', status: 'unknown', detail: backup.error}
  const a = backup.value
  const allowed = new Set(allowedRegions.map((r) => normalizeRegion(r)!))
  const parts: CheckPart[] = []
  if (allowed.has(a.location)) parts.push({status: 'pass', text: `${a.name} is in ${a.location} (allowed)`})
  else
    parts.push({
      status: 'fail',
      text: `backup account ${a.name} is in ${a.location}, which is not in residency.allowedRegions (${allowedRegions.join(', ')})`,
    })
  if (a.secondaryLocation && !allowed.has(a.secondaryLocation)) {
    parts.push({
      status: 'fail',
      text: `backup account ${a.name} geo-replicates to ${a.secondaryLocation}, which is not an allowed region`,
    })
  }

  const compared: string[] = []
  for (const p of primaries) {
    if (!p.lookup) {
      parts.push({status: 'warn', text: `store ${p.store} has no resourceId, so its region cannot be compared`})
    } else if (!p.lookup.ok) {
      parts.push({status: 'unknown', text: p.lookup.error})
    } else if (p.lookup.value.resourceId.toLowerCase() === a.resourceId.toLowerCase()) {
      parts.push({status: 'fail', text: `backup account ${a.name} is the account of store ${p.store} itself`})
    } else if (p.lookup.value.location === a.location) {
      parts.push({
        status: 'fail',
        text: `backup account ${a.name} is in the same region (${a.location}) as store ${p.store} (${p.lookup.value.name})`,
      })
    } else {
      compared.push(`${p.store} in ${p.lookup.value.location}`)
    }
  }

  if (compared.length > 0) parts.push({status: 'pass', text: `primary: ${[...new Set(compared)].join(', ')}`})
  parts.push({
    status: 'pass',
    always: true,
    text: `replication ${a.sku ?? 'unknown'}${a.secondaryLocation ? ` to ${a.secondaryLocation}` : ', no secondary region'}`,
  })
  return joinParts('resident', parts)
}

/** Account-level encryption: a Key Vault key where the set says `requireCustomerManagedKey`. */
export function checkAccountKey(
  set: BackupSetConfig,
  backup: Lookup<AccountFacts> | undefined,
): {status: CheckStatus; text: string} | undefined {
  if (!set.requireCustomerManagedKey) return undefined
  if (!backup)
    return {
      status: 'warn',
      text: `backup set ${set.name} requires a customer-managed key but has no resourceId to check it with`,
    }
  if (!backup.ok) return {status: 'unknown', text: backup.error}
  const a = backup.value
  if (a.keySource?.toLowerCase() === 'microsoft.keyvault') {
    return {
      status: 'pass',
      text: `account ${a.name} encrypts with Key Vault key ${a.keyName ?? '(unnamed)'}${a.keyVaultUri ? ` in ${a.keyVaultUri.replace(/\/+$/, '')}` : ''}`,
    }
  }

  return {
    status: 'fail',
    text: `account ${a.name} encrypts with ${a.keySource ?? 'an unreported key source'}, not with a Key Vault key as requireCustomerManagedKey demands`,
  }
}

/** The key name a Key Vault key URI names when it lies in `vault` (`<vault>/keys/<name>[/<version>]`). */
function keyNameIn(keyUri: string, vault: string | undefined): string | undefined {
  const uri = keyUri.trim().replace(/\/+$/, '')
  const base = vault?.trim().replace(/\/+$/, '')
  let rest: string
  if (base) {
    if (!uri.toLowerCase().startsWith(`${base.toLowerCase()}/keys/`)) return undefined
    rest = uri.slice(base.length + '/keys/'.length)
  } else {
    const at = uri.toLowerCase().indexOf('/keys/')
    if (at === -1) return undefined
    rest = uri.slice(at + '/keys/'.length)
  }

  return rest.split('/')[0] || undefined
}

/**
 * The encryption scope a customer's backups must use, as Resource Manager defines it: enabled, and
 * backed by the customer's own key (keys.customerKey) where the data map names one.
 */
export function checkScopeDefinition(
  scopeName: string,
  scopes: Lookup<Map<string, EncryptionScopeFacts>> | undefined,
  customerKey: string | undefined,
  vault: string | undefined,
): {status: CheckStatus; text: string} {
  if (!scopes) {
    return customerKey
      ? {
          status: 'warn',
          text: `cannot check that encryption scope ${scopeName} uses key ${customerKey} (the backup set has no resourceId)`,
        }
      : {status: 'pass', text: `scope ${scopeName}`}
  }

  if (!scopes.ok) return {status: 'unknown', text: scopes.error}
  const s = scopes.value.get(scopeName.toLowerCase())
  if (!s) return {status: 'fail', text: `encryption scope ${scopeName} does not exist in the backup account`}
  if (s.state && s.state.toLowerCase() !== 'enabled')
    return {status: 'fail', text: `encryption scope ${scopeName} is ${s.state}`}
  if (!customerKey) return {status: 'pass', text: `scope ${scopeName} (${s.source ?? 'source not reported'})`}
  const keyName = s.keyUri ? keyNameIn(s.keyUri, vault) : undefined
  if (s.source?.toLowerCase() === 'microsoft.keyvault' && keyName?.toLowerCase() === customerKey.toLowerCase()) {
    return {status: 'pass', text: `scope ${scopeName} uses customer key ${customerKey}`}
  }

  const uses =
    s.source?.toLowerCase() === 'microsoft.keyvault'
      ? `Key Vault key ${s.keyUri ?? '(no key URI)'}`
      : `${s.source ?? 'an unreported source'} keys`
  return {
    status: 'fail',
    text: `encryption scope ${scopeName} uses ${uses}, not the customer key ${customerKey}${vault ? ` in ${vault}` : ''}`,
  }
}
