/**
 * A posture test bed: the shared Azurite for the accounts' blob endpoints and the sign-in log archive,
 * one local Azure server whose Resource Manager state starts compliant, and a data map pointing at
 * both. Tests break exactly one thing and run the audit through the real SDK clients.
 */
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

import {AzureClients} from '../../src/lib/azure/clients.js'
import {validateDataMap} from '../../src/lib/datamap/load.js'
import type {DataMap} from '../../src/lib/datamap/types.js'
import {
  LOCAL_SUBSCRIPTION_ID,
  LocalAzureState,
  startLocalAzureServer,
  type JsonObject,
  type LocalAzureServer,
} from '../../src/lib/local/azure-server/index.js'
import {deepMerge} from '../../src/lib/local/azure-server/state.js'
import {auditPosture, type AuditPostureOptions} from '../../src/lib/posture/posture.js'
import type {CheckResult, PostureReport, PostureResource} from '../../src/lib/posture/types.js'
import {getTestAzurite, uniqueName} from '../support/env.js'

const here = dirname(fileURLToPath(import.meta.url))
export const CONTRACTS = process.env.CUSTOS_AZURE_CONTRACTS ?? resolve(here, '../../../shared/azure-contracts')

/** A contract sample, parsed, read in place. */
export function sample<T = any>(relativePath: string): T {
  return JSON.parse(readFileSync(resolve(CONTRACTS, relativePath), 'utf8')) as T
}

export const SUB = LOCAL_SUBSCRIPTION_ID
export const RG = 'custos-local'
export const VAULT = 'contoso-kv'
export const ACCOUNTS = {
  prod: 'contosoprod',
  backup: 'contosobackup',
  logs: 'contosologs',
  exports: 'contosoexport',
  audit: 'contosoaudit',
} as const
export type AccountName = (typeof ACCOUNTS)[keyof typeof ACCOUNTS]

export const accountId = (name: string, subscription = SUB, resourceGroup = RG) =>
  LocalAzureState.storageAccountId(subscription, resourceGroup, name)
