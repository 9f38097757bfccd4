/**
 * One credential, one client factory. Every `@azure/*` client custos uses is made here, with the
 * same retry policy, user agent and — for the local environment only — the trusted certificate.
 */
import {readFileSync} from 'node:fs'

import type {TokenCredential} from '@azure/core-auth'
import type {TlsSettings} from '@azure/core-rest-pipeline'
import {KeyClient, CryptographyClient} from '@azure/keyvault-keys'
import {KeyVaultManagementClient} from '@azure/arm-keyvault'
import {MonitorClient} from '@azure/arm-monitor'
import {PostgreSQLManagementFlexibleServerClient} from '@azure/arm-postgresql-flexible'
import {StorageManagementClient} from '@azure/arm-storage'
import {LogsQueryClient} from '@azure/monitor-query-logs'
import {AzureNamedKeyCredential, AzureSASCredential, TableClient, TableServiceClient} from '@azure/data-tables'
import {
  AnonymousCredential,
  BlobServiceClient,
  StorageSharedKeyCredential,
  newPipeline,
  type ContainerClient,
  type StoragePipelineOptions,
} from '@azure/storage-blob'

import type {DataMap} from '../datamap/types.js'
import type {Scope} from '../scope.js'
import {USER_AGENT} from '../version.js'
import {parseAccount, type AccountRef} from './account.js'
import {BlobReader} from './blob-reader.js'
import type {ConnectOptions} from '../stores/postgres/connection.js'
import {createCredential} from './credential.js'
import {JsonRestClient} from './json-rest.js'
import {resumeDroppedDownloads} from './dropped-connections.js'
import {retryTooManyRequests} from './throttling.js'

export interface RetryOptions {
  /** attempts per request, including the first */
  maxTries: number
  retryDelayInMs: number
  maxRetryDelayInMs: number
  /** per-attempt timeout for storage requests */
  tryTimeoutInMs: number
}

const DEFAULT_RETRY: RetryOptions = {
  maxTries: 6,
  retryDelayInMs: 500,
  maxRetryDelayInMs: 30_000,
  tryTimeoutInMs: 10 * 60_000,
}

export interface AzureClientsOptions {
  retry?: Partial<RetryOptions>
  /** a credential to use instead of the one the data map names (tests of wrong credentials) */
  credential?: TokenCredential
}

const DEFAULT_RESOURCE_MANAGER = 'https://management.azure.com'
const DEFAULT_GRAPH = 'https://graph.microsoft.com'

export class AzureClients {
  readonly credential: TokenCredential
  readonly retry: RetryOptions
  private readonly tls?: TlsSettings
  private readonly blobServices = new Map<string, BlobServiceClient>()
  private readonly blobReaders = new Map<string, BlobReader>()

  constructor(
    readonly map: DataMap,
    options: AzureClientsOptions = {},
  ) {
    this.credential = options.credential ?? createCredential(map.azure.credential, map.azure.tenant)
    this.retry = {...DEFAULT_RETRY, ...options.retry}
    if (map.azure.caCertificate) this.tls = {ca: readFileSync(map.azure.caCertificate, 'utf8')}
  }

  /** Options every core-client based client (Key Vault, ARM, Log Analytics) gets. */
  private commonOptions() {
    return {
      userAgentOptions: {userAgentPrefix: USER_AGENT},
      retryOptions: {
        maxRetries: this.retry.maxTries - 1,
        retryDelayInMs: this.retry.retryDelayInMs,
        maxRetryDelayInMs: this.retry.maxRetryDelayInMs,
      },
      ...(this.tls ? {tlsOptions: this.tls} : {}),
    }
  }

  /** The Blob service client of a data-map `account` (URL or connection string), cached per endpoint. */
  blobService(account: string | AccountRef): BlobServiceClient {
    const ref = typeof account === 'string' ? parseAccount(account) : account
    const cacheKey = `${ref.endpoint}|${ref.sharedKey ? 'key' : ref.sas ? 'sas' : 'aad'}`
    let client = this.blobServices.get(cacheKey)
    if (!client) {
      const pipelineOptions: StoragePipelineOptions = {
        retryOptions: {
          maxTries: this.retry.maxTries,
          retryDelayInMs: this.retry.retryDelayInMs,
          maxRetryDelayInMs: this.retry.maxRetryDelayInMs,
          tryTimeoutInMs: this.retry.tryTimeoutInMs,
        },
        userAgentOptions: {userAgentPrefix: USER_AGENT},
      }
      const credential = ref.sharedKey
        ? new StorageSharedKeyCredential(ref.sharedKey.accountName, ref.sharedKey.accountKey)
        : ref.sas
          ? new AnonymousCredential()
          : this.credential
      const url = ref.sas ? `${ref.endpoint}?${ref.sas}` : ref.endpoint
      const pipeline = newPipeline(credential, pipelineOptions)
      pipeline.factories.push(resumeDroppedDownloads, retryTooManyRequests(this.retry))
      client = new BlobServiceClient(url, pipeline)
      this.blobServices.set(cacheKey, client)
    }

    return client
  }

  /** The lean reader of small blobs of a data-map `account` (see blob-reader.ts), cached per endpoint. */
  blobReader(account: string | AccountRef): BlobReader {
    const ref = typeof account === 'string' ? parseAccount(account) : account
    const cacheKey = `${ref.endpoint}|${ref.sharedKey ? 'key' : ref.sas ? 'sas' : 'aad'}`
    let reader = this.blobReaders.get(cacheKey)
    if (!reader) {
      reader = new BlobReader({
        endpoint: ref.endpoint,
        auth: ref.sharedKey
          ? {sharedKey: new StorageSharedKeyCredential(ref.sharedKey.accountName, ref.sharedKey.accountKey)}
          : ref.sas
            ? {sas: ref.sas}
            : {token: this.credential},
        retry: this.retry,
        userAgentPrefix: USER_AGENT,
        ...(this.tls ? {tls: this.tls} : {}),
      })
      this.blobReaders.set(cacheKey, reader)
    }

    return reader
  }

