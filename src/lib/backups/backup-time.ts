/**
 * When a backup was taken. Read from the date in its path (`dateFrom`), else from a metadata field
 * (`dateMetadata`), and only then from Last-Modified — so that history copied or seeded later (and
 * Azurite, where Last-Modified is always "now") keeps its real dates.
 */
import {compileDateTemplate, placeholdersIn} from '../datamap/placeholders.js'
import type {BackupSetConfig} from '../datamap/types.js'
import {parseTime} from '../duration.js'
import type {ScopedBlob} from '../inventory/listing.js'

export type BackupTimeSource = 'path' | 'metadata' | 'last-modified'

export interface BackupTime {
  time: Date
  source: BackupTimeSource
}

type Granularity = 'hour' | 'day' | 'month' | 'year'

function granularityOf(template: string): Granularity {
  const tokens = placeholdersIn(template)
  if (tokens.includes('HH')) return 'hour'
  if (tokens.includes('dd')) return 'day'
  if (tokens.includes('MM')) return 'month'
  return 'year'
}

/** The first instant after the period that starts at `start`. */
function periodEnd(start: Date, granularity: Granularity): Date {
  const d = new Date(start)
  if (granularity === 'hour') d.setUTCHours(d.getUTCHours() + 1)
  else if (granularity === 'day') d.setUTCDate(d.getUTCDate() + 1)
  else if (granularity === 'month') d.setUTCMonth(d.getUTCMonth() + 1)
  else d.setUTCFullYear(d.getUTCFullYear() + 1)
  return d
}

/** The value of metadata `key`, matched case-insensitively (the service keeps the case it was given). */
export function metadataValue(blob: ScopedBlob, key: string): string | undefined {
  if (!blob.metadata) return undefined
  if (key in blob.metadata) return blob.metadata[key]
  const lower = key.toLowerCase()
  for (const [k, v] of Object.entries(blob.metadata)) if (k.toLowerCase() === lower) return v
  return undefined
}

/**
 * A metadata time: ISO 8601 with a zone (read by the one time parser, src/lib/duration.ts), or an
 * HTTP date (`Tue, 10 Nov 2026 02:00:00 GMT`). A time without a zone is not read — in the host's
 * zone it would date a backup differently on every machine — and the next source is used instead.
 */
function parseMetadataTime(text: string | undefined): Date | undefined {
  if (!text) return undefined
  try {
    // No clock: `now` and relative times (`-24h`) come out as an invalid date, which is refused too.
    const date = parseTime(text, new Date(Number.NaN))
    return Number.isNaN(date.getTime()) ? undefined : date
  } catch {
    if (!/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(text.trim())) return undefined
    const date = new Date(text.trim())
    return Number.isNaN(date.getTime()) ? undefined : date
  }
}

/**
 * A reader of backup times for one customer of one backup set. A path date is only as precise as
 * its template (`{yyyy}-{MM}-{dd}` means a day); when the metadata time or Last-Modified falls inside
 * that period it is used instead, so that a backup made at 02:00 counts from 02:00, not midnight.
 */
export function backupTimeReader(
  set: Pick<BackupSetConfig, 'dateFrom' | 'dateMetadata'>,
  customer: string,
): (blob: ScopedBlob) => BackupTime {
  const fromPath = set.dateFrom ? compileDateTemplate(set.dateFrom, customer) : undefined
  const granularity = set.dateFrom ? granularityOf(set.dateFrom) : 'day'
  return (blob) => {
    const metadataTime = set.dateMetadata ? parseMetadataTime(metadataValue(blob, set.dateMetadata)) : undefined
    const lastModified = new Date(blob.lastModified)
    const pathTime = fromPath?.(blob.name)
    if (pathTime) {
      const end = periodEnd(pathTime, granularity)
      for (const finer of [metadataTime, lastModified]) {
        if (finer && finer >= pathTime && finer < end) return {time: finer, source: 'path'}
      }

      return {time: pathTime, source: 'path'}
    }

    if (metadataTime) return {time: metadataTime, source: 'metadata'}
    return {time: lastModified, source: 'last-modified'}
  }
}
