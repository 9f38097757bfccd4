/**
 * Microsoft.Authorization (api-version 2022-04-01) on the local server: role assignments listed
 * for a scope, one assignment by name, one role definition by id — in the shapes of
 * `../shared/azure-contracts/authorization/`.
 *
 * Listing follows the documented `$filter` semantics of "List role assignments for a scope": no
 * filter returns the assignments at, above and below the scope; `atScope()` those at or above it
 * (inherited ones keep their own `properties.scope`, as in RoleAssignments_ListForResourceGroup.json);
 * `principalId eq '{id}'` and `assignedTo('{id}')` narrow to one principal.
 */
import {ArmError, sendArm} from './arm-common.js'
import {decodeSkipToken, encodeSkipToken, withSkipToken, type RequestContext} from './http.js'
import type {JsonObject} from './state.js'

/** How many assignments one page holds before a `nextLink` (ARM pages large lists). */
export const ROLE_ASSIGNMENT_PAGE_SIZE = 1000

/**
 * Handles the request when its path is a Microsoft.Authorization one; returns false otherwise so
 * that arm.ts keeps routing.
 */
export function handleAuthorization(ctx: RequestContext): boolean {
  const lower = ctx.segments.map((s) => s.toLowerCase())
  const at = lower.lastIndexOf('microsoft.authorization')
  if (at < 1 || lower[at - 1] !== 'providers') return false
  const scope = '/' + ctx.segments.slice(0, at - 1).join('/')
  const collection = lower[at + 1]
  const name = ctx.segments[at + 2]
  if (lower.length > at + 3) return false
  if (collection === 'roleassignments' && name === undefined) {
    listRoleAssignments(ctx, scope)
    return true
  }

  if (collection === 'roleassignments') {
    const found = ctx.state.directory.roleAssignments.find(
      (a) =>
        (a.id as string).toLowerCase() ===
        `${scope === '/' ? '' : scope}/providers/microsoft.authorization/roleassignments/${name.toLowerCase()}`,
    )
    if (!found) throw new ArmError(404, 'RoleAssignmentNotFound', `The role assignment '${name}' is not found.`)
    sendArm(ctx, 200, found)
    return true
  }

  if (collection === 'roledefinitions' && name !== undefined) {
    const definition = ctx.state.directory.roleDefinitions.get(name.toLowerCase())
    if (!definition)
      throw new ArmError(
        404,
        'RoleDefinitionDoesNotExist',
        `The specified role definition with ID '${name}' does not exist.`,
      )
    const {properties, type} = definition
    sendArm(ctx, 200, {
      properties,
      id: `${scope === '/' ? '' : scope}/providers/Microsoft.Authorization/roleDefinitions/${definition.name as string}`,
      type,
      name: definition.name,
    })
    return true
  }

  return false
}

interface AssignmentFilter {
  atScope: boolean
  principalId?: string
}

function parseFilter(text: string | null): AssignmentFilter {
  const filter: AssignmentFilter = {atScope: false}
  if (!text?.trim()) return filter
  for (const clause of text.split(/\s+and\s+/i)) {
    const c = clause.trim()
    let m: RegExpExecArray | null
    if (/^atScope\(\)$/i.test(c)) filter.atScope = true
    else if ((m = /^principalId\s+eq\s+'([^']+)'$/i.exec(c))) filter.principalId = m[1]
    else if ((m = /^assignedTo\('([^']+)'\)$/i.exec(c))) filter.principalId = m[1]
    else throw new ArmError(400, 'InvalidFilterInQueryString', `The filter '${text}' is not supported.`)
  }

  return filter
}

/** `a` is `b` or one of its ancestors (`/` is everyone's). */
function atOrAbove(a: string, b: string): boolean {
  const x = a.toLowerCase().replace(/\/+$/, '')
  const y = b.toLowerCase().replace(/\/+$/, '')
  return x === '' || x === y || y.startsWith(`${x}/`)
}

function listRoleAssignments(ctx: RequestContext, scope: string): void {
  const filter = parseFilter(ctx.url.searchParams.get('$filter'))
  const matching = ctx.state.directory.roleAssignments.filter((a) => {
    const p = a.properties as JsonObject
    const own = p.scope as string
    if (filter.principalId && (p.principalId as string).toLowerCase() !== filter.principalId.toLowerCase()) return false
    return filter.atScope ? atOrAbove(own, scope) : atOrAbove(own, scope) || atOrAbove(scope, own)
  })
  const token = ctx.url.searchParams.get('$skiptoken')
  const offset = token === null ? 0 : decodeSkipToken(token)
  if (offset === undefined) throw new ArmError(400, 'InvalidSkipToken', 'The $skiptoken is invalid.')
  const page = matching.slice(offset, offset + ROLE_ASSIGNMENT_PAGE_SIZE)
  const body: JsonObject = {value: page}
  if (offset + ROLE_ASSIGNMENT_PAGE_SIZE < matching.length) {
    body.nextLink = withSkipToken(ctx, encodeSkipToken(offset + ROLE_ASSIGNMENT_PAGE_SIZE))
  }

  sendArm(ctx, 200, body)
}
