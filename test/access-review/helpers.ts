/**
 * An access-review test bed: one local Azure server (role assignments, role definitions, Graph)
 * and a data map pointing at it, with a clock the tests set.
 */
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {AzureClients} from '../../src/lib/azure/clients.js'
import {validateDataMap} from '../../src/lib/datamap/load.js'
import type {DataMap} from '../../src/lib/datamap/types.js'
import {
  LOCAL_SUBSCRIPTION_ID,
  LOCAL_TENANT_ID,
  LocalAzureState,
  startLocalAzureServer,
  type LocalAzureServer,
} from '../../src/lib/local/azure-server/index.js'

export const SUB = LOCAL_SUBSCRIPTION_ID
export const RG = 'custos-local'
export const SUBSCRIPTION_SCOPE = `/subscriptions/${SUB}`
export const ACCOUNT_ID = LocalAzureState.storageAccountId(SUB, RG, 'contosoprod')
export const VAULT_ID = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.KeyVault/vaults/contoso-kv`
export const NOW = new Date('2026-06-15T12:00:00Z')
export const daysAgo = (days: number) => new Date(NOW.getTime() - days * 86_400_000).toISOString()

export const ROLE = {
  owner: '8e3af657-a8ff-443c-a75c-2fe8c4bcb635',
  contributor: 'b24988ac-6180-42a0-ab88-20f7382dd24c',
  reader: 'acdd72a7-3385-48ef-bd42-f606fba81ae7',
  blobDataReader: '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1',
  blobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe',
  keyVaultCryptoOfficer: '14b46e9e-c2b7-41b4-b07b-48a6ebf60603',
}

export class ReviewBed {
  server!: LocalAzureServer
  dir!: string
  caPath!: string

  async start(): Promise<void> {
    this.server = await startLocalAzureServer()
    this.dir = mkdtempSync(join(tmpdir(), 'custos-review-'))
    this.caPath = join(this.dir, 'ca.pem')
    writeFileSync(this.caPath, this.server.caCertificatePem)
  }

  async stop(): Promise<void> {
    await this.server?.close()
    if (this.dir) rmSync(this.dir, {recursive: true, force: true})
  }

  get directory() {
    return this.server.state.directory
  }

  /** A data map with one store (by resource id), the vault and the subscription; `access` merged in. */
  map(access: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): DataMap {
    return validateDataMap(
      {
        stores: [
          {
            name: 'documents',
            account: 'https://127.0.0.1:1/contosoprod',
            container: 'tenant-{customer}',
            resourceId: ACCOUNT_ID,
          },
        ],
        keys: {vault: 'https://127.0.0.1:2'},
        access,
        azure: {
          credential: 'local',
          resourceManager: this.server.url,
          graph: this.server.url,
          caCertificate: this.caPath,
          subscription: SUB,
          tenant: LOCAL_TENANT_ID,
          keyVaultResourceId: VAULT_ID,
        },
        ...extra,
      },
      join(this.dir, 'custos.yaml'),
    )
  }

  clients(map: DataMap): AzureClients {
    return new AzureClients(map, {retry: {maxTries: 1}})
  }
}
