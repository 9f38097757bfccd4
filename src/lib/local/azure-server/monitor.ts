/**
 * Microsoft.Insights on ARM: diagnostic settings (resource and subscription level, not pageable, as in
 * monitor/listDiagnosticSettings.json) and the activity log (`eventtypes/management/values`, `$filter`
 * and `$select`, newest first, paged with an absolute `nextLink`).
 */
import {decodeSkipToken, encodeSkipToken, type RequestContext} from './http.js'
import {ArmError, sendArm} from './arm-common.js'
import {normalizeResourceId, type DiagnosticSettingInput, type JsonObject} from './state.js'

// ---------------------------------------------------------------- diagnostic settings

export function handleDiagnosticSettings(ctx: RequestContext, resourceUri: string, name: string | undefined): void {
  const uri = normalizeResourceId(resourceUri)
  const subscription = /^\/subscriptions\/([^/]+)$/i.exec(uri)?.[1]
  const settings = ctx.state.diagnosticSettings.get(uri.toLowerCase())
  const render = (s: DiagnosticSettingInput) =>
    subscription ? subscriptionSetting(subscription, s) : resourceSetting(uri, s)
  if (name === undefined) {
    sendArm(ctx, 200, {value: [...(settings?.values() ?? [])].map(render)})
    return
  }

  const setting = settings?.get(name.toLowerCase())
  if (!setting) throw new ArmError(404, 'ResourceNotFound', `The diagnostic setting '${name}' doesn't exist.`)
  sendArm(ctx, 200, render(setting))
}

function destinations(s: DiagnosticSettingInput): JsonObject {
  const out: JsonObject = {}
  if (s.storageAccountId !== undefined) out.storageAccountId = s.storageAccountId
  if (s.eventHubAuthorizationRuleId !== undefined) out.eventHubAuthorizationRuleId = s.eventHubAuthorizationRuleId
  if (s.eventHubName !== undefined) out.eventHubName = s.eventHubName
  out.workspaceId = s.workspaceId ?? ''
  if (s.marketplacePartnerId !== undefined) out.marketplacePartnerId = s.marketplacePartnerId
  if (s.logAnalyticsDestinationType !== undefined) out.logAnalyticsDestinationType = s.logAnalyticsDestinationType
  return out
}

const NO_RETENTION = {enabled: false, days: 0}

function resourceSetting(uri: string, s: DiagnosticSettingInput): JsonObject {
  return {
    id: `${uri}/providers/microsoft.insights/diagnosticSettings/${s.name}`,
    type: 'Microsoft.Insights/diagnosticSettings',
    name: s.name,
    properties: {
      ...destinations(s),
      metrics: s.metrics ?? [{category: 'AllMetrics', enabled: true, retentionPolicy: NO_RETENTION}],
      logs: s.logs ?? [{categoryGroup: 'allLogs', enabled: true, retentionPolicy: NO_RETENTION}],
    },
  }
}

/** Subscription-level (activity log export) settings: id without leading slash, `type: null`, no metrics. */
function subscriptionSetting(subscription: string, s: DiagnosticSettingInput): JsonObject {
  return {
    id: `subscriptions/${subscription}/providers/AzureResourceManager/diagnosticSettings/${s.name}`,
    type: null,
    name: s.name,
    properties: {...destinations(s), logs: s.logs ?? [{categoryGroup: 'allLogs', enabled: true}]},
  }
}

// ---------------------------------------------------------------- activity log

interface Clause {
  field: string
  op: string
  value: string
}

/** Parses `eventTimestamp ge '…' and eventTimestamp le '…' and resourceGroupName eq '…'`. */
function parseActivityFilter(filter: string): Clause[] {
  const clauses: Clause[] = []
  const pattern = /\s*(\w+)\s+(eq|ge|le|gt|lt)\s+'((?:[^']|'')*)'\s*(?:and\b|$)/giy
  let m: RegExpExecArray | null
  let end = 0
  while ((m = pattern.exec(filter))) {
    clauses.push({field: m[1].toLowerCase(), op: m[2].toLowerCase(), value: m[3].replaceAll("''", "'")})
    end = pattern.lastIndex
    if (end >= filter.length) break
  }

  if (end < filter.trim().length || clauses.length === 0)
    throw badFilter(`The $filter '${filter}' could not be parsed.`)
  return clauses
}

function badFilter(message: string): ArmError {
  return new ArmError(400, 'BadRequest', message)
}

