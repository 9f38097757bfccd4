/**
 * The apply journal `<plan>.journal.jsonl`: append-only JSON Lines, one line per finished batch
 * (its id, store, every item key, the request ids, the outcome counts and each failure), plus a
 * `start` line per run and lines for container deletions and the key. A run that is killed resumes
 * from it without re-planning: batches already journaled are not sent again, and only the items
 * that failed are retried. A line cut short by a kill is ignored.
 *
 * Batch ids are deterministic (`<phase>-<n>`, counting batches of the plan in order), so the same
 * plan always cuts into the same batches. A retry of failed items is journaled under the id of the
 * batch they came from, with `"retry": true`, and supersedes the failures it lists.
 *
 * The framing is the one of every custos journal (output/jsonl-journal.ts): a header line
 * `{"type": "custos.erase-journal", "formatVersion": 1, "fingerprint": …}` — journals written before
 * it existed have none and stay readable — a torn last line cut off on resume, and every line
 * `fdatasync`ed before the next batch is sent.
 */
import type {BlobKind} from '../inventory/listing.js'
import {refusedError, type CustosError} from '../errors.js'
import {JsonlJournal} from '../output/jsonl-journal.js'
import {keyString, type ItemKey} from './plan.js'

/**
 * The passes over the plan, in order: `snapshots` by snapshot id (before their base blobs, so that
 * each is counted as deleted rather than found gone), `blobs` (base blobs, with any snapshot left),
 * `versions` by version id (after the base blobs, whose current versions become previous ones),
 * `purge` (soft-deleted snapshots and versions, where soft delete was seen).
 */
export type DeletePhase = 'snapshots' | 'blobs' | 'versions' | 'purge'
export const PHASES: readonly DeletePhase[] = ['snapshots', 'blobs', 'versions', 'purge']

/** How one delete sub-request addresses its object. */
export type OpMode = 'base' | 'snapshot' | 'version'

/** One delete sub-request derived from a plan item. */
export interface DeleteOp {
  store: string
  container: string
  name: string
  snapshot?: string
  versionId?: string
  mode: OpMode
  /** `deletetype=permanent`: purge a soft-deleted snapshot or version */
  permanent: boolean
  size: number
  /** true for the op that removes its plan item (counts towards items and bytes); false for follow-ups */
  primary: boolean
  /** kind of the plan item */
  kind: BlobKind
}

/**
 * Outcome counts of one batch. "Primary" ops remove a plan item; follow-ups finish what a primary
 * op started (the former current version of a versioned blob, the purge of what soft delete kept).
 * For every store: planned items = deleted + gone + retained + failed primaries + soft-deleted base
 * blobs (which no API can remove before their retention ends).
 */
export interface BatchStats {
  /** plan items removed by this run (including those soft delete now keeps) */
  deleted: number
  deletedBytes: number
  /** plan items already gone (404), e.g. deleted by an interrupted run */
  gone: number
  goneBytes: number
  /** plan items (soft-deleted snapshots or versions) whose permanent deletion the service refused */
  retained: number
  retainedBytes: number
  /** deletes answered `x-ms-delete-type-permanent: false`: soft delete keeps the object for its retention */
  softDeleted: number
  /** soft-deleted snapshots and versions removed for good (`deletetype=permanent`) */
  purged: number
  /** follow-up purges the service refused (soft delete keeps those until retention ends) */
  purgeRefused: number
  /** follow-up deletes done (former current versions) */
  followUps: number
}

export interface JournalFailure {
  key: ItemKey
  mode: OpMode
  permanent: boolean
  primary: boolean
  kind: BlobKind
  size: number
  status?: number
  code?: string
  message?: string
}

export interface JournalBatch {
  type: 'batch'
  id: string
  phase: DeletePhase
  store: string
  container: string
  retry?: true
  time: string
  requestIds: string[]
  keys: ItemKey[]
  stats: BatchStats
  failed: JournalFailure[]
  retained: Array<{key: ItemKey; status: number; code?: string}>
}

export interface JournalContainer {
  type: 'container'
  store: string
  container: string
  result: 'deleted' | 'kept' | 'absent'
  reason?: string
  requestId?: string
  time: string
}

