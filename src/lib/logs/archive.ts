/**
 * Streams the records of diagnostic logs that diagnostic settings archive to a storage account:
 *
 *   insights-logs-<category>/resourceId=/SUBSCRIPTIONS/…/y=YYYY/m=MM/d=DD/h=HH/m=00/PT1H.json
 *   insights-logs-signinlogs/tenantId=<id>/y=…/PT1H.json          (Entra ID, second form)
 *   insights-operational-logs/name=default/resourceId=/…/y=…      (old log profiles)
 *
 * The resourceId part varies, so the container is walked with a `/` delimiter and every
 * `y=`/`m=`/`d=`/`h=` level outside the time range is pruned before it is listed further; only
 * hour blobs inside the range (plus the neighbouring hour at each edge, because records are
 * appended as received) are downloaded, one at a time, as streams. Each record is then kept only
 * when its own time lies in the range.
 *
 * Reused by `access report`: import {@link readArchivedRecords} and iterate.
 */
import type {ContainerClient} from '@azure/storage-blob'

import type {AzureClients} from '../azure/clients.js'
import {fromAzureError} from '../errors.js'
import {recordTime, type LogRecord} from './fields.js'
import {newRecordStreamStats, parseRecordStream, type MalformedLine, type RecordStreamStats} from './records.js'

const HOUR_MS = 3_600_000

export interface ReadArchivedRecordsOptions {
  clients: AzureClients
  /** data-map account (blob endpoint URL or connection string) */
  account: string
  container: string
  /** inclusive */
  since: Date
  /** exclusive */
  until: Date
  abortSignal?: AbortSignal
  /** bytes downloaded, as they arrive (progress) */
  onBytes?: (bytes: number) => void
  /** a blob is about to be read */
  onBlob?: (blob: ArchivedBlob) => void
  onMalformed?: (info: MalformedLine) => void
  /** only lines containing one of these strings are parsed (see records.ts); default: every line */
  needles?: readonly string[]
  /** distinctive parts of the needles (see records.ts); a speed hint */
  anchors?: readonly string[]
  /** neighbouring hour blobs read at each edge of the range; default 1 */
  edgeHours?: number
  /** List Blobs page size; default 5000 */
  pageSize?: number
}

export interface ArchivedBlob {
  container: string
  name: string
  /** start of the hour the blob's path names (epoch ms) */
  hour: number
  size: number
}

export interface ArchivedRecord {
  record: LogRecord
  /** the record's text as stored */
  raw: string
  container: string
  blob: string
  /** 1-based line in the blob */
  line: number
  /** the record's own time (epoch ms) */
  time: number
}

export interface ArchiveStats extends RecordStreamStats {
  container: string
  /** false when the container does not exist (no logs of that category yet) */
  exists: boolean
  blobsRead: number
  bytes: number
  /** records yielded (inside the time range) */
  records: number
  /** parsed records whose own time lies outside the range (read from the edge blobs) */
  outOfRange: number
  /** parsed records without a time that parses */
  undated: number
  /** the first few malformed lines, for the report */
  malformedSamples: MalformedLine[]
}

const MAX_SAMPLES = 10

/** An async iterable of records that also reports what it read. */
export interface ArchivedRecordStream extends AsyncIterable<ArchivedRecord> {
  readonly stats: ArchiveStats
}

/**
 * The records of one archive container whose own time lies in [since, until), streamed blob by
 * blob. `stats` is filled in while iterating (malformed lines are counted there, never thrown).
 */
export function readArchivedRecords(options: ReadArchivedRecordsOptions): ArchivedRecordStream {
  const stats: ArchiveStats = {
    ...newRecordStreamStats(),
    container: options.container,
    exists: true,
    blobsRead: 0,
    bytes: 0,
    records: 0,
    outOfRange: 0,
    undated: 0,
    malformedSamples: [],
  }
  return {
    stats,
    [Symbol.asyncIterator]: () => iterate(options, stats)[Symbol.asyncIterator](),
  }
}

