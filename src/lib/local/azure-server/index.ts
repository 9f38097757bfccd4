/**
 * The local Azure server (tests and `custos demo`). Usage:
 *
 *   const server = await startLocalAzureServer()
 *   const vaultUrl = await server.addVault({name: 'custos-kv', purgeProtection: false})   // https://127.0.0.1:<own port>
 *   const account = server.state.addStorageAccount({name: 'custosdata', blobEndpoint: azurite.blobEndpoint('custosdata')})
 *   server.state.addBlobContainer({accountId: account.id as string, name: 'backups', legalHoldTags: ['case-17']})
 *   server.state.setImmutabilityPolicy(`${account.id}/blobServices/default/containers/backups`, {days: 365, allowProtectedAppendWrites: true})
 *   server.state.addDiagnosticSetting(`${account.id}/blobServices/default`, {name: 'archive', storageAccountId: '…'})
 *   server.state.addActivityEvents(LOCAL_SUBSCRIPTION_ID, [{eventTimestamp: '2025-03-01T10:00:00Z', operationName: '…', resourceId: '…'}])
 *   server.state.setLogQueryHandler((workspace, query, timespan) => [{columns: [...], rows: [...]}])
 *
 * Clients: `tlsOptions: {ca: server.caCertificatePem}`, the LocalDevelopmentCredential; ARM clients
 * `endpoint: server.url`; LogsQueryClient `endpoint: server.url + "/v1"`; KeyClient/CryptographyClient the
 * vault URL and `disableChallengeResourceVerification: true`.
 */
export {
  startLocalAzureServer,
  type AddVaultOptions,
  type LocalAzureServer,
  type LocalAzureServerOptions,
  type RecordedRequest,
} from './server.js'
export {
  LOCAL_SUBSCRIPTION_ID,
  LOCAL_TENANT_ID,
  LocalAzureState,
  LogQueryError,
  type ActivityEventInput,
  type ArmKeyVaultInput,
  type BlobContainerInput,
  type ConfigurationOverride,
  type DeletedKeyEntry,
  type DiagnosticSettingInput,
  type EncryptionScopeInput,
  type FlexibleServerAdministratorInput,
  type FlexibleServerBackupInput,
  type FlexibleServerInput,
  type ImmutabilityPolicyInput,
  type JsonObject,
  type KeyVault,
  type KeyVaultInput,
  type KeyVersion,
  type LogColumn,
  type LogColumnType,
  type LogQueryHandler,
  type LogTable,
  type LtrOperationInput,
  type StorageAccountInput,
  type StoredKey,
} from './state.js'
export {
  GRAPH_NEVER,
  type GroupInput,
  type PrincipalType,
  type RoleAssignmentInput,
  type RoleDefinitionInput,
  type ServicePrincipalInput,
  type UserInput,
} from './directory.js'
