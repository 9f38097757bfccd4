/**
 * One blob scope's part of the inventory (a store's or a backup set's container or prefix for one
 * customer), counted while the listing streams. The blob store kind calls it; `inventory.ts`, which
 * runs every kind, does not, so the two do not import each other.
 */
import type {AzureClients} from '../azure/clients.js'
import type {StoreConfig} from '../datamap/types.js'
import {fromAzureError} from '../errors.js'
import {describeScope, type Scope} from '../scope.js'
import {listScope, type ScopedBlob} from './listing.js'

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
