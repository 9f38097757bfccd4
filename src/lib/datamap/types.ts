/** The data map: where a customer's data lives. Field names are part of the product's contract. */
import type {PostgresDatabaseConfig} from '../stores/postgres/types.js'
import type {TableDatabaseConfig} from '../stores/table/types.js'

/** A `databases[]` entry: `engine: postgresql` or `engine: table` (Azure Table storage). */
export type DatabaseConfig = (DatabaseProtectionConfig & PostgresDatabaseConfig) | TableDatabaseConfig

/** A PostgreSQL `databases[]` entry with what `backups verify` and `audit posture` expect of its server. */
export type PostgresDatabaseEntry = DatabaseProtectionConfig & PostgresDatabaseConfig

/** What `backups verify` and `audit posture` expect of a database's server (its `resourceId`). */
export interface DatabaseProtectionConfig {
  /** the server's own backups: retention ≥ keepDays, newest automatic backup younger than maxAge */
  expect?: BackupExpectation
  /** the server encrypts with a Key Vault key (`dataEncryption.type` AzureKeyVault) */
  requireCustomerManagedKey?: boolean
  /** Entra authentication enabled and password authentication disabled on the server */
  requireEntraOnly?: boolean
}

export interface StoreConfig {
  /** unique name, used in output, manifests and exported paths */
  name: string
  /** blob endpoint URL (Entra ID auth) or a storage connection string */
  account: string
  /** container name; may contain `{customer}` */
  container: string
  /** blob-name prefix; must end with `/` and contain `{customer}` when the container does not */
  prefix?: string
  /** ARM resource id of the storage account (for posture/backups region checks) */
  resourceId?: string
  /** `audit posture` fails unless the account encrypts with a Key Vault key (customer-managed key) */
  requireCustomerManagedKey?: boolean
}

export interface BackupExpectation {
  every: string
  maxAge: string
  keepDays: number
}

export interface BackupSetConfig extends StoreConfig {
  /** template with `{customer}` and date tokens `{yyyy}` `{MM}` `{dd}` `{HH}` read from the blob path */
  dateFrom?: string
  /** metadata key holding the backup time (ISO 8601), used when the path has no date */
  dateMetadata?: string
  /** blob name (relative to the scope) of a manifest listing backup names, sizes and SHA-256 */
  manifest?: string
  /** the encryption scope backups must use, if any; may contain `{customer}` */
  encryptionScope?: string
  expect: BackupExpectation
}

export interface KeysConfig {
  vault: string
  customerKey?: string
  signingKey?: string
}

export interface LogsConfig {
  archive?: {account: string; containers: string[]}
  workspace?: string
  customerFields: string[]
}

export interface AzureEnvironmentConfig {
  /** `default`: DefaultAzureCredential. `local`: the local environment's development token (loopback only). */
  credential: 'default' | 'local'
  /** Resource Manager endpoint (default https://management.azure.com) */
  resourceManager?: string
  /** Log Analytics endpoint (default https://api.loganalytics.io/v1) */
  logAnalytics?: string
  /** Microsoft Graph endpoint (default https://graph.microsoft.com), for `access review` */
  graph?: string
  /** PEM file of a CA to trust for HTTPS in this process only (the local environment's certificate) */
  caCertificate?: string
  subscription?: string
  tenant?: string
  /** ARM id of the `keys.vault` vault; without it `audit posture` finds the vault by listing the subscription's vaults */
  keyVaultResourceId?: string
}

/** `access.expected`: the access the operator expects (README "Access review"). */
export interface AccessExpectation {
  /** UPNs or object ids that may hold roles */
  principals: string[]
  /** home domains of expected people (`contoso.com`) */
  domains: string[]
  /** home tenants (ids) of expected service principals */
  tenants: string[]
  /** UPNs or object ids that may hold privileged roles */
  privileged: string[]
}

export interface DataMap {
  residency: {allowedRegions: string[]; allowedCountries: string[]}
  customers: {idPattern: string; known?: string[]}
  stores: StoreConfig[]
  backups: BackupSetConfig[]
  /** databases holding customer rows (default []) */
  databases: DatabaseConfig[]
  keys?: KeysConfig
  logs?: LogsConfig
  activityLog?: {subscription: string}
  exports?: {account: string; container: string; linkExpiry: string}
  /**
   * custos's own audit trail (`container`) and erase locks (`lockContainer`, default
   * `<container>-locks`): apart, so that the trail's container can be append-only (immutability
   * policy with protected append writes) while locks are created and deleted.
   */
  audit: {account: string; container: string; lockContainer: string}
  erase: {exportWindow: string}
  access: {
    timeZone: string
    workingHours: string
    workingDays: number[]
    /** `access review`: who may hold roles; every list defaults to [] (filled in by the loader) */
    expected?: AccessExpectation
    /** `access review`: a role holder without a sign-in for this long is stale (default `90d`, filled in by the loader) */
    staleAfter?: string
  }
  /** `contact`: the contact point (DPO) notices name when an incident sets none */
  incident: {timeZone: string; warnWithin: string; contact?: string}
  azure: AzureEnvironmentConfig
  /** absolute path of the file this map was read from */
  source: string
}
