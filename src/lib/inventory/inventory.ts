/**
 * `customer inventory`: what custos would export or erase for one customer, counted per store and
 * backup set while the listing streams (memory does not grow with the number of blobs).
 */
import type {AzureClients} from '../azure/clients.js'
import type {DataMap, StoreConfig} from '../datamap/types.js'
import {expandCustomer} from '../datamap/placeholders.js'
import {fromAzureError} from '../errors.js'
import {assertCustomerId, describeScope, type Scope} from '../scope.js'
import {storeKinds} from '../stores/kinds.js'
import type {PostgresInventory} from '../stores/postgres/inventory.js'
import {listScope, type ScopedBlob} from './listing.js'

/** One database store: per table the customer's rows and their approximate bytes. */
export type DatabaseInventory = PostgresInventory | TableStoreInventory

/** An Azure Table storage store in the inventory: entities count as rows, one `tables` entry. */
export interface TableStoreInventory {
  store: string
  engine: 'table'
  /** the account's name (what the inventory shows beside the store) */
  database: string
  scope: string
  exists: boolean
  tables: Array<{table: string; rows: number; bytes: number}>
  rows: number
  bytes: number
}

export interface StoreInventory {
  store: string
  kind: 'store' | 'backup'
  scope: string
  layout: 'container-per-customer' | 'prefix-per-customer'
  exists: boolean
  blobs: number
  bytes: number
  snapshots: number
  snapshotBytes: number
  versions: number
  versionBytes: number
  softDeleted: number
  softDeletedBytes: number
  legalHolds: number
  immutable: number
  oldest?: string
  newest?: string
}

export interface KeyInventory {
  name?: string
  state: 'enabled' | 'disabled' | 'soft-deleted' | 'absent' | 'not-configured' | 'unreachable'
  version?: string
  createdOn?: string
  recoveryLevel?: string
  scheduledPurgeDate?: string
  detail?: string
}

export interface CustomerInventory {
  customer: string
  stores: StoreInventory[]
  /** one entry per `databases[]` entry of the data map */
  databases: DatabaseInventory[]
  key: KeyInventory
  /** `objects` and `bytes` count blobs; `rows` and `rowBytes` (approximate) the databases' rows */
  totals: {objects: number; bytes: number; legalHolds: number; immutable: number; rows: number; rowBytes: number}
}

export interface InventoryOptions {
  abortSignal?: AbortSignal
  /** called after each listed object (progress) */
  onObject?: (blob: ScopedBlob) => void
}

/** Counts one scope's objects, streaming. A missing container counts as empty. */
export async function inventoryScope(
  clients: AzureClients,
  store: StoreConfig,
  scope: Scope,
  kind: 'store' | 'backup',
  options: InventoryOptions = {},
): Promise<StoreInventory> {
  const inv: StoreInventory = {
    store: store.name,
    kind,
    scope: describeScope(scope),
    layout: scope.ownsContainer ? 'container-per-customer' : 'prefix-per-customer',
    exists: true,
    blobs: 0,
    bytes: 0,
    snapshots: 0,
    snapshotBytes: 0,
    versions: 0,
    versionBytes: 0,
    softDeleted: 0,
    softDeletedBytes: 0,
    legalHolds: 0,
    immutable: 0,
  }
  const container = clients.container(scope, store.account)
  try {
    if (!(await container.exists({abortSignal: options.abortSignal}))) {
      inv.exists = false
      return inv
    }

    for await (const blob of listScope(container, scope, {
      versions: true,
      snapshots: true,
      deleted: true,
      protection: true,
      abortSignal: options.abortSignal,
    })) {
      options.onObject?.(blob)
      switch (blob.kind) {
        case 'current': {
          inv.blobs++
          inv.bytes += blob.size
          if (!inv.oldest || blob.lastModified < inv.oldest) inv.oldest = blob.lastModified
          if (!inv.newest || blob.lastModified > inv.newest) inv.newest = blob.lastModified
          break
        }

        case 'snapshot': {
          inv.snapshots++
          inv.snapshotBytes += blob.size
          break
        }

        case 'version': {
          inv.versions++
          inv.versionBytes += blob.size
          break
        }

        case 'deleted': {
          inv.softDeleted++
          inv.softDeletedBytes += blob.size
          break
        }
      }

      if (blob.legalHold) inv.legalHolds++
      if (blob.immutabilityPolicyExpiresOn && new Date(blob.immutabilityPolicyExpiresOn) > new Date()) inv.immutable++
    }
  } catch (error) {
    throw fromAzureError(error, `container ${scope.container} in account ${scope.accountName} (store ${store.name})`)
  }

  return inv
}

