/**
 * Azure Resource Manager: the read operations custos uses on Microsoft.Storage and
 * Microsoft.KeyVault, plus routing to Microsoft.Insights (monitor.ts) and Microsoft.DBforPostgreSQL
 * (postgresql.ts). Any api-version is accepted;
 * provider and collection names match case-insensitively, like ARM.
 */
import {LOCAL_DEVELOPMENT_TOKEN} from '../../azure/credential.js'
import {ArmError, armHeaders, resourceNotFound, sendArm} from './arm-common.js'
import {handleAuthorization} from './authorization.js'
import {bearerToken, sendJson, type RequestContext} from './http.js'
import {handleActivityLog, handleDiagnosticSettings} from './monitor.js'
import {handlePostgresql} from './postgresql.js'
import {normalizeResourceId, type JsonObject, type LocalAzureState} from './state.js'

export async function handleArm(ctx: RequestContext): Promise<void> {
  const token = bearerToken(ctx)
  if (token !== LOCAL_DEVELOPMENT_TOKEN) {
    const missing = token === undefined
    const description = missing
      ? "The authentication failed because of missing 'Authorization' header."
      : 'The access token is invalid.'
    sendJson(
      ctx,
      401,
      missing
        ? {
            error: {
              code: 'AuthenticationFailed',
              message: "Authentication failed. The 'Authorization' header is missing.",
            },
          }
        : {error: {code: 'InvalidAuthenticationToken', message: 'The access token is invalid.'}},
      {
        ...armHeaders(ctx),
        'WWW-Authenticate': `Bearer authorization_uri="https://login.windows.net/${ctx.state.tenantId}", error="invalid_token", error_description="${description}"`,
      },
    )
    return
  }

  try {
    if (!ctx.url.searchParams.get('api-version'))
      throw new ArmError(
        400,
        'MissingApiVersionParameter',
        'The api-version query parameter (?api-version=) is required for all requests.',
      )
    if (ctx.method !== 'GET')
      throw new ArmError(
        405,
        'MethodNotAllowed',
        `The local Azure server only serves reads; ${ctx.method} is not supported.`,
      )
    await route(ctx)
  } catch (error) {
    if (!(error instanceof ArmError)) throw error
    sendArm(ctx, error.status, {error: {code: error.code, message: error.message}})
  }
}

/** Matches lower-case `segments` against a pattern of literals and `*` (captured, original case). */
function match(ctx: RequestContext, pattern: string[]): string[] | undefined {
  const segs = ctx.segments
  if (segs.length !== pattern.length) return undefined
  const captures: string[] = []
  for (const [i, element] of pattern.entries()) {
    if (element === '*') captures.push(segs[i])
    else if (segs[i].toLowerCase() !== element) return undefined
  }

  return captures
}

const STORAGE = ['providers', 'microsoft.storage', 'storageaccounts']
const KEYVAULT = ['providers', 'microsoft.keyvault', 'vaults']

