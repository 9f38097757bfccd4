/**
 * The access report's aggregation in KQL, run inside Log Analytics (`logs.workspace`): the service
 * summarises sign-ins (SigninLogs and the other Entra ID sign-in tables) and blob access
 * (StorageBlobLogs) per principal, and only the aggregates come back. Five queries, each marked with
 * a comment naming its part, share one prelude; their answers feed the same AccessAggregator as the
 * streamed sources, so a report mixes both without double counting.
 */
import type {LogsQueryClient, LogsTable} from '@azure/monitor-query-logs'

import type {DataMap} from '../datamap/types.js'
import {azureFailure, fromAzureError} from '../errors.js'
import {customerKql, customerSelector} from '../logs/select.js'
import {BURST_STEPS, type AccessAggregator} from './aggregate.js'
import type {WorkingHours} from './hours.js'
import {INTERRUPT_CODES} from './sign-ins.js'

export type WorkspaceQueryPart = 'principals' | 'ips' | 'countries' | 'daily' | 'bursts'

export const WORKSPACE_QUERY_PARTS: WorkspaceQueryPart[] = ['principals', 'ips', 'countries', 'daily', 'bursts']

/** The marker comment that opens each query (`// custos access report: principals`). */
export function queryMarker(part: WorkspaceQueryPart): string {
  return `// custos access report: ${part}`
}

export interface WorkspaceQueryParams {
  since: Date
  until: Date
  lookbackStart: Date
  hours: WorkingHours
  burstFailures: number
  /** width of one burst bucket (a tenth of the window) */
  burstBucketInMs: number
  /** limit to one customer: `where` is logs/select.ts's rule as KQL ({@link workspaceCustomer}) */
  customer?: {id: string; where: string}
}

function kqlString(value: string): string {
  return JSON.stringify(value)
}

function kqlTime(date: Date): string {
  return `datetime(${date.toISOString()})`
}

function kqlTimespan(ms: number): string {
  return `${Math.round(ms)}ms`
}

/** The prelude every query starts with: the time bounds, the normalised `Events` and `InRange`. */
export function workspacePrelude(p: WorkspaceQueryParams): string {
  const [start, end] = p.hours.config.workingHours
    .split('-')
    .map((hm) => Number(hm.slice(0, 2)) * 60 + Number(hm.slice(3, 5)))
  const days = `dynamic(${JSON.stringify(p.hours.config.workingDays)})`
  const offHours =
    start <= end
      ? `Weekday !in (${days}) or Minute < ${start} or Minute >= ${end}`
      : `iff(Minute >= ${start}, Weekday !in (${days}), iff(Minute < ${end}, ((Weekday + 6) % 7) !in (${days}), true))`
  const customer = p.customer ? `\n    | where ${p.customer.where}` : ''
  return `let rangeStart = ${kqlTime(p.since)};
let rangeEnd = ${kqlTime(p.until)};
let lookbackStart = ${kqlTime(p.lookbackStart)};
let tz = ${kqlString(p.hours.timeZone)};
let SignIns = union isfuzzy=true SigninLogs, AADNonInteractiveUserSignInLogs, AADServicePrincipalSignInLogs, AADManagedIdentitySignInLogs
    | where TimeGenerated >= lookbackStart and TimeGenerated < rangeEnd${customer}
    | extend Principal = tolower(coalesce(UserPrincipalName, tostring(column_ifexists("ServicePrincipalName", "")), tostring(column_ifexists("ServicePrincipalId", "")), AppDisplayName, AppId))
    | extend Kind = "sign-in", Ip = tostring(IPAddress), Country = toupper(tostring(parse_json(tostring(LocationDetails)).countryOrRegion)), Code = tostring(ResultType), Operation = ""
    | extend Interrupted = Code in (${[...INTERRUPT_CODES.keys()].map((c) => `"${c}"`).join(', ')})
    | extend Failed = Code != "0" and not(Interrupted);
let Storage = StorageBlobLogs
    | where TimeGenerated >= lookbackStart and TimeGenerated < rangeEnd${customer}
    | extend KeyName = extract(@"^(key[12])", 1, tostring(AuthenticationHash))
    | extend Principal = tolower(coalesce(RequesterUpn, RequesterObjectId, RequesterAppId, strcat(iff(AuthenticationType =~ "AccountKey", "account-key", tolower(AuthenticationType)), iff(isnotempty(KeyName), strcat(" (", KeyName, ")"), "")), "anonymous"))
    | extend Kind = "data", Ip = iff(CallerIpAddress startswith "[", extract(@"^\\[([^\\]]+)\\]", 1, CallerIpAddress), iff(countof(CallerIpAddress, ":") == 1, tostring(split(CallerIpAddress, ":")[0]), CallerIpAddress)), Country = "", Code = "", Operation = OperationName, Failed = toint(StatusCode) >= 400, Interrupted = false;
let Events = union SignIns, Storage
    | where isnotempty(Principal)
    | project TimeGenerated, Principal, Kind, Ip, Country, Failed, Interrupted, Code, Operation
    | extend Local = datetime_utc_to_local(TimeGenerated, tz)
    | extend Minute = datetime_part("hour", Local) * 60 + datetime_part("minute", Local), Weekday = toint(dayofweek(Local) / 1d)
    | extend OffHours = ${offHours};
let InRange = Events | where TimeGenerated >= rangeStart;
`
}

