/**
 * Management operations from the Azure activity log (`activityLogs.list` of @azure/arm-monitor,
 * paged with nextLink). The service keeps 90 days; an older range is refused with a pointer to the
 * archived activity log, and a look-back window reaching further back is clipped to what it keeps.
 */
import type {AzureClients} from '../azure/clients.js'
import {formatDuration} from '../duration.js'
import {CustosError, ExitCode, fromAzureError} from '../errors.js'

/** How long the activity log keeps events. */
const ACTIVITY_LOG_RETENTION_IN_MS = 90 * 86_400_000

export interface ListActivityEventsOptions {
  since: Date
  until: Date
  abortSignal?: AbortSignal
  /** called after each page with the number of events on it */
  onPage?: (events: number) => void
}

/** Throws a usage error (exit 2) when `since` lies before the activity log's 90 days. */
export function assertActivityLogRange(since: Date, now: Date = new Date()): void {
  const oldest = now.getTime() - ACTIVITY_LOG_RETENTION_IN_MS
  if (since.getTime() < oldest) {
    throw new CustosError(
      `The activity log keeps 90 days of events, but --since ${since.toISOString()} is ${formatDuration(now.getTime() - since.getTime())} ago (the oldest event it still has is from ${new Date(oldest).toISOString()}).`,
      {
        code: 'ActivityLogRetention',
        exitCode: ExitCode.usage,
        hint:
          'For older ranges read the archived activity log instead: archive it with a subscription diagnostic setting to the logs.archive account ' +
          '(container insights-activity-logs, listed in logs.archive.containers) and run again with --source archive.',
      },
    )
  }
}

/** The earliest time the activity log can still answer for (used to clip the look-back window). */
export function activityLogOldest(now: Date = new Date()): Date {
  return new Date(now.getTime() - ACTIVITY_LOG_RETENTION_IN_MS + 60_000)
}

/** The `$filter` for a time range (the only form the service accepts at subscription level). */
function activityLogFilter(since: Date, until: Date): string {
  return `eventTimestamp ge '${since.toISOString()}' and eventTimestamp le '${until.toISOString()}'`
}

/**
 * Streams the subscription's activity-log events in [since, until], one page at a time, as plain
 * objects in the REST shape (what normalize.fromActivityEvent reads).
 */
export async function* listActivityEvents(
  clients: AzureClients,
  subscription: string,
  options: ListActivityEventsOptions,
): AsyncGenerator<Record<string, unknown>> {
  const what = `the activity log of subscription ${subscription}`
  const pages = clients
    .monitor(subscription)
    .activityLogs.list(activityLogFilter(options.since, options.until), {abortSignal: options.abortSignal})
    .byPage()
  try {
    for await (const page of pages) {
      options.onPage?.(page.length)
      for (const event of page) yield event as unknown as Record<string, unknown>
    }
  } catch (error) {
    throw fromAzureError(error, what)
  }
}