/** The state of the customer's own key in Key Vault (crypto-shredding target). */
export async function inventoryKey(clients: AzureClients, customer: string): Promise<KeyInventory> {
  const template = clients.map.keys?.customerKey
  if (!template) return {state: 'not-configured'}
  const name = expandCustomer(template, customer)
  const client = clients.keyClient()
  try {
    const key = await client.getKey(name)
    return {
      name,
      state: key.properties.enabled === false ? 'disabled' : 'enabled',
      ...(key.properties.version ? {version: key.properties.version} : {}),
      ...(key.properties.createdOn ? {createdOn: key.properties.createdOn.toISOString()} : {}),
      ...(key.properties.recoveryLevel ? {recoveryLevel: key.properties.recoveryLevel} : {}),
    }
  } catch (error) {
    if ((error as {statusCode?: number}).statusCode !== 404) {
      return {
        name,
        state: 'unreachable',
        detail: (fromAzureError(error, `key ${name} in vault ${clients.map.keys?.vault}`) as Error).message,
      }
    }
  }

  try {
    const deleted = await client.getDeletedKey(name)
    return {
      name,
      state: 'soft-deleted',
      ...(deleted.properties.scheduledPurgeDate
        ? {scheduledPurgeDate: deleted.properties.scheduledPurgeDate.toISOString()}
        : {}),
      ...(deleted.properties.recoveryLevel ? {recoveryLevel: deleted.properties.recoveryLevel} : {}),
    }
  } catch (error) {
    if ((error as {statusCode?: number}).statusCode === 404) return {name, state: 'absent'}
    return {
      name,
      state: 'unreachable',
      detail: (fromAzureError(error, `deleted key ${name} in vault ${clients.map.keys?.vault}`) as Error).message,
    }
  }
}

/**
 * The whole inventory of one customer: every store kind's part (blob stores and backup sets,
 * databases) and the key. Every kind's check runs first — a database's catalog: a map that would
 * erase too little or too much is refused before anything is listed.
 */
export async function inventoryCustomer(
  clients: AzureClients,
  map: DataMap,
  customer: string,
  options: InventoryOptions = {},
): Promise<CustomerInventory> {
  assertCustomerId(customer, map.customers.idPattern)
  const kinds = storeKinds(clients, map, customer)
  for (const kind of kinds) await kind.check(options)
  const stores: StoreInventory[] = []
  const databases: DatabaseInventory[] = []
  for (const kind of kinds) {
    const part = await kind.inventory(options)
    stores.push(...(part.stores ?? []))
    databases.push(...(part.databases ?? []))
  }

  const key = await inventoryKey(clients, customer)
  const totals = {
    objects: 0,
    bytes: 0,
    legalHolds: 0,
    immutable: 0,
    rows: databases.reduce((n, d) => n + d.rows, 0),
    rowBytes: databases.reduce((n, d) => n + d.bytes, 0),
  }
  for (const s of stores) {
    totals.objects += s.blobs + s.snapshots + s.versions + s.softDeleted
    totals.bytes += s.bytes + s.snapshotBytes + s.versionBytes + s.softDeletedBytes
    totals.legalHolds += s.legalHolds
    totals.immutable += s.immutable
  }

  return {customer, stores, databases, key, totals}
}