/** One query of the report: the prelude and the part's summarize. */
function workspaceQuery(part: WorkspaceQueryPart, p: WorkspaceQueryParams): string {
  const head = `${queryMarker(part)}\n${workspacePrelude(p)}`
  switch (part) {
    case 'principals': {
      return `${head}InRange
| summarize SignIns = countif(Kind == "sign-in"), Failures = countif(Kind == "sign-in" and Failed), Interrupts = countif(Kind == "sign-in" and Interrupted), Operations = countif(Kind != "sign-in"), FailedOperations = countif(Kind != "sign-in" and Failed),
    FirstSeen = min(TimeGenerated), LastSeen = max(TimeGenerated), OffHours = countif(OffHours), OffHoursFirst = minif(TimeGenerated, OffHours), OffHoursLast = maxif(TimeGenerated, OffHours) by Principal
| join kind=leftouter (InRange | where Kind == "sign-in" and Failed | summarize N = count() by Principal, Code | summarize FailuresByCode = make_bag(bag_pack(Code, N)) by Principal) on Principal
| join kind=leftouter (InRange | where Kind != "sign-in" and isnotempty(Operation) | summarize N = count() by Principal, Operation | summarize OperationsByName = make_bag(bag_pack(Operation, N)) by Principal) on Principal
| project Principal, SignIns, Failures, Interrupts, Operations, FailedOperations, FirstSeen, LastSeen, OffHours, OffHoursFirst, OffHoursLast, FailuresByCode, OperationsByName`
    }

    case 'ips': {
      return `${head}let Known = Events | where TimeGenerated < rangeStart and isnotempty(Ip) | distinct Principal, Ip | extend WasKnown = true;
InRange
| where isnotempty(Ip)
| summarize Events = count(), FirstSeen = min(TimeGenerated) by Principal, Ip
| join kind=leftouter Known on Principal, Ip
| project Principal, Ip, Events, FirstSeen, Known = isnotnull(WasKnown)`
    }

    case 'countries': {
      return `${head}InRange
| where Kind == "sign-in" and isnotempty(Country)
| summarize SignIns = count(), FirstSeen = min(TimeGenerated), LastSeen = max(TimeGenerated), Ips = make_set(Ip, 1000) by Principal, Country`
    }

    case 'daily': {
      return `${head}InRange
| where Kind == "sign-in"
| summarize SignIns = count(), Failures = countif(Failed) by Day = format_datetime(Local, "yyyy-MM-dd")`
    }

    case 'bursts': {
      const step = p.burstBucketInMs
      const seriesStart = new Date(Math.floor(p.since.getTime() / step) * step)
      return `${head}let step = ${kqlTimespan(step)};
let seriesStart = ${kqlTime(seriesStart)};
InRange
| where Kind == "sign-in" and Failed
| make-series Failures = count() default = 0 on TimeGenerated from seriesStart to rangeEnd step step by Principal
| extend InWindow = series_fir(Failures, repeat(1, ${BURST_STEPS}), false, false)
| mv-expand with_itemindex = Index InWindow to typeof(long)
| where InWindow >= ${p.burstFailures}
| project Principal, WindowEnd = seriesStart + (Index + 1) * step, Failures = InWindow`
    }
  }
}

/** Cells by column name. */
function rowsOf(table: LogsTable): Array<Record<string, unknown>> {
  const names = table.columnDescriptors.map((c) => c.name ?? '')
  return table.rows.map((row) => Object.fromEntries(names.map((n, i) => [n, row[i]])))
}

function num(value: unknown): number {
  if (typeof value === 'number') return value
  if (typeof value === 'string' && value !== '') return Number(value)
  return 0
}

function ms(value: unknown): number | undefined {
  if (value instanceof Date) return value.getTime()
  if (typeof value === 'string' && value !== '') {
    const t = Date.parse(value)
    return Number.isNaN(t) ? undefined : t
  }

  return undefined
}

