/**
 * The local Azure server's in-memory state, and helpers to seed it. Defaults are compliant (HTTPS
 * only, TLS 1.2, no anonymous blob access, network default action Deny, germanywestcentral), so a
 * test that wants a finding changes exactly the field it is about.
 *
 * Resource JSON is kept in the real wire format (api-version 2023–2025) and served as stored; map
 * keys are lower-case because ARM ids and Key Vault names are case-insensitive.
 */
import {randomUUID, type KeyObject} from 'node:crypto'

import {LocalDirectory} from './directory.js'

export const LOCAL_TENANT_ID = '6c6f6361-6c00-4000-8000-637573746f73'
export const LOCAL_SUBSCRIPTION_ID = '6c6f6361-6c00-4000-8000-000000000001'
export const DEFAULT_RESOURCE_GROUP = 'custos-local'
const DEFAULT_LOCATION = 'germanywestcentral'
/** The paired region of germanywestcentral, used as the default geo-replication target. */
const DEFAULT_SECONDARY_LOCATION = 'germanynorth'

export type JsonObject = Record<string, unknown>

// ---------------------------------------------------------------- Key Vault data plane

export type KeyType = 'RSA' | 'RSA-HSM' | 'EC' | 'EC-HSM'

export interface KeyAttributes {
  enabled: boolean
  /** Unix seconds */
  nbf?: number
  /** Unix seconds */
  exp?: number
  created: number
  updated: number
  exportable: boolean
}

/** The public half of a key in JWK form (RSA: n, e; EC: crv, x, y), base64url. */
export interface PublicJwk {
  n?: string
  e?: string
  crv?: string
  x?: string
  y?: string
}

export interface KeyVersion {
  /** 32 lower-case hex characters, like the real service */
  version: string
  kty: KeyType
  keyOps: string[]
  privateKey: KeyObject
  publicJwk: PublicJwk
  attributes: KeyAttributes
  tags?: Record<string, string>
}

export interface StoredKey {
  /** the name as created (lookups are case-insensitive) */
  name: string
  /** oldest first; the last one is the current version */
  versions: KeyVersion[]
}

export interface DeletedKeyEntry {
  key: StoredKey
  /** Unix seconds */
  deletedDate: number
  /** Unix seconds */
  scheduledPurgeDate: number
  /** GET /deletedkeys/{name} answers 404 this many more times (deletion is asynchronous in Azure) */
  notFoundGetsLeft: number
}

export interface KeyVault {
  name: string
  purgeProtection: boolean
  /** 7–90 */
  softDeleteRetentionInDays: number
  location: string
  publicNetworkAccess: 'Enabled' | 'Disabled'
  /** by lower-case key name */
  keys: Map<string, StoredKey>
  /** by lower-case key name */
  deletedKeys: Map<string, DeletedKeyEntry>
}

export interface KeyVaultInput {
  name: string
  /** default false */
  purgeProtection?: boolean
  /** default 7 (what real vaults in the recordings report) */
  softDeleteRetentionInDays?: number
  location?: string
  /** default Disabled */
  publicNetworkAccess?: 'Enabled' | 'Disabled'
}

/** `CustomizedRecoverable+Purgeable` etc., as the real service derives it from the vault settings. */
export function recoveryLevel(vault: KeyVault): string {
  const base = vault.softDeleteRetentionInDays >= 90 ? 'Recoverable' : 'CustomizedRecoverable'
  return vault.purgeProtection ? base : `${base}+Purgeable`
}

// ---------------------------------------------------------------- Azure Monitor

export interface DiagnosticSettingInput {
  name: string
  storageAccountId?: string
  workspaceId?: string
  eventHubAuthorizationRuleId?: string
  eventHubName?: string
  marketplacePartnerId?: string
  logAnalyticsDestinationType?: string
  /** default: `[{categoryGroup: 'allLogs', enabled: true, ...}]` */
  logs?: JsonObject[]
  /** default for resources: AllMetrics enabled; none for subscription-level settings */
  metrics?: JsonObject[]
}

export interface ActivityEventInput {
  eventTimestamp: string | Date
  /** e.g. `Microsoft.Storage/storageAccounts/listKeys/action` */
  operationName?: string
  /** the resource the operation was on; default: the subscription */
  resourceId?: string
  caller?: string
  /** Started | Accepted | Succeeded | Failed; default Succeeded */
  status?: string
  subStatus?: string
  /** Administrative (default), Security, Policy, ... */
  category?: string
  level?: string
  correlationId?: string
  eventDataId?: string
  clientIpAddress?: string
  httpMethod?: string
  submissionTimestamp?: string | Date
  description?: string
  properties?: Record<string, string>
  claims?: Record<string, string>
  /** REST-shape fields merged last, verbatim */
  raw?: JsonObject
}

// ---------------------------------------------------------------- Log Analytics

export type LogColumnType =
  'string' | 'bool' | 'datetime' | 'int' | 'long' | 'real' | 'decimal' | 'dynamic' | 'guid' | 'timespan'

export interface LogColumn {
  name: string
  type: LogColumnType
}

export interface LogTable {
  /** default PrimaryResult */
  name?: string
  columns: LogColumn[]
  rows: unknown[][]
}

