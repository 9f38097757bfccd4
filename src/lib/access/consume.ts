/**
 * The streaming loop every record source goes through: filter (customer), normalise, aggregate.
 * It holds one record at a time; the aggregator keeps only per-principal aggregates. A record that
 * does not count is counted per reason instead, never dropped silently.
 */
import type {AccessAggregator} from './aggregate.js'
import type {RecordPredicate} from './customer.js'
import {isSkipped, type Normalized} from './normalize.js'
import {SKIP_REASONS, type SkipReason, type SkippedRecords} from './types.js'

type Doc = Record<string, unknown>

export interface ConsumeRecordsOptions<T> {
  /** the raw record of an item (default: the item itself) */
  recordOf?: (item: T) => Doc
  /** the shape → event mapping of the source (undefined counts as `not-access-record`) */
  toEvent: (record: Doc) => Normalized | undefined
  /** keep only records for which this is true (`--customer`) */
  filter?: RecordPredicate
  abortSignal?: AbortSignal
}

export interface ConsumeCounts {
  records: number
  inRange: number
  lookback: number
  /** records that did not count, per reason (only reasons that occurred) */
  skipped: Partial<Record<SkipReason, number>>
}

/** Adds `n` records skipped for `reason`. */
export function addSkipped(skipped: Partial<Record<SkipReason, number>>, reason: SkipReason, n = 1): void {
  if (n > 0) skipped[reason] = (skipped[reason] ?? 0) + n
}

/** The skipped counts as a report lists them: in {@link SKIP_REASONS} order, reasons that occurred. */
export function skippedList(skipped: Partial<Record<SkipReason, number>>): SkippedRecords[] {
  return SKIP_REASONS.filter(({reason}) => (skipped[reason] ?? 0) > 0).map(({reason}) => ({
    reason,
    records: skipped[reason]!,
  }))
}

/** Aggregates a stream of raw records; returns how many were read and where they counted. */
export async function consumeRecords<T = Doc>(
  items: AsyncIterable<T> | Iterable<T>,
  aggregator: AccessAggregator,
  options: ConsumeRecordsOptions<T>,
): Promise<ConsumeCounts> {
  const counts: ConsumeCounts = {records: 0, inRange: 0, lookback: 0, skipped: {}}
  const {recordOf, toEvent, filter, abortSignal} = options
  for await (const item of items) {
    const record = recordOf ? recordOf(item) : (item as unknown as Doc)
    counts.records++
    if ((counts.records & 0x3ff) === 0) abortSignal?.throwIfAborted()
    if (filter && !filter(record)) {
      addSkipped(counts.skipped, 'other-customer')
      continue
    }

    const event = toEvent(record)
    if (event === undefined || isSkipped(event)) {
      addSkipped(counts.skipped, event?.skipped ?? 'not-access-record')
      continue
    }

    const where = aggregator.add(event)
    if (where === 'range') counts.inRange++
    else if (where === 'lookback') counts.lookback++
    else addSkipped(counts.skipped, 'outside-range')
  }

  return counts
}
