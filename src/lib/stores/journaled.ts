/**
 * The erase part the row-holding kinds (PostgreSQL, Table storage) share: a plan section with one
 * entry per store, the guard verdict of a store's plan check, the journaled apply of one store
 * (skip a store an earlier run finished, count the rows earlier runs deleted, journal each
 * committed batch before the next, then the store's `database` line), the verification summed
 * over the stores, and the certificate's per-store sections. What a kind does to one store is the
 * kind's ({@link RowStoreEraser}); the loops over the stores are here.
 */
import type {CertificateDatabase} from '../erase/certificate-document.js'
import type {GuardVerdict} from '../erase/guards.js'
import type {Journal, JournalDatabase} from '../erase/journal.js'
import {CustosError, ExitCode, refusedError} from '../errors.js'
import type {ErasePart, EraseRun, GuardRun, KindVerification, PlanSection, Residual} from './kind.js'

/** What one row-holding kind does to one of its stores in an erase. */
export interface RowStoreEraser<C extends {name: string}, P extends ErasePlanOfStore> {
  kind: 'postgresql' | 'table'
  customer: string
  /** the data map's stores of this kind */
  stores: readonly C[]
  /** how verdicts and refusals name a store: `database`, `table store` */
  noun: string
  /** what the guard says of a store whose check passed */
  unchanged: string
  plan(store: C, options: {abortSignal?: AbortSignal}): Promise<P>
  /** refuses (exit 3) when the store no longer holds what the plan lists */
  check(store: C, plan: P, run: GuardRun): Promise<void>
  /** the progress label of a store's deletes */
  applyLabel(plan: P): string
  /** deletes the plan's rows, calling `onBatch` after each committed batch; `vacuum` where the kind has one */
  apply(
    store: C,
    plan: P,
    run: EraseRun,
    onBatch: (batch: RowBatch) => Promise<void>,
  ): Promise<Pick<JournalDatabase, 'method' | 'statements' | 'alreadyGone'> & {vacuum?: JournalDatabase['vacuum']}>
  /** counts afresh what is left of the customer in the store */
  remaining(store: C, plan: P, options: {abortSignal?: AbortSignal}): Promise<{rows: number; exists?: boolean}>
  /** what still holds the erased rows elsewhere (a server's backups); none when absent */
  residual?(store: C, erasedAt: Date): Promise<Residual>
  certificate(
    store: C,
    plan: P,
    journal: Journal,
    verification: KindVerification['stores'][number],
  ): CertificateDatabase
}

/** What every row-holding kind's plan of one store carries. */
interface ErasePlanOfStore {
  store: string
  customer: string
  rows: number
}

/** A kind's erase part from what it does to one store. */
export function journaledErase<C extends {name: string}, P extends ErasePlanOfStore>(
  eraser: RowStoreEraser<C, P>,
): ErasePart {
  const plans = (section: PlanSection | undefined) => (section?.stores ?? []) as unknown as P[]
  const byName = new Map(eraser.stores.map((s) => [s.name, s]))
  /** The data map's entry a plan names; refuses (exit 3) a plan this data map and customer do not have. */
  const configOf = (plan: P): C => {
    const config = byName.get(plan.store)
    if (!config || plan.customer !== eraser.customer)
      throw refusedError(
        'PlanMismatch',
        `The plan names ${eraser.noun} ${plan.store} of customer ${plan.customer}, which this data map and customer do not have.`,
        'Nothing was deleted. Make a new plan with the current data map.',
      )
    return config
  }

  return {
    async plan(options) {
      const stores: P[] = []
      for (const store of eraser.stores) {
        options.abortSignal?.throwIfAborted()
        stores.push(await eraser.plan(store, options))
      }

      return {kind: eraser.kind, stores: stores as unknown as PlanSection['stores']}
    },

    async guard(section, run) {
      const verdicts: GuardVerdict[] = []
      if (run.planOnly) return verdicts // made just now; compared again when it is applied
      for (const plan of plans(section)) {
        const store = configOf(plan)
        verdicts.push(
          await planGuard(`${eraser.noun} ${plan.store}`, () => eraser.check(store, plan, run), eraser.unchanged),
        )
      }

      return verdicts
    },

    async apply(section, run) {
      for (const plan of plans(section)) {
        const store = configOf(plan)
        await applyJournaled(run, plan, eraser.applyLabel(plan), async (onBatch) => {
          // the store's journal line: only these fields, whatever else the kind's result carries
          const {method, statements, alreadyGone, vacuum} = await eraser.apply(store, plan, run, onBatch)
          return {method, statements, alreadyGone, vacuum: vacuum ?? {requested: false, ran: false, skipped: []}}
        })
      }
    },

    async verify(section, options) {
      const stores: KindVerification['stores'] = []
      for (const plan of plans(section)) {
        const left = await eraser.remaining(configOf(plan), plan, options)
        stores.push({
          store: plan.store,
          result: left.rows > 0 ? 'residue' : 'empty',
          live: left.rows,
          exists: left.exists,
        })
      }

      return verificationOf(stores)
    },

    async residuals(section, erasedAt) {
      const residuals: Residual[] = []
      if (eraser.residual)
        for (const plan of plans(section)) residuals.push(await eraser.residual(configOf(plan), erasedAt))
      return residuals
    },

    certificate: (section, journal, verification) => ({
      databases: plans(section).map((plan) =>
        eraser.certificate(
          configOf(plan),
          plan,
          journal,
          verification.stores.find((s) => s.store === plan.store)!,
        ),
      ),
    }),
  }
}

/** The fingerprint verdict of one store: a refusal (exit 3) of `check` becomes a failing verdict. */
async function planGuard(what: string, check: () => Promise<void>, passes: string): Promise<GuardVerdict> {
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
async function applyJournaled(
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
function verificationOf(stores: KindVerification['stores']): KindVerification {
  const live = stores.reduce((n, s) => n + s.live, 0)
  return {result: live > 0 ? 'residue' : 'empty', live, checkedAt: new Date().toISOString(), stores}
}
