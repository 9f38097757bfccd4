/**
 * The monitoring checks: diagnostic settings that send the storage, Key Vault and activity logs to
 * somewhere they are kept (an archive account or a Log Analytics workspace), the region of that
 * archive, and whether Entra ID sign-in logs actually arrive where the data map says they are.
 */
import type {DiagnosticSettingsResource} from '@azure/arm-monitor'

import type {AzureClients} from '../azure/clients.js'
import type {DataMap} from '../datamap/types.js'
import {isAbortError} from '../errors.js'
import type {OperationOptions} from './resolve.js'
import {lookupFailure, parseResourceId} from './resolve.js'
import {normalizeRegion, regionAllowed, result} from './result.js'
import type {CheckResult} from './types.js'

/** What a kind of resource must log, and which category groups include all of it. */
export interface LogRequirement {
  categories: string[]
  groups: string[]
}

export const STORAGE_LOGS: LogRequirement = {
  categories: ['StorageRead', 'StorageWrite', 'StorageDelete'],
  groups: ['allLogs'],
}
export const KEYVAULT_LOGS: LogRequirement = {categories: ['AuditEvent'], groups: ['allLogs', 'audit']}
export const POSTGRESQL_LOGS: LogRequirement = {categories: ['PostgreSQLLogs'], groups: ['allLogs']}
export const ACTIVITY_LOGS: LogRequirement = {categories: ['Administrative'], groups: ['allLogs']}

/** A diagnostic setting that keeps (some of) the required logs. */
export interface LogRoute {
  setting: string
  storageAccountId?: string
  workspaceId?: string
  categories: string[]
}

export interface LogCoverage {
  routes: LogRoute[]
  /** required categories no setting keeps */
  missing: string[]
  /** settings that send required categories only to an event hub or partner (nothing keeps them) */
  streamOnly: string[]
}

/** Which required categories reach a storage account or workspace. Case-insensitive, as ARM is. */
export function logCoverage(settings: DiagnosticSettingsResource[], requirement: LogRequirement): LogCoverage {
  const groups = new Set(requirement.groups.map((g) => g.toLowerCase()))
  const routes: LogRoute[] = []
  const streamOnly: string[] = []
  const kept = new Set<string>()
  for (const setting of settings) {
    const categories = requirement.categories.filter((category) =>
      (setting.logs ?? []).some((log) => {
        if (!log.enabled) return false
        const group = (log as {categoryGroup?: string}).categoryGroup
        return (
          log.category?.toLowerCase() === category.toLowerCase() ||
          (group !== undefined && groups.has(group.toLowerCase()))
        )
      }),
    )
    if (categories.length === 0) continue
    const storageAccountId = setting.storageAccountId || undefined
    const workspaceId = setting.workspaceId || undefined
    if (!storageAccountId && !workspaceId) {
      streamOnly.push(setting.name ?? '(unnamed)')
      continue
    }

    routes.push({setting: setting.name ?? '(unnamed)', storageAccountId, workspaceId, categories})
    for (const c of categories) kept.add(c)
  }

  return {routes, missing: requirement.categories.filter((c) => !kept.has(c)), streamOnly}
}

function destinationName(route: LogRoute): string {
  if (route.storageAccountId)
    return `account ${parseResourceId(route.storageAccountId)?.name ?? route.storageAccountId}`
  return `workspace ${route.workspaceId?.split('/').at(-1) ?? route.workspaceId}`
}

/** pass when every required category is kept; the detail names settings and destinations. */
export function evaluateLogCoverage(
  checkId: string,
  coverage: LogCoverage,
  placeholders: Record<string, string | undefined>,
): CheckResult {
  if (coverage.missing.length === 0) {
    const via = coverage.routes
      .map((r) => `${r.categories.join(', ')} via ${r.setting} to ${destinationName(r)}`)
      .join('; ')
    return result(checkId, 'pass', `Logged: ${via}.`, placeholders)
  }

  const stream =
    coverage.streamOnly.length > 0
      ? ` (${coverage.streamOnly.join(', ')} only stream${coverage.streamOnly.length === 1 ? 's' : ''} to an event hub, which keeps nothing)`
      : ''
  return result(
    checkId,
    'fail',
    `No diagnostic setting keeps ${coverage.missing.join(', ')} in an archive account or workspace${stream}.`,
    placeholders,
  )
}

/** Where the archive accounts of `routes` are; `undefined` for an account custos could not read. */
export type LocationLookup = (storageAccountId: string) => Promise<{location?: string; reason?: string}>

