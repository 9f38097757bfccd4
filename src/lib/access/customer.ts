/**
 * `--customer`: which records concern one customer. The rule is logs/select.ts's, the one the log
 * bundle uses (customer fields, objects inside the customer's scopes, `/` boundaries), so an
 * incident package that holds an access report and a log bundle selected both the same way.
 */
import type {DataMap} from '../datamap/types.js'
import {customerSelector} from '../logs/select.js'

type Doc = Record<string, unknown>

export type RecordPredicate = (record: Doc) => boolean

/** The predicate for `customer` (checked against customers.idPattern first). */
export function customerPredicate(map: DataMap, customer: string): RecordPredicate {
  const selector = customerSelector(map, customer)
  return (record) => selector.match(record) !== undefined
}