/** A dynamic cell: the SDK parses JSON-encoded dynamics; accept a string that it could not parse, too. */
function dyn(value: unknown): unknown {
  if (typeof value === 'string') {
    try {
      return JSON.parse(value)
    } catch {
      return value
    }
  }

  return value
}

function counts(value: unknown): Record<string, number> {
  const v = dyn(value)
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return {}
  return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, n]) => [k, num(n)]))
}

function strings(value: unknown): string[] {
  const v = dyn(value)
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && x !== '') : []
}

function bool(value: unknown): boolean {
  return value === true || value === 'true' || value === 'True' || value === 1
}

/** Feeds one part's answer into the aggregator. */
function applyWorkspaceTable(part: WorkspaceQueryPart, table: LogsTable, aggregator: AccessAggregator): number {
  const rows = rowsOf(table)
  for (const r of rows) {
    const principal = String(r.Principal ?? '')
    if (part !== 'daily' && principal === '') continue
    switch (part) {
      case 'principals': {
        aggregator.addTotals({
          principal,
          signIns: num(r.SignIns),
          failures: num(r.Failures),
          interrupts: num(r.Interrupts),
          operations: num(r.Operations),
          failedOperations: num(r.FailedOperations),
          first: ms(r.FirstSeen) ?? aggregator.options.sinceInMs,
          last: ms(r.LastSeen) ?? aggregator.options.sinceInMs,
          offHours: num(r.OffHours),
          offFirst: ms(r.OffHoursFirst),
          offLast: ms(r.OffHoursLast),
          failuresByCode: counts(r.FailuresByCode),
          operationsByName: counts(r.OperationsByName),
        })
        break
      }

      case 'ips': {
        const ip = String(r.Ip ?? '')
        if (!ip) break
        aggregator.addIp(principal, ip, num(r.Events), ms(r.FirstSeen) ?? aggregator.options.sinceInMs)
        if (bool(r.Known)) aggregator.addKnownIp(principal, ip)
        break
      }

      case 'countries': {
        aggregator.addCountry(
          principal,
          String(r.Country ?? ''),
          num(r.SignIns),
          ms(r.FirstSeen) ?? 0,
          ms(r.LastSeen) ?? 0,
          strings(r.Ips),
        )
        break
      }

      case 'daily': {
        aggregator.addDaily(String(r.Day ?? ''), num(r.SignIns), num(r.Failures))
        break
      }

      case 'bursts': {
        const end = ms(r.WindowEnd)
        if (end !== undefined)
          aggregator.addBurstWindow(principal, Math.round(end / aggregator.burstBucketInMs) - 1, num(r.Failures))
        break
      }
    }
  }

  return rows.length
}

export interface QueryWorkspaceOptions {
  abortSignal?: AbortSignal
}

/** Runs the five queries (in parallel) and feeds their answers into `aggregator`; returns the rows received and the events they summarise. */
export async function aggregateInWorkspace(
  client: LogsQueryClient,
  workspace: string,
  params: WorkspaceQueryParams,
  aggregator: AccessAggregator,
  options: QueryWorkspaceOptions = {},
): Promise<{rows: number; events: number}> {
  const what = `Log Analytics workspace ${workspace}`
  const results = await Promise.all(
    WORKSPACE_QUERY_PARTS.map(async (part) => {
      let result
      try {
        result = await client.queryWorkspace(
          workspace,
          workspaceQuery(part, params),
          {startTime: params.lookbackStart, endTime: params.until},
          {abortSignal: options.abortSignal, serverTimeoutInSeconds: 600},
        )
      } catch (error) {
        throw fromAzureError(error, what)
      }

      if (result.status !== 'Success') {
        const error = 'partialError' in result ? result.partialError : undefined
        throw azureFailure(
          'QueryFailed',
          `The ${part} query of the access report failed in ${what}${error?.message ? `: ${error.message}` : ''}.`,
          'Check that the workspace receives SigninLogs and StorageBlobLogs, then run again; add --debug for the full answer.',
        )
      }

      return {part, tables: result.tables}
    }),
  )
  let rows = 0
  let events = 0
  for (const {part, tables} of results) {
    if (!tables[0]) continue
    rows += applyWorkspaceTable(part, tables[0], aggregator)
    if (part === 'principals') for (const r of rowsOf(tables[0])) events += num(r.SignIns) + num(r.Operations)
  }

  return {rows, events}
}

/**
 * The customer filter for the workspace: the selection rule of logs/select.ts as KQL, applied to
 * sign-ins and blob access alike (a sign-in has no `ObjectKey`, a blob log no customer field).
 */
export function workspaceCustomer(map: DataMap, customer: string): {id: string; where: string} {
  return {id: customer, where: customerKql(customerSelector(map, customer))}
}
