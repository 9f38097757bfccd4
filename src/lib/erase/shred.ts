/**
 * Crypto-shredding: the customer's own key is deleted and purged, after which whatever was
 * encrypted with it (backups, copies soft delete still keeps) cannot be read by anyone. Where purge
 * protection (or a missing permission) forbids the purge, the key stays recoverable until its
 * scheduled purge date; custos records that date as the day it becomes unrecoverable, and says so.
 */
import type {AzureClients} from '../azure/clients.js'
import {sleep} from '../azure/retry.js'
import {expandCustomer} from '../datamap/placeholders.js'
import {fromAzureError, isAbortError} from '../errors.js'

export type KeyShredState = 'purged' | 'deleted-purge-pending' | 'absent' | 'not-configured'

export interface KeyShredResult {
  method: 'crypto-erase'
  state: KeyShredState
  vault?: string
  name?: string
  /** what this run did: deleted the key, purged the deleted key */
  deleted: boolean
  purged: boolean
  deletedOn?: string
  /** when the vault purges the deleted key by itself */
  scheduledPurgeDate?: string
  /** from when the key cannot be recovered by anyone: now when purged, else the scheduled purge date */
  unrecoverableFrom?: string
  recoveryLevel?: string
  recoverableDays?: number
  /** versions the key had (all destroyed with it) */
  versions?: number
  /** why the purge was refused, verbatim from the service */
  purgeRefused?: {status: number; code?: string; message: string}
  /** what is known about key backups */
  backups: string
}

export interface ShredKeyOptions {
  abortSignal?: AbortSignal
  /** how often the delete poller asks for the deleted key (it 404s for a while after the delete) */
  pollIntervalInMs?: number
  /** attempts of the purge while the vault still reports the deletion in progress (409) */
  purgeAttempts?: number
}

const BACKUPS_NOTE =
  'Key Vault keeps no list of key backups (backupKey); a backup blob made before the erase could be restored into a vault of the same subscription and geography. custos found none it could enumerate.'

/** Deletes and purges the customer key (idempotent: an absent key is reported, not an error). */
export async function shredCustomerKey(
  clients: AzureClients,
  customer: string,
  options: ShredKeyOptions = {},
): Promise<KeyShredResult> {
  const template = clients.map.keys?.customerKey
  if (!template)
    return {
      method: 'crypto-erase',
      state: 'not-configured',
      deleted: false,
      purged: false,
      backups: 'no customer key is configured (keys.customerKey)',
    }
  const name = expandCustomer(template, customer)
  const vault = clients.map.keys!.vault
  const client = clients.keyClient()
  const what = `customer key ${name} in vault ${vault}`
  const result: KeyShredResult = {
    method: 'crypto-erase',
    state: 'absent',
    vault,
    name,
    deleted: false,
    purged: false,
    backups: BACKUPS_NOTE,
  }
  try {
    try {
      let versions = 0
      for await (const _ of client.listPropertiesOfKeyVersions(name, {abortSignal: options.abortSignal})) versions++
      result.versions = versions
    } catch (error) {
      if (status(error) !== 404) throw error
    }

    try {
      const poller = await client.beginDeleteKey(name, {
        abortSignal: options.abortSignal,
        intervalInMs: options.pollIntervalInMs ?? 2000,
      })
      // The poller asks for the deleted key until it appears; its 404s meanwhile are expected.
      await poller.pollUntilDone({abortSignal: options.abortSignal})
      result.deleted = true
    } catch (error) {
      if (status(error) !== 404) throw error // 404: not a live key (deleted earlier, or never there)
    }

    let deletedKey
    try {
      deletedKey = await client.getDeletedKey(name, {abortSignal: options.abortSignal})
    } catch (error) {
      if (status(error) !== 404) throw error
    }

    if (!deletedKey) {
      // Neither live nor deleted: purged earlier (or never created).
      result.state = result.deleted ? 'purged' : 'absent'
      if (result.deleted) result.unrecoverableFrom = new Date().toISOString()
      return result
    }

    const p = deletedKey.properties
    if (p.deletedOn) result.deletedOn = p.deletedOn.toISOString()
    if (p.scheduledPurgeDate) result.scheduledPurgeDate = p.scheduledPurgeDate.toISOString()
    if (p.recoveryLevel) result.recoveryLevel = p.recoveryLevel
    if (p.recoverableDays !== undefined) result.recoverableDays = p.recoverableDays
    const attempts = options.purgeAttempts ?? 10
    for (let attempt = 1; ; attempt++) {
      try {
        await client.purgeDeletedKey(name, {abortSignal: options.abortSignal})
        result.purged = true
        result.state = 'purged'
        result.unrecoverableFrom = new Date().toISOString()
        return result
      } catch (error) {
        const s = status(error)
        if (s === 404) {
          result.state = 'purged'
          result.unrecoverableFrom = new Date().toISOString()
          return result
        }

        if (s === 409 && attempt < attempts) {
          await sleep(Math.min(1000 * attempt, 5000), options.abortSignal)
          continue
        }

        if (s === 403 || s === 409 || s === 400) {
          result.state = 'deleted-purge-pending'
          result.purgeRefused = {
            status: s,
            ...(code(error) ? {code: code(error)} : {}),
            message: ((error as Error).message ?? '').split('\n')[0],
          }
          if (result.scheduledPurgeDate) result.unrecoverableFrom = result.scheduledPurgeDate
          return result
        }

        throw error
      }
    }
  } catch (error) {
    if (isAbortError(error)) throw error
    throw fromAzureError(error, what)
  }
}

