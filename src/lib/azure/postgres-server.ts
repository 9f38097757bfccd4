/**
 * Reads an Azure Database for PostgreSQL flexible server over Resource Manager through
 * `@azure/arm-postgresql-flexible` (api-version 2025-08-01): the server itself, its backups, its
 * long-term-retention operations, server parameters, firewall rules and Entra administrators.
 * Everything is returned as plain data; the server in the wire shape {@link FlexibleServerBody}
 * (what the erase certificate's residual date and `backups verify` read). A field the answer lacks
 * stays absent: callers report it as unknown, naming the field, and never guess.
 */
import type {
  AdministratorMicrosoftEntra,
  BackupAutomaticAndOnDemand,
  BackupsLongTermRetentionOperation,
  FirewallRule,
  PostgreSQLManagementFlexibleServerClient,
  Server,
} from '@azure/arm-postgresql-flexible'

import {configError, fromAzureError} from '../errors.js'
import type {FlexibleServerBody} from '../stores/postgres/residuals.js'
import type {AzureClients} from './clients.js'

export interface FlexibleServerRef {
  subscription: string
  resourceGroup: string
  name: string
}

export interface ReadFlexibleServerOptions {
  abortSignal?: AbortSignal
}

/** One entry of the server's Backups list. */
export interface ServerBackup {
  name: string
  /** `Full`, `Customer On-Demand`, ... */
  backupType?: string
  /** `Automatic` or `Customer Initiated` */
  source?: string
  /** ISO time */
  completedTime?: string
}

/** One long-term-retention (vaulted) backup operation. */
export interface LongTermRetentionOperation {
  backupName?: string
  /** `Running`, `Succeeded`, `Failed`, ... */
  status?: string
  startTime?: string
  endTime?: string
  percentComplete?: number
  datasourceSizeInBytes?: number
}

/** A server parameter (Configurations Get); values are strings even for booleans (`"on"`). */
export interface ServerParameter {
  name: string
  value?: string
  defaultValue?: string
  /** `system-default` or `user-override` */
  source?: string
}

export interface ServerFirewallRule {
  name: string
  startIpAddress: string
  endIpAddress: string
}

/** An Entra administrator; the service gives no `name`, the object id is the id's last segment. */
export interface EntraAdministrator {
  objectId: string
  principalName?: string
  /** `User`, `Group` or `ServicePrincipal` */
  principalType?: string
  tenantId?: string
}

const SERVER_ID =
  /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.DBforPostgreSQL\/flexibleServers\/([^/]+)\/?$/i

/** The parts of a flexible server's resource id; a CustosError (configuration) when it is not one. */
export function parseFlexibleServerId(resourceId: string): FlexibleServerRef {
  const m = SERVER_ID.exec(resourceId.trim())
  if (!m)
    throw configError(
      `"${resourceId}" is not the resource id of a PostgreSQL flexible server.`,
      [],
      'Use the form /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.DBforPostgreSQL/flexibleServers/<name>.',
    )
  return {subscription: m[1], resourceGroup: m[2], name: m[3]}
}

function client(clients: AzureClients, ref: FlexibleServerRef): PostgreSQLManagementFlexibleServerClient {
  return clients.postgresqlFlexible(ref.subscription)
}

function iso(date: Date | undefined): string | undefined {
  return date instanceof Date && !Number.isNaN(date.getTime()) ? date.toISOString() : undefined
}

/** Drops keys whose value is undefined, so that an absent field stays absent in JSON output. */
function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T
}

function mapped(error: unknown, what: string): unknown {
  return fromAzureError(error, what)
}

/** The server in its ARM wire shape, from the SDK's model. */
function toServerBody(server: Server): FlexibleServerBody {
  const backup = server.backup
  const encryption = server.dataEncryption
  const properties = defined({
    backup: backup
      ? defined({
          backupRetentionDays: backup.backupRetentionDays,
          geoRedundantBackup: backup.geoRedundantBackup,
          earliestRestoreDate: iso(backup.earliestRestoreDate),
        })
      : undefined,
    dataEncryption: encryption
      ? defined({
          type: encryption.type,
          primaryKeyURI: encryption.primaryKeyURI,
          primaryEncryptionKeyStatus: encryption.primaryEncryptionKeyStatus,
          geoBackupKeyURI: encryption.geoBackupKeyURI,
        })
      : undefined,
    network: server.network
      ? defined({
          publicNetworkAccess: server.network.publicNetworkAccess,
          delegatedSubnetResourceId: server.network.delegatedSubnetResourceId,
        })
      : undefined,
    authConfig: server.authConfig
      ? defined({
          activeDirectoryAuth: server.authConfig.activeDirectoryAuth,
          passwordAuth: server.authConfig.passwordAuth,
          // the SDK reads an absent tenant as ""
          tenantId: server.authConfig.tenantId || undefined,
        })
      : undefined,
    fullyQualifiedDomainName: server.fullyQualifiedDomainName,
    version: server.version,
    state: server.state,
  })
  const createdAt = iso(server.systemData?.createdAt)
  return defined({
    id: server.id,
    name: server.name,
    location: server.location,
    systemData: createdAt ? {createdAt} : undefined,
    properties,
  })
}

