/**
 * Microsoft Graph v1.0 on the local server, the calls `access review` makes, in the shapes of
 * `../shared/azure-contracts/graph/`:
 *
 * - `POST /v1.0/directoryObjects/getByIds` `{ids, types?}` (≤ 1,000 ids): the objects that exist,
 *   each with `@odata.type`; ids of deleted objects are simply absent;
 * - `GET /v1.0/groups/{id}/transitiveMembers`: members of nested groups included, paged with
 *   `@odata.nextLink` (`$top`, default 100, at most 999);
 * - `GET /v1.0/users?$select=…signInActivity`: the selected properties (always `id`), paged the same way.
 */
import {LOCAL_DEVELOPMENT_TOKEN} from '../../azure/credential.js'
import {
  bearerToken,
  decodeSkipToken,
  encodeSkipToken,
  withSkipToken,
  readJson,
  sendJson,
  serviceHeaders,
  type RequestContext,
} from './http.js'
import type {JsonObject} from './state.js'

/** getByIds takes at most this many ids per request (Graph documentation). */
const GET_BY_IDS_MAX = 1000

class GraphError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

/** True when the request is for Graph (`/v1.0/…`); the main port serves it beside ARM. */
export function isGraphRequest(segments: string[]): boolean {
  return segments[0]?.toLowerCase() === 'v1.0'
}

export async function handleGraph(ctx: RequestContext): Promise<void> {
  const headers = {...serviceHeaders(ctx), 'request-id': ctx.requestId, 'client-request-id': ctx.requestId}
  const token = bearerToken(ctx)
  if (token !== LOCAL_DEVELOPMENT_TOKEN) {
    sendJson(
      ctx,
      401,
      {
        error: {
          code: 'InvalidAuthenticationToken',
          message:
            token === undefined ? 'Access token is empty.' : 'Access token validation failure. Invalid audience.',
        },
      },
      headers,
    )
    return
  }

  try {
    const body = await route(ctx)
    sendJson(ctx, 200, body, headers)
  } catch (error) {
    if (!(error instanceof GraphError)) throw error
    sendJson(ctx, error.status, {error: {code: error.code, message: error.message}}, headers)
  }
}

async function route(ctx: RequestContext): Promise<JsonObject> {
  const lower = ctx.segments.map((s) => s.toLowerCase())
  const dir = ctx.state.directory
  const context = (what: string) => `${ctx.origin}/v1.0/$metadata#${what}`
  if (ctx.method === 'POST' && lower.length === 3 && lower[1] === 'directoryobjects' && lower[2] === 'getbyids') {
    let body: {ids?: unknown; types?: unknown} | undefined
    try {
      body = (await readJson(ctx)) as typeof body
    } catch {
      throw new GraphError(400, 'BadRequest', 'Unable to read JSON request payload.')
    }

    if (!Array.isArray(body?.ids) || body.ids.some((id) => typeof id !== 'string'))
      throw new GraphError(
        400,
        'Request_BadRequest',
        "Invalid value specified for property 'ids' of resource 'DirectoryObject'.",
      )
    if (body.ids.length > GET_BY_IDS_MAX)
      throw new GraphError(
        400,
        'Request_BadRequest',
        `Too many ids: at most ${GET_BY_IDS_MAX} are allowed per request.`,
      )
    const types = Array.isArray(body.types) ? (body.types as string[]).map((t) => t.toLowerCase()) : undefined
    const value = (body.ids as string[])
      .map((id) => dir.objects.get(id.toLowerCase()))
      .filter((o): o is JsonObject => o !== undefined)
      .filter((o) => !types || types.includes(String(o['@odata.type']).replace('#microsoft.graph.', '').toLowerCase()))
    return {'@odata.context': context('directoryObjects'), value}
  }

  if (ctx.method !== 'GET') throw new GraphError(405, 'Request_BadRequest', `${ctx.method} is not supported here.`)
  if (lower.length === 4 && lower[1] === 'groups' && lower[3] === 'transitivemembers') {
    const group = dir.objects.get(lower[2])
    if (!group || group['@odata.type'] !== '#microsoft.graph.group')
      throw new GraphError(
        404,
        'Request_ResourceNotFound',
        `Resource '${ctx.segments[2]}' does not exist or one of its queried reference-property objects are not present.`,
      )
    return page(ctx, dir.transitiveMembers(lower[2]), context('directoryObjects'))
  }

  if (lower.length === 2 && lower[1] === 'users') {
    const select = (ctx.url.searchParams.get('$select') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
    const users = [...dir.objects.values()]
      .filter((o) => o['@odata.type'] === '#microsoft.graph.user')
      .map((u) => {
        const full: JsonObject = {...u, signInActivity: dir.signInActivity.get(String(u.id).toLowerCase())}
        delete full['@odata.type']
        if (select.length === 0) {
          delete full.signInActivity // not a default property: only with $select
          return full
        }

        const out: JsonObject = {}
        for (const name of select) if (name in full) out[name] = full[name]
        out.id = full.id
        return out
      })
    return page(ctx, users, context(select.length > 0 ? `users(${select.join(',')})` : 'users'))
  }

  throw new GraphError(400, 'BadRequest', `Resource not found for the segment '${ctx.segments[1] ?? ''}'.`)
}

function page(ctx: RequestContext, items: JsonObject[], odataContext: string): JsonObject {
  const top = Math.min(Number(ctx.url.searchParams.get('$top') ?? '100') || 100, 999)
  const token = ctx.url.searchParams.get('$skiptoken')
  const offset = token === null ? 0 : decodeSkipToken(token)
  if (offset === undefined) throw new GraphError(400, 'Request_BadRequest', 'The $skiptoken is invalid.')
  const body: JsonObject = {'@odata.context': odataContext, value: items.slice(offset, offset + top)}
  if (offset + top < items.length) {
    body['@odata.nextLink'] = withSkipToken(ctx, encodeSkipToken(offset + top))
  }

  return body
}