/** Rows a database store's batch deleted (committed), journaled before the next batch starts. */
export interface JournalRows {
  type: 'rows'
  store: string
  /** `schema.table` */
  table: string
  deleted: number
  time: string
}

/** A database store finished: how, and whether VACUUM ran. */
export interface JournalDatabase {
  type: 'database'
  store: string
  method: string
  statements: number
  alreadyGone: boolean
  vacuum: {requested: boolean; ran: boolean; skipped: string[]}
  time: string
}

export interface JournalStart {
  type: 'start'
  fingerprint: string
  operationId: string
  time: string
  pid: number
}

type JournalLine =
  JournalBatch | JournalContainer | JournalStart | JournalRows | JournalDatabase | {type: string; [k: string]: unknown}

export function emptyStats(): BatchStats {
  return {
    deleted: 0,
    deletedBytes: 0,
    gone: 0,
    goneBytes: 0,
    retained: 0,
    retainedBytes: 0,
    softDeleted: 0,
    purged: 0,
    purgeRefused: 0,
    followUps: 0,
  }
}

/** What the journal says about one store so far (for the certificate and for resuming). */
export interface StoreProgress {
  store: string
  stats: BatchStats
  batches: number
  requestIds: string[]
  /** soft delete was seen in this store (a delete answered `x-ms-delete-type-permanent: false`) */
  softDeleteSeen: boolean
  /** up to 50 examples of items whose permanent deletion was refused */
  retainedExamples: Array<{key: ItemKey; status: number; code?: string}>
  container?: JournalContainer
}

const MAX_EXAMPLES = 50

/** The header's `type` (journals written before it existed start with a `start` line instead). */
const ERASE_JOURNAL_FORMAT = 'custos.erase-journal'

export function journalPathFor(planPath: string): string {
  return `${planPath}.journal.jsonl`
}

export class Journal {
  /** ids of batches already journaled (not retries) */
  readonly finished = new Set<string>()
  /** the certificates earlier runs of this plan wrote (`finished` lines), as written there */
  readonly certificates = new Set<string>()
  /** failures not yet superseded by a successful retry, by phase+store+key */
  readonly unresolved = new Map<
    string,
    JournalFailure & {phase: DeletePhase; store: string; container: string; batch: string}
  >()
  readonly stores = new Map<string, StoreProgress>()
  /** database stores: rows deleted per table over every run of this plan */
  readonly rows = new Map<string, Map<string, number>>()
  /** database stores finished (their last `database` line) */
  readonly databases = new Map<string, JournalDatabase>()
  /** batch lines read from an earlier run */
  resumedBatches = 0
  /** the customer key's fate as an earlier run of this plan recorded it (its last `key` line) */
  priorKey?: {state: string; time: string; scheduledPurgeDate?: string}
  /** failures left by earlier runs: retried once at the start of their phase */
  private readonly prior = new Map<
    string,
    JournalFailure & {phase: DeletePhase; store: string; container: string; batch: string}
  >()
  private batchesThisRun = 0

  private constructor(
    readonly path: string,
    private readonly file: JsonlJournal,
  ) {}

  /**
   * Opens (or creates) the journal of a plan, reads what earlier runs did, and appends a `start`
   * line. Refuses when the journal belongs to another plan (another fingerprint), changing nothing.
   */
  static async open(path: string, fingerprint: string, operationId: string): Promise<Journal> {
    // each line on disk before the next batch goes: a line is the record that its deletes happened
    const file = await JsonlJournal.open(path, {
      format: ERASE_JOURNAL_FORMAT,
      formatVersion: 1,
      header: {fingerprint},
      durability: 'each-line',
    })
    if (file.header && file.header.fingerprint !== fingerprint) throw journalMismatch(path, file.header.fingerprint)
    const journal = new Journal(path, file)
    try {
      // a journal written before the header line existed says its plan in every `start` line
      for await (const {value} of file.lines()) {
        if (value === undefined) continue // a line cut short by a kill; the batch it described will be sent again
        const line = value as JournalLine
        if (line.type === 'start' && (line as JournalStart).fingerprint !== fingerprint)
          throw journalMismatch(path, (line as JournalStart).fingerprint)
        journal.apply(line)
        if (line.type === 'batch' && !(line as JournalBatch).retry) journal.resumedBatches++
      }

      for (const [k, f] of journal.unresolved) journal.prior.set(k, f)
      await file.beginAppending()
      await journal.write({type: 'start', fingerprint, operationId, time: new Date().toISOString(), pid: process.pid})
    } catch (error) {
      await file.close()
      throw error
    }

    return journal
  }

