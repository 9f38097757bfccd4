/**
 * The subscription's activity log through @azure/arm-monitor (`activityLogs.list($filter)`, paged
 * with `nextLink`). Records are kept in the REST shape the service sends (`{value,
 * localizedValue}` pairs, 7-digit timestamps, every property) — taken from the raw page body,
 * because the SDK's models drop fields they do not know — with the SDK's objects as a fallback.
 */
import type {FullOperationResponse} from '@azure/core-client'

import type {AzureClients} from '../azure/clients.js'
import {fromAzureError} from '../errors.js'
import {recordCategory, recordTime, type LogRecord} from './fields.js'

export interface ActivityRecord {
  record: LogRecord
  raw: string
  category: string
  time: number
}

export interface ListActivityRecordsOptions {
  abortSignal?: AbortSignal
  /** called once per page received (progress) */
  onPage?: (events: number) => void
}

/** The activity-log events of `subscription` whose `eventTimestamp` lies in [since, until), page by page. */
export async function* listActivityRecords(
  clients: AzureClients,
  subscription: string,
  since: Date,
  until: Date,
  options: ListActivityRecordsOptions = {},
): AsyncGenerator<ActivityRecord> {
  const filter = `eventTimestamp ge '${since.toISOString()}' and eventTimestamp le '${until.toISOString()}'`
  let wire: unknown[] | undefined
  const onResponse = (response: FullOperationResponse) => {
    const body = response.parsedBody as {value?: unknown} | undefined
    wire = Array.isArray(body?.value) ? body.value : undefined
  }

  try {
    const pages = clients
      .monitor(subscription)
      .activityLogs.list(filter, {abortSignal: options.abortSignal, onResponse})
      .byPage()
    for await (const page of pages) {
      const events: unknown[] =
        wire && wire.length === page.length ? wire : page.map((e) => JSON.parse(JSON.stringify(e)) as unknown)
      wire = undefined
      options.onPage?.(events.length)
      for (const event of events) {
        if (typeof event !== 'object' || event === null) continue
        const record = event as LogRecord
        const time = recordTime(record)
        if (time === undefined || time < since.getTime() || time >= until.getTime()) continue
        yield {record, raw: JSON.stringify(record), category: recordCategory(record) ?? 'Activity', time}
      }
    }
  } catch (error) {
    throw fromAzureError(error, `the activity log of subscription ${subscription}`)
  }
}
