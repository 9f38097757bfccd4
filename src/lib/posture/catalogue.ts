/**
 * The posture check catalogue: every check `audit posture` runs, the promise of the terms it backs,
 * how bad a failure is, and the `az` command that fixes it. The catalogue is the single source for
 * the table, the JSON result and the SARIF rules.
 */

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const
export type Severity = (typeof SEVERITIES)[number]

/** low < medium < high < critical */
export function severityRank(severity: Severity): number {
  return SEVERITIES.indexOf(severity)
}

export type CheckCategory =
  'transit' | 'access' | 'firewall' | 'encryption' | 'recoverability' | 'residency' | 'monitoring' | 'integrity'
export type ResourceKind =
  'storage-account' | 'blob-container' | 'key-vault' | 'postgresql-server' | 'subscription' | 'tenant'

export interface CheckDefinition {
  /** stable id, e.g. `storage.https-only` (SARIF rule id) */
  id: string
  /** PascalCase name (SARIF rule name) */
  name: string
  title: string
  /** the promise of the data-protection terms this check backs */
  promise: string
  category: CheckCategory
  severity: Severity
  resource: ResourceKind
  /**
   * The `az` command that fixes a failure. Placeholders: `{name}` `{resourceGroup}` `{subscription}`
   * `{id}` (resource id) and check-specific ones filled in by the check (e.g. `{archiveId}`).
   */
  remediation: string
}

const TRANSIT = 'Customer data is encrypted in transit.'
const AT_REST = 'Customer data is encrypted at rest.'
const FIREWALL = 'The infrastructure is protected by firewalls.'
const ACCESS = "Each customer's data is kept apart and only reachable by authorised staff."
const RECOVERABLE = 'Customer data and backups can be recovered after accidental or malicious deletion.'
const RESIDENCY = 'Customer data is hosted only in the allowed (German) Azure regions.'
const MONITORING = 'Logins and access to the infrastructure and the data are monitored and can be reported at any time.'
const ACCOUNTABLE = 'Who entered, changed or removed customer data can be established afterwards.'

const storageUpdate =
  'az storage account update --subscription {subscription} --resource-group {resourceGroup} --name {name}'
const blobServiceUpdate =
  'az storage account blob-service-properties update --subscription {subscription} --resource-group {resourceGroup} --account-name {name}'
const pgParameter =
  'az postgres flexible-server parameter set --subscription {subscription} --resource-group {resourceGroup} --server-name {name}'
const pgUpdate =
  'az postgres flexible-server update --subscription {subscription} --resource-group {resourceGroup} --name {name}'
const vaultUpdate = 'az keyvault update --subscription {subscription} --resource-group {resourceGroup} --name {name}'
const immutabilityPolicy = 'az storage container immutability-policy'
const auditContainer =
  '--subscription {subscription} --resource-group {resourceGroup} --account-name {account} --container-name {container}'
/** `az … immutability-policy create` for the audit container: time-based retention that still lets custos append. */
export const AUDIT_POLICY_CREATE = `${immutabilityPolicy} create ${auditContainer} --period {days} --allow-protected-append-writes true`
/** Locking needs the policy's current etag. */
const AUDIT_POLICY_LOCK = `${immutabilityPolicy} lock ${auditContainer} --if-match "$(${immutabilityPolicy} show ${auditContainer} --query etag --output tsv)"`