  get resumed(): boolean {
    return this.resumedBatches > 0
  }

  /** Batches journaled by this process. */
  get batchesWritten(): number {
    return this.batchesThisRun
  }

  progress(store: string): StoreProgress {
    let p = this.stores.get(store)
    if (!p) {
      p = {store, stats: emptyStats(), batches: 0, requestIds: [], softDeleteSeen: false, retainedExamples: []}
      this.stores.set(store, p)
    }

    return p
  }

  /** Failures an earlier run left in one phase, grouped by the batch they came from (to retry). */
  priorFailures(phase: DeletePhase): Map<string, Array<JournalFailure & {store: string; container: string}>> {
    const groups = new Map<string, Array<JournalFailure & {store: string; container: string}>>()
    for (const f of this.prior.values()) {
      if (f.phase !== phase) continue
      const list = groups.get(f.batch) ?? []
      list.push(f)
      groups.set(f.batch, list)
    }

    return groups
  }

  async appendBatch(line: JournalBatch): Promise<void> {
    this.apply(line)
    this.batchesThisRun++
    await this.write(line)
  }

  /** Rows deleted in a database store (each committed batch). */
  async appendRows(line: JournalRows): Promise<void> {
    this.apply(line)
    this.batchesThisRun++
    await this.write(line)
  }

  async appendDatabase(line: JournalDatabase): Promise<void> {
    this.apply(line)
    await this.write(line)
  }

  async appendContainer(line: JournalContainer): Promise<void> {
    this.apply(line)
    await this.write(line)
  }

  async append(line: {type: string; [k: string]: unknown}): Promise<void> {
    await this.write(line)
  }

  async close(): Promise<void> {
    await this.file.close()
  }

  private apply(line: JournalLine): void {
    if (line.type === 'batch') {
      const b = line as JournalBatch
      const p = this.progress(b.store)
      if (!b.retry) this.finished.add(b.id)
      p.batches++
      p.requestIds.push(...b.requestIds)
      for (const k of Object.keys(p.stats) as Array<keyof BatchStats>) p.stats[k] += b.stats[k] ?? 0
      if (b.stats.softDeleted > 0) p.softDeleteSeen = true
      if (b.retry) for (const key of b.keys) this.unresolved.delete(failureKey(b.phase, b.store, key))
      for (const f of b.failed)
        this.unresolved.set(failureKey(b.phase, b.store, f.key), {
          ...f,
          phase: b.phase,
          store: b.store,
          container: b.container,
          batch: b.id,
        })
      for (const r of b.retained) if (p.retainedExamples.length < MAX_EXAMPLES) p.retainedExamples.push(r)
    } else if (line.type === 'rows') {
      const r = line as unknown as JournalRows
      const tables = this.rows.get(r.store) ?? new Map<string, number>()
      tables.set(r.table, (tables.get(r.table) ?? 0) + r.deleted)
      this.rows.set(r.store, tables)
    } else if (line.type === 'database') {
      const d = line as unknown as JournalDatabase
      this.databases.set(d.store, d)
    } else if (line.type === 'container') {
      const c = line as JournalContainer
      this.progress(c.store).container = c
    } else if (line.type === 'key') {
      this.priorKey = line as unknown as {state: string; time: string; scheduledPurgeDate?: string}
    } else if (line.type === 'finished' && typeof line.certificate === 'string') {
      this.certificates.add(line.certificate)
    }
  }

  private write(line: object): Promise<void> {
    return this.file.append(line)
  }
}

function journalMismatch(path: string, fingerprint: unknown): CustosError {
  return refusedError(
    'JournalMismatch',
    `The journal ${path} belongs to another plan (fingerprint ${String(fingerprint).slice(0, 12)}…).`,
    'Nothing was deleted. Move the old journal away, or pass the plan it belongs to.',
  )
}

function failureKey(phase: DeletePhase, store: string, key: ItemKey): string {
  return `${phase}|${keyString(store, key)}`
}