/** Thrown by a query handler to answer 400 with the Log Analytics error shape. */
export class LogQueryError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly innerCode?: string,
  ) {
    super(message)
  }
}

/**
 * Answers a Log Analytics query; `undefined` means "no such workspace" (404). `timespan` is the
 * ISO 8601 duration or interval the client sent (`PT1H`, `2024-01-01T00:00:00.000Z/2024-01-02T00:00:00.000Z`).
 */
export type LogQueryHandler = (
  workspaceId: string,
  query: string,
  timespan: string | undefined,
) => LogTable[] | undefined | Promise<LogTable[] | undefined>

// ---------------------------------------------------------------- ARM inputs

export interface StorageAccountInput {
  name: string
  subscription?: string
  resourceGroup?: string
  location?: string
  /** null: locally/zone-redundant, no secondary region */
  secondaryLocation?: string | null
  /** default Standard_GRS */
  sku?: {name: string; tier?: string}
  /** default StorageV2 */
  kind?: string
  tags?: Record<string, string>
  /** primaryEndpoints.blob; default `https://<name>.blob.core.windows.net/` */
  blobEndpoint?: string
  /** deep-merged over the compliant defaults of `properties`; a key set to `undefined` is removed */
  properties?: JsonObject
  /** deep-merged over the default blob service properties (soft delete 7 days, versioning off) */
  blobService?: JsonObject
}

export interface BlobContainerInput {
  /** ARM id of the storage account */
  accountId: string
  name: string
  publicAccess?: 'None' | 'Blob' | 'Container'
  defaultEncryptionScope?: string
  /** a time-based retention policy on the container */
  immutabilityPolicy?: ImmutabilityPolicyInput
  /** legal hold tags; non-empty means the container has a legal hold */
  legalHoldTags?: string[]
  /** the legal hold lets blocks be appended (`legalHold.protectedAppendWritesHistory`) */
  legalHoldAllowProtectedAppendWritesAll?: boolean
  /** deep-merged over `properties` */
  properties?: JsonObject
}

/**
 * A container's time-based retention policy. The two append flags are mutually exclusive in Azure;
 * each is written only when given (`false` included), like the service does once it was set.
 */
export interface ImmutabilityPolicyInput {
  days: number
  /** default Unlocked */
  state?: 'Locked' | 'Unlocked'
  /** Append Block is allowed on append blobs under the policy */
  allowProtectedAppendWrites?: boolean
  /** Append Block and new blocks of block blobs are allowed under the policy */
  allowProtectedAppendWritesAll?: boolean
}

export interface EncryptionScopeInput {
  accountId: string
  name: string
  /** default Microsoft.Storage */
  source?: 'Microsoft.Storage' | 'Microsoft.KeyVault'
  /** for Microsoft.KeyVault scopes */
  keyUri?: string
  state?: 'Enabled' | 'Disabled'
  requireInfrastructureEncryption?: boolean
}

export interface ArmKeyVaultInput {
  name: string
  subscription?: string
  resourceGroup?: string
  location?: string
  vaultUri?: string
  enableSoftDelete?: boolean
  /** absent from the resource unless true, like the real service */
  enablePurgeProtection?: boolean
  softDeleteRetentionInDays?: number
  publicNetworkAccess?: 'Enabled' | 'Disabled'
  enableRbacAuthorization?: boolean
  tags?: Record<string, string>
  /** deep-merged over `properties` */
  properties?: JsonObject
  /**
   * name of a data-plane vault in this state: the resource then reports that vault's current
   * purge protection, retention, public network access and location
   */
  dataPlaneVault?: string
}

// ---------------------------------------------------------------- Microsoft.DBforPostgreSQL inputs

/**
 * A flexible server. Defaults keep the promises (Entra authentication only, no public network
 * access, 35 days of geo-redundant backup, germanywestcentral), so a test changes exactly the field
 * it is about.
 */
export interface FlexibleServerInput {
  name: string
  subscription?: string
  resourceGroup?: string
  location?: string
  /** `systemData.createdAt`; default now */
  createdAt?: string | Date
  /** default 35 */
  backupRetentionDays?: number
  /** default Enabled */
  geoRedundantBackup?: 'Enabled' | 'Disabled'
  /** default: computed when read, max(createdAt, now − backupRetentionDays), like the service */
  earliestRestoreDate?: string
  /** default Disabled */
  publicNetworkAccess?: 'Enabled' | 'Disabled'
  /** default Enabled */
  activeDirectoryAuth?: 'Enabled' | 'Disabled'
  /** default Disabled */
  passwordAuth?: 'Enabled' | 'Disabled'
  /** default `{type: 'SystemManaged'}` */
  dataEncryption?: JsonObject
  /** present only with a customer-managed key, like the service */
  identity?: JsonObject
  fullyQualifiedDomainName?: string
  /** absent unless given (ServersGet.json has none) */
  tags?: Record<string, string>
  /** deep-merged over `properties`; a key set to `undefined` is removed */
  properties?: JsonObject
}

/** One entry of the Backups list (BackupListByServer.json). */
export interface FlexibleServerBackupInput {
  name?: string
  /** default `Full` */
  backupType?: string
  /** default `Automatic` */
  source?: string
  completedTime: string | Date
}

