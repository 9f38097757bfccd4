/**
 * Which log records concern a customer — the one rule, used by the log bundle (`logs bundle`), the
 * access report's `--customer` filter on streamed records (access/customer.ts) and, as KQL text
 * generated here ({@link customerKql}), the access report's queries inside Log Analytics. A record
 * belongs to the customer when
 *
 * 1. one of the configured `logs.customerFields` (default `properties.customerId`,
 *    `properties.tenantId`) equals the customer id exactly (`acme` is not `acme-corp`, nor `ACME`),
 *    read with {@link getField} whatever the source's casing; a number counts when its decimal
 *    form is the id (a Log Analytics column typed `long`, which KQL's `tostring` compares the same
 *    way); or
 * 2. a resource path it names — `properties.objectKey` (`/account/container/blob`), `uri`, an ARM
 *    `resourceId` of a container — lies inside one of the customer's scopes (stores and backup
 *    sets), decided by scope.ts's {@link isInScope}: a container the customer owns, or a blob under
 *    the customer's prefix (a listing of the customer's prefix counts too).
 *
 * The selector also names identifiers of other customers that it can see (for redaction) and
 * the byte strings a record must contain to possibly match (for the fast prefilter).
 */
import type {DataMap, StoreConfig} from '../datamap/types.js'
import {isInScope, scopeOf, assertCustomerId, type Scope} from '../scope.js'
import {getField, getString, type LogRecord} from './fields.js'

const DEFAULT_CUSTOMER_FIELDS = ['properties.customerId', 'properties.tenantId'] as const

/** Fields that may name a blob or container, per source shape (archive, LA StorageBlobLogs, activity log). */
const RESOURCE_PATH_FIELDS = ['properties.objectKey', 'uri', 'resourceId', 'authorization.scope'] as const

/**
 * Fields that name the other end of a copy (`SourceUri` / `DestinationUri` in StorageBlobLogs). They
 * do not make a record the customer's, but a kept record can name another customer's blob there,
 * so they are read for ids to redact.
 */
const OTHER_PATH_FIELDS = ['properties.sourceUri', 'properties.destinationUri'] as const

export type MatchReason = {kind: 'field'; field: string} | {kind: 'scope'; store: string; field: string}

export interface ResourcePath {
  account: string
  container: string
  /** '' for the container itself */
  blobName: string
  /** the `prefix` of a container listing, if the path is one */
  listingPrefix?: string
}

export interface CustomerSelector {
  customer: string
  customerFields: readonly string[]
  scopes: readonly Scope[]
  /**
   * Strings at least one of which appears in the text of every record that can match: the id in
   * quotes (an exact field value) and each scope's container or container/prefix.
   */
  needles: string[]
  /** strings every needle contains one of (the id, and upper-cased), a speed hint for the scan */
  anchors: string[]
  /** why the record belongs to the customer, or undefined when it does not */
  match(record: LogRecord): MatchReason | undefined
  /** values of the customer fields in a record (to learn other customers' ids) */
  fieldValues(record: LogRecord): string[]
  /**
   * ids of customers whose scope a record's resource paths name (store templates read backwards),
   * the other end of a copy included
   */
  customersInPaths(record: LogRecord): string[]
}

/** Parses `/account/container/blob…` (objectKey), a blob URL (host- or path-style) or an ARM container id. */
function parseResourcePath(field: string, value: string): ResourcePath | undefined {
  if (field.endsWith('objectKey') || field.endsWith('ObjectKey')) {
    const parts = value.split('/')
    if (parts[0] !== '' || parts.length < 3 || !parts[1] || !parts[2]) return undefined
    return {account: parts[1], container: parts[2], blobName: parts.slice(3).join('/')}
  }

  if (/^https?:\/\//i.test(value)) {
    let url: URL
    try {
      url = new URL(value)
    } catch {
      return undefined
    }

    const segments = url.pathname.split('/').slice(1)
    const pathStyle = /^(\d{1,3}(\.\d{1,3}){3}|localhost|\[[0-9a-f:]+\])$/i.test(url.hostname)
    const account = pathStyle ? segments.shift() : url.hostname.split('.')[0]
    const container = segments.shift()
    if (!account || !container) return undefined
    const decode = (s: string) => {
      try {
        return decodeURIComponent(s)
      } catch {
        return s
      }
    }

    const listingPrefix =
      url.searchParams.get('comp') === 'list' ? (url.searchParams.get('prefix') ?? undefined) : undefined
    return {
      account: decode(account),
      container: decode(container),
      blobName: segments.map(decode).join('/'),
      ...(listingPrefix ? {listingPrefix} : {}),
    }
  }

  const arm = /\/storageAccounts\/([^/]+)\/blobServices\/default\/containers\/([^/]+)(?:\/|$)/i.exec(value)
  if (arm) return {account: arm[1], container: arm[2].toLowerCase(), blobName: ''}
  return undefined
}