const AUDIT_CONTAINER = 'custos-audit'
/** The posture resource name and ARM id of the audit container. */
export const AUDIT_RESOURCE = `${ACCOUNTS.audit}/${AUDIT_CONTAINER}`
export const auditContainerId = `${accountId(ACCOUNTS.audit)}/blobServices/default/containers/${AUDIT_CONTAINER}`
export const vaultId = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.KeyVault/vaults/${VAULT}`

const STORAGE_LOG_CATEGORIES = ['StorageRead', 'StorageWrite', 'StorageDelete'].map((category) => ({
  category,
  enabled: true,
  retentionPolicy: {enabled: false, days: 0},
}))

export class PostureBed {
  server!: LocalAzureServer
  dir!: string
  caPath!: string
  /** container of the log archive holding one sign-in log blob */
  signInContainer!: string

  async start(): Promise<void> {
    this.server = await startLocalAzureServer()
    this.dir = mkdtempSync(join(tmpdir(), 'custos-posture-'))
    this.caPath = join(this.dir, 'ca.pem')
    writeFileSync(this.caPath, this.server.caCertificatePem)
    this.signInContainer = uniqueName('insights-logs-signinlogs')
    const container = new AzureClients(this.map())
      .blobService(getTestAzurite().connectionString(ACCOUNTS.logs))
      .getContainerClient(this.signInContainer)
    await container.create()
    const body = '{"time":"2024-05-01T10:00:00Z","category":"SignInLogs"}\n'
    await container
      .getBlockBlobClient(`tenantId=${this.server.state.tenantId}/y=2024/m=05/d=01/h=10/m=00/PT1H.json`)
      .upload(body, Buffer.byteLength(body))
    this.seed()
  }

  async stop(): Promise<void> {
    await this.server?.close()
    if (this.dir) rmSync(this.dir, {recursive: true, force: true})
  }

  get state(): LocalAzureState {
    return this.server.state
  }

  get vaultUrl(): string {
    return `${this.server.url}/vaults/${VAULT}`
  }

  /** Empties the Resource Manager state and seeds a fully compliant one. */
  seed(): void {
    const s = this.state
    for (const m of [
      s.storageAccounts,
      s.blobServices,
      s.blobContainers,
      s.armKeyVaults,
      s.armVaultDataPlane,
      s.diagnosticSettings,
    ])
      m.clear()
    const azurite = getTestAzurite()
    for (const name of Object.values(ACCOUNTS)) {
      s.addStorageAccount({
        name,
        location: name === ACCOUNTS.backup ? 'germanynorth' : 'germanywestcentral',
        secondaryLocation: null,
        sku: {name: 'Standard_ZRS'},
        blobEndpoint: `${azurite.blobEndpoint(name)}/`,
        properties: {encryption: {requireInfrastructureEncryption: true}},
        blobService: {
          isVersioningEnabled: true,
          deleteRetentionPolicy: {enabled: true, days: 14},
          containerDeleteRetentionPolicy: {enabled: true, days: 14},
        },
      })
      s.addDiagnosticSetting(`${accountId(name)}/blobServices/default`, {
        name: 'to-archive',
        storageAccountId: accountId(ACCOUNTS.logs),
        logs: STORAGE_LOG_CATEGORIES,
      })
    }

    // the store that requires a customer-managed key has one (keySource spelled as in the 2025-06-01 CMK sample)
    this.patchAccount(ACCOUNTS.prod, {
      properties: {
        encryption: {
          keySource: 'Microsoft.Keyvault',
          keyvaultproperties: {keyvaulturi: this.vaultUrl, keyname: 'storage-key', keyversion: ''},
        },
      },
    })
    // the audit trail's container under the recommended policy: WORM that still lets custos append, locked
    s.addBlobContainer({
      accountId: accountId(ACCOUNTS.audit),
      name: AUDIT_CONTAINER,
      immutabilityPolicy: {days: 365, state: 'Locked', allowProtectedAppendWrites: true},
    })
    s.addArmKeyVault({
      name: VAULT,
      enablePurgeProtection: true,
      softDeleteRetentionInDays: 90,
      vaultUri: `${this.vaultUrl}/`,
    })
    s.addDiagnosticSetting(vaultId, {
      name: 'kv-audit',
      storageAccountId: accountId(ACCOUNTS.logs),
      logs: [{category: 'AuditEvent', enabled: true}],
    })
    s.addDiagnosticSetting(`/subscriptions/${SUB}`, {
      name: 'activity-to-archive',
      storageAccountId: accountId(ACCOUNTS.logs),
    })
  }

  /** Deep-merges `patch` over the stored account resource (`undefined` removes a key). */
  patchAccount(name: string, patch: JsonObject): void {
    const key = accountId(name).toLowerCase()
    const current = this.state.storageAccounts.get(key)
    if (!current) throw new Error(`no account ${name}`)
    this.state.storageAccounts.set(key, deepMerge(current, patch))
  }

  patchVault(patch: JsonObject): void {
    const key = vaultId.toLowerCase()
    this.state.armKeyVaults.set(key, deepMerge(this.state.armKeyVaults.get(key) as JsonObject, patch))
  }

  /**
   * The data map: `documents` names its account by resourceId and requires a customer-managed key;
   * every other account is found by listing the subscription and matching its blob endpoint.
   */
  raw(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    const conn = (name: AccountName) => getTestAzurite().connectionString(name)
    return {
      residency: {allowedRegions: ['germanywestcentral', 'germanynorth']},
      stores: [
        {
          name: 'documents',
          account: conn(ACCOUNTS.prod),
          container: 'tenant-{customer}',
          resourceId: accountId(ACCOUNTS.prod),
          requireCustomerManagedKey: true,
        },
        {name: 'attachments', account: conn(ACCOUNTS.prod), container: 'attachments', prefix: '{customer}/'},
      ],
      backups: [
        {
          name: 'nightly-db',
          account: conn(ACCOUNTS.backup),
          container: 'backups',
          prefix: '{customer}/',
          expect: {every: '24h', maxAge: '26h', keepDays: 30},
        },
      ],
      keys: {vault: this.vaultUrl, customerKey: 'tenant-{customer}'},
      logs: {archive: {account: conn(ACCOUNTS.logs), containers: [this.signInContainer, 'insights-logs-storageread']}},
      exports: {account: conn(ACCOUNTS.exports), container: 'exports'},
      audit: {account: conn(ACCOUNTS.audit), container: AUDIT_CONTAINER},
      azure: {
        credential: 'local',
        caCertificate: this.caPath,
        resourceManager: this.server.url,
        logAnalytics: `${this.server.url}/v1`,
        subscription: SUB,
      },
      ...overrides,
    }
  }

  /** The validated data map; an override set to `undefined` removes that section. */
  map(overrides: Record<string, unknown> = {}): DataMap {
    const raw = Object.fromEntries(Object.entries(this.raw(overrides)).filter(([, v]) => v !== undefined))
    return validateDataMap(structuredClone(raw), join(this.dir ?? tmpdir(), 'custos.yaml'))
  }

  async audit(map: DataMap = this.map(), options: AuditPostureOptions = {}): Promise<PostureReport> {
    return auditPosture(new AzureClients(map, {retry: {maxTries: 1}}), map, options)
  }
}

export function resourceNamed(report: PostureReport, name: string): PostureResource {
  const found = report.resources.find((r) => r.name === name)
  if (!found)
    throw new Error(`no resource ${name} in the report (have ${report.resources.map((r) => r.name).join(', ')})`)
  return found
}

export function resultOf(report: PostureReport, resource: string, check: string): CheckResult {
  const found = resourceNamed(report, resource).results.find((r) => r.check === check)
  if (!found) throw new Error(`no result ${check} for ${resource}`)
  return found
}