/** One entry of the long-term-retention operations list (LongTermRetentionOperationListByServer.json). */
export interface LtrOperationInput {
  backupName: string
  status?: string
  startTime: string | Date
  endTime?: string | Date
  datasourceSizeInBytes?: number
  dataTransferredInBytes?: number
  percentComplete?: number
  backupMetadata?: string
}

/** An Entra administrator of a server (AdministratorsListByServer.json). */
export interface FlexibleServerAdministratorInput {
  objectId: string
  principalName: string
  /** default User */
  principalType?: 'User' | 'Group' | 'ServicePrincipal'
  tenantId?: string
}

/** A server parameter set away from its default: the value, and optionally other properties. */
export interface ConfigurationOverride {
  value: string
  /** for a parameter the local server does not know: its metadata (dataType, allowedValues, ...) */
  properties?: JsonObject
}

// ---------------------------------------------------------------- helpers

export function isPlainObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Deep merge: objects merge, arrays and scalars replace, a key whose value is `undefined` is removed. */
export function deepMerge(base: JsonObject, patch: JsonObject | undefined): JsonObject {
  const out: JsonObject = {...base}
  if (!patch) return out
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) delete out[key]
    else if (isPlainObject(value) && isPlainObject(out[key])) out[key] = deepMerge(out[key] as JsonObject, value)
    else out[key] = structuredClone(value)
  }

  return out
}

/** `/subscriptions/x/resourceGroups/y/...`: leading slash, no trailing or doubled slashes. */
export function normalizeResourceId(id: string): string {
  return '/' + id.split('/').filter(Boolean).join('/')
}

function idKey(id: string): string {
  return normalizeResourceId(id).toLowerCase()
}

/** ISO time with 7 fractional digits, like ARM and the activity log. */
function armTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$10000Z')
}

function parseId(id: string): {subscription: string; resourceGroup?: string; provider?: string; type?: string} {
  const parts = normalizeResourceId(id).split('/').filter(Boolean)
  const lower = parts.map((p) => p.toLowerCase())
  const sub = lower.indexOf('subscriptions')
  const rg = lower.indexOf('resourcegroups')
  const prov = lower.lastIndexOf('providers')
  return {
    subscription: sub !== -1 ? (parts[sub + 1] ?? '') : '',
    resourceGroup: rg !== -1 ? parts[rg + 1] : undefined,
    provider: prov !== -1 ? parts[prov + 1] : undefined,
    type: prov >= 0 && parts[prov + 2] ? `${parts[prov + 1]}/${parts[prov + 2]}` : undefined,
  }
}

/** ISO time with 6 fractional digits and the given zone suffix, as the PostgreSQL service writes times. */
function micros(date: Date, zone: 'Z' | '+00:00'): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, `.$1000${zone}`)
}

function unixNow(): number {
  return Math.floor(Date.now() / 1000)
}

// ---------------------------------------------------------------- the state

export class LocalAzureState {
  tenantId = LOCAL_TENANT_ID
  /** region reported in `x-ms-keyvault-region` */
  keyVaultRegion = DEFAULT_LOCATION
  /** how many GET /deletedkeys/{name} answer 404 right after a delete (Azure: ~5 s, twice in the recording) */
  deletedKeyNotFoundGets = 1
  /** events per activity-log page */
  activityLogPageSize = 100
  /** Key Vault data plane, by lower-case vault name */
  readonly keyVaults = new Map<string, KeyVault>()
  /** Microsoft.Storage/storageAccounts resources, by lower-case id */
  readonly storageAccounts = new Map<string, JsonObject>()
  /** blobServices/default `properties`, by lower-case storage account id */
  readonly blobServices = new Map<string, JsonObject>()
  /** blobServices/default/containers resources, by lower-case container id */
  readonly blobContainers = new Map<string, JsonObject>()
  /** encryptionScopes resources, by lower-case scope id */
  readonly encryptionScopes = new Map<string, JsonObject>()
  /** Microsoft.KeyVault/vaults resources, by lower-case id */
  readonly armKeyVaults = new Map<string, JsonObject>()
  /** lower-case vault resource id → name of the data-plane vault it reports on */
  readonly armVaultDataPlane = new Map<string, string>()
  /** diagnostic settings (`{name, properties}` input form), by lower-case resource id, then lower-case name */
  readonly diagnosticSettings = new Map<string, Map<string, DiagnosticSettingInput>>()
  /** activity-log events in the REST shape, by lower-case subscription id */
  readonly activityEvents = new Map<string, JsonObject[]>()
  /** Microsoft.DBforPostgreSQL/flexibleServers resources, by lower-case id */
  readonly flexibleServers = new Map<string, JsonObject>()
  /** Backups list entries, by lower-case server id */
  readonly flexibleServerBackups = new Map<string, JsonObject[]>()
  /** long-term-retention operations, by lower-case server id */
  readonly flexibleServerLtrOperations = new Map<string, JsonObject[]>()
  /** server parameters set away from their defaults, by lower-case server id, then lower-case name */
  readonly flexibleServerConfigurations = new Map<string, Map<string, ConfigurationOverride>>()
  /** firewall rules, by lower-case server id, then lower-case rule name */
  readonly flexibleServerFirewallRules = new Map<string, Map<string, JsonObject>>()
  /** Entra administrators, by lower-case server id */
  readonly flexibleServerAdministrators = new Map<string, JsonObject[]>()
  /** firewall rules per page (the real list pages with a `nextLink`) */
  firewallRulePageSize = 100
  /** role assignments, role definitions and the Entra ID directory (`access review`) */
  readonly directory = new LocalDirectory()
  /** answers Log Analytics queries; see {@link LogQueryHandler} */
  logQueryHandler?: LogQueryHandler
  private readonly keyVaultListeners = new Set<(vault: KeyVault) => void>()

