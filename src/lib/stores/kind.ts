/**
 * The store seam: what one kind of store (blob containers, PostgreSQL databases, …) does for one
 * customer. `customer inventory`, `customer export` and `customer erase` (and the deletion
 * certificate it writes) iterate over the kinds of the data map (kinds.ts) and call these
 * operations; none of them asks which kind it holds.
 *
 * A kind answers for all of its stores at once, because some work is cheaper across stores (blob
 * deletes go out in Blob Batch requests that may mix stores) and some must be done together (one
 * database snapshot covers all of a server's tables).
 *
 * What a new kind (Azure SQL, Cosmos DB, …) implements is exactly this interface; README.md,
 * "Store kinds", says what each operation must guarantee.
 */
import type {Writable} from 'node:stream'

import type {BlobClient} from '@azure/storage-blob'

import type {CertificateDatabase} from '../erase/certificate-document.js'
import type {GuardVerdict} from '../erase/guards.js'
import type {Journal} from '../erase/journal.js'
import type {PlanSummary} from '../erase/plan.js'
import type {ErasureVerification} from '../erase/verify.js'
import type {ExportStore, PlannedObject, StoreSummary} from '../export/plan.js'
import type {VerifiedDigest} from '../evidence/digests.js'
import type {DownloadOptions, RangedDownloadOptions} from '../export/transfer.js'
import type {StoreInventory} from '../inventory/blob-scope.js'
import type {DatabaseInventory} from '../inventory/inventory.js'
import type {ScopedBlob} from '../inventory/listing.js'
import type {Progress} from '../output/progress.js'

export type StoreKindName = 'blob' | 'postgresql' | 'table'

/** Reads the bytes of one exported object, verified (size and the kind's own hash). */
export interface ObjectReader {
  /** a small object into memory; nothing is returned when it does not verify */
  toBuffer(object: PlannedObject, options: DownloadOptions): Promise<{data: Buffer; digest: VerifiedDigest}>
  /** streams the object into `sink` (which it ends) and verifies it at the end */
  toStream(object: PlannedObject, sink: Writable, options: DownloadOptions): Promise<VerifiedDigest>
  /** a large object into a file with parallel range reads (kinds that can) */
  toFileRanged?(object: PlannedObject, path: string, options: RangedDownloadOptions): Promise<VerifiedDigest>
  /** the blob a storage service can copy from (server-side exports); kinds without one are uploaded */
  copySource?(object: PlannedObject): {account: string; client: BlobClient}
}

/** What one kind adds to `customer inventory`. */
export interface InventoryPart {
  stores?: StoreInventory[]
  databases?: DatabaseInventory[]
}

export interface KindInventoryOptions {
  abortSignal?: AbortSignal
  /** called after each listed blob (progress) */
  onObject?: (blob: ScopedBlob) => void
}

export interface KindExportOptions {
  includeVersions: boolean
  includeSnapshots: boolean
  /** refuse names that are not safe as local paths (every destination except server-side) */
  localPaths: boolean
  /** also refuse what a folder on this machine cannot hold */
  folder: boolean
  /** a dry run: count, never read the data */
  dryRun: boolean
  abortSignal?: AbortSignal
  /** receives every object in manifest order; the transfer reads them in this order */
  onObject?: (object: PlannedObject) => void | Promise<void>
  /** the time the export's snapshot is taken (files that have no time of their own carry it) */
  now: Date
  /** a private folder for files a kind stages before the transfer (removed with the export's spool) */
  staging?: string
}

/**
 * One kind's stores in the export: their manifest entries, the listing (everything the export
 * will hold, counted and checked before anything is written), and a reader for the objects.
 */
export interface ExportPart {
  stores(): ExportStore[]
  list(options: KindExportOptions): Promise<StoreSummary[]>
  reader(store: string): ObjectReader
  /** removes what `list` staged (temporary files); called once the export ended, however it ended */
  close(): Promise<void>
}