async function route(ctx: RequestContext): Promise<void> {
  if (handleAuthorization(ctx)) return
  const lower = ctx.segments.map((s) => s.toLowerCase())
  // {resourceUri}/providers/Microsoft.Insights/diagnosticSettings[/{name}] — resourceUri may itself contain "providers"
  for (let i = lower.length - 3; i >= 0; i--) {
    if (
      lower[i] === 'providers' &&
      lower[i + 1] === 'microsoft.insights' &&
      lower[i + 2] === 'diagnosticsettings' &&
      lower.length - i <= 4
    ) {
      return handleDiagnosticSettings(ctx, '/' + ctx.segments.slice(0, i).join('/'), ctx.segments[i + 3])
    }
  }

  if (handlePostgresql(ctx, lower)) return

  let m: string[] | undefined
  if ((m = match(ctx, ['subscriptions', '*', 'providers', 'microsoft.insights', 'eventtypes', 'management', 'values'])))
    return handleActivityLog(ctx, m[0])
  if ((m = match(ctx, ['subscriptions', '*', 'resources']))) return listGenericResources(ctx, m[0])

  // Microsoft.Storage
  if ((m = match(ctx, ['subscriptions', '*', ...STORAGE])))
    return sendArm(ctx, 200, {value: list(ctx.state.storageAccounts, m[0])})
  if ((m = match(ctx, ['subscriptions', '*', 'resourcegroups', '*', ...STORAGE])))
    return sendArm(ctx, 200, {value: list(ctx.state.storageAccounts, m[0], m[1])})
  const account = ['subscriptions', '*', 'resourcegroups', '*', ...STORAGE, '*']
  if ((m = match(ctx, account))) return sendArm(ctx, 200, storageAccount(ctx.state, m))
  if ((m = match(ctx, [...account, 'blobservices']))) return sendArm(ctx, 200, {value: [blobService(ctx.state, m)]})
  if ((m = match(ctx, [...account, 'blobservices', 'default']))) return sendArm(ctx, 200, blobService(ctx.state, m))
  if ((m = match(ctx, [...account, 'blobservices', 'default', 'containers'])))
    return sendArm(ctx, 200, {
      value: children(ctx.state.blobContainers, storageAccount(ctx.state, m), '/blobservices/default/containers/'),
    })
  if ((m = match(ctx, [...account, 'blobservices', 'default', 'containers', '*']))) {
    const parent = storageAccount(ctx.state, m)
    const container = ctx.state.blobContainers.get(
      `${(parent.id as string).toLowerCase()}/blobservices/default/containers/${m[3].toLowerCase()}`,
    )
    if (!container) throw new ArmError(404, 'ContainerNotFound', 'The specified container does not exist.')
    return sendArm(ctx, 200, container)
  }

  if ((m = match(ctx, [...account, 'encryptionscopes'])))
    return sendArm(ctx, 200, {
      value: children(ctx.state.encryptionScopes, storageAccount(ctx.state, m), '/encryptionscopes/'),
      nextLink: null,
    })
  if ((m = match(ctx, [...account, 'encryptionscopes', '*']))) {
    const parent = storageAccount(ctx.state, m)
    const scope = ctx.state.encryptionScopes.get(
      `${(parent.id as string).toLowerCase()}/encryptionscopes/${m[3].toLowerCase()}`,
    )
    if (!scope) throw resourceNotFound('Microsoft.Storage/storageAccounts/encryptionScopes', `${m[2]}/${m[3]}`, m[1])
    return sendArm(ctx, 200, scope)
  }

  // Microsoft.KeyVault
  if ((m = match(ctx, ['subscriptions', '*', ...KEYVAULT])))
    return sendArm(ctx, 200, {value: list(ctx.state.armKeyVaults, m[0]).map((v) => armVault(ctx.state, v))})
  if ((m = match(ctx, ['subscriptions', '*', 'resourcegroups', '*', ...KEYVAULT]))) {
    return sendArm(ctx, 200, {value: list(ctx.state.armKeyVaults, m[0], m[1]).map((v) => armVault(ctx.state, v))})
  }

  if ((m = match(ctx, ['subscriptions', '*', 'resourcegroups', '*', ...KEYVAULT, '*']))) {
    const vault = ctx.state.armKeyVaults.get(normalizeResourceId(ctx.url.pathname).toLowerCase())
    if (!vault) throw resourceNotFound('Microsoft.KeyVault/vaults', m[2], m[1])
    return sendArm(ctx, 200, armVault(ctx.state, vault))
  }

  throw new ArmError(
    404,
    'ResourceNotFound',
    `The Resource '${normalizeResourceId(ctx.url.pathname)}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
  )
}

/** Resources of `map` in `subscription` (and `resourceGroup`), in insertion order. */
function list(map: Map<string, JsonObject>, subscription: string, resourceGroup?: string): JsonObject[] {
  const prefix =
    `/subscriptions/${subscription}/`.toLowerCase() +
    (resourceGroup ? `resourcegroups/${resourceGroup.toLowerCase()}/` : '')
  return [...map.entries()].filter(([id]) => id.startsWith(prefix)).map(([, resource]) => resource)
}

function children(map: Map<string, JsonObject>, parent: JsonObject, infix: string): JsonObject[] {
  const prefix = `${(parent.id as string).toLowerCase()}${infix}`
  return [...map.entries()]
    .filter(([id]) => id.startsWith(prefix) && !id.slice(prefix.length).includes('/'))
    .map(([, resource]) => resource)
}

/** The storage account addressed by captures [subscription, resourceGroup, name, ...]. */
function storageAccount(state: LocalAzureState, m: string[]): JsonObject {
  const [subscription, resourceGroup, name] = m
  const account = state.storageAccount(
    `/subscriptions/${subscription}/resourceGroups/${resourceGroup}/providers/Microsoft.Storage/storageAccounts/${name}`,
  )
  if (!account) throw resourceNotFound('Microsoft.Storage/storageAccounts', name, resourceGroup)
  return account
}

function blobService(state: LocalAzureState, m: string[]): JsonObject {
  const account = storageAccount(state, m)
  const properties = state.blobServices.get((account.id as string).toLowerCase()) ?? {}
  return {
    id: `${account.id as string}/blobServices/default`,
    name: 'default',
    type: 'Microsoft.Storage/storageAccounts/blobServices',
    properties,
    sku: account.sku,
  }
}

/** A vault resource; a vault linked to a data-plane vault reports that vault's current settings. */
function armVault(state: LocalAzureState, resource: JsonObject): JsonObject {
  const linked = state.armVaultDataPlane.get((resource.id as string).toLowerCase())
  const vault = linked ? state.keyVault(linked) : undefined
  if (!vault) return resource
  const properties = {...(resource.properties as JsonObject)}
  properties.enableSoftDelete = true
  properties.softDeleteRetentionInDays = vault.softDeleteRetentionInDays
  if (vault.purgeProtection) properties.enablePurgeProtection = true
  else delete properties.enablePurgeProtection
  properties.publicNetworkAccess = vault.publicNetworkAccess
  return {...resource, location: vault.location, properties}
}

/** GET /subscriptions/{id}/resources?$filter=resourceType eq '…' (what `vaults.list()` calls). */
function listGenericResources(ctx: RequestContext, subscription: string): void {
  const filter = ctx.url.searchParams.get('$filter') ?? ''
  const type = /resourceType\s+eq\s+'([^']+)'/i.exec(filter)?.[1]?.toLowerCase()
  const top = Number(ctx.url.searchParams.get('$top') ?? 'NaN')
  const all = [
    ...list(ctx.state.storageAccounts, subscription),
    ...list(ctx.state.armKeyVaults, subscription).map((v) => armVault(ctx.state, v)),
  ]
  const value = all
    .filter((r) => !type || String(r.type).toLowerCase() === type)
    .slice(0, Number.isInteger(top) && top > 0 ? top : undefined)
    .map((r) => ({id: r.id, name: r.name, type: r.type, location: r.location, tags: r.tags ?? {}}))
  sendArm(ctx, 200, {value})
}
