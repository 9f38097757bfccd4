/**
 * `audit posture`: checks the promises of the terms against the live configuration of every storage
 * account and the vault the data map names, the audit trail's container, plus the subscription's
 * activity log and the tenant's sign-in logs. Reads only (Resource Manager, Azure Monitor, the log
 * archive); changes nothing.
 */
import type {Vault} from '@azure/arm-keyvault'
import type {StorageAccount} from '@azure/arm-storage'

import type {AzureClients} from '../azure/clients.js'
import {postgresDatabases} from '../datamap/databases.js'
import type {DataMap, PostgresDatabaseEntry} from '../datamap/types.js'
import {CustosError} from '../errors.js'
import {auditTrailContainer} from './audit-trail.js'
import {CHECKS, severityRank, type Severity} from './catalogue.js'
import {evaluateVault} from './keyvault.js'
import {
  ACTIVITY_LOGS,
  KEYVAULT_LOGS,
  POSTGRESQL_LOGS,
  STORAGE_LOGS,
  checkSignInLogs,
  evaluateArchiveRegion,
  evaluateLogCoverage,
  listDiagnosticSettings,
  logCoverage,
  type LocationLookup,
  type LogRequirement,
} from './monitoring.js'
import {
  accountTargets,
  locateStorageAccounts,
  locateVault,
  lookupFailure,
  normalizeEndpoint,
  parseResourceId,
  searchSubscription,
  type AccountTarget,
  type Located,
  type OperationOptions,
} from './resolve.js'
import {evaluatePostgresServer, readPostgresPosture} from './postgresql.js'
import {normalizeRegion, resourcePlaceholders, result, unknownResults} from './result.js'
import {evaluateStorageAccount} from './storage.js'
import type {CheckResult, PostureReport, PostureResource, PostureSummary} from './types.js'

export interface AuditPostureOptions extends OperationOptions {
  /** results at or above this severity that fail (or cannot be verified) count as failing; default `medium` */
  failOn?: Severity
  /** minimum soft-delete retention for blobs and containers, in days; default 7 */
  minRetentionDays?: number
  /** called as each resource is finished (progress) */
  onResource?: (resource: PostureResource) => void
}

export const DEFAULT_FAIL_ON: Severity = 'medium'
export const DEFAULT_MIN_RETENTION_DAYS = 7

const idsOf = (kind: string) => CHECKS.filter((c) => c.resource === kind).map((c) => c.id)

/** Runs every check of the catalogue; never throws for a resource it cannot read (that is `unknown`). */
export async function auditPosture(
  clients: AzureClients,
  map: DataMap,
  options: AuditPostureOptions = {},
): Promise<PostureReport> {
  const failOn = options.failOn ?? DEFAULT_FAIL_ON
  const minRetentionDays = options.minRetentionDays ?? DEFAULT_MIN_RETENTION_DAYS
  const allowedRegions = map.residency.allowedRegions
  const targets = accountTargets(map)
  const [located, vault] = await Promise.all([
    locateStorageAccounts(clients, map, targets, options),
    map.keys ? locateVault(clients, map, options) : undefined,
  ])

  // Archive-region lookups: accounts already located are not read again.
  const locations = new Map<string, Promise<{location?: string; reason?: string}>>()
  for (const l of located.values())
    if (l.found && l.resource.id)
      locations.set(l.resource.id.toLowerCase(), Promise.resolve({location: l.resource.location}))
  const lookup: LocationLookup = (id) => {
    const key = id.toLowerCase()
    let pending = locations.get(key)
    if (!pending) {
      pending = readLocation(clients, id, options)
      locations.set(key, pending)
    }

    return pending
  }

  const archive = map.logs?.archive
    ? located.get(normalizeEndpoint(targets.find((t) => t.usedBy.includes('logs.archive'))?.endpoint ?? ''))
    : undefined
  const destination =
    archive?.found && archive.resource.id
      ? `--storage-account ${archive.resource.id}`
      : map.logs?.workspace
        ? `--workspace ${map.logs.workspace}`
        : '--storage-account <id of the log archive account>'

  const finish = (resource: PostureResource) => {
    options.onResource?.(resource)
    return resource
  }

  const context = {clients, map, options, allowedRegions, minRetentionDays, lookup, destination}
  const subscription = searchSubscription(map)
  const auditAccount = targets.find((t) => t.usedBy.includes('audit'))
  const resources = await Promise.all([
    ...targets.map(async (target) =>
      finish(await auditStorageAccount(context, target, located.get(normalizeEndpoint(target.endpoint)))),
    ),
    ...(auditAccount
      ? [
          auditTrailContainer(
            clients,
            map,
            auditAccount.name,
            located.get(normalizeEndpoint(auditAccount.endpoint)),
            options,
          ).then(finish),
        ]
      : []),
    ...(vault ? [auditVault(context, vault).then(finish)] : []),
    ...postgresDatabases(map)
      .filter((d): d is PostgresDatabaseEntry & {resourceId: string} => Boolean(d.resourceId))
      .map(async (d) => finish(await auditPostgresServer(context, d))),
    auditActivityLog(context, subscription).then(finish),
    checkSignInLogs(clients, map, options).then((r) =>
      finish({
        kind: 'tenant',
        name: 'Entra ID sign-in logs',
        id: '/providers/microsoft.aadiam',
        usedBy: logsUsedBy(map),
        results: [r],
      }),
    ),
  ])
  return {checkedAt: new Date().toISOString(), failOn, allowedRegions, resources, summary: summarize(resources, failOn)}
}

