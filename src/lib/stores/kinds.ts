/**
 * The store kinds of a data map, in the order every command processes them: blob containers
 * (`stores`, `backups`), then databases. Adding a kind means adding it here and implementing
 * ./kind.ts; inventory, export, erase and the certificate pick it up from this list.
 */
import type {AzureClients} from '../azure/clients.js'
import type {DataMap} from '../datamap/types.js'
import {BlobStoreKind} from './blob/kind.js'
import type {StoreKind} from './kind.js'
import {PostgresStoreKind} from './postgres/kind.js'
import {TableStoreKind} from './table/kind.js'

/** The kinds that have stores in the map. The customer id must already be checked (scope.ts). */
export function storeKinds(clients: AzureClients, map: DataMap, customer: string): StoreKind[] {
  const kinds: StoreKind[] = [new BlobStoreKind(clients, map, customer)]
  if (map.databases.some((d) => d.engine === 'postgresql')) kinds.push(new PostgresStoreKind(clients, map, customer))
  if (map.databases.some((d) => d.engine === 'table')) kinds.push(new TableStoreKind(clients, map, customer))
  return kinds
}