function status(error: unknown): number | undefined {
  return (error as {statusCode?: number}).statusCode
}

function code(error: unknown): string | undefined {
  return (error as {code?: string}).code
}

/** A store whose data was encrypted with the customer key: what soft delete or replicas keep is unreadable now. */
export interface CryptoErasedStore {
  store: string
  encryptionScope: string
  keyUri: string
  /** from when the key cannot be recovered (the purge, or the scheduled purge date) */
  effectiveFrom?: string
}

/**
 * Which backup sets are crypto-erased: their `encryptionScope` (read from the resource manager, for
 * sets with a `resourceId`) is keyed with the customer key that was just shredded. Only what can be
 * proven this way is claimed; anything else is reported as deleted or purged only.
 */
export async function cryptoErasedStores(
  clients: AzureClients,
  customer: string,
  key: KeyShredResult,
  options: {abortSignal?: AbortSignal} = {},
): Promise<CryptoErasedStore[]> {
  if (!key.name || (key.state !== 'purged' && key.state !== 'deleted-purge-pending')) return []
  const out: CryptoErasedStore[] = []
  for (const set of clients.map.backups) {
    if (!set.encryptionScope || !set.resourceId) continue
    const scopeName = expandCustomer(set.encryptionScope, customer)
    const [, , subscription, , resourceGroup, , , , accountName] = set.resourceId.split('/')
    let keyUri: string | undefined
    try {
      const scope = await clients
        .storageManagement(subscription)
        .encryptionScopes.get(resourceGroup, accountName, scopeName, {abortSignal: options.abortSignal})
      keyUri = scope.keyVaultProperties?.keyUri
    } catch (error) {
      if (status(error) === 404) continue
      throw fromAzureError(error, `encryption scope ${scopeName} of ${set.resourceId} (backup set ${set.name})`)
    }

    if (!keyUri) continue
    const path = new URL(keyUri).pathname.toLowerCase().split('/').filter(Boolean)
    if (path[0] !== 'keys' || path[1] !== key.name.toLowerCase()) continue
    out.push({
      store: set.name,
      encryptionScope: scopeName,
      keyUri,
      ...(key.unrecoverableFrom ? {effectiveFrom: key.unrecoverableFrom} : {}),
    })
  }

  return out
}
