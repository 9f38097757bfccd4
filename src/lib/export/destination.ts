/**
 * What the export engine (export.ts) asks of a destination: a folder, an archive, or the exports
 * container. The engine lists, schedules, writes the manifest and the audit trail; a destination
 * only moves one object's bytes and says what it already has from an earlier attempt.
 */
import type {Writable} from 'node:stream'

import type {ObjectReader} from '../stores/kind.js'
import type {DestinationKind, ManifestObject} from './manifest.js'
import type {PlannedObject} from './plan.js'

export interface TransferContext {
  customer: string
  /** reads the objects of a store, whatever its kind */
  reader(store: string): ObjectReader
  /** retries of a broken response stream */
  maxRetryRequests: number
  /** requests in flight at once (--concurrency); a large object may use several for its ranges */
  concurrency: number
  /** bytes moved (for the progress bar) */
  onBytes(n: number): void
}

/** A planned object, and its manifest entry when an earlier attempt already finished it. */
export interface Annotated {
  object: PlannedObject
  reuse?: ManifestObject
}

export interface OpenedDestination {
  /** start of the first attempt */
  startedAt: string
  resumed: boolean
  /** objects finished by earlier attempts (before this run decided what to keep) */
  previousObjects: number
  notes: string[]
}

export interface ExportHeader {
  customer: string
  includeVersions: boolean
  includeSnapshots: boolean
}

export interface ExportDestination<R> {
  readonly kind: DestinationKind
  /** a path or `account/container/prefix`, for messages and the audit trail */
  readonly location: string
  /** how far work may run ahead of the oldest unfinished object */
  window(concurrency: number): number
  open(header: ExportHeader, now: Date): Promise<OpenedDestination>
  /** marks what earlier attempts finished (and drops what no longer matches the listing) */
  annotate(listing: AsyncIterable<PlannedObject>): AsyncIterable<Annotated>
  /** moves one object (in parallel with others); its result is committed in manifest order */
  work(item: Annotated, context: TransferContext, signal: AbortSignal): Promise<R>
  /** the ordered step: returns the object's manifest entry */
  commit(item: Annotated, result: R, context: TransferContext, signal: AbortSignal): Promise<ManifestObject>
  /** where the manifest and SHA256SUMS are written while the export runs */
  manifestSink(): Writable
  sumsSink(): Writable | undefined
  /** makes the finished export visible (renames, uploads); returns where the manifest is */
  finish(context: {
    manifestSha256: string
    expiresOn?: Date
  }): Promise<{manifestLocation: string; link?: {url: string; expiresOn: string}}>
  /** after a failure: removes what must not look finished, keeps what a resume needs */
  abort(error: unknown): Promise<void>
}
