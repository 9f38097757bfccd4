/**
 * Blob containers as a store kind: the data map's `stores` and `backups` (backup sets are erased
 * and inventoried with the stores, never exported). The work itself lives where it always did —
 * listing in inventory/listing.ts, the export listing in export/plan.ts, reads in
 * export/transfer.ts — this module only presents it through the seam (../kind.ts).
 */
import type {Writable} from 'node:stream'

import type {AzureClients} from '../../azure/clients.js'
import type {DataMap} from '../../datamap/types.js'
import {exportSources, preflightExport, type PlannedObject, type StoreSource} from '../../export/plan.js'
import {
  downloadRangesToFile,
  downloadToBuffer,
  downloadVerified,
  objectClient,
  type DownloadOptions,
  type RangedDownloadOptions,
} from '../../export/transfer.js'
import {inventoryScope, type StoreInventory} from '../../inventory/blob-scope.js'
import {scopeOf} from '../../scope.js'
import type {ErasePart, ExportPart, InventoryPart, KindInventoryOptions, ObjectReader, StoreKind} from '../kind.js'
import {BlobErasePart} from './erase.js'

/** Reads blobs of one store: small ones through the lean reader, large ones with range requests. */
class BlobObjectReader implements ObjectReader {
  constructor(private readonly source: StoreSource) {}

  toBuffer(object: PlannedObject, options: DownloadOptions) {
    return downloadToBuffer(this.source, object, options)
  }

  toStream(object: PlannedObject, sink: Writable, options: DownloadOptions) {
    return downloadVerified(this.client(object), object, sink, options)
  }

  toFileRanged(object: PlannedObject, path: string, options: RangedDownloadOptions) {
    return downloadRangesToFile(this.client(object), object, path, options)
  }

  copySource(object: PlannedObject) {
    return {account: this.source.config.account, client: this.client(object)}
  }

  private client(object: PlannedObject) {
    return objectClient(this.source.container, this.source.scope, object)
  }
}

export class BlobStoreKind implements StoreKind {
  readonly kind = 'blob' as const
  readonly names: readonly string[]

  constructor(
    private readonly clients: AzureClients,
    private readonly map: DataMap,
    private readonly customer: string,
  ) {
    this.names = [...map.stores, ...map.backups].map((s) => s.name)
  }

  async check(): Promise<void> {
    // containers need no check before they are listed: a missing one is an empty store
  }

  async inventory(options: KindInventoryOptions): Promise<InventoryPart> {
    const stores: StoreInventory[] = []
    for (const store of this.map.stores)
      stores.push(await inventoryScope(this.clients, store, scopeOf(store, this.customer), 'store', options))
    for (const backup of this.map.backups)
      stores.push(await inventoryScope(this.clients, backup, scopeOf(backup, this.customer), 'backup', options))
    return {stores}
  }

  erase(): ErasePart {
    return new BlobErasePart(this.clients, this.map, this.customer)
  }

  export(): ExportPart {
    const sources = exportSources(this.clients, this.map, this.customer)
    const byStore = new Map(sources.map((s) => [s.store.name, s]))
    const customer = this.customer
    return {
      stores: () => sources.map((s) => s.store),
      list: (options) => preflightExport(customer, sources, options),
      reader: (store) => new BlobObjectReader(byStore.get(store)!),
      async close() {},
    }
  }
}