interface AuditContext {
  clients: AzureClients
  map: DataMap
  options: OperationOptions
  allowedRegions: string[]
  minRetentionDays: number
  lookup: LocationLookup
  /** `--storage-account <archive id>` or `--workspace <id>` for remediations */
  destination: string
}

async function auditStorageAccount(
  ctx: AuditContext,
  target: AccountTarget,
  located: Located<StorageAccount> | undefined,
): Promise<PostureResource> {
  const base = {kind: 'storage-account' as const, name: target.name, usedBy: target.usedBy}
  if (!located?.found) {
    const reason = located?.reason ?? 'the account was not located'
    const hint = located?.hint ?? 'Add resourceId to the data map.'
    return {
      ...base,
      ...(target.resourceId ? {id: target.resourceId} : {}),
      results: unknownResults(idsOf('storage-account'), `Account ${target.name} could not be read: ${reason}.`, hint),
    }
  }

  const account: StorageAccount = located.resource
  const id = account.id as string
  const parts = parseResourceId(id)
  const blobResource = `${id}/blobServices/default`
  const [blobService, settings] = await Promise.all([
    parts
      ? ctx.clients
          .storageManagement(parts.subscription)
          .blobServices.getServiceProperties(parts.resourceGroup, parts.name, {abortSignal: ctx.options.abortSignal})
          .catch((error: unknown) => ({
            unknown: `The blob service properties could not be read: ${lookupFailure(error, `the blob service of ${target.name}`).reason}.`,
          }))
      : Promise.resolve({unknown: `${id} is not a storage account id.`}),
    listDiagnosticSettings(ctx.clients, blobResource, ctx.options),
  ])
  const results = evaluateStorageAccount(account, blobService, {
    allowedRegions: ctx.allowedRegions,
    minRetentionDays: ctx.minRetentionDays,
    requireCustomerManagedKey: target.requireCustomerManagedKey,
    vaultUri: ctx.map.keys?.vault,
  })
  const placeholders = {
    ...resourcePlaceholders(id, target.name, ctx.allowedRegions),
    destination: ctx.destination,
    monitored: blobResource,
  }
  results.push(...(await monitoringResults('monitoring.storage-logs', settings, STORAGE_LOGS, ctx, placeholders)))
  return {...base, id, location: normalizeRegion(account.location), results}
}

async function auditVault(ctx: AuditContext, vault: Located<Vault>): Promise<PostureResource> {
  const name = ctx.map.keys?.vault ? vaultName(ctx.map.keys.vault) : 'vault'
  const base = {kind: 'key-vault' as const, usedBy: ['keys.vault']}
  if (!vault.found) {
    return {
      ...base,
      name,
      ...(ctx.map.azure.keyVaultResourceId ? {id: ctx.map.azure.keyVaultResourceId} : {}),
      results: unknownResults(
        idsOf('key-vault'),
        `The vault ${ctx.map.keys?.vault} could not be read: ${vault.reason}.`,
        vault.hint,
      ),
    }
  }

  const id = vault.resource.id as string
  const results = evaluateVault(vault.resource, ctx.allowedRegions)
  const placeholders = {
    ...resourcePlaceholders(id, vault.resource.name ?? name, ctx.allowedRegions),
    destination: ctx.destination,
    monitored: id,
  }
  const settings = await listDiagnosticSettings(ctx.clients, id, ctx.options)
  results.push(...(await monitoringResults('monitoring.keyvault-logs', settings, KEYVAULT_LOGS, ctx, placeholders)))
  return {...base, name: vault.resource.name ?? name, id, location: normalizeRegion(vault.resource.location), results}
}

