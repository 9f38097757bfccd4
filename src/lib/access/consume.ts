/**
 * The streaming loop every record source goes through: filter (customer), normalise, aggregate.
 * It holds one record at a time; the aggregator keeps only per-principal aggregates.
 */
import type {AccessAggregator} from './aggregate.js'
import type {RecordPredicate} from './customer.js'
import type {AccessEvent} from './types.js'

type Doc = Record<string, unknown>

export interface ConsumeRecordsOptions<T> {
  /** the raw record of an item (default: the item itself) */
  recordOf?: (item: T) => Doc
  /** the shape → event mapping of the source */
  toEvent: (record: Doc) => AccessEvent | undefined
  /** keep only records for which this is true (`--customer`) */
  filter?: RecordPredicate
  abortSignal?: AbortSignal
}

export interface ConsumeCounts {
  records: number
  inRange: number
  lookback: number
}

/** Aggregates a stream of raw records; returns how many were read and where they counted. */
export async function consumeRecords<T = Doc>(
  items: AsyncIterable<T> | Iterable<T>,
  aggregator: AccessAggregator,
  options: ConsumeRecordsOptions<T>,
): Promise<ConsumeCounts> {
  const counts: ConsumeCounts = {records: 0, inRange: 0, lookback: 0}
  const {recordOf, toEvent, filter, abortSignal} = options
  for await (const item of items) {
    const record = recordOf ? recordOf(item) : (item as unknown as Doc)
    counts.records++
    if ((counts.records & 0x3ff) === 0) abortSignal?.throwIfAborted()
    if (filter && !filter(record)) continue
    const event = toEvent(record)
    if (!event) continue
    const where = aggregator.add(event)
    if (where === 'range') counts.inRange++
    else if (where === 'lookback') counts.lookback++
  }

  return counts
}
