/**
 * The erase steps the row-holding kinds (PostgreSQL, Table storage) share: the guard verdict of a
 * store's plan check, the journaled apply of one store (skip a store an earlier run finished,
 * count the rows earlier runs deleted, journal each committed batch before the next, then the
 * store's `database` line), and the verification summed over the stores.
 */
import type {GuardVerdict} from '../erase/guards.js'
import type {JournalDatabase} from '../erase/journal.js'
import {CustosError, ExitCode} from '../errors.js'
import type {EraseRun, KindVerification} from './kind.js'

/** The fingerprint verdict of one store: a refusal (exit 3) of `check` becomes a failing verdict. */
export async function planGuard(what: string, check: () => Promise<void>, passes: string): Promise<GuardVerdict> {
  try {
    await check()
    return {guard: 'fingerprint', ok: true, message: `${what}: ${passes}`}
  } catch (error) {
    if (!(error instanceof CustosError) || error.exitCode !== ExitCode.refused) throw error
    return {guard: 'fingerprint', ok: false, message: `${what}: ${error.message}`}
  }
}

/** A committed batch of one store's rows (or entities). */
export interface RowBatch {
  table: string
  deleted: number
}

/** Applies one store's plan, journaled; nothing when an earlier run of the plan finished the store. */
export async function applyJournaled(
  run: EraseRun,
  plan: {store: string; rows: number},
  label: string,
  erase: (onBatch: (batch: RowBatch) => Promise<void>) => Promise<Omit<JournalDatabase, 'type' | 'store' | 'time'>>,
): Promise<void> {
  if (run.journal.databases.has(plan.store)) return
  const progress = run.progress(label, plan.rows)
  const already = [...(run.journal.rows.get(plan.store)?.values() ?? [])].reduce((n, r) => n + r, 0)
  progress.increment(already, already)
  try {
    const done = await erase(async (batch) => {
      await run.journal.appendRows({
        type: 'rows',
        store: plan.store,
        table: batch.table,
        deleted: batch.deleted,
        time: new Date().toISOString(),
      })
      progress.increment(batch.deleted, batch.deleted)
      await run.batchJournaled()
    })
    await run.journal.appendDatabase({type: 'database', store: plan.store, ...done, time: new Date().toISOString()})
  } finally {
    progress.stop()
  }
}

/** A kind's verification from what is left per store. */
export function verificationOf(stores: KindVerification['stores']): KindVerification {
  const live = stores.reduce((n, s) => n + s.live, 0)
  return {result: live > 0 ? 'residue' : 'empty', live, checkedAt: new Date().toISOString(), stores}
}