  /** Calls `listener` for every data-plane vault added from now on (the server opens its port); returns an unsubscribe. */
  onKeyVaultAdded(listener: (vault: KeyVault) => void): () => void {
    this.keyVaultListeners.add(listener)
    return () => this.keyVaultListeners.delete(listener)
  }

  // ---------------------------------------------------------------- Key Vault

  addKeyVault(input: KeyVaultInput): KeyVault {
    const key = input.name.toLowerCase()
    if (this.keyVaults.has(key)) throw new Error(`key vault ${input.name} already exists`)
    const vault: KeyVault = {
      name: input.name,
      purgeProtection: input.purgeProtection ?? false,
      softDeleteRetentionInDays: input.softDeleteRetentionInDays ?? 7,
      location: input.location ?? DEFAULT_LOCATION,
      publicNetworkAccess: input.publicNetworkAccess ?? 'Disabled',
      keys: new Map(),
      deletedKeys: new Map(),
    }
    this.keyVaults.set(key, vault)
    for (const listener of this.keyVaultListeners) listener(vault)
    return vault
  }

  keyVault(name: string): KeyVault | undefined {
    return this.keyVaults.get(name.toLowerCase())
  }

  // ---------------------------------------------------------------- Microsoft.Storage

  static storageAccountId(subscription: string, resourceGroup: string, name: string): string {
    return `/subscriptions/${subscription}/resourceGroups/${resourceGroup}/providers/Microsoft.Storage/storageAccounts/${name}`
  }

  addStorageAccount(input: StorageAccountInput): JsonObject {
    const subscription = input.subscription ?? LOCAL_SUBSCRIPTION_ID
    const resourceGroup = input.resourceGroup ?? DEFAULT_RESOURCE_GROUP
    const location = input.location ?? DEFAULT_LOCATION
    const secondary = input.secondaryLocation === undefined ? DEFAULT_SECONDARY_LOCATION : input.secondaryLocation
    const id = LocalAzureState.storageAccountId(subscription, resourceGroup, input.name)
    const created = armTime(new Date())
    const n = input.name
    const properties: JsonObject = {
      keyCreationTime: {key1: created, key2: created},
      privateEndpointConnections: [],
      minimumTlsVersion: 'TLS1_2',
      allowBlobPublicAccess: false,
      allowSharedKeyAccess: false,
      allowCrossTenantReplication: false,
      networkAcls: {bypass: 'AzureServices', virtualNetworkRules: [], ipRules: [], defaultAction: 'Deny'},
      supportsHttpsTrafficOnly: true,
      encryption: {
        requireInfrastructureEncryption: false,
        services: {
          file: {keyType: 'Account', enabled: true, lastEnabledTime: created},
          blob: {keyType: 'Account', enabled: true, lastEnabledTime: created},
        },
        keySource: 'Microsoft.Storage',
      },
      accessTier: 'Hot',
      provisioningState: 'Succeeded',
      creationTime: created,
      primaryEndpoints: {
        dfs: `https://${n}.dfs.core.windows.net/`,
        web: `https://${n}.z1.web.core.windows.net/`,
        blob: input.blobEndpoint ?? `https://${n}.blob.core.windows.net/`,
        queue: `https://${n}.queue.core.windows.net/`,
        table: `https://${n}.table.core.windows.net/`,
        file: `https://${n}.file.core.windows.net/`,
      },
      primaryLocation: location,
      statusOfPrimary: 'available',
      ...(secondary ? {secondaryLocation: secondary, statusOfSecondary: 'available'} : {}),
    }
    const resource: JsonObject = {
      sku: input.sku
        ? {tier: 'Standard', ...input.sku}
        : secondary
          ? {name: 'Standard_GRS', tier: 'Standard'}
          : {name: 'Standard_ZRS', tier: 'Standard'},
      kind: input.kind ?? 'StorageV2',
      id,
      name: input.name,
      type: 'Microsoft.Storage/storageAccounts',
      location,
      tags: input.tags ?? {},
      properties: deepMerge(properties, input.properties),
    }
    this.storageAccounts.set(idKey(id), resource)
    this.setBlobServiceProperties(id, input.blobService)
    return resource
  }

  storageAccount(id: string): JsonObject | undefined {
    return this.storageAccounts.get(idKey(id))
  }