/**
 * Reads a flexible server (Servers Get). Throws a CustosError naming the server when it cannot be
 * read (not found, access denied, network), or when `resourceId` is not a flexible server's id.
 */
export async function readFlexibleServer(
  clients: AzureClients,
  resourceId: string,
  options?: {abortSignal?: AbortSignal},
): Promise<FlexibleServerBody> {
  const ref = parseFlexibleServerId(resourceId)
  try {
    const server = await client(clients, ref).servers.get(ref.resourceGroup, ref.name, {
      abortSignal: options?.abortSignal,
    })
    return toServerBody(server)
  } catch (error) {
    throw mapped(error, `PostgreSQL flexible server ${ref.name} in Resource Manager`)
  }
}

/** Maps a paged SDK listing to plain items, mapping failures to a CustosError about `what`. */
async function* listing<T, U>(pages: AsyncIterable<T>, map: (item: T) => U, what: string): AsyncGenerator<U> {
  try {
    for await (const item of pages) yield map(item)
  } catch (error) {
    throw mapped(error, what)
  }
}

/** The server's Backups list (automatic and on-demand), in the order the service gives. */
export function listServerBackups(
  clients: AzureClients,
  resourceId: string,
  options: ReadFlexibleServerOptions = {},
): AsyncGenerator<ServerBackup> {
  const ref = parseFlexibleServerId(resourceId)
  return listing(
    client(clients, ref).backupsAutomaticAndOnDemand.listByServer(ref.resourceGroup, ref.name, options),
    (b: BackupAutomaticAndOnDemand): ServerBackup =>
      defined({
        name: b.name ?? '',
        backupType: b.backupType,
        source: b.source,
        completedTime: iso(b.completedTime),
      }),
    `the backups of PostgreSQL flexible server ${ref.name}`,
  )
}

/** The server's long-term-retention backup operations. */
export function listLongTermRetentionOperations(
  clients: AzureClients,
  resourceId: string,
  options: ReadFlexibleServerOptions = {},
): AsyncGenerator<LongTermRetentionOperation> {
  const ref = parseFlexibleServerId(resourceId)
  return listing(
    client(clients, ref).backupsLongTermRetention.listByServer(ref.resourceGroup, ref.name, options),
    (o: BackupsLongTermRetentionOperation): LongTermRetentionOperation =>
      defined({
        backupName: o.backupName ?? o.name,
        status: o.status,
        startTime: iso(o.startTime),
        endTime: iso(o.endTime),
        percentComplete: o.percentComplete,
        datasourceSizeInBytes: o.datasourceSizeInBytes,
      }),
    `the long-term-retention backups of PostgreSQL flexible server ${ref.name}`,
  )
}

/** One server parameter (Configurations Get); undefined when the server has no such parameter (404). */
export async function readServerParameter(
  clients: AzureClients,
  resourceId: string,
  name: string,
  options: ReadFlexibleServerOptions = {},
): Promise<ServerParameter | undefined> {
  const ref = parseFlexibleServerId(resourceId)
  try {
    const c = await client(clients, ref).configurations.get(ref.resourceGroup, ref.name, name, options)
    return defined({name: c.name ?? name, value: c.value, defaultValue: c.defaultValue, source: c.source})
  } catch (error) {
    if ((error as {statusCode?: number}).statusCode === 404) return undefined
    throw mapped(error, `server parameter ${name} of PostgreSQL flexible server ${ref.name}`)
  }
}

/** The server's firewall rules (every page: the service links further pages with `nextLink`). */
export function listServerFirewallRules(
  clients: AzureClients,
  resourceId: string,
  options: ReadFlexibleServerOptions = {},
): AsyncGenerator<ServerFirewallRule> {
  const ref = parseFlexibleServerId(resourceId)
  return listing(
    client(clients, ref).firewallRules.listByServer(ref.resourceGroup, ref.name, options),
    (r: FirewallRule): ServerFirewallRule => ({
      name: r.name ?? '',
      startIpAddress: r.startIpAddress,
      endIpAddress: r.endIpAddress,
    }),
    `the firewall rules of PostgreSQL flexible server ${ref.name}`,
  )
}

/** The server's Entra administrators. */
export function listEntraAdministrators(
  clients: AzureClients,
  resourceId: string,
  options: ReadFlexibleServerOptions = {},
): AsyncGenerator<EntraAdministrator> {
  const ref = parseFlexibleServerId(resourceId)
  return listing(
    client(clients, ref).administratorsMicrosoftEntra.listByServer(ref.resourceGroup, ref.name, options),
    (a: AdministratorMicrosoftEntra): EntraAdministrator =>
      defined({
        objectId: a.objectId ?? a.id?.split('/').at(-1) ?? '',
        principalName: a.principalName,
        principalType: a.principalType,
        tenantId: a.tenantId,
      }),
    `the Entra administrators of PostgreSQL flexible server ${ref.name}`,
  )
}