/** True when `path` lies in `scope`: a blob inside it, the container a customer owns, or a listing of its prefix. */
function pathInScope(scope: Scope, path: ResourcePath): boolean {
  if (path.account.toLowerCase() !== scope.accountName.toLowerCase()) return false
  if (path.container !== scope.container) return false
  if (path.blobName !== '') return isInScope(scope, path.container, path.blobName)
  if (scope.ownsContainer) return true
  return path.listingPrefix !== undefined && scope.prefix !== '' && path.listingPrefix.startsWith(scope.prefix)
}

function escapeRegex(text: string): string {
  return text.replaceAll(/[.*+?^${}()|[\]\\]/g, String.raw`\$&`)
}

/** A regex that reads the customer id back out of an expanded template (anchored at the start). */
function templateReader(template: string, anchorEnd: boolean): RegExp | undefined {
  const at = template.indexOf('{customer}')
  if (at === -1) return undefined
  const before = escapeRegex(template.slice(0, at))
  const after = escapeRegex(template.slice(at + '{customer}'.length).replaceAll('{customer}', ''))
  return new RegExp(`^${before}([A-Za-z0-9][A-Za-z0-9._-]*?)${after}${anchorEnd ? '$' : ''}`)
}

interface StoreReader {
  account: string
  container?: RegExp
  sharedContainer?: string
  prefix?: RegExp
}

function storeReader(store: StoreConfig, accountName: string): StoreReader {
  const container = templateReader(store.container, true)
  return container
    ? {account: accountName, container}
    : {account: accountName, sharedContainer: store.container, prefix: templateReader(store.prefix ?? '', false)}
}

/** True when a number renders as this decimal id (`4711`, not `04711` nor `4.711e3`). */
function isDecimal(id: string): boolean {
  return /^\d+$/.test(id) && String(Number(id)) === id
}

/** The field rule: the exact string, or a finite number whose decimal form is the id. */
function fieldNamesCustomer(value: unknown, customer: string): boolean {
  if (typeof value === 'string') return value === customer
  return typeof value === 'number' && Number.isFinite(value) && String(value) === customer
}

/** Builds the selector of `customer` (checked against `customers.idPattern`) from the data map. */
export function customerSelector(map: DataMap, customer: string): CustomerSelector {
  assertCustomerId(customer, map.customers.idPattern)
  const customerFields = map.logs?.customerFields ?? [...DEFAULT_CUSTOMER_FIELDS]
  const stores = [...map.stores, ...map.backups]
  const scopes = stores.map((s) => scopeOf(s, customer))
  const readers = stores.map((s, i) => storeReader(s, scopes[i].accountName))
  const idPattern = new RegExp(map.customers.idPattern)
  // Containers are lower-case, but ARM ids in some records are upper-cased (…/CONTAINERS/TENANT-ACME).
  const scopeNeedles = scopes.flatMap((s) =>
    s.ownsContainer ? [s.container] : [`${s.container}/${s.prefix}`, `${s.container}/${encodeURI(s.prefix)}`],
  )
  // A listing of the customer's prefix names it only in the query string (`prefix=acme%2F`).
  const listingNeedles = scopes
    .filter((s) => !s.ownsContainer)
    .flatMap((s) => [
      `prefix=${s.prefix}`,
      `prefix=${encodeURIComponent(s.prefix)}`,
      `prefix=${encodeURIComponent(s.prefix).replaceAll('%2F', '%2f')}`,
    ])
  // A numeric id can stand in a record unquoted (`"customerId": 4711`).
  const numberNeedles = isDecimal(customer) ? [customer] : []
  const needles = [
    ...new Set([
      `"${customer}"`,
      ...numberNeedles,
      ...scopeNeedles,
      ...scopeNeedles.map((n) => n.toUpperCase()),
      ...listingNeedles,
    ]),
  ]

  const paths = (
    record: LogRecord,
    fields: readonly string[] = RESOURCE_PATH_FIELDS,
  ): Array<{field: string; path: ResourcePath}> => {
    const serviceType = getString(record, 'properties.serviceType')
    if (serviceType !== undefined && serviceType.toLowerCase() !== 'blob') return []
    const out: Array<{field: string; path: ResourcePath}> = []
    for (const field of fields) {
      const value = getString(record, field)
      if (!value) continue
      const path = parseResourcePath(field, value)
      if (path) out.push({field, path})
    }

    return out
  }

  return {
    customer,
    customerFields,
    scopes,
    needles,
    anchors: [...new Set([customer, customer.toUpperCase()])],
    match(record) {
      for (const field of customerFields) {
        if (fieldNamesCustomer(getField(record, field), customer)) return {kind: 'field', field}
      }

      for (const {field, path} of paths(record)) {
        for (const scope of scopes) if (pathInScope(scope, path)) return {kind: 'scope', store: scope.store, field}
      }

      return undefined
    },
    fieldValues(record) {
      const values: string[] = []
      for (const field of customerFields) {
        const value = getField(record, field)
        if (typeof value === 'string' && value !== '') values.push(value)
      }

      return values
    },
    customersInPaths(record) {
      const found = new Set<string>()
      for (const {path} of paths(record, [...RESOURCE_PATH_FIELDS, ...OTHER_PATH_FIELDS])) {
        for (const reader of readers) {
          if (reader.account.toLowerCase() !== path.account.toLowerCase()) continue
          let id: string | undefined
          if (reader.container) id = reader.container.exec(path.container)?.[1]
          else if (reader.sharedContainer === path.container && reader.prefix)
            id = reader.prefix.exec(path.blobName || path.listingPrefix || '')?.[1]
          if (id && idPattern.test(id)) found.add(id)
        }
      }

      return [...found]
    },
  }
}