  /** Deep-merges `patch` over the account's blob service properties (or over the defaults, the first time). */
  setBlobServiceProperties(accountId: string, patch?: JsonObject): JsonObject {
    const key = idKey(accountId)
    if (!this.storageAccounts.has(key)) throw new Error(`no storage account ${accountId}`)
    const current = this.blobServices.get(key) ?? {
      cors: {corsRules: []},
      deleteRetentionPolicy: {allowPermanentDelete: false, enabled: true, days: 7},
      containerDeleteRetentionPolicy: {enabled: true, days: 7},
      isVersioningEnabled: false,
      changeFeed: {enabled: false},
    }
    const merged = deepMerge(current, patch)
    this.blobServices.set(key, merged)
    return merged
  }

  addBlobContainer(input: BlobContainerInput): JsonObject {
    const account = this.storageAccount(input.accountId)
    if (!account) throw new Error(`no storage account ${input.accountId}`)
    const id = `${account.id as string}/blobServices/default/containers/${input.name}`
    const now = new Date()
    const stamp = armTime(now)
    const etag = `"0x${(now.getTime() * 10_000 + 116_444_736_000_000_000).toString(16).toUpperCase()}"`
    const who = {objectIdentifier: randomUUID(), tenantId: this.tenantId}
    const hold = input.legalHoldTags ?? []
    const properties: JsonObject = {
      deleted: false,
      remainingRetentionDays: 0,
      defaultEncryptionScope: input.defaultEncryptionScope ?? '$account-encryption-key',
      denyEncryptionScopeOverride: false,
      publicAccess: input.publicAccess ?? 'None',
      leaseStatus: 'Unlocked',
      leaseState: 'Available',
      lastModifiedTime: stamp,
    }
    if (input.immutabilityPolicy) properties.immutabilityPolicy = this.immutabilityPolicy(input.immutabilityPolicy, now)
    properties.legalHold = {
      hasLegalHold: hold.length > 0,
      ...(input.legalHoldAllowProtectedAppendWritesAll === undefined
        ? {}
        : {
            protectedAppendWritesHistory: {
              allowProtectedAppendWritesAll: input.legalHoldAllowProtectedAppendWritesAll,
              timestamp: stamp,
            },
          }),
      tags: hold.map((tag) => ({tag, timestamp: stamp, ...who})),
    }
    properties.hasImmutabilityPolicy = Boolean(input.immutabilityPolicy)
    properties.hasLegalHold = hold.length > 0
    const resource: JsonObject = {
      id,
      name: input.name,
      type: 'Microsoft.Storage/storageAccounts/blobServices/containers',
      etag,
      properties: deepMerge(properties, input.properties),
    }
    this.blobContainers.set(idKey(id), resource)
    return resource
  }

  /**
   * Puts (or with `undefined` removes) the time-based retention policy of a container added with
   * `addBlobContainer`, the way `az storage container immutability-policy create/lock/delete`
   * leave it. Unlike Azure, a locked policy can be replaced or removed here (tests reset their state).
   */
  setImmutabilityPolicy(containerId: string, policy: ImmutabilityPolicyInput | undefined): JsonObject {
    const key = idKey(containerId)
    const current = this.blobContainers.get(key)
    if (!current) throw new Error(`no blob container ${containerId}`)
    const {legalHold, hasLegalHold, ...rest} = current.properties as JsonObject
    delete rest.immutabilityPolicy
    delete rest.hasImmutabilityPolicy
    // the order of a real answer: immutabilityPolicy, legalHold, hasImmutabilityPolicy, hasLegalHold
    const next: JsonObject = {
      ...rest,
      ...(policy ? {immutabilityPolicy: this.immutabilityPolicy(policy, new Date())} : {}),
      legalHold,
      hasImmutabilityPolicy: Boolean(policy),
      hasLegalHold,
    }
    const resource = {...current, properties: next}
    this.blobContainers.set(key, resource)
    return resource
  }

  /**
   * The `immutabilityPolicy` of a container GET. Key order and the flags in each history entry follow
   * the 2025-06-01 spec example BlobContainersGetWithAllowProtectedAppendWritesAll.json
   * (Azure/azure-rest-api-specs @ 376bad458131f9edf636e99a1e755a8a11fa2ca4): period, append flag, state.
   */
  private immutabilityPolicy(p: ImmutabilityPolicyInput, now: Date): JsonObject {
    const stamp = armTime(now)
    const state = p.state ?? 'Unlocked'
    const flags: JsonObject = {
      ...(p.allowProtectedAppendWrites === undefined ? {} : {allowProtectedAppendWrites: p.allowProtectedAppendWrites}),
      ...(p.allowProtectedAppendWritesAll === undefined
        ? {}
        : {allowProtectedAppendWritesAll: p.allowProtectedAppendWritesAll}),
    }
    const who = {objectIdentifier: randomUUID(), tenantId: this.tenantId}
    const entry = (update: string) => ({
      update,
      immutabilityPeriodSinceCreationInDays: p.days,
      ...flags,
      timestamp: stamp,
      ...who,
    })
    return {
      etag: `"${now.getTime().toString(16)}"`,
      properties: {immutabilityPeriodSinceCreationInDays: p.days, ...flags, state},
      updateHistory: [entry('put'), ...(state === 'Locked' ? [entry('lock')] : [])],
    }
  }

