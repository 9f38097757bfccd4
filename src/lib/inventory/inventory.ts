/**
 * `customer inventory`: what custos would export or erase for one customer, counted per store and
 * backup set while the listing streams (memory does not grow with the number of blobs).
 */
import type {AzureClients} from '../azure/clients.js'
import type {DataMap} from '../datamap/types.js'
import {assertCustomerId} from '../scope.js'
import {storeKinds} from '../stores/kinds.js'
import type {PostgresInventory} from '../stores/postgres/inventory.js'
import type {InventoryOptions, StoreInventory} from './blob-scope.js'
import {inventoryKey, type KeyInventory} from './key.js'

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

export interface CustomerInventory {
  customer: string
  stores: StoreInventory[]
  /** one entry per `databases[]` entry of the data map */
  databases: DatabaseInventory[]
  key: KeyInventory
  /** `objects` and `bytes` count blobs; `rows` and `rowBytes` (approximate) the databases' rows */
  totals: {objects: number; bytes: number; legalHolds: number; immutable: number; rows: number; rowBytes: number}
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