/** A PostgreSQL flexible server of `databases[]`: its checks, its logging, and its Entra administrators by name. */
async function auditPostgresServer(
  ctx: AuditContext,
  db: PostgresDatabaseEntry & {resourceId: string},
): Promise<PostureResource> {
  const name = db.resourceId.split('/').findLast(Boolean) ?? db.name
  const base = {kind: 'postgresql-server' as const, usedBy: [`databases.${db.name}`]}
  let facts
  try {
    facts = await readPostgresPosture(ctx.clients, db.resourceId, ctx.options)
  } catch (error) {
    if (!(error instanceof CustosError)) throw error
    return {
      ...base,
      name,
      id: db.resourceId,
      results: unknownResults(
        idsOf('postgresql-server'),
        `Server ${name} could not be read: ${error.message.replace(/\.$/, '')}.`,
        error.hint ?? 'Check databases[].resourceId and that the signed-in identity may read the server.',
      ),
    }
  }

  const id = facts.server.id ?? db.resourceId
  const placeholders = {
    ...resourcePlaceholders(id, facts.server.name ?? name, ctx.allowedRegions),
    destination: ctx.destination,
    monitored: id,
  }
  const results = evaluatePostgresServer(db, facts, ctx.allowedRegions, placeholders)
  const settings = await listDiagnosticSettings(ctx.clients, id, ctx.options)
  results.push(...(await monitoringResults('monitoring.postgresql-logs', settings, POSTGRESQL_LOGS, ctx, placeholders)))
  return {
    ...base,
    name: facts.server.name ?? name,
    id,
    ...(facts.server.location ? {location: normalizeRegion(facts.server.location)} : {}),
    results,
    ...(facts.administrators.ok
      ? {
          administrators: facts.administrators.value.map((a) => ({
            ...(a.principalName ? {principalName: a.principalName} : {}),
            ...(a.principalType ? {principalType: a.principalType} : {}),
            objectId: a.objectId,
          })),
        }
      : {}),
  }
}

async function auditActivityLog(ctx: AuditContext, subscription: string | undefined): Promise<PostureResource> {
  if (!subscription) {
    return {
      kind: 'subscription',
      name: '(no subscription)',
      usedBy: [],
      results: unknownResults(
        ['monitoring.activity-log'],
        'The data map names no subscription.',
        'Set azure.subscription (or activityLog.subscription) in the data map.',
      ),
    }
  }

  const id = `/subscriptions/${subscription}`
  const settings = await listDiagnosticSettings(ctx.clients, id, ctx.options)
  const placeholders = {subscription, allowedRegion: ctx.allowedRegions[0], destination: ctx.destination}
  const results = await monitoringResults('monitoring.activity-log', settings, ACTIVITY_LOGS, ctx, placeholders, false)
  const usedBy = [
    ctx.map.azure.subscription ? 'azure.subscription' : '',
    ctx.map.activityLog ? 'activityLog.subscription' : '',
  ].filter(Boolean)
  return {kind: 'subscription', name: subscription, id, usedBy, results}
}

/** The logging check (and, for resources, the archive-region check) of one resource. */
async function monitoringResults(
  checkId: string,
  settings: Awaited<ReturnType<typeof listDiagnosticSettings>>,
  requirement: LogRequirement,
  ctx: AuditContext,
  placeholders: Record<string, string | undefined>,
  withArchiveRegion = true,
): Promise<CheckResult[]> {
  if (!Array.isArray(settings)) {
    return [
      result(checkId, 'unknown', settings.unknown, placeholders, settings.hint),
      ...(withArchiveRegion
        ? [result('monitoring.archive-region', 'unknown', settings.unknown, placeholders, settings.hint)]
        : []),
    ]
  }

  const coverage = logCoverage(settings, requirement)
  const out = [evaluateLogCoverage(checkId, coverage, placeholders)]
  if (withArchiveRegion) out.push(await evaluateArchiveRegion(coverage, ctx.lookup, ctx.allowedRegions, placeholders))
  return out
}

async function readLocation(
  clients: AzureClients,
  id: string,
  options: OperationOptions,
): Promise<{location?: string; reason?: string}> {
  const parts = parseResourceId(id)
  if (!parts) return {reason: `${id} is not a storage account id`}
  try {
    const account = await clients
      .storageManagement(parts.subscription)
      .storageAccounts.getProperties(parts.resourceGroup, parts.name, {abortSignal: options.abortSignal})
    return {location: account.location}
  } catch (error) {
    return {reason: lookupFailure(error, `storage account ${id}`).reason}
  }
}

/** `contoso-kv` from `https://contoso-kv.vault.azure.net` or from the local server's `https://127.0.0.1:<port>/vaults/contoso-kv`. */
function vaultName(url: string): string {
  const parsed = new URL(url)
  return parsed.pathname.split('/').findLast(Boolean) ?? parsed.hostname.split('.')[0]
}

function logsUsedBy(map: DataMap): string[] {
  return [map.logs?.archive ? 'logs.archive' : '', map.logs?.workspace ? 'logs.workspace' : ''].filter(Boolean)
}

/** True when `r` makes the run fail: failed or unverifiable, at or above `failOn`. */
export function isFailing(r: CheckResult, failOn: Severity): boolean {
  return (r.status === 'fail' || r.status === 'unknown') && severityRank(r.severity) >= severityRank(failOn)
}

export function summarize(resources: PostureResource[], failOn: Severity): PostureSummary {
  const all = resources.flatMap((r) => r.results)
  const count = (status: CheckResult['status']) => all.filter((r) => r.status === status).length
  return {
    checks: all.length,
    passed: count('pass'),
    failed: count('fail'),
    unknown: count('unknown'),
    skipped: count('skipped'),
    failing: all.filter((r) => isFailing(r, failOn)).length,
  }
}