  addEncryptionScope(input: EncryptionScopeInput): JsonObject {
    const account = this.storageAccount(input.accountId)
    if (!account) throw new Error(`no storage account ${input.accountId}`)
    const id = `${account.id as string}/encryptionScopes/${input.name}`
    const stamp = armTime(new Date())
    const source = input.source ?? 'Microsoft.Storage'
    const resource: JsonObject = {
      id,
      name: input.name,
      type: 'Microsoft.Storage/storageAccounts/encryptionScopes',
      properties: {
        source,
        state: input.state ?? 'Enabled',
        creationTime: stamp,
        lastModifiedTime: stamp,
        ...(source === 'Microsoft.KeyVault' ? {keyVaultProperties: {keyUri: input.keyUri ?? ''}} : {}),
        ...(input.requireInfrastructureEncryption === undefined
          ? {}
          : {requireInfrastructureEncryption: input.requireInfrastructureEncryption}),
      },
    }
    this.encryptionScopes.set(idKey(id), resource)
    return resource
  }

  // ---------------------------------------------------------------- Microsoft.KeyVault (ARM)

  addArmKeyVault(input: ArmKeyVaultInput): JsonObject {
    const subscription = input.subscription ?? LOCAL_SUBSCRIPTION_ID
    const resourceGroup = input.resourceGroup ?? DEFAULT_RESOURCE_GROUP
    const id = `/subscriptions/${subscription}/resourceGroups/${resourceGroup}/providers/Microsoft.KeyVault/vaults/${input.name}`
    const properties: JsonObject = {
      sku: {family: 'A', name: 'standard'},
      tenantId: this.tenantId,
      accessPolicies: [],
      enabledForDeployment: false,
      enabledForDiskEncryption: false,
      enabledForTemplateDeployment: false,
      enableSoftDelete: input.enableSoftDelete ?? true,
      softDeleteRetentionInDays: input.softDeleteRetentionInDays ?? 7,
      enableRbacAuthorization: input.enableRbacAuthorization ?? true,
      ...(input.enablePurgeProtection ? {enablePurgeProtection: true} : {}),
      vaultUri: input.vaultUri ?? `https://${input.name}.vault.azure.net/`,
      provisioningState: 'Succeeded',
      publicNetworkAccess: input.publicNetworkAccess ?? 'Disabled',
    }
    const resource: JsonObject = {
      id,
      name: input.name,
      type: 'Microsoft.KeyVault/vaults',
      location: input.location ?? DEFAULT_LOCATION,
      tags: input.tags ?? {},
      properties: deepMerge(properties, input.properties),
    }
    this.armKeyVaults.set(idKey(id), resource)
    if (input.dataPlaneVault) this.armVaultDataPlane.set(idKey(id), input.dataPlaneVault)
    else this.armVaultDataPlane.delete(idKey(id))
    return resource
  }

  // ---------------------------------------------------------------- Microsoft.DBforPostgreSQL

  static flexibleServerId(subscription: string, resourceGroup: string, name: string): string {
    return `/subscriptions/${subscription}/resourceGroups/${resourceGroup}/providers/Microsoft.DBforPostgreSQL/flexibleServers/${name}`
  }

  /** Adds a flexible server in the shape of postgresql/ServersGet.json (key order included). */
  addFlexibleServer(input: FlexibleServerInput): JsonObject {
    const subscription = input.subscription ?? LOCAL_SUBSCRIPTION_ID
    const resourceGroup = input.resourceGroup ?? DEFAULT_RESOURCE_GROUP
    const id = LocalAzureState.flexibleServerId(subscription, resourceGroup, input.name)
    const entra = (input.activeDirectoryAuth ?? 'Enabled') === 'Enabled'
    // a string is served verbatim (the samples' 6 fractional digits); a Date gets the service's form
    const createdAt = typeof input.createdAt === 'string' ? input.createdAt : micros(input.createdAt ?? new Date(), 'Z')
    const properties: JsonObject = {
      replica: {role: 'Primary', capacity: 5},
      storage: {type: '', iops: 500, tier: 'P10', storageSizeGB: 128, autoGrow: 'Disabled'},
      network: {publicNetworkAccess: input.publicNetworkAccess ?? 'Disabled'},
      privateEndpointConnections: [],
      dataEncryption: input.dataEncryption ?? {type: 'SystemManaged'},
      authConfig: {
        activeDirectoryAuth: entra ? 'Enabled' : 'Disabled',
        passwordAuth: input.passwordAuth ?? 'Disabled',
        // the service reports the tenant only with Entra authentication (ServersListBySubscription.json)
        ...(entra ? {tenantId: this.tenantId} : {}),
      },
      fullyQualifiedDomainName: input.fullyQualifiedDomainName ?? `${input.name}.postgres.database.azure.com`,
      version: '17',
      minorVersion: '5',
      administratorLogin: 'custosadmin',
      state: 'Ready',
      availabilityZone: '1',
      backup: {
        backupRetentionDays: input.backupRetentionDays ?? 35,
        geoRedundantBackup: input.geoRedundantBackup ?? 'Enabled',
        ...(input.earliestRestoreDate ? {earliestRestoreDate: input.earliestRestoreDate} : {}),
      },
      highAvailability: {mode: 'Disabled', state: 'NotEnabled'},
      maintenanceWindow: {customWindow: 'Disabled', dayOfWeek: 0, startHour: 0, startMinute: 0},
      replicationRole: 'Primary',
      replicaCapacity: 5,
    }
    const resource: JsonObject = {
      sku: {name: 'Standard_D4ds_v5', tier: 'GeneralPurpose'},
      ...(input.identity ? {identity: input.identity} : {}),
      systemData: {createdAt},
      properties: deepMerge(properties, input.properties),
      location: input.location ?? DEFAULT_LOCATION,
      ...(input.tags ? {tags: input.tags} : {}),
      id,
      name: input.name,
      type: 'Microsoft.DBforPostgreSQL/flexibleServers',
    }
    this.flexibleServers.set(idKey(id), resource)
    return resource
  }

