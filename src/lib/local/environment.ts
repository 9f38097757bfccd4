/**
 * The local environment for tests and `custos demo`: Azurite for blob storage (one emulated
 * account per role, like a real deployment) and the project's local HTTPS server for Key Vault,
 * Resource Manager, Azure Monitor and Log Analytics, plus a data map that points at both.
 */
import {randomBytes} from 'node:crypto'
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {stringify} from 'yaml'

import {startLocalAzureServer, type LocalAzureServer} from './azure-server/index.js'
import {DEFAULT_RESOURCE_GROUP, LOCAL_SUBSCRIPTION_ID, LOCAL_TENANT_ID, LocalAzureState} from './azure-server/state.js'
import {DEMO_ACCESS_EXPECTED, seedDemoAccess} from './demo-access.js'
import {startAzurite, type AzuriteInstance} from './azurite.js'

export const DEMO_CUSTOMERS = ['acme', 'acme-corp', 'globex', 'initech'] as const
const DEMO_VAULT = 'contoso-kv'
const DEMO_AUDIT_CONTAINER = 'custos-audit'
/** The flexible server Resource Manager reports for the demo's application database. */
const DEMO_POSTGRES_SERVER = 'contoso-pg'
export const DEMO_POSTGRES_RESOURCE_ID = LocalAzureState.flexibleServerId(
  LOCAL_SUBSCRIPTION_ID,
  DEFAULT_RESOURCE_GROUP,
  DEMO_POSTGRES_SERVER,
)

/** The emulated storage accounts, their role and region (backups sit in a different German region). */
export const DEMO_ACCOUNTS = [
  {name: 'contosoprod', location: 'germanywestcentral'},
  {name: 'contosobackup', location: 'germanynorth'},
  {name: 'contosologs', location: 'germanywestcentral'},
  {name: 'contosoexport', location: 'germanywestcentral'},
  {name: 'contosoaudit', location: 'germanywestcentral'},
] as const

export type DemoAccount = (typeof DEMO_ACCOUNTS)[number]['name']

export interface LocalEnvironment {
  dir: string
  configPath: string
  caPath: string
  azurite: AzuriteInstance
  server: LocalAzureServer
  /** the data map as written to configPath */
  config: Record<string, unknown>
  accountId(name: DemoAccount): string
  stop(): Promise<void>
}

export interface LocalEnvironmentOptions {
  /** folder for the data map, certificate and Azurite's files; default: a new temp folder */
  dir?: string
  /** remove `dir` on stop (default: true when the folder was created here) */
  removeOnStop?: boolean
  /** purge protection on the demo vault (default false, so crypto-shredding can purge) */
  purgeProtection?: boolean
}

export async function startLocalEnvironment(options: LocalEnvironmentOptions = {}): Promise<LocalEnvironment> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'custos-local-'))
  const removeOnStop = options.removeOnStop ?? options.dir === undefined
  mkdirSync(join(dir, 'azurite'), {recursive: true})
  const azurite = await startAzurite({
    accounts: DEMO_ACCOUNTS.map((a) => ({name: a.name, key: randomBytes(64).toString('base64')})),
    location: join(dir, 'azurite'),
  })
  let server: LocalAzureServer
  try {
    server = await startLocalAzureServer({port: 0})
  } catch (error) {
    await azurite.stop()
    throw error
  }

  const caPath = join(dir, 'local-ca.pem')
  writeFileSync(caPath, server.caCertificatePem)
  const accountId = (name: string) =>
    LocalAzureState.storageAccountId(LOCAL_SUBSCRIPTION_ID, DEFAULT_RESOURCE_GROUP, name)
  seedResources(server.state, azurite)
  seedDemoAccess(server.state)
  // Each vault listens on a port of its own, because the Key Vault SDK expects key ids at the URL root.
  const vaultUrl = await server.addVault({
    name: DEMO_VAULT,
    purgeProtection: options.purgeProtection ?? false,
    softDeleteRetentionInDays: 7,
  })

  const conn = (name: DemoAccount) => azurite.connectionString(name)
  const config = {
    residency: {allowedRegions: ['germanywestcentral', 'germanynorth'], allowedCountries: ['DE']},
    customers: {idPattern: '^[a-z0-9][a-z0-9-]{1,55}$', known: [...DEMO_CUSTOMERS]},
    stores: [
      {
        name: 'documents',
        account: conn('contosoprod'),
        container: 'tenant-{customer}',
        resourceId: accountId('contosoprod'),
      },
      {
        name: 'attachments',
        account: conn('contosoprod'),
        container: 'attachments',
        prefix: '{customer}/',
        resourceId: accountId('contosoprod'),
      },
    ],
    backups: [
      {
        name: 'nightly-db',
        account: conn('contosobackup'),
        container: 'backups',
        prefix: '{customer}/',
        dateFrom: '{customer}/{yyyy}-{MM}-{dd}/',
        resourceId: accountId('contosobackup'),
        expect: {every: '24h', maxAge: '26h', keepDays: 30},
      },
    ],
    keys: {vault: vaultUrl, customerKey: 'tenant-{customer}', signingKey: 'custos-evidence'},
    logs: {
      archive: {
        account: conn('contosologs'),
        containers: ['insights-logs-signinlogs', 'insights-logs-storageread', 'insights-activity-logs'],
      },
      customerFields: ['properties.customerId', 'properties.tenantId'],
    },
    activityLog: {subscription: LOCAL_SUBSCRIPTION_ID},
    exports: {account: conn('contosoexport'), container: 'exports', linkExpiry: '7d'},
    audit: {account: conn('contosoaudit'), container: DEMO_AUDIT_CONTAINER},
    azure: {
      credential: 'local',
      resourceManager: server.url,
      logAnalytics: `${server.url}/v1`,
      graph: server.url,
      caCertificate: caPath,
      subscription: LOCAL_SUBSCRIPTION_ID,
      tenant: LOCAL_TENANT_ID,
    },
    access: {expected: DEMO_ACCESS_EXPECTED},
  }
  const configPath = join(dir, 'custos.yaml')
  writeFileSync(
    configPath,
    `# custos data map for the local environment (Azurite on ${azurite.blobEndpoint()}, local Azure server on ${server.url}).\n` +
      '# Generated by `custos demo`; the account keys are throw-away keys of this Azurite instance.\n' +
      stringify(config, {lineWidth: 0}),
  )
  let stopped = false
  return {
    dir,
    configPath,
    caPath,
    azurite,
    server,
    config,
    accountId,
    async stop() {
      if (stopped) return
      stopped = true
      await Promise.allSettled([server.close(), azurite.stop()])
      if (removeOnStop) rmSync(dir, {recursive: true, force: true})
    },
  }
}

