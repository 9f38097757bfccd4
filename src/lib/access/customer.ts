/**
 * `--customer`: which records concern one customer. A record does when one of the data map's
 * `logs.customerFields` holds the customer id, or when it names an object inside one of the
 * customer's scopes (a storage log's `properties.objectKey`, an activity-log event on the customer's
 * own container). The scope decision is the one of src/lib/scope.ts, so `acme` never matches `acme-corp`.
 */
import type {DataMap} from '../datamap/types.js'
import {getField} from '../logs/fields.js'
import {isInScope, scopesOf, type Scope} from '../scope.js'

type Doc = Record<string, unknown>

export type RecordPredicate = (record: Doc) => boolean

/** `/account/container/blob/name` → parts, or undefined. */
function splitObjectKey(key: string): {account: string; container: string; blob: string} | undefined {
  const m = /^\/([^/]+)\/([^/]+)\/(.+)$/.exec(key)
  return m ? {account: m[1].toLowerCase(), container: m[2], blob: m[3]} : undefined
}

/** The predicate for `customer` (checked against customers.idPattern by scopesOf). */
export function customerPredicate(map: DataMap, customer: string): RecordPredicate {
  const scopes: Scope[] = scopesOf(map, customer)
  const fields = map.logs?.customerFields ?? ['properties.customerId', 'properties.tenantId']
  const ownContainers = new Set(
    scopes.filter((s) => s.ownsContainer).map((s) => `${s.accountName.toLowerCase()}/${s.container}`),
  )
  return (record) => {
    for (const path of fields) {
      const value = getField(record, path)
      if ((typeof value === 'string' || typeof value === 'number') && String(value) === customer) return true
    }

    const props = record.properties as Doc | undefined
    const objectKey = typeof props?.objectKey === 'string' ? splitObjectKey(props.objectKey) : undefined
    if (objectKey) {
      return scopes.some(
        (s) => s.accountName.toLowerCase() === objectKey.account && isInScope(s, objectKey.container, objectKey.blob),
      )
    }

    const resourceId = typeof record.resourceId === 'string' ? record.resourceId : undefined
    if (resourceId && ownContainers.size > 0) {
      const m = /\/storageAccounts\/([^/]+)\/blobServices\/default\/containers\/([^/]+)/i.exec(resourceId)
      if (m && ownContainers.has(`${m[1].toLowerCase()}/${m[2]}`)) return true
    }

    return false
  }
}