export const CHECKS: readonly CheckDefinition[] = [
  // ---------------------------------------------------------------- storage accounts
  {
    id: 'storage.https-only',
    name: 'StorageHttpsOnly',
    title: 'Storage account accepts HTTPS only',
    promise: TRANSIT,
    category: 'transit',
    severity: 'high',
    resource: 'storage-account',
    remediation: `${storageUpdate} --https-only true`,
  },
  {
    id: 'storage.minimum-tls',
    name: 'StorageMinimumTls12',
    title: 'Storage account requires TLS 1.2 or newer',
    promise: TRANSIT,
    category: 'transit',
    severity: 'high',
    resource: 'storage-account',
    remediation: `${storageUpdate} --min-tls-version TLS1_2`,
  },
  {
    id: 'storage.public-blob-access',
    name: 'StorageNoPublicBlobAccess',
    title: 'Anonymous (public) blob access is disabled',
    promise: ACCESS,
    category: 'access',
    severity: 'critical',
    resource: 'storage-account',
    remediation: `${storageUpdate} --allow-blob-public-access false`,
  },
  {
    id: 'storage.shared-key-access',
    name: 'StorageSharedKeyAccess',
    title: 'Shared-key (account key) access is disabled',
    promise: ACCESS,
    category: 'access',
    severity: 'low',
    resource: 'storage-account',
    remediation: `${storageUpdate} --allow-shared-key-access false`,
  },
  {
    id: 'storage.firewall',
    name: 'StorageFirewallDefaultDeny',
    title: 'Storage firewall denies by default',
    promise: FIREWALL,
    category: 'firewall',
    severity: 'high',
    resource: 'storage-account',
    remediation: `${storageUpdate} --default-action Deny`,
  },
  {
    id: 'storage.customer-managed-key',
    name: 'StorageCustomerManagedKey',
    title: 'Storage encrypts with a Key Vault key (where the data map requires it)',
    promise: AT_REST,
    category: 'encryption',
    severity: 'high',
    resource: 'storage-account',
    remediation: `${storageUpdate} --encryption-key-source Microsoft.Keyvault --encryption-key-vault {vaultUri} --encryption-key-name <key name>`,
  },
  {
    id: 'storage.infrastructure-encryption',
    name: 'StorageInfrastructureEncryption',
    title: 'Infrastructure (double) encryption is on',
    promise: AT_REST,
    category: 'encryption',
    severity: 'low',
    resource: 'storage-account',
    remediation:
      'Infrastructure encryption can only be chosen when an account is created: az storage account create --require-infrastructure-encryption true --resource-group {resourceGroup} --name <new account> ..., then copy the data over (azcopy copy).',
  },
  {
    id: 'storage.blob-soft-delete',
    name: 'StorageBlobSoftDelete',
    title: 'Blob soft delete is on with enough retention',
    promise: RECOVERABLE,
    category: 'recoverability',
    severity: 'high',
    resource: 'storage-account',
    remediation: `${blobServiceUpdate} --enable-delete-retention true --delete-retention-days {minDays}`,
  },
  {
    id: 'storage.container-soft-delete',
    name: 'StorageContainerSoftDelete',
    title: 'Container soft delete is on with enough retention',
    promise: RECOVERABLE,
    category: 'recoverability',
    severity: 'medium',
    resource: 'storage-account',
    remediation: `${blobServiceUpdate} --enable-container-delete-retention true --container-delete-retention-days {minDays}`,
  },
  {
    id: 'storage.versioning',
    name: 'StorageBlobVersioning',
    title: 'Blob versioning is on',
    promise: RECOVERABLE,
    category: 'recoverability',
    severity: 'medium',
    resource: 'storage-account',
    remediation: `${blobServiceUpdate} --enable-versioning true`,
  },
  {
    id: 'storage.region',
    name: 'StorageRegionAllowed',
    title: 'Storage account is in an allowed region',
    promise: RESIDENCY,
    category: 'residency',
    severity: 'critical',
    resource: 'storage-account',
    remediation:
      'An account cannot move region: az storage account create --location {allowedRegion} --resource-group {resourceGroup} --name <new account> ..., copy the data (azcopy copy), point the data map at it and delete the old account.',
  },
  {
    id: 'storage.replication',
    name: 'StorageReplicationRegion',
    title: 'Replicas stay in allowed regions',
    promise: RESIDENCY,
    category: 'residency',
    severity: 'high',
    resource: 'storage-account',
    remediation: `${storageUpdate} --sku Standard_ZRS   (zone-redundant, no secondary region; or move to a region whose paired region is allowed)`,
  },
  // ---------------------------------------------------------------- the audit trail's container
  {
    id: 'audit.trail-immutable',
    name: 'AuditTrailImmutable',
    title: 'The audit container has a time-based immutability policy (WORM)',
    promise: ACCOUNTABLE,
    category: 'integrity',
    severity: 'high',
    resource: 'blob-container',
    remediation: `${AUDIT_POLICY_CREATE}, then, once custos has appended under it, lock it (irreversible): ${AUDIT_POLICY_LOCK}`,
  },
  {
    id: 'audit.trail-writable',
    name: 'AuditTrailWritable',
    title: "The audit container's immutability still lets custos append to the trail",
    promise: ACCOUNTABLE,
    category: 'integrity',
    severity: 'high',
    resource: 'blob-container',
    remediation: `${AUDIT_POLICY_CREATE}   (changes an unlocked policy; a locked one cannot change: create a new audit container with this policy and set audit.container to it)`,
  },
  {
    id: 'audit.trail-policy-locked',
    name: 'AuditTrailPolicyLocked',
    title: "The audit container's immutability policy is locked",
    promise: ACCOUNTABLE,
    category: 'integrity',
    severity: 'low',
    resource: 'blob-container',
    remediation: `${AUDIT_POLICY_LOCK}   (irreversible: a locked policy can only be extended, never shortened or removed)`,
  },
  // ---------------------------------------------------------------- key vault
  {
    id: 'keyvault.soft-delete',
    name: 'KeyVaultSoftDelete',
    title: 'Key Vault soft delete is on',
    promise: RECOVERABLE,
    category: 'recoverability',
    severity: 'high',
    resource: 'key-vault',
    remediation: `${vaultUpdate} --enable-soft-delete true`,
  },
  {
    id: 'keyvault.purge-protection',
    name: 'KeyVaultPurgeProtection',
    title: 'Key Vault purge protection is on',
    promise: RECOVERABLE,
    category: 'recoverability',
    severity: 'high',
    resource: 'key-vault',
    remediation: `${vaultUpdate} --enable-purge-protection true`,
  },
  {
    id: 'keyvault.public-network-access',
    name: 'KeyVaultPublicNetworkAccess',
    title: 'Key Vault is not open to the public internet',
    promise: FIREWALL,
    category: 'firewall',
    severity: 'medium',
    resource: 'key-vault',
    remediation: `${vaultUpdate} --public-network-access Disabled   (or keep it Enabled with --default-action Deny and IP/VNet rules)`,
  },
  {
    id: 'keyvault.region',
    name: 'KeyVaultRegionAllowed',
    title: 'Key Vault is in an allowed region',
    promise: RESIDENCY,
    category: 'residency',
    severity: 'high',
    resource: 'key-vault',
    remediation:
      'A vault cannot move region: az keyvault create --location {allowedRegion} --resource-group {resourceGroup} --name <new vault> --enable-purge-protection true, back up and restore the keys (az keyvault key backup / restore work within one geography), and point keys.vault at it.',
  },
  // ---------------------------------------------------------------- PostgreSQL flexible servers
  {
    id: 'postgresql.secure-transport',
    name: 'PostgresRequireSecureTransport',
    title: 'PostgreSQL server accepts TLS connections only (require_secure_transport)',
    promise: TRANSIT,
    category: 'transit',
    severity: 'high',
    resource: 'postgresql-server',
    remediation: `${pgParameter} --name require_secure_transport --value on`,
  },
  {
    id: 'postgresql.minimum-tls',
    name: 'PostgresMinimumTls12',
    title: 'PostgreSQL server requires TLS 1.2 or newer (ssl_min_protocol_version)',
    promise: TRANSIT,
    category: 'transit',
    severity: 'high',
    resource: 'postgresql-server',
    remediation: `${pgParameter} --name ssl_min_protocol_version --value TLSv1.2`,
  },
  {
    id: 'postgresql.public-access',
    name: 'PostgresNotOpenToInternet',
    title: 'PostgreSQL server is not open to the whole internet',
    promise: FIREWALL,
    category: 'firewall',
    severity: 'critical',
    resource: 'postgresql-server',
    remediation: `az postgres flexible-server firewall-rule delete --subscription {subscription} --resource-group {resourceGroup} --name {name} --rule-name {rule} --yes   (or: ${pgUpdate} --public-access Disabled)`,
  },
  {
    id: 'postgresql.entra-only',
    name: 'PostgresEntraAuthenticationOnly',
    title: 'PostgreSQL server accepts Entra ID sign-ins only (where the data map requires it)',
    promise: ACCESS,
    category: 'access',
    severity: 'high',
    resource: 'postgresql-server',
    remediation: `${pgUpdate} --microsoft-entra-auth Enabled --password-auth Disabled`,
  },
  {
    id: 'postgresql.connection-logging',
    name: 'PostgresConnectionsLogged',
    title: 'PostgreSQL logs connections and disconnections',
    promise: MONITORING,
    category: 'monitoring',
    severity: 'medium',
    resource: 'postgresql-server',
    remediation: `${pgParameter} --name log_connections --value on && ${pgParameter} --name log_disconnections --value on`,
  },
  {
    id: 'postgresql.region',
    name: 'PostgresRegionAllowed',
    title: 'PostgreSQL server is in an allowed region',
    promise: RESIDENCY,
    category: 'residency',
    severity: 'critical',
    resource: 'postgresql-server',
    remediation:
      'A server cannot move region: restore it into an allowed region (az postgres flexible-server geo-restore --location {allowedRegion} --source-server {id} --resource-group {resourceGroup} --name <new server>), point the data map at it and delete the old server.',
  },
  {
    id: 'monitoring.postgresql-logs',
    name: 'PostgresLogsKept',
    title: 'PostgreSQL server logs are sent to an archive or workspace',
    promise: MONITORING,
    category: 'monitoring',
    severity: 'high',
    resource: 'postgresql-server',
    remediation:
      'az monitor diagnostic-settings create --name custos-archive --resource {id} {destination} --logs \'[{"category":"PostgreSQLLogs","enabled":true}]\'',
  },
  // ---------------------------------------------------------------- monitoring
  {
    id: 'monitoring.storage-logs',
    name: 'StorageAccessLogged',
    title: 'Blob reads, writes and deletes are logged to an archive or workspace',
    promise: MONITORING,
    category: 'monitoring',
    severity: 'high',
    resource: 'storage-account',
    remediation:
      'az monitor diagnostic-settings create --name custos-archive --resource {id}/blobServices/default {destination} --logs \'[{"category":"StorageRead","enabled":true},{"category":"StorageWrite","enabled":true},{"category":"StorageDelete","enabled":true}]\'',
  },
  {
    id: 'monitoring.keyvault-logs',
    name: 'KeyVaultAuditLogged',
    title: 'Key Vault audit events are logged to an archive or workspace',
    promise: MONITORING,
    category: 'monitoring',
    severity: 'high',
    resource: 'key-vault',
    remediation:
      'az monitor diagnostic-settings create --name custos-archive --resource {id} {destination} --logs \'[{"category":"AuditEvent","enabled":true}]\'',
  },
  {
    id: 'monitoring.archive-region',
    name: 'LogArchiveRegionAllowed',
    title: 'Logs are archived in an allowed region',
    promise: RESIDENCY,
    category: 'residency',
    severity: 'high',
    resource: 'storage-account',
    remediation:
      'Send the logs to an archive account in an allowed region: az monitor diagnostic-settings update --name {setting} --resource {monitored} --storage-account <id of an account in {allowedRegion}>',
  },
  {
    id: 'monitoring.activity-log',
    name: 'ActivityLogArchived',
    title: 'The subscription activity log (Administrative) is archived',
    promise: MONITORING,
    category: 'monitoring',
    severity: 'medium',
    resource: 'subscription',
    remediation:
      'az monitor diagnostic-settings subscription create --name custos-activity --location {allowedRegion} {destination} --logs \'[{"category":"Administrative","enabled":true}]\'',
  },
  {
    id: 'monitoring.sign-in-logs',
    name: 'SignInLogsArchived',
    title: 'Entra ID sign-in logs reach the log archive or workspace',
    promise: MONITORING,
    category: 'monitoring',
    severity: 'high',
    resource: 'tenant',
    remediation:
      'In Entra ID > Monitoring > Diagnostic settings, send SignInLogs to the archive account or workspace (az rest --method put --url "https://management.azure.com/providers/microsoft.aadiam/diagnosticSettings/custos-archive?api-version=2017-04-01" --body \'{"properties":{"storageAccountId":"<archive id>","logs":[{"category":"SignInLogs","enabled":true}]}}\'), and list its container (insights-logs-signinlogs) under logs.archive.containers.',
  },
]

const byId = new Map(CHECKS.map((c) => [c.id, c]))

/** The definition of a check id; throws on an unknown id (a bug). */
export function checkDefinition(id: string): CheckDefinition {
  const def = byId.get(id)
  if (!def) throw new Error(`unknown posture check ${id}`)
  return def
}

/** Fills `{placeholder}`s of a remediation template; unknown placeholders stay as they are. */
export function fillRemediation(template: string, values: Record<string, string | undefined>): string {
  return template.replaceAll(/\{([A-Za-z]+)\}/g, (whole, key: string) => values[key] ?? whole)
}
