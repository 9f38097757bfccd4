/**
 * `access report`: who accessed the infrastructure and the data in a time range. Streams the
 * activity log and the archived sign-in and storage logs through one AccessAggregator, or lets Log
 * Analytics aggregate in KQL where `logs.workspace` is configured, and draws the findings.
 */
import {parseAccount} from '../azure/account.js'
import type {AzureClients} from '../azure/clients.js'
import type {DataMap} from '../datamap/types.js'
import {configError, usageError} from '../errors.js'
import {readArchivedRecords} from '../logs/archive.js'
import {activityLogOldest, assertActivityLogRange, listActivityEvents} from './activity-log.js'
import {AccessAggregator} from './aggregate.js'
import {addSkipped, consumeRecords, skippedList} from './consume.js'
import {customerPredicate, type RecordPredicate} from './customer.js'
import {WorkingHours} from './hours.js'
import {fromActivityEvent, fromArchivedRecord} from './normalize.js'
import type {AccessReport, AccessSourceName, SkipReason, SourceSummary} from './types.js'
import {aggregateInWorkspace, workspaceCustomer, WORKSPACE_QUERY_PARTS} from './workspace.js'

export const ACCESS_SOURCES: AccessSourceName[] = ['activity-log', 'archive', 'workspace']

/** Archive containers holding the activity log (read only when the activity log itself is not). */
const ACTIVITY_CONTAINERS = /^insights-(activity|operational)-logs$/

export interface CreateAccessReportOptions {
  since: Date
  until: Date
  /** limit to records concerning this customer */
  customer?: string
  /** default: every source the data map configures (the workspace replaces the archive) */
  sources?: AccessSourceName[]
  /** default: residency.allowedCountries */
  allowedCountries?: string[]
  burstFailures: number
  burstWindowInMs: number
  /** 0 disables new-IP detection */
  lookbackInMs: number
  /** password spray: distinct accounts per IP within `sprayWindowInMs` (defaults 5 and 1h) */
  sprayAccounts?: number
  sprayWindowInMs?: number
  abortSignal?: AbortSignal
  /** "now" for the activity log's 90-day rule (tests) */
  now?: Date
  /** progress: events counted so far and archive bytes read */
  onProgress?: (progress: {source: AccessSourceName; events: number; bytes: number}) => void
}

/** The sources a run reads: the requested ones (each must be configured) or every configured one. */
function chooseSources(map: DataMap, requested?: AccessSourceName[]): AccessSourceName[] {
  const configured: Record<AccessSourceName, boolean> = {
    'activity-log': Boolean(map.activityLog?.subscription),
    archive: Boolean(map.logs?.archive),
    workspace: Boolean(map.logs?.workspace),
  }
  const field: Record<AccessSourceName, string> = {
    'activity-log': 'activityLog.subscription',
    archive: 'logs.archive',
    workspace: 'logs.workspace',
  }
  if (requested && requested.length > 0) {
    for (const s of requested)
      if (!configured[s])
        throw configError(
          `The source ${s} was requested, but ${field[s]} is not set in the data map.`,
          [],
          `Add ${field[s]} to the data map or leave --source ${s} out.`,
        )
    return [...new Set(requested)]
  }

  const chosen = ACCESS_SOURCES.filter((s) => configured[s] && !(s === 'archive' && configured.workspace))
  if (chosen.length === 0) {
    throw configError(
      'The data map names no source for an access report.',
      [],
      'Set activityLog.subscription, logs.archive or logs.workspace in the data map.',
    )
  }

  return chosen
}