/** One kind's verification after an erase: what is left. */
export interface KindVerification {
  /** `residue`: something of the customer is still there */
  result: ErasureVerification['result']
  /** live items (blobs) or rows still found */
  live: number
  checkedAt: string
  /** per store, as the certificate shows it */
  stores: Array<{store: string; result: ErasureVerification['result']; live: number; exists?: boolean}>
}

/** What an erased store still holds elsewhere, and until when (never estimated, never "gone"). */
export interface Residual {
  store: string
  /** `point-in-time-restore`: a database server's own backups */
  kind: 'point-in-time-restore'
  /** where: a server */
  holder: string
  /** ISO time after which the residual no longer holds the customer's data; absent when it cannot be read */
  until?: string
  statement: string
  retentionDays?: number
  geoRedundant?: boolean
}

/**
 * A kind's section of an erase plan: what it will delete, in a form that is fingerprinted with the
 * plan (the plan header carries it; the plan's fingerprint covers it). Blob containers have none:
 * their plan is the listing itself, one line per object (erase/plan.ts).
 */
export interface PlanSection {
  kind: StoreKindName
  /** one entry per store, each with its own fingerprint */
  stores: Array<{store: string; fingerprint: string; [field: string]: unknown}>
}

/** The plan file an erase works from (a blob kind's plan is its item lines there). */
export interface ErasePlanFile {
  path: string
  summary: PlanSummary
  /** made by this run (no guard needs to compare it with the stores again) */
  fresh: boolean
  /** an earlier run of this plan journaled batches */
  resumed: boolean
}

/** What an erase run gives a kind's guard. */
export interface GuardRun {
  plan: ErasePlanFile
  /** only planning (--dry-run, --plan-out): what the apply compares is not compared now */
  planOnly?: boolean
  abortSignal?: AbortSignal
  progress(label: string, total?: number): Progress
}

/** What an erase run gives a kind's apply step. */
export interface EraseRun {
  customer: string
  plan: ErasePlanFile
  concurrency: number
  retries: number
  journal: Journal
  abortSignal: AbortSignal
  /** progress of this kind's deletes */
  progress(label: string, total?: number): Progress
  note(text: string): void
  /** after each journaled batch (the crash and lock tests hold or kill a run there) */
  batchJournaled(): Promise<void>
  /** VACUUM emptied tables afterwards (database kinds; the certificate says whether it ran) */
  vacuum: boolean
}

/** A kind's section of the deletion certificate. */
export interface CertificatePart {
  databases?: CertificateDatabase[]
}

/** One kind's part of an erase: plan, guard, apply, verify, residuals, certificate. */
export interface ErasePart {
  /** lists what will be deleted (changes nothing); undefined for kinds whose plan is the blob listing */
  plan(options: {abortSignal?: AbortSignal}): Promise<PlanSection | undefined>
  /** refuses (exit 3) when the stores no longer hold what the plan lists; before anything is deleted */
  guard(section: PlanSection | undefined, run: GuardRun): Promise<GuardVerdict[]>
  /** deletes what the plan lists, journaling each batch; a re-run after a kill converges */
  apply(section: PlanSection | undefined, run: EraseRun): Promise<void>
  /** counts what is left, afresh */
  verify(section: PlanSection | undefined, options: {abortSignal?: AbortSignal}): Promise<KindVerification>
  /** what still holds the erased data elsewhere (backups), and until when */
  residuals(section: PlanSection | undefined, erasedAt: Date): Promise<Residual[]>
  certificate(section: PlanSection | undefined, journal: Journal, verification: KindVerification): CertificatePart
}

export interface StoreKind {
  readonly kind: StoreKindName
  /** the data map's stores of this kind, in the order the kind processes them */
  readonly names: readonly string[]
  /** the checks every command runs before it reads or writes anything (a database's catalog) */
  check(options: {abortSignal?: AbortSignal}): Promise<void>
  inventory(options: KindInventoryOptions): Promise<InventoryPart>
  export(): ExportPart
  erase(): ErasePart
}