  /**
   * The server as a GET answers it at `now`: without an explicit `earliestRestoreDate` the service's
   * rule applies — the later of the creation time and now − backupRetentionDays, 6 fractional digits.
   */
  flexibleServer(id: string, now: Date = new Date()): JsonObject | undefined {
    const stored = this.flexibleServers.get(idKey(id))
    if (!stored) return undefined
    const properties = stored.properties as JsonObject
    const backup = properties.backup as JsonObject | undefined
    if (!backup || backup.earliestRestoreDate !== undefined || typeof backup.backupRetentionDays !== 'number')
      return stored
    const created = Date.parse(String((stored.systemData as JsonObject | undefined)?.createdAt))
    const earliest = Math.max(
      Number.isNaN(created) ? 0 : created,
      now.getTime() - backup.backupRetentionDays * 86_400_000,
    )
    const stamp = micros(new Date(earliest), 'Z')
    return {...stored, properties: {...properties, backup: {...backup, earliestRestoreDate: stamp}}}
  }

  private requireFlexibleServer(serverId: string): JsonObject {
    const server = this.flexibleServers.get(idKey(serverId))
    if (!server) throw new Error(`no flexible server ${serverId}`)
    return server
  }

  /** Adds Backups list entries (`completedTime` with a `+00:00` offset, as in BackupListByServer.json). */
  addFlexibleServerBackups(serverId: string, backups: FlexibleServerBackupInput[]): JsonObject[] {
    const server = this.requireFlexibleServer(serverId)
    const key = idKey(serverId)
    let list = this.flexibleServerBackups.get(key)
    if (!list) this.flexibleServerBackups.set(key, (list = []))
    const made = backups.map((b) => {
      const when = new Date(b.completedTime)
      const name = b.name ?? `backup_${BigInt(when.getTime()) * 10_000n + 621_355_968_000_000_000n}`
      return {
        properties: {
          backupType: b.backupType ?? 'Full',
          source: b.source ?? 'Automatic',
          completedTime: typeof b.completedTime === 'string' ? b.completedTime : micros(when, '+00:00'),
        },
        id: `${server.id as string}/backups/${name}`,
        name,
        type: 'Microsoft.DBforPostgreSQL/flexibleServers/backups',
      }
    })
    list.push(...made)
    return made
  }

  /** Adds long-term-retention operations; each item's `id` is the server's id, like the service's. */
  addLtrOperations(serverId: string, operations: LtrOperationInput[]): JsonObject[] {
    const server = this.requireFlexibleServer(serverId)
    const key = idKey(serverId)
    let list = this.flexibleServerLtrOperations.get(key)
    if (!list) this.flexibleServerLtrOperations.set(key, (list = []))
    const made = operations.map((o) => ({
      id: server.id,
      name: o.backupName,
      type: 'Microsoft.DBforPostgreSQL/flexibleServers/ltrbackupOperations',
      properties: {
        backupName: o.backupName,
        datasourceSizeInBytes: o.datasourceSizeInBytes ?? 0,
        dataTransferredInBytes: o.dataTransferredInBytes ?? 0,
        backupMetadata: o.backupMetadata ?? 'backupMetadata',
        status: o.status ?? 'Succeeded',
        percentComplete: o.percentComplete ?? 100,
        startTime: new Date(o.startTime).toISOString(),
        ...(o.endTime === undefined ? {} : {endTime: new Date(o.endTime).toISOString()}),
      },
    }))
    list.push(...made)
    return made
  }

  /** Sets a server parameter away from its default (`undefined` puts the default back). */
  setFlexibleServerConfiguration(
    serverId: string,
    name: string,
    value: string | ConfigurationOverride | undefined,
  ): void {
    this.requireFlexibleServer(serverId)
    const key = idKey(serverId)
    let map = this.flexibleServerConfigurations.get(key)
    if (!map) this.flexibleServerConfigurations.set(key, (map = new Map()))
    if (value === undefined) map.delete(name.toLowerCase())
    else map.set(name.toLowerCase(), typeof value === 'string' ? {value} : value)
  }

  /** Adds (or replaces) a firewall rule. */
  setFirewallRule(serverId: string, name: string, startIpAddress: string, endIpAddress: string): JsonObject {
    const server = this.requireFlexibleServer(serverId)
    const key = idKey(serverId)
    let rules = this.flexibleServerFirewallRules.get(key)
    if (!rules) this.flexibleServerFirewallRules.set(key, (rules = new Map()))
    const rule = {
      id: `${server.id as string}/firewallRules/${name}`,
      name,
      type: 'Microsoft.DBforPostgreSQL/flexibleServers/firewallRules',
      properties: {startIpAddress, endIpAddress},
    }
    rules.set(name.toLowerCase(), rule)
    return rule
  }