const TEXT_FIELDS: Record<string, (e: JsonObject) => string | undefined> = {
  resourcegroupname: (e) => e.resourceGroupName as string | undefined,
  resourceuri: (e) => (e.resourceId ? normalizeResourceId(e.resourceId as string) : undefined),
  resourceid: (e) => (e.resourceId ? normalizeResourceId(e.resourceId as string) : undefined),
  resourceprovider: (e) => (e.resourceProviderName as JsonObject | undefined)?.value as string | undefined,
  correlationid: (e) => e.correlationId as string | undefined,
  caller: (e) => e.caller as string | undefined,
  status: (e) => (e.status as JsonObject | undefined)?.value as string | undefined,
}

function eventPredicate(clauses: Clause[]): (event: JsonObject) => boolean {
  let from: number | undefined
  let to: number | undefined
  const tests: Array<(e: JsonObject) => boolean> = []
  for (const c of clauses) {
    if (c.field === 'eventtimestamp') {
      const t = Date.parse(c.value)
      if (Number.isNaN(t)) throw badFilter(`'${c.value}' is not a valid eventTimestamp.`)
      if (c.op === 'ge') from = t
      else if (c.op === 'gt') from = t + 1
      else if (c.op === 'le') to = t
      else if (c.op === 'lt') to = t - 1
      else throw badFilter('eventTimestamp only supports ge, gt, le and lt.')
    } else if (c.field === 'levels') {
      if (c.op !== 'eq') throw badFilter('levels only supports eq.')
      const levels = new Set(c.value.split(',').map((l) => l.trim().toLowerCase()))
      tests.push((e) => levels.has(String(e.level).toLowerCase()))
    } else if (TEXT_FIELDS[c.field]) {
      if (c.op !== 'eq') throw badFilter(`${c.field} only supports eq.`)
      const get = TEXT_FIELDS[c.field]
      const want =
        c.field === 'resourceuri' || c.field === 'resourceid'
          ? normalizeResourceId(c.value).toLowerCase()
          : c.value.toLowerCase()
      tests.push((e) => get(e)?.toLowerCase() === want)
    } else {
      throw badFilter(`The filter property '${c.field}' is not supported.`)
    }
  }

  if (from === undefined)
    throw badFilter("The $filter must contain a start time, e.g. eventTimestamp ge '2024-01-01T00:00:00Z'.")
  const start = from
  const end = to ?? Number.POSITIVE_INFINITY
  return (e) => {
    const t = Date.parse(e.eventTimestamp as string)
    return t >= start && t <= end && tests.every((test) => test(e))
  }
}

function project(event: JsonObject, select: string[] | undefined): JsonObject {
  if (!select) return event
  const wanted = new Set(select.map((s) => s.toLowerCase()))
  return Object.fromEntries(Object.entries(event).filter(([key]) => wanted.has(key.toLowerCase())))
}

export function handleActivityLog(ctx: RequestContext, subscription: string): void {
  const params = ctx.url.searchParams
  const filter = params.get('$filter')
  if (!filter) throw badFilter('The $filter query parameter is required.')
  const matches = eventPredicate(parseActivityFilter(filter))
  const selectRaw = params.get('$select')
  const select = selectRaw
    ? selectRaw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : undefined
  const token = params.get('$skiptoken')
  const offset = token === null ? 0 : decodeSkipToken(token)
  if (offset === undefined) throw badFilter('The $skiptoken is invalid.')

  const events = (ctx.state.activityEvents.get(subscription.toLowerCase()) ?? [])
    .filter(matches)
    .map((event, index) => ({event, index}))
    .sort(
      (a, b) =>
        Date.parse(b.event.eventTimestamp as string) - Date.parse(a.event.eventTimestamp as string) ||
        a.index - b.index,
    )
    .map(({event}) => event)
  const size = Math.max(1, ctx.state.activityLogPageSize)
  const value = events.slice(offset, offset + size).map((e) => project(e, select))
  const body: JsonObject = {value}
  if (offset + size < events.length) {
    const query = [
      `api-version=${encodeURIComponent(params.get('api-version') ?? '')}`,
      `$filter=${encodeURIComponent(filter)}`,
      ...(selectRaw ? [`$select=${encodeURIComponent(selectRaw)}`] : []),
      `$skiptoken=${encodeSkipToken(offset + size)}`,
    ]
    body.nextLink = `${ctx.origin}${ctx.url.pathname}?${query.join('&')}`
  }

  sendArm(ctx, 200, body)
}
