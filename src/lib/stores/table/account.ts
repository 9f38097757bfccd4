/**
 * A Table storage account as the data map names it: a table endpoint URL (authenticated with the
 * configured Entra ID credential) or a connection string (shared key or SAS), like a blob store's
 * `account` (../../azure/account.ts). Keys stay in `sharedKey`/`sas` and are never rendered.
 */
import {DEVELOPMENT_ACCOUNT, isConnectionString} from '../../azure/account.js'

export interface TableAccountRef {
  /** table endpoint without a trailing slash, e.g. https://contosoprod.table.core.windows.net */
  endpoint: string
  /** account name, e.g. contosoprod */
  name: string
  sharedKey?: {accountName: string; accountKey: string}
  /** a SAS token (without leading `?`) from a connection string */
  sas?: string
}

/** Parses a data-map `account` of a table store; throws a RangeError (never echoing a secret). */
export function parseTableAccount(account: string): TableAccountRef {
  const text = account.trim()
  if (isConnectionString(text) || /(^|;)\s*TableEndpoint\s*=/i.test(text)) return parseConnectionString(text)
  const endpoint = checkedEndpoint(text, 'is neither a table endpoint URL nor a storage connection string')
  return {endpoint, name: accountNameOf(endpoint)}
}

function parseConnectionString(text: string): TableAccountRef {
  const fields = new Map<string, string>()
  for (const part of text.split(';')) {
    const eq = part.indexOf('=')
    if (eq <= 0) continue
    fields.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim())
  }

  if (fields.get('usedevelopmentstorage')?.toLowerCase() === 'true') {
    return {
      endpoint: `http://127.0.0.1:10002/${DEVELOPMENT_ACCOUNT.name}`,
      name: DEVELOPMENT_ACCOUNT.name,
      sharedKey: {accountName: DEVELOPMENT_ACCOUNT.name, accountKey: DEVELOPMENT_ACCOUNT.key},
    }
  }

  const accountName = fields.get('accountname')
  let endpoint = fields.get('tableendpoint')
  if (endpoint) {
    endpoint = checkedEndpoint(endpoint, 'is a connection string whose TableEndpoint is not an http(s):// URL')
  } else {
    if (!accountName) throw new RangeError('is a connection string without AccountName or TableEndpoint')
    const protocol = fields.get('defaultendpointsprotocol') ?? 'https'
    const suffix = fields.get('endpointsuffix') ?? 'core.windows.net'
    endpoint = checkedEndpoint(
      `${protocol}://${accountName}.table.${suffix}`,
      'is a connection string whose AccountName/EndpointSuffix do not make a URL',
    )
  }

  const name = accountName ?? accountNameOf(endpoint)
  const key = fields.get('accountkey')
  const sas = fields.get('sharedaccesssignature')?.replace(/^\?/, '')
  return {endpoint, name, ...(key ? {sharedKey: {accountName: name, accountKey: key}} : {}), ...(sas ? {sas} : {})}
}

function checkedEndpoint(text: string, problem: string): string {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new RangeError(problem)
  }

  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new RangeError(problem)
  if (url.search || url.hash)
    throw new RangeError('must not carry a query string (put SAS tokens in a connection string)')
  return `${url.origin}${url.pathname}`.replace(/\/+$/, '')
}

/** `contosoprod` from `https://contosoprod.table.core.windows.net` or from Azurite's `http://127.0.0.1:10002/contosoprod`. */
function accountNameOf(endpoint: string): string {
  const url = new URL(endpoint)
  return url.pathname.split('/').find(Boolean) ?? url.hostname.split('.')[0]
}