  /** Adds an Entra administrator; the id's last segment is its object id (there is no `name`). */
  addFlexibleServerAdministrator(serverId: string, input: FlexibleServerAdministratorInput): JsonObject {
    const server = this.requireFlexibleServer(serverId)
    const key = idKey(serverId)
    let list = this.flexibleServerAdministrators.get(key)
    if (!list) this.flexibleServerAdministrators.set(key, (list = []))
    const admin = {
      properties: {
        principalType: input.principalType ?? 'User',
        principalName: input.principalName,
        objectId: input.objectId,
        tenantId: input.tenantId ?? this.tenantId,
      },
      id: `${server.id as string}/administrators/${input.objectId}`,
      type: 'Microsoft.DBforPostgreSQL/flexibleServers/administrators',
    }
    list.push(admin)
    return admin
  }

  // ---------------------------------------------------------------- Azure Monitor

  /** `resourceUri` is an ARM id; `/subscriptions/<id>` makes a subscription-level (activity log export) setting. */
  addDiagnosticSetting(resourceUri: string, setting: DiagnosticSettingInput): void {
    const key = idKey(resourceUri)
    let settings = this.diagnosticSettings.get(key)
    if (!settings) this.diagnosticSettings.set(key, (settings = new Map()))
    settings.set(setting.name.toLowerCase(), structuredClone(setting))
  }

  removeDiagnosticSetting(resourceUri: string, name: string): boolean {
    return this.diagnosticSettings.get(idKey(resourceUri))?.delete(name.toLowerCase()) ?? false
  }

  /** Adds events in the REST (Insights) shape, filling every field the real service sends. */
  addActivityEvents(subscription: string, events: ActivityEventInput[]): JsonObject[] {
    const key = subscription.toLowerCase()
    let list = this.activityEvents.get(key)
    if (!list) this.activityEvents.set(key, (list = []))
    const made = events.map((e) => this.activityEvent(subscription, e))
    list.push(...made)
    return made
  }

  private activityEvent(subscription: string, input: ActivityEventInput): JsonObject {
    const when = new Date(input.eventTimestamp)
    if (Number.isNaN(when.getTime())) throw new Error(`bad eventTimestamp ${String(input.eventTimestamp)}`)
    const submitted = input.submissionTimestamp
      ? new Date(input.submissionTimestamp)
      : new Date(when.getTime() + 13_000)
    const resourceId = input.resourceId ?? `/subscriptions/${subscription}`
    const parsed = parseId(resourceId)
    const operation = input.operationName ?? 'Microsoft.Resources/subscriptions/read'
    const provider = parsed.provider ?? operation.split('/')[0] ?? 'Microsoft.Resources'
    const eventDataId = input.eventDataId ?? randomUUID()
    const correlationId = input.correlationId ?? randomUUID()
    const caller = input.caller ?? 'admin@contoso.com'
    const status = input.status ?? 'Succeeded'
    const subStatus = input.subStatus ?? ''
    const category = input.category ?? 'Administrative'
    const ticks = BigInt(when.getTime()) * 10_000n + 621_355_968_000_000_000n
    const pair = (value: string) => ({value, localizedValue: value})
    const event: JsonObject = {
      authorization: {action: operation, scope: resourceId},
      caller,
      channels: 'Operation',
      claims: input.claims ?? {
        aud: 'https://management.core.windows.net/',
        iss: `https://sts.windows.net/${this.tenantId}/`,
        'http://schemas.microsoft.com/identity/claims/tenantid': this.tenantId,
        'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn': caller,
        name: caller,
        ipaddr: input.clientIpAddress ?? '203.0.113.10',
      },
      correlationId,
      description: input.description ?? '',
      eventDataId,
      eventName: {value: 'EndRequest', localizedValue: 'End request'},
      category: pair(category),
      httpRequest: {
        clientRequestId: randomUUID(),
        clientIpAddress: input.clientIpAddress ?? '203.0.113.10',
        method: input.httpMethod ?? 'POST',
      },
      id: `${resourceId}/events/${eventDataId}/ticks/${ticks}`,
      level: input.level ?? 'Informational',
      resourceGroupName: parsed.resourceGroup ?? '',
      resourceProviderName: pair(provider),
      resourceId,
      resourceType: pair(parsed.type ?? `${provider}/subscriptions`),
      operationId: correlationId,
      operationName: pair(operation),
      properties: input.properties ?? {statusCode: status === 'Succeeded' ? 'OK' : 'BadRequest'},
      status: pair(status),
      subStatus: {value: subStatus, localizedValue: subStatus},
      eventTimestamp: armTime(when),
      submissionTimestamp: armTime(submitted),
      subscriptionId: subscription,
      tenantId: this.tenantId,
    }
    return deepMerge(event, input.raw)
  }

  setLogQueryHandler(handler: LogQueryHandler | undefined): void {
    this.logQueryHandler = handler
  }

  /** Current Unix time in seconds (Key Vault attribute times). */
  static now(): number {
    return unixNow()
  }
}
