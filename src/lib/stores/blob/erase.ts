/**
 * Blob containers' part of an erase (../kind.ts ErasePart): the plan is the listing written line by
 * line into the plan file (erase/plan.ts); the guards compare holds and the listing with it
 * (erase/guards.ts); apply sends the deletes in Blob Batch requests phase by phase (erase/batch.ts)
 * and then deletes each container per customer once it is empty; verification lists every scope
 * again (erase/verify.ts).
 */
import type {AzureClients} from '../../azure/clients.js'
import type {DataMap} from '../../datamap/types.js'
import {fromAzureError} from '../../errors.js'
import {runPhase, type PhaseContext} from '../../erase/batch.js'
import {checkFingerprintGuard, checkHoldGuard, type GuardVerdict} from '../../erase/guards.js'
import {PHASES, type Journal, type JournalBatch} from '../../erase/journal.js'
import {readPlanItems, storeConfigs} from '../../erase/plan.js'
import {verifyErasure, type ErasureVerification} from '../../erase/verify.js'
import {listScope} from '../../inventory/listing.js'
import {tracked} from '../../output/progress.js'
import {scopesOf, type Scope} from '../../scope.js'
import type {ErasePart, EraseRun, GuardRun} from '../kind.js'

export class BlobErasePart implements ErasePart {
  private readonly scopes: Scope[]

  constructor(
    private readonly clients: AzureClients,
    private readonly map: DataMap,
    customer: string,
  ) {
    this.scopes = scopesOf(map, customer)
  }

  async plan(): Promise<undefined> {
    return undefined // the listing is the plan (writePlan)
  }

  async guard(_section: undefined, run: GuardRun): Promise<GuardVerdict[]> {
    const verdicts = [
      await checkHoldGuard(this.clients, this.map, this.scopes, readPlanItems(run.plan.path), {
        abortSignal: run.abortSignal,
      }),
    ]
    if (run.planOnly) {
      verdicts.push({guard: 'fingerprint', ok: true, skipped: true, message: 'checked when the plan is applied'})
    } else if (verdicts.some((v) => !v.ok)) {
      verdicts.push({guard: 'fingerprint', ok: true, skipped: true, message: 'not checked (refused already)'})
    } else if (run.plan.fresh) {
      verdicts.push({
        guard: 'fingerprint',
        ok: true,
        message: `plan made by this run (fingerprint ${run.plan.summary.trailer.fingerprint.slice(0, 12)}…)`,
      })
    } else {
      const progress = run.progress('Comparing with the plan', run.plan.summary.trailer.items)
      verdicts.push(
        await tracked(progress, () =>
          checkFingerprintGuard(this.clients, this.map, this.scopes, run.plan.path, run.plan.summary, {
            resumed: run.plan.resumed,
            abortSignal: run.abortSignal,
            onItem: () => progress.increment(1, 1),
          }),
        ),
      )
    }

    return verdicts
  }

  async apply(_section: undefined, run: EraseRun): Promise<void> {
    await this.deleteEverything(run)
    const configs = storeConfigs(this.map)
    for (const [i, scope] of this.scopes.entries()) {
      if (scope.ownsContainer && run.plan.summary.header.stores[i].exists)
        await this.deleteOwnedContainer(scope, configs[i].config.account, run.journal, run.abortSignal)
    }
  }

  verify(_section: undefined, options: {abortSignal?: AbortSignal}): Promise<ErasureVerification> {
    return verifyErasure(this.clients, this.map, this.scopes, options)
  }

  async residuals(): Promise<[]> {
    return [] // what soft delete keeps is in the verification, with its dates
  }

  certificate(): Record<string, never> {
    return {} // the blob stores' section is built from the plan and the journal (erase/certificate.ts)
  }

  private async deleteEverything(run: EraseRun): Promise<void> {
    const {summary} = run.plan
    const unpurgeable = summary.trailer.stores.reduce((n, s) => n + s.unpurgeable, 0)
    const progress = run.progress(`Erasing ${run.customer}`, summary.trailer.items - unpurgeable)
    const softStores = new Set(summary.trailer.stores.filter((s) => s.softDeleted > 0).map((s) => s.store))
    const ctx: PhaseContext = {
      clients: this.clients,
      planPath: run.plan.path,
      journal: run.journal,
      scopes: new Map(this.scopes.map((s) => [s.store, s])),
      accounts: new Map(storeConfigs(this.map).map(({config}) => [config.name, config.account])),
      softStores,
      concurrency: run.concurrency,
      submit: {
        maxTries: run.retries,
        retryDelayInMs: this.clients.retry.retryDelayInMs,
        maxRetryDelayInMs: this.clients.retry.maxRetryDelayInMs,
        abortSignal: run.abortSignal,
      },
      onBatch: (line: JournalBatch) => progress.increment(primaryDone(line), primaryDone(line)),
      onSkip: (ops) => {
        const n = ops.filter((op) => op.primary).length
        progress.increment(n, n)
      },
      afterBatch: () => run.batchJournaled(),
    }
    await tracked(progress, async () => {
      for (const phase of PHASES) {
        if (phase === 'purge')
          for (const p of run.journal.stores.values()) if (p.softDeleteSeen) softStores.add(p.store)
        await runPhase(ctx, phase)
      }
    })
  }

  /** Deletes a container-per-customer container once nothing live is left in it. */
  private async deleteOwnedContainer(
    scope: Scope,
    account: string,
    journal: Journal,
    signal: AbortSignal,
  ): Promise<void> {
    if (!scope.ownsContainer) return // a shared container is never deleted
    if (journal.progress(scope.store).container?.result === 'deleted') return
    const container = this.clients.container(scope, account)
    const base = {
      type: 'container' as const,
      store: scope.store,
      container: scope.container,
      time: new Date().toISOString(),
    }
    let live = 0
    try {
      for await (const blob of listScope(container, scope, {
        versions: true,
        snapshots: true,
        deleted: true,
        pageSize: 50,
        abortSignal: signal,
      })) {
        if (blob.kind !== 'deleted') {
          live++
          break
        }
      }
    } catch (error) {
      if ((error as {statusCode?: number}).statusCode === 404)
        return journal.appendContainer({...base, result: 'absent'})
      throw fromAzureError(error, `container ${scope.container} in account ${scope.accountName} (store ${scope.store})`)
    }

    if (live > 0) return journal.appendContainer({...base, result: 'kept', reason: 'live objects remain in it'})
    try {
      const response = await container.delete({abortSignal: signal})
      await journal.appendContainer({
        ...base,
        result: 'deleted',
        ...(response.requestId ? {requestId: response.requestId} : {}),
      })
    } catch (error) {
      if ((error as {statusCode?: number}).statusCode === 404)
        return journal.appendContainer({...base, result: 'absent'})
      throw fromAzureError(error, `container ${scope.container} in account ${scope.accountName} (store ${scope.store})`)
    }
  }
}

function primaryDone(line: JournalBatch): number {
  return line.stats.deleted + line.stats.gone + line.stats.retained + line.failed.filter((f) => f.primary).length
}