export async function createAccessReport(
  clients: AzureClients,
  map: DataMap,
  options: CreateAccessReportOptions,
): Promise<AccessReport> {
  const {since, until} = options
  if (!(since.getTime() < until.getTime()))
    throw usageError(
      `--since ${since.toISOString()} is not before --until ${until.toISOString()}.`,
      'Give a range like --since -7d --until now.',
    )
  if (options.burstFailures < 2) throw usageError('--burst-failures must be at least 2.')
  if (options.burstWindowInMs < 10_000) throw usageError('--burst-window must be at least 10s.')
  const now = options.now ?? new Date()
  const sources = chooseSources(map, options.sources)
  if (sources.includes('activity-log')) assertActivityLogRange(since, now)

  const hours = new WorkingHours(map.access)
  const aggregator = new AccessAggregator({
    sinceInMs: since.getTime(),
    untilInMs: until.getTime(),
    lookbackInMs: options.lookbackInMs,
    allowedCountries: options.allowedCountries ?? map.residency.allowedCountries,
    burstFailures: options.burstFailures,
    burstWindowInMs: options.burstWindowInMs,
    hours,
    ...(options.sprayAccounts === undefined ? {} : {sprayAccounts: options.sprayAccounts}),
    ...(options.sprayWindowInMs === undefined ? {} : {sprayWindowInMs: options.sprayWindowInMs}),
    privileged: map.access.expected?.privileged ?? [],
  })
  const lookbackStart = new Date(aggregator.lookbackStartInMs)
  const filter: RecordPredicate | undefined = options.customer ? customerPredicate(map, options.customer) : undefined
  let bytes = 0
  let events = 0
  const progress = (source: AccessSourceName) => options.onProgress?.({source, events, bytes})

  const runs: Array<Promise<SourceSummary>> = []
  if (sources.includes('activity-log')) {
    runs.push(
      (async () => {
        const subscription = map.activityLog!.subscription
        const oldest = activityLogOldest(now)
        const start = lookbackStart < oldest ? oldest : lookbackStart
        const summary: SourceSummary = {
          name: 'activity-log',
          target: subscription,
          events: 0,
          lookbackEvents: 0,
          pages: 0,
        }
        if (start > lookbackStart && options.lookbackInMs > 0)
          summary.notes = [`look-back clipped to ${start.toISOString()}: the activity log keeps 90 days`]
        const counts = await consumeRecords(
          listActivityEvents(clients, subscription, {
            since: start,
            until,
            abortSignal: options.abortSignal,
            onPage: (n) => {
              summary.pages!++
              events += n
              progress('activity-log')
            },
          }),
          aggregator,
          {toEvent: fromActivityEvent, filter, abortSignal: options.abortSignal},
        )
        summary.events = counts.inRange
        summary.lookbackEvents = counts.lookback
        summary.skipped = skippedList(counts.skipped)
        return summary
      })(),
    )
  }

  if (sources.includes('archive')) {
    const archive = map.logs!.archive!
    const containers = archive.containers.filter(
      (c) => !(sources.includes('activity-log') && ACTIVITY_CONTAINERS.test(c)),
    )
    runs.push(
      (async () => {
        // the endpoint, never the connection string (it may carry a key)
        const summary: SourceSummary = {
          name: 'archive',
          target: parseAccount(archive.account).endpoint,
          containers,
          events: 0,
          lookbackEvents: 0,
          bytes: 0,
        }
        const skipped = archive.containers.filter((c) => !containers.includes(c))
        if (skipped.length > 0)
          summary.notes = [`${skipped.join(', ')} not read: the activity log itself is a source of this report`]
        const notes: string[] = summary.notes ?? []
        const skippedRecords: Partial<Record<SkipReason, number>> = {}
        for (const container of containers) {
          const stream = readArchivedRecords({
            clients,
            account: archive.account,
            container,
            since: lookbackStart,
            until,
            abortSignal: options.abortSignal,
            onBytes: (n: number) => {
              bytes += n
              summary.bytes! += n
              progress('archive')
            },
          })
          const counts = await consumeRecords(stream, aggregator, {
            recordOf: (r) => r.record,
            toEvent: fromArchivedRecord,
            filter,
            abortSignal: options.abortSignal,
          })
          summary.events += counts.inRange
          summary.lookbackEvents += counts.lookback
          events += counts.records
          for (const [reason, n] of Object.entries(counts.skipped)) addSkipped(skippedRecords, reason as SkipReason, n)
          // what the reader itself left out: records of the edge hour blobs outside the range, undated ones, broken lines
          addSkipped(skippedRecords, 'outside-range', stream.stats.outOfRange)
          addSkipped(skippedRecords, 'no-time', stream.stats.undated)
          addSkipped(skippedRecords, 'malformed', stream.stats.malformed)
          if (!stream.stats.exists)
            notes.push(`container ${container} does not exist (no logs of that category archived yet)`)
          if (stream.stats.malformed > 0)
            notes.push(
              `${container}: ${stream.stats.malformed} malformed line${stream.stats.malformed === 1 ? '' : 's'} skipped`,
            )
        }

        summary.skipped = skippedList(skippedRecords)
        if (notes.length > 0) summary.notes = notes
        return summary
      })(),
    )
  }

  if (sources.includes('workspace')) {
    const workspace = map.logs!.workspace!
    runs.push(
      (async () => {
        const answer = await aggregateInWorkspace(
          clients.logsQuery(),
          workspace,
          {
            since,
            until,
            lookbackStart,
            hours,
            burstFailures: options.burstFailures,
            burstBucketInMs: aggregator.burstBucketInMs,
            ...(options.customer ? {customer: workspaceCustomer(map, options.customer)} : {}),
          },
          aggregator,
          {abortSignal: options.abortSignal},
        )
        progress('workspace')
        return {
          name: 'workspace',
          target: workspace,
          events: answer.events,
          lookbackEvents: 0,
          queries: WORKSPACE_QUERY_PARTS.length,
          notes: ['aggregated in Log Analytics (KQL)'],
        }
      })(),
    )
  }

  const summaries = await Promise.all(runs)
  return reportFromAggregator(aggregator, {since, until, customer: options.customer, sources: summaries})
}

/** The report document from a filled aggregator. */
export function reportFromAggregator(
  aggregator: AccessAggregator,
  meta: {since: Date; until: Date; customer?: string; sources: SourceSummary[]},
): AccessReport {
  const principals = aggregator.principalSummaries()
  const findings = aggregator.findings()
  return {
    range: {since: meta.since.toISOString(), until: meta.until.toISOString()},
    ...(meta.customer ? {customer: meta.customer} : {}),
    generatedAt: new Date().toISOString(),
    settings: aggregator.settings(),
    sources: meta.sources,
    totals: {
      principals: principals.length,
      signIns: principals.reduce((n, p) => n + p.signIns, 0),
      failures: principals.reduce((n, p) => n + p.failures, 0),
      interrupts: principals.reduce((n, p) => n + p.interrupts, 0),
      operations: principals.reduce((n, p) => n + p.operations, 0),
      findings: findings.length,
    },
    principals,
    findings,
    daily: aggregator.dailyCounts(),
    countries: aggregator.countryCountsList(),
  }
}