async function* iterate(options: ReadArchivedRecordsOptions, stats: ArchiveStats): AsyncGenerator<ArchivedRecord> {
  const since = options.since.getTime()
  const until = options.until.getTime()
  const container = options.clients.blobService(options.account).getContainerClient(options.container)
  const what = `archive container ${options.container} in account ${container.accountName}`
  const onMalformed = (info: MalformedLine) => {
    if (stats.malformedSamples.length < MAX_SAMPLES) stats.malformedSamples.push(info)
    options.onMalformed?.(info)
  }

  try {
    if (!(await container.exists({abortSignal: options.abortSignal}))) {
      stats.exists = false
      return
    }

    for await (const blob of listHourBlobs(
      container,
      hourWindow(options.since, options.until, options.edgeHours ?? 1),
      options,
    )) {
      options.onBlob?.(blob)
      stats.blobsRead++
      const response = await container
        .getBlobClient(blob.name)
        .download(0, undefined, {abortSignal: options.abortSignal, maxRetryRequests: 5})
      const body = response.readableStreamBody
      if (!body) continue
      const counted = countBytes(body as AsyncIterable<Buffer>, (n) => {
        stats.bytes += n
        options.onBytes?.(n)
      })
      for await (const parsed of parseRecordStream(counted, {
        source: `${options.container}/${blob.name}`,
        needles: options.needles,
        anchors: options.anchors,
        stats,
        onMalformed,
      })) {
        const time = recordTime(parsed.record)
        if (time === undefined) {
          stats.undated++
          continue
        }

        if (time < since || time >= until) {
          stats.outOfRange++
          continue
        }

        stats.records++
        yield {
          record: parsed.record,
          raw: parsed.raw,
          container: options.container,
          blob: blob.name,
          line: parsed.line,
          time,
        }
      }
    }
  } catch (error) {
    throw fromAzureError(error, what)
  }
}

async function* countBytes(source: AsyncIterable<Buffer>, onBytes: (n: number) => void): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    onBytes(chunk.length)
    yield chunk
  }
}

/** The hours whose blobs are read: [from, to) in epoch ms, widened by `edgeHours` at each side. */
export function hourWindow(since: Date, until: Date, edgeHours = 1): {from: number; to: number} {
  const first = Math.floor(since.getTime() / HOUR_MS) * HOUR_MS
  const last = Math.floor((until.getTime() - 1) / HOUR_MS) * HOUR_MS
  return {from: first - edgeHours * HOUR_MS, to: last + (edgeHours + 1) * HOUR_MS}
}

const BLOB_HOUR = /(?:^|\/)y=(\d{4})\/m=(\d{2})\/d=(\d{2})\/h=(\d{2})\/m=\d{2}\/[^/]+\.json$/
const PREFIX_DATE = /(?:^|\/)y=(\d{4})\/(?:m=(\d{2})\/(?:d=(\d{2})\/(?:h=(\d{2})\/(?:m=\d{2}\/)?)?)?)?$/

/** The hour (epoch ms, UTC) an archived blob's name says, or undefined when the name has no `y=/m=/d=/h=` part. */
export function hourOfBlobName(name: string): number | undefined {
  const m = BLOB_HOUR.exec(name)
  if (!m) return undefined
  const t = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]))
  return Number.isNaN(t) ? undefined : t
}

/**
 * The time span a listing prefix covers when it ends in a date level (`…/y=2026/`, `…/y=2026/m=11/`,
 * `…/d=22/`, `…/h=10/`), or undefined when it does not (a resourceId level: always descend).
 */
export function spanOfPrefix(prefix: string): {from: number; to: number} | undefined {
  const m = PREFIX_DATE.exec(prefix)
  if (!m) return undefined
  const [y, mo, d, h] = [m[1], m[2], m[3], m[4]].map((v) => (v === undefined ? undefined : Number(v)))
  if (h !== undefined) {
    const from = Date.UTC(y!, mo! - 1, d!, h)
    return {from, to: from + HOUR_MS}
  }

  if (d !== undefined) return {from: Date.UTC(y!, mo! - 1, d), to: Date.UTC(y!, mo! - 1, d + 1)}
  if (mo !== undefined) return {from: Date.UTC(y!, mo - 1, 1), to: Date.UTC(y!, mo, 1)}
  return {from: Date.UTC(y!, 0, 1), to: Date.UTC(y! + 1, 0, 1)}
}

/** Walks the container level by level, pruning date levels outside the window; yields hour blobs in it. */
async function* listHourBlobs(
  container: ContainerClient,
  window: {from: number; to: number},
  options: {abortSignal?: AbortSignal; pageSize?: number; prefix?: string} = {},
): AsyncGenerator<ArchivedBlob> {
  const pages = container
    .listBlobsByHierarchy('/', {prefix: options.prefix || undefined})
    .byPage({maxPageSize: options.pageSize ?? 5000})
  for await (const page of pages) {
    if (options.abortSignal?.aborted) throw options.abortSignal.reason ?? new Error('aborted')
    const prefixes = (page.segment.blobPrefixes ?? []).map((p) => p.name)
    const blobs = page.segment.blobItems.map((b) => ({name: b.name, size: b.properties.contentLength ?? 0}))
    for (const b of blobs) {
      const hour = hourOfBlobName(b.name)
      if (hour !== undefined && hour >= window.from && hour < window.to)
        yield {container: container.containerName, name: b.name, hour, size: b.size}
    }

    for (const prefix of prefixes) {
      const span = spanOfPrefix(prefix)
      if (span && (span.to <= window.from || span.from >= window.to)) continue
      yield* listHourBlobs(container, window, {...options, prefix})
    }
  }
}