/** A KQL string literal (JSON's escapes are KQL's for the characters ids and names may hold). */
function kqlString(value: string): string {
  return JSON.stringify(value)
}

/** A column as a string, "" where the table lacks it (`union isfuzzy` tables differ). */
function kqlColumn(name: string): string {
  return `tostring(column_ifexists(${kqlString(name)}, ""))`
}

/**
 * Log Analytics columns a customer field can arrive in: the archive's `properties.*` promoted to a
 * top-level column, as configured and PascalCased (`properties.customerId` → `customerId`,
 * `CustomerId`), which is where {@link getField} finds it in a workspace row.
 */
function kqlFieldColumns(field: string): string[] {
  const last = field.split('.').at(-1) ?? field
  return [...new Set([last, last.charAt(0).toUpperCase() + last.slice(1)])]
}

/** A `.` or `..` segment anywhere in an object key (scope.ts refuses such names). */
const KQL_DOT_SEGMENT = String.raw`@"(^|/)\.\.?(/|$)"`
/** Longest blob name scope.ts accepts. */
const MAX_BLOB_NAME = 1024

/**
 * {@link CustomerSelector.match} as a KQL predicate over a workspace row: a customer field equal to
 * the id (`tostring` renders a number as its decimal form, as the stream rule accepts), or an
 * `ObjectKey` (`/account/container/blob`, StorageBlobLogs) inside one of the customer's scopes —
 * account compared case-insensitively, container exactly, a shared container's prefix
 * case-sensitively and up to its `/` boundary, no `.`/`..` segments, as {@link pathInScope} decides.
 * The stream rule also reads blob URLs and ARM ids; a workspace row names its object in `ObjectKey`,
 * so the query reads that (a listing of a shared prefix names the prefix only in `Uri` and is not
 * selected in the workspace). test/logs/select-kql.test.ts runs the same rows through both.
 */
export function customerKql(selector: Pick<CustomerSelector, 'customer' | 'customerFields' | 'scopes'>): string {
  const fieldClauses = [...new Set(selector.customerFields.flatMap(kqlFieldColumns))].map(
    (column) => `${kqlColumn(column)} == ${kqlString(selector.customer)}`,
  )
  const key = kqlColumn('ObjectKey')
  const scopeClauses = selector.scopes.map((scope) => {
    const head = `/${scope.accountName.toLowerCase()}/`
    const account = `substring(${key}, 0, ${head.length}) =~ ${kqlString(head)}`
    const rest = `substring(${key}, ${head.length})`
    const maxLength = head.length + scope.container.length + 1 + MAX_BLOB_NAME
    const safeName = `strlen(${key}) <= ${maxLength} and not(${key} matches regex ${KQL_DOT_SEGMENT})`
    if (scope.ownsContainer) {
      const container = kqlString(scope.container)
      const inside = kqlString(`${scope.container}/`)
      return `(${account} and (${rest} == ${container} or (${rest} startswith_cs ${inside} and ${safeName})))`
    }

    const prefix = `${scope.container}/${scope.prefix}`
    return `(${account} and ${rest} startswith_cs ${kqlString(prefix)} and strlen(${key}) > ${head.length + prefix.length} and ${safeName})`
  })
  const clauses = [...fieldClauses, ...scopeClauses]
  return clauses.length > 0 ? clauses.join(' or ') : 'false'
}
