/**
 * Scope safety. Every module that lists, copies or deletes customer data asks this module — and
 * only this module — whether a customer id is acceptable and whether a blob belongs to a customer.
 */
import {parseAccount} from './azure/account.js'
import {expandCustomer} from './datamap/placeholders.js'
import type {DataMap, StoreConfig} from './datamap/types.js'
import {CustosError, ExitCode, refusedError} from './errors.js'

/** Characters a customer id may ever contain, whatever `idPattern` says. */
const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/
const MAX_ID_LENGTH = 63

/**
 * Checks a customer id before anything else happens. Rejects the empty string, wildcards, path
 * separators, `..`, whitespace, percent-escapes, non-ASCII look-alikes and anything the data map's
 * `idPattern` does not match. Throws a usage error (exit 2) naming the id.
 */
export function assertCustomerId(id: string, idPattern: string): string {
  const shown = id.length > 80 ? `${JSON.stringify(id.slice(0, 40))}… (${id.length} characters)` : JSON.stringify(id)
  const reject = (why: string) =>
    new CustosError(`Customer id ${shown} is not acceptable: ${why}.`, {
      code: 'InvalidCustomerId',
      exitCode: ExitCode.usage,
      hint: `Customer ids must match customers.idPattern (${idPattern}).`,
    })
  if (id.length === 0) throw reject('it is empty')
  if (id.length > MAX_ID_LENGTH) throw reject(`it is longer than ${MAX_ID_LENGTH} characters`)
  if (/\s/.test(id)) throw reject('it contains whitespace')
  if (id.includes('..')) throw reject('it contains ".."')
  if (/[/\\]/.test(id)) throw reject('it contains a path separator')
  if (/[*?[\]{}%]/.test(id)) throw reject('it contains a wildcard, brace or percent sign')
  // eslint-disable-next-line no-control-regex
  if (/[^\u0000-\u007F]/.test(id)) throw reject('it contains non-ASCII characters')
  if (!SAFE_ID.test(id)) throw reject('it contains characters other than letters, digits, ".", "_" and "-"')
  if (!new RegExp(idPattern).test(id)) throw reject(`it does not match customers.idPattern`)
  return id
}

/** Azure's rule for container names: 3-63 lower-case letters, digits and single hyphens, no hyphen at either end. */
export function isValidContainerName(name: string): boolean {
  return /^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/.test(name)
}

/** Where one customer's data lives in one store or backup set. */
export interface Scope {
  customer: string
  store: string
  /** blob endpoint of the account */
  endpoint: string
  accountName: string
  container: string
  /** blob-name prefix ('' for a whole container); always ends with '/' when not empty */
  prefix: string
  /** true when the container belongs to this customer alone (container-per-customer layout) */
  ownsContainer: boolean
}

/** The scope of `customer` (already checked with {@link assertCustomerId}) in `store`. */
export function scopeOf(store: StoreConfig, customer: string): Scope {
  const account = parseAccount(store.account)
  const container = expandCustomer(store.container, customer)
  const prefix = expandCustomer(store.prefix ?? '', customer)
  if (!isValidContainerName(container)) {
    throw new CustosError(
      `Store ${store.name}: container name "${container}" for customer ${customer} is not a valid container name.`,
      {
        code: 'InvalidContainerName',
        exitCode: ExitCode.usage,
        hint: 'Container names are 3-63 lower-case letters, digits and single hyphens; adjust customers.idPattern or the container template.',
      },
    )
  }

  return {
    customer,
    store: store.name,
    endpoint: account.endpoint,
    accountName: account.name,
    container,
    prefix,
    ownsContainer: store.container.includes('{customer}'),
  }
}

/** Every scope of a customer: stores first, then backup sets. */
export function scopesOf(map: DataMap, customer: string, options: {backups?: boolean} = {}): Scope[] {
  assertCustomerId(customer, map.customers.idPattern)
  const stores: StoreConfig[] = [...map.stores, ...(options.backups === false ? [] : map.backups)]
  return stores.map((s) => scopeOf(s, customer))
}

/**
 * The one decision "is this blob inside this customer's scope". The container must be the scope's
 * container exactly, and the name must start with the scope's prefix, which always ends at a `/`
 * boundary (so `acme/` never matches `acme-corp/…`). Names that could escape a folder are refused.
 */
export function isInScope(scope: Scope, container: string, blobName: string): boolean {
  if (container !== scope.container) return false
  if (blobName.length === 0 || blobName.length > 1024) return false
  if (hasDotSegment(blobName)) return false
  if (scope.prefix !== '') {
    if (!scope.prefix.endsWith('/')) return false
    if (!blobName.startsWith(scope.prefix)) return false
    if (blobName.length === scope.prefix.length) return false
  }

  return true
}

/**
 * A `.` or `..` path segment: a request URL for `acme/../acme-corp/x` resolves to `acme-corp/x`
 * (the SDK's own clients do so), so such a name could never be addressed as itself.
 */
function hasDotSegment(blobName: string): boolean {
  return blobName.split('/').some((segment) => segment === '.' || segment === '..')
}

/** Throws a refusal (exit 3) naming the customer, the store and the item when a name is outside the scope. */
export function assertInScope(scope: Scope, container: string, blobName: string): void {
  if (!isInScope(scope, container, blobName)) {
    const why = hasDotSegment(blobName) ? ' (a "." or ".." segment, which a URL resolves to another name)' : ''
    throw refusedError(
      'OutOfScope',
      `Refused: ${container}/${blobName} is outside the scope of customer ${scope.customer} in store ${scope.store} (${scope.container}/${scope.prefix})${why}.`,
      'Nothing was changed for this item. The plan or journal may have been altered; make a new plan.',
    )
  }
}

/** A printable description of a scope, for messages and tables. */
export function describeScope(scope: Scope): string {
  return `${scope.accountName}/${scope.container}/${scope.prefix}`
}