/** Every archive account the logs go to must be in an allowed region. */
export async function evaluateArchiveRegion(
  coverage: LogCoverage,
  lookup: LocationLookup,
  allowedRegions: string[],
  placeholders: Record<string, string | undefined>,
): Promise<CheckResult> {
  const archives = [
    ...new Set(coverage.routes.map((r) => r.storageAccountId).filter((id): id is string => Boolean(id))),
  ]
  if (archives.length === 0) {
    const why =
      coverage.routes.length > 0
        ? 'The logs go to a workspace only; custos does not read workspace regions.'
        : 'No logs are archived (see the logging check).'
    return result('monitoring.archive-region', 'skipped', why, placeholders)
  }

  const bad: string[] = []
  const unread: string[] = []
  const good: string[] = []
  let badSetting: string | undefined
  for (const id of archives) {
    const {location, reason} = await lookup(id)
    const name = parseResourceId(id)?.name ?? id
    const setting = coverage.routes.find((r) => r.storageAccountId === id)?.setting
    if (location === undefined) unread.push(`${name} (${reason ?? 'unreadable'})`)
    else if (regionAllowed(location, allowedRegions)) good.push(`${name} in ${normalizeRegion(location)}`)
    else {
      bad.push(`${name} in ${normalizeRegion(location)} (setting ${setting})`)
      badSetting ??= setting
    }
  }

  const values = {...placeholders, setting: badSetting}
  if (bad.length > 0)
    return result(
      'monitoring.archive-region',
      'fail',
      `Logs are archived outside residency.allowedRegions: ${bad.join(', ')}.`,
      values,
    )
  if (unread.length > 0)
    return result(
      'monitoring.archive-region',
      'unknown',
      `The region of the archive could not be read: ${unread.join(', ')}.`,
      values,
      'Grant the signed-in identity the Reader role on the archive account.',
    )
  return result('monitoring.archive-region', 'pass', `Archived in ${good.join(', ')}.`, values)
}

/** Lists the diagnostic settings of an ARM resource (or `/subscriptions/<id>` for the activity log). */
export async function listDiagnosticSettings(
  clients: AzureClients,
  resourceId: string,
  options: OperationOptions = {},
): Promise<DiagnosticSettingsResource[] | {unknown: string; hint: string}> {
  const parts = resourceId.split('/').filter(Boolean)
  const subscription = parts[1]
  try {
    // The SDK prefixes the path with "/": pass the id without its leading slash.
    const list = await clients
      .monitor(subscription)
      .diagnosticSettings.list(parts.join('/'), {abortSignal: options.abortSignal})
    return list.value ?? []
  } catch (error) {
    const failure = lookupFailure(error, `the diagnostic settings of ${resourceId}`)
    return {
      unknown: `The diagnostic settings could not be read: ${failure.reason}.`,
      hint: 'Grant the signed-in identity the Monitoring Reader role on the resource.',
    }
  }
}

const SIGNIN_CONTAINER = /signin/i

/**
 * Entra ID sign-in logs are tenant-wide and their diagnostic settings live outside the resource
 * APIs custos reads, so the check looks where the logs must arrive: the sign-in container of the
 * log archive must hold at least one blob, or the workspace must answer a SigninLogs query.
 */
export async function checkSignInLogs(
  clients: AzureClients,
  map: DataMap,
  options: OperationOptions = {},
): Promise<CheckResult> {
  const archive = map.logs?.archive
  const workspace = map.logs?.workspace
  const id = 'monitoring.sign-in-logs'
  if (!archive && !workspace) {
    return result(
      id,
      'unknown',
      'The data map names neither logs.archive nor logs.workspace, so custos cannot see where sign-in logs go.',
      {},
      'Add logs.archive (account and containers, including insights-logs-signinlogs) or logs.workspace to the data map.',
    )
  }

  const findings: string[] = []
  if (archive) {
    const container = archive.containers.find((c) => SIGNIN_CONTAINER.test(c))
    if (!container) findings.push('logs.archive.containers names no sign-in log container (insights-logs-signinlogs)')
    else {
      try {
        const page = await clients
          .blobService(archive.account)
          .getContainerClient(container)
          .listBlobsFlat({abortSignal: options.abortSignal})
          .byPage({maxPageSize: 1})
          .next()
        const first = page.done ? undefined : page.value.segment.blobItems[0]
        if (first)
          return result(id, 'pass', `The archive container ${container} holds sign-in logs (e.g. ${first.name}).`)
        findings.push(`the archive container ${container} is empty`)
      } catch (error) {
        if (isAbortError(error)) throw error
        const status = (error as {statusCode?: number}).statusCode
        if (status === 404) findings.push(`the archive has no container ${container}: sign-in logs never arrived there`)
        else if (status === 401 || status === 403) {
          if (!workspace)
            return result(
              id,
              'unknown',
              `Reading the archive container ${container} was denied (${status}).`,
              {},
              'Grant the signed-in identity Storage Blob Data Reader on the log archive account.',
            )
          findings.push(`reading the archive container ${container} was denied (${status})`)
        } else throw lookupFailure(error, `container ${container} of the log archive`)
      }
    }
  }

  if (workspace) {
    try {
      const answer = await clients
        .logsQuery()
        .queryWorkspace(workspace, 'SigninLogs | take 1', {duration: 'P30D'}, {abortSignal: options.abortSignal})
      const tables = answer.status === 'Success' ? answer.tables : answer.partialTables
      if (tables.some((t) => t.rows.length > 0))
        return result(id, 'pass', `Workspace ${workspace} holds sign-in logs of the last 30 days.`)
      findings.push(`workspace ${workspace} holds no sign-in logs of the last 30 days`)
    } catch (error) {
      if (isAbortError(error)) throw error
      const status = (error as {statusCode?: number}).statusCode
      if (status === 400) findings.push(`workspace ${workspace} has no SigninLogs table`)
      else if (status === 401 || status === 403 || status === 404)
        return result(
          id,
          'unknown',
          `Querying workspace ${workspace} failed (${status}).`,
          {},
          'Grant the signed-in identity Log Analytics Reader on the workspace and check logs.workspace.',
        )
      else throw lookupFailure(error, `Log Analytics workspace ${workspace}`)
    }
  }

  return result(id, 'fail', `Sign-in logs are not being kept: ${findings.join('; ')}.`)
}
