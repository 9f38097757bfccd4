/**
 * Records from a Log Analytics workspace (`logs.workspace`) through @azure/monitor-query-logs.
 * The query narrows server-side to rows that mention the customer id anywhere (`* contains`),
 * window by window so that no answer grows past the service's result limits (a window whose
 * answer is partial is split in two and asked again); the exact selection then happens locally,
 * with the same rules as for the archive. Rows keep the table's own PascalCase column names.
 */
import {LogsQueryResultStatus, type LogsTable} from '@azure/monitor-query-logs'

import type {AzureClients} from '../azure/clients.js'
import {azureFailure, fromAzureError} from '../errors.js'
import {recordCategory, recordTime, type LogRecord} from './fields.js'

/** Tables searched (missing ones are ignored: `union isfuzzy=true`). */
const WORKSPACE_TABLES = [
  'SigninLogs',
  'AADNonInteractiveUserSignInLogs',
  'AADServicePrincipalSignInLogs',
  'AADManagedIdentitySignInLogs',
  'AuditLogs',
  'StorageBlobLogs',
  'AzureActivity',
  'AzureDiagnostics',
] as const

const DEFAULT_WINDOW_MS = 6 * 3_600_000
const MIN_WINDOW_MS = 60_000

export interface WorkspaceRecord {
  record: LogRecord
  raw: string
  /** the table the row came from */
  category: string
  time: number
}

export interface QueryWorkspaceRecordsOptions {
  abortSignal?: AbortSignal
  /** length of one query window; default 6 hours */
  windowInMs?: number
  /** called after each answered query with the rows it returned */
  onRows?: (rows: number) => void
}

/** The KQL for one window: rows of the tables above, in [from, to), mentioning `customer`. */
function workspaceQuery(customer: string, from: Date, to: Date): string {
  // The id is checked against a strict character set before it gets here (scope.assertCustomerId).
  if (!/^[A-Za-z0-9._-]+$/.test(customer))
    throw new Error(`customer id ${JSON.stringify(customer)} cannot be put into a query`)
  return [
    `union isfuzzy=true withsource=SourceTable ${WORKSPACE_TABLES.join(', ')}`,
    `| where TimeGenerated >= datetime(${from.toISOString()}) and TimeGenerated < datetime(${to.toISOString()})`,
    `| where * contains "${customer}"`,
  ].join('\n')
}

function rowsOf(table: LogsTable): LogRecord[] {
  const names = table.columnDescriptors.map((c, i) => c.name ?? `Column${i}`)
  return table.rows.map((row) => {
    const record: LogRecord = {}
    names.forEach((name, i) => {
      const value = row[i]
      record[name] = value instanceof Date ? value.toISOString() : value
    })
    return record
  })
}

/** The workspace rows in [since, until) that mention the customer id (to be selected exactly by the caller). */
export async function* queryWorkspaceRecords(
  clients: AzureClients,
  workspace: string,
  customer: string,
  since: Date,
  until: Date,
  options: QueryWorkspaceRecordsOptions = {},
): AsyncGenerator<WorkspaceRecord> {
  const client = clients.logsQuery()
  const windowMs = options.windowInMs ?? DEFAULT_WINDOW_MS
  const windows: Array<[number, number]> = []
  for (let t = since.getTime(); t < until.getTime(); t += windowMs)
    windows.push([t, Math.min(t + windowMs, until.getTime())])
  while (windows.length > 0) {
    const [from, to] = windows.shift()!
    let tables: LogsTable[]
    try {
      const result = await client.queryWorkspace(
        workspace,
        workspaceQuery(customer, new Date(from), new Date(to)),
        {startTime: new Date(from), endTime: new Date(to)},
        {abortSignal: options.abortSignal, serverTimeoutInSeconds: 600},
      )
      if (result.status === LogsQueryResultStatus.PartialFailure) {
        if (to - from > MIN_WINDOW_MS) {
          const middle = from + Math.floor((to - from) / 2)
          windows.unshift([from, middle], [middle, to])
          continue
        }

        throw azureFailure(
          'WorkspacePartialResult',
          `Log Analytics workspace ${workspace} answered only partially for ${new Date(from).toISOString()}: ${result.partialError.message}`,
          'Run again later or narrow --since/--until.',
        )
      }

      tables = result.tables
    } catch (error) {
      throw fromAzureError(error, `Log Analytics workspace ${workspace}`)
    }

    let rows = 0
    for (const table of tables) {
      for (const record of rowsOf(table)) {
        rows++
        const time = recordTime(record)
        if (time === undefined || time < since.getTime() || time >= until.getTime()) continue
        const category =
          typeof record.SourceTable === 'string' && record.SourceTable !== ''
            ? record.SourceTable
            : (recordCategory(record) ?? table.name)
        yield {record, raw: JSON.stringify(record), category, time}
      }
    }

    options.onRows?.(rows)
  }
}
