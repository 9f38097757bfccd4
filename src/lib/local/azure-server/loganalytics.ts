/**
 * Log Analytics query API: `POST|GET /v1/workspaces/{id}/query` (also without `/v1`, since
 * LogsQueryClient uses a given `endpoint` as is). The answer is the state's query handler's tables,
 * typed the way the real service types them (monitor/recorded-loganalytics-query-with-types.json):
 * bool → true/false, int/long/real → numbers, datetime → ISO string, dynamic → JSON-encoded string.
 */
import {LOCAL_DEVELOPMENT_TOKEN} from '../../azure/credential.js'
import {bearerToken, readJson, sendJson, serviceHeaders, type RequestContext} from './http.js'
import {isPlainObject, LogQueryError, type LogColumn, type LogTable} from './state.js'

function laHeaders(ctx: RequestContext): Record<string, string> {
  return {...serviceHeaders(ctx), 'x-ms-correlation-request-id': ctx.requestId}
}

function laError(
  ctx: RequestContext,
  status: number,
  code: string,
  message: string,
  inner?: {code: string; message: string},
  extraHeaders: Record<string, string> = {},
): void {
  sendJson(
    ctx,
    status,
    {error: {message, code, correlationId: ctx.requestId, ...(inner ? {innererror: inner} : {})}},
    {...laHeaders(ctx), ...extraHeaders},
  )
}

/** True when the path is a Log Analytics query path; the workspace id, else undefined. */
export function logAnalyticsWorkspace(segments: string[]): string | undefined {
  const s = segments[0]?.toLowerCase() === 'v1' ? segments.slice(1) : segments
  if (s.length === 3 && s[0].toLowerCase() === 'workspaces' && s[2].toLowerCase() === 'query') return s[1]
  return undefined
}

export async function handleLogAnalytics(ctx: RequestContext, workspaceId: string): Promise<void> {
  const token = bearerToken(ctx)
  if (token !== LOCAL_DEVELOPMENT_TOKEN) {
    laError(
      ctx,
      401,
      token === undefined ? 'AuthorizationRequiredError' : 'InvalidTokenError',
      token === undefined
        ? 'Valid authentication was not provided'
        : 'The provided authentication is not valid for this resource',
      undefined,
      {
        'WWW-Authenticate': `Bearer authorization_uri="https://login.windows.net/${ctx.state.tenantId}", error="invalid_token"`,
      },
    )
    return
  }

  let query: string | undefined
  let timespan: string | undefined
  if (ctx.method === 'POST') {
    let body: unknown
    try {
      body = await readJson(ctx)
    } catch {
      return laError(ctx, 400, 'BadArgumentError', 'The request had some invalid properties', {
        code: 'JsonParseError',
        message: 'The request body is not valid JSON.',
      })
    }

    if (isPlainObject(body)) {
      query = typeof body.query === 'string' ? body.query : undefined
      timespan = typeof body.timespan === 'string' ? body.timespan : undefined
    }
  } else if (ctx.method === 'GET') {
    query = ctx.url.searchParams.get('query') ?? undefined
    timespan = ctx.url.searchParams.get('timespan') ?? undefined
  } else {
    return laError(ctx, 405, 'MethodNotAllowedError', `${ctx.method} is not allowed on this path`)
  }

  if (!query)
    return laError(ctx, 400, 'BadArgumentError', 'The request had some invalid properties', {
      code: 'QueryValidationError',
      message: 'A query is required.',
    })

  let tables: LogTable[] | undefined
  try {
    tables = await ctx.state.logQueryHandler?.(workspaceId, query, timespan)
  } catch (error) {
    if (!(error instanceof LogQueryError)) throw error
    return laError(
      ctx,
      400,
      error.code,
      error.message,
      error.innerCode ? {code: error.innerCode, message: error.message} : undefined,
    )
  }

  if (!tables)
    return laError(ctx, 404, 'WorkspaceNotFoundError', `The workspace could not be found`, {
      code: 'WorkspaceNotFoundError',
      message: `Workspace ${workspaceId} not found`,
    })
  sendJson(ctx, 200, {tables: tables.map(typedTable)}, laHeaders(ctx))
}

function typedTable(table: LogTable) {
  return {
    name: table.name ?? 'PrimaryResult',
    columns: table.columns.map((c) => ({name: c.name, type: c.type})),
    rows: table.rows.map((row) => table.columns.map((column, i) => typedCell(column, row[i]))),
  }
}

/** One cell as the real service serialises it. */
function typedCell(column: LogColumn, value: unknown): unknown {
  if (value === null || value === undefined) return null
  switch (column.type) {
    case 'bool': {
      return typeof value === 'string' ? value.toLowerCase() === 'true' : Boolean(value)
    }

    case 'int':
    case 'long':
    case 'real': {
      const n = typeof value === 'number' ? value : Number(value)
      return Number.isNaN(n) ? null : n
    }

    case 'datetime': {
      // like the service: no fractional part when it is zero ("2000-01-02T03:04:05Z")
      return value instanceof Date ? value.toISOString().replace('.000Z', 'Z') : String(value)
    }

    case 'dynamic': {
      return typeof value === 'string' ? value : JSON.stringify(value)
    }

    default: {
      return String(value)
    }
  }
}
