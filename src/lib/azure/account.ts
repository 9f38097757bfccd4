/**
 * A storage account as the data map names it: a service endpoint URL (authenticated with the
 * configured Entra ID credential) or a connection string (shared key or SAS). Keys never leave
 * this object's `sharedKey`/`sas` fields and are never rendered.
 */
export interface AccountRef {
  /** the service's endpoint without a trailing slash, e.g. https://contosoprod.blob.core.windows.net */
  endpoint: string
  /** account name, e.g. contosoprod */
  name: string
  sharedKey?: {accountName: string; accountKey: string}
  /** a SAS token (without leading `?`) from a connection string */
  sas?: string
}

/** The storage service an account is used for: blob stores, backups, logs and exports, or Table storage stores. */
export type StorageService = 'blob' | 'table'

/** What differs between the services: the endpoint's host label, its connection-string field and Azurite's port. */
const SERVICES: Record<StorageService, {endpointField: string; developmentPort: number}> = {
  blob: {endpointField: 'BlobEndpoint', developmentPort: 10_000},
  table: {endpointField: 'TableEndpoint', developmentPort: 10_002},
}

/** The well-known development account that Azurite and the storage emulator publish. */
export const DEVELOPMENT_ACCOUNT = {
  name: 'devstoreaccount1',
  key: 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==',
} as const

function isConnectionString(account: string, service: StorageService): boolean {
  return (
    /(^|;)\s*(UseDevelopmentStorage|AccountName|BlobEndpoint|DefaultEndpointsProtocol)\s*=/i.test(account) ||
    new RegExp(`(^|;)\\s*${SERVICES[service].endpointField}\\s*=`, 'i').test(account)
  )
}

/**
 * Parses a data-map `account` for one storage service (`blob` unless said otherwise); throws a
 * RangeError (without echoing secrets) when it is neither an endpoint URL nor a connection string.
 */
export function parseAccount(account: string, service: StorageService = 'blob'): AccountRef {
  const text = account.trim()
  if (isConnectionString(text, service)) return parseConnectionString(text, service)
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new RangeError(`is neither a ${service} endpoint URL nor a storage connection string`)
  }

  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new RangeError(`must be an https:// ${service} endpoint`)
  if (url.search || url.hash)
    throw new RangeError('must not carry a query string (put SAS tokens in a connection string)')
  const endpoint = `${url.origin}${url.pathname}`.replace(/\/+$/, '')
  return {endpoint, name: accountNameFromEndpoint(endpoint)}
}

function parseConnectionString(text: string, service: StorageService): AccountRef {
  const {endpointField, developmentPort} = SERVICES[service]
  const fields = new Map<string, string>()
  for (const part of text.split(';')) {
    const eq = part.indexOf('=')
    if (eq <= 0) continue
    fields.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim())
  }

  if (fields.get('usedevelopmentstorage')?.toLowerCase() === 'true') {
    return {
      endpoint: `http://127.0.0.1:${developmentPort}/${DEVELOPMENT_ACCOUNT.name}`,
      name: DEVELOPMENT_ACCOUNT.name,
      sharedKey: {accountName: DEVELOPMENT_ACCOUNT.name, accountKey: DEVELOPMENT_ACCOUNT.key},
    }
  }

  const accountName = fields.get('accountname')
  const endpointValue = fields.get(endpointField.toLowerCase())
  let endpoint = endpointValue
  if (!endpoint) {
    if (!accountName) throw new RangeError(`is a connection string without AccountName or ${endpointField}`)
    const protocol = fields.get('defaultendpointsprotocol') ?? 'https'
    const suffix = fields.get('endpointsuffix') ?? 'core.windows.net'
    endpoint = `${protocol}://${accountName}.${service}.${suffix}`
  }

  endpoint = endpoint.replace(/\/+$/, '')
  checkEndpoint(endpoint, endpointValue ? endpointField : 'AccountName/EndpointSuffix')
  const name = accountName ?? accountNameFromEndpoint(endpoint)
  const key = fields.get('accountkey')
  const sas = fields.get('sharedaccesssignature')?.replace(/^\?/, '')
  return {endpoint, name, ...(key ? {sharedKey: {accountName: name, accountKey: key}} : {}), ...(sas ? {sas} : {})}
}

/**
 * The endpoint a connection string names must be an http(s) URL without a query: a value such as
 * `BlobEndpoint=not a url` would otherwise pass here and fail as "Invalid URL" at the first request.
 */
function checkEndpoint(endpoint: string, field: string): void {
  let url: URL
  try {
    url = new URL(endpoint)
  } catch {
    throw new RangeError(`is a connection string whose ${field} does not make a URL`)
  }

  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new RangeError(`is a connection string whose ${field} is not an http(s):// URL`)
  if (url.search || url.hash)
    throw new RangeError(
      `is a connection string whose ${field} carries a query string (put SAS tokens in SharedAccessSignature)`,
    )
}

/** `contosoprod` from `https://contosoprod.blob.core.windows.net` or from Azurite's `http://127.0.0.1:10000/contosoprod` (any service). */
export function accountNameFromEndpoint(endpoint: string): string {
  const url = new URL(endpoint)
  const firstSegment = url.pathname.split('/').find(Boolean)
  if (firstSegment) return firstSegment
  return url.hostname.split('.')[0]
}

/** A stable identity for "the same account" comparisons (endpoint, lower-cased). */
export function accountKey(account: string): string {
  try {
    return parseAccount(account).endpoint.toLowerCase()
  } catch {
    return account
  }
}