/** Resource Manager view of the environment: accounts, vault, diagnostic settings. */
function seedResources(state: LocalAzureState, azurite: AzuriteInstance): void {
  for (const account of DEMO_ACCOUNTS) {
    state.addStorageAccount({
      name: account.name,
      location: account.location,
      secondaryLocation: null,
      sku: {name: 'Standard_ZRS', tier: 'Standard'},
      blobEndpoint: `${azurite.blobEndpoint(account.name)}/`,
      blobService: {
        isVersioningEnabled: true,
        deleteRetentionPolicy: {enabled: true, days: 14},
        containerDeleteRetentionPolicy: {enabled: true, days: 14},
      },
    })
  }

  // The audit trail's container under the recommended policy: blobs cannot be changed or deleted for
  // a year, custos can still append (allowProtectedAppendWrites), and the policy is locked. (Azurite
  // does not enforce it; `audit posture` and `config validate` read it from Resource Manager.)
  state.addBlobContainer({
    accountId: LocalAzureState.storageAccountId(LOCAL_SUBSCRIPTION_ID, DEFAULT_RESOURCE_GROUP, 'contosoaudit'),
    name: DEMO_AUDIT_CONTAINER,
    immutabilityPolicy: {days: 365, state: 'Locked', allowProtectedAppendWrites: true},
  })

  const logsId = LocalAzureState.storageAccountId(LOCAL_SUBSCRIPTION_ID, DEFAULT_RESOURCE_GROUP, 'contosologs')
  for (const account of ['contosoprod', 'contosobackup']) {
    const id = LocalAzureState.storageAccountId(LOCAL_SUBSCRIPTION_ID, DEFAULT_RESOURCE_GROUP, account)
    state.addDiagnosticSetting(`${id}/blobServices/default`, {
      name: 'to-archive',
      storageAccountId: logsId,
      logs: ['StorageRead', 'StorageWrite', 'StorageDelete'].map((category) => ({
        category,
        enabled: true,
        retentionPolicy: {enabled: false, days: 0},
      })),
    })
  }

  seedPostgresServer(state, logsId)

  state.addDiagnosticSetting(`/subscriptions/${LOCAL_SUBSCRIPTION_ID}`, {
    name: 'activity-to-archive',
    storageAccountId: logsId,
  })
}

/**
 * The demo database's flexible server as Resource Manager sees it: 35 days of geo-redundant
 * backups (one automatic backup a day), TLS 1.2, connection logging, PostgreSQLLogs to the log
 * archive, one Entra administrator. Password sign-in stays enabled: the demo's role signs in with
 * a password (the local PostgreSQL has no Entra ID).
 */
function seedPostgresServer(state: LocalAzureState, logsId: string, now = new Date()): void {
  const day = 86_400_000
  state.addFlexibleServer({
    name: DEMO_POSTGRES_SERVER,
    createdAt: new Date(now.getTime() - 400 * day),
    passwordAuth: 'Enabled',
  })
  state.addFlexibleServerBackups(
    DEMO_POSTGRES_RESOURCE_ID,
    Array.from({length: 35}, (_, i) => ({completedTime: new Date(now.getTime() - (i + 1) * day + 2 * 3_600_000)})),
  )
  state.setFlexibleServerConfiguration(DEMO_POSTGRES_RESOURCE_ID, 'log_disconnections', 'on')
  state.addFlexibleServerAdministrator(DEMO_POSTGRES_RESOURCE_ID, {
    objectId: '6c6f6361-6c00-4000-8000-00000000d0ba',
    principalName: 'dba@contoso.example',
  })
  state.addDiagnosticSetting(DEMO_POSTGRES_RESOURCE_ID, {
    name: 'to-archive',
    storageAccountId: logsId,
    logs: [{category: 'PostgreSQLLogs', enabled: true, retentionPolicy: {enabled: false, days: 0}}],
  })
}