  /** The container client of a customer scope. */
  container(scope: Scope, account: string): ContainerClient {
    return this.blobService(account).getContainerClient(scope.container)
  }

  /**
   * How a PostgreSQL store connects: `auth: entra` presents a token of this same credential (a
   * fresh one per connection), `auth: password` reads `passwordEnv` from the environment.
   */
  postgresConnectOptions(): ConnectOptions {
    const {credential} = this
    return {
      async getToken() {
        // loaded here, not at the top: every command loads this module, few connect to PostgreSQL (pg)
        const {ENTRA_SCOPE} = await import('../stores/postgres/connection.js')
        return credential.getToken(ENTRA_SCOPE)
      },
    }
  }

  /**
   * A Table storage table of a data-map `account` (table endpoint URL or connection string): shared
   * key or SAS from a connection string, else the Entra ID credential. Plain HTTP only on loopback
   * (Azurite's table service in tests and the demo).
   */
  tableClient(account: string, table: string): TableClient {
    const {endpoint, credential, options} = this.tableEndpoint(account)
    return credential
      ? new TableClient(endpoint, table, credential as AzureNamedKeyCredential, options)
      : new TableClient(endpoint, table, options)
  }

  /** The Table service of a data-map `account` (deleting a table per customer). */
  tableService(account: string): TableServiceClient {
    const {endpoint, credential, options} = this.tableEndpoint(account)
    return credential
      ? new TableServiceClient(endpoint, credential as AzureNamedKeyCredential, options)
      : new TableServiceClient(endpoint, options)
  }

  private tableEndpoint(account: string) {
    const ref = parseAccount(account, 'table')
    const credential = ref.sharedKey
      ? new AzureNamedKeyCredential(ref.sharedKey.accountName, ref.sharedKey.accountKey)
      : ref.sas
        ? new AzureSASCredential(ref.sas)
        : this.credential
    const url = new URL(ref.endpoint)
    const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)
    return {
      endpoint: ref.endpoint,
      credential,
      options: {
        ...this.commonOptions(),
        ...(url.protocol === 'http:' && loopback ? {allowInsecureConnection: true} : {}),
      },
    }
  }

  keyClient(): KeyClient {
    const vault = this.requireVault()
    return new KeyClient(vault, this.credential, {
      ...this.commonOptions(),
      disableChallengeResourceVerification: this.map.azure.credential === 'local',
    })
  }

  cryptographyClient(keyId: string): CryptographyClient {
    return new CryptographyClient(keyId, this.credential, {
      ...this.commonOptions(),
      disableChallengeResourceVerification: this.map.azure.credential === 'local',
    })
  }

  private armOptions() {
    const endpoint = this.map.azure.resourceManager ?? DEFAULT_RESOURCE_MANAGER
    const scopes = [`${endpoint.replace(/\/+$/, '')}/.default`]
    // arm-monitor takes `credentialScopes`; arm-storage 20 and arm-keyvault 5 take `credentials.scopes`.
    return {...this.commonOptions(), endpoint, credentialScopes: scopes, credentials: {scopes}}
  }

  storageManagement(subscription: string): StorageManagementClient {
    return new StorageManagementClient(this.credential, subscription, this.armOptions())
  }

  monitor(subscription: string): MonitorClient {
    return new MonitorClient(this.credential, subscription, this.armOptions())
  }

  /** Microsoft.DBforPostgreSQL/flexibleServers (api-version 2025-08-01, the one of the contract samples). */
  postgresqlFlexible(subscription: string): PostgreSQLManagementFlexibleServerClient {
    return new PostgreSQLManagementFlexibleServerClient(this.credential, subscription, this.armOptions())
  }

  keyVaultManagement(subscription: string): KeyVaultManagementClient {
    return new KeyVaultManagementClient(this.credential, subscription, this.armOptions())
  }

  /**
   * Resource Manager for calls without an SDK client (Microsoft.Authorization role assignments and
   * definitions; json-rest.ts says why), with the same pipeline settings as the ARM SDK clients.
   */
  armRest(): JsonRestClient {
    const endpoint = (this.map.azure.resourceManager ?? DEFAULT_RESOURCE_MANAGER).replace(/\/+$/, '')
    return this.jsonRest(endpoint, `${endpoint}/.default`)
  }

  /** Microsoft Graph v1.0 (`azure.graph`), token scope `<graph endpoint>/.default`. */
  graph(): JsonRestClient {
    const base = (this.map.azure.graph ?? DEFAULT_GRAPH).replace(/\/+$/, '')
    return this.jsonRest(`${base}/v1.0`, `${base}/.default`)
  }

  private jsonRest(endpoint: string, scope: string): JsonRestClient {
    return new JsonRestClient({
      endpoint,
      credential: this.credential,
      scope,
      retry: this.retry,
      userAgentPrefix: USER_AGENT,
      ...(this.tls ? {tls: this.tls} : {}),
    })
  }

  logsQuery(): LogsQueryClient {
    return new LogsQueryClient(this.credential, {
      ...this.commonOptions(),
      ...(this.map.azure.logAnalytics ? {endpoint: this.map.azure.logAnalytics} : {}),
    })
  }

  private requireVault(): string {
    if (!this.map.keys?.vault) throw new Error('keys.vault is not configured')
    return this.map.keys.vault
  }
}
