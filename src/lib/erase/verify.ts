/**
 * Verification after an erase: a final listing of every scope of the customer, with versions,
 * snapshots and soft-deleted items. Live objects are residue (the erase failed for them). Soft-deleted
 * objects are listed with the date on which the service deletes them for good; they count as
 * "retained", not as residue, because no API can remove a soft-deleted base blob before its
 * retention ends — the certificate says so and names the dates.
 */
import type {AzureClients} from '../azure/clients.js'
import type {DataMap} from '../datamap/types.js'
import {fromAzureError} from '../errors.js'
import {listScope, type ScopedBlob} from '../inventory/listing.js'
import type {Scope} from '../scope.js'
import {storeConfigs} from './plan.js'

const DAY_IN_MS = 86_400_000
const MAX_EXAMPLES = 20

export type VerificationResult = 'empty' | 'retained' | 'residue'

/** An object the final listing still finds: the listing's own fields, and when the service lets it go. */
export interface ResidualItem extends Pick<
  ScopedBlob,
  'container' | 'name' | 'kind' | 'snapshot' | 'versionId' | 'size' | 'deletedOn' | 'remainingRetentionDays'
> {
  /** when soft delete's retention ends and the service deletes it for good */
  permanentlyDeletedBy?: string
}

export interface StoreVerification {
  store: string
  container: string
  prefix: string
  result: VerificationResult
  /** objects that are still live (not deleted): residue */
  live: number
  liveBytes: number
  /** soft-deleted objects with a known permanent-deletion date */
  retained: number
  retainedBytes: number
  /** the latest permanent-deletion date of what is retained */
  permanentlyDeletedBy?: string
  /** the container: gone, still there, or kept by container soft delete */
  containerState: 'exists' | 'absent' | 'soft-deleted'
  containerPermanentlyDeletedBy?: string
  /** up to 20 residual objects, live ones first */
  examples: ResidualItem[]
}

export interface ErasureVerification {
  result: VerificationResult
  checkedAt: string
  live: number
  retained: number
  permanentlyDeletedBy?: string
  stores: StoreVerification[]
}

export interface VerifyErasureOptions {
  abortSignal?: AbortSignal
  now?: Date
}

/** Lists every scope again (versions, snapshots, deleted items included) and classifies what is left. */
export async function verifyErasure(
  clients: AzureClients,
  map: DataMap,
  scopes: Scope[],
  options: VerifyErasureOptions = {},
): Promise<ErasureVerification> {
  const now = options.now ?? new Date()
  const accounts = new Map(storeConfigs(map).map(({config}) => [config.name, config.account]))
  const stores: StoreVerification[] = []
  for (const scope of scopes) {
    const account = accounts.get(scope.store)!
    const v: StoreVerification = {
      store: scope.store,
      container: scope.container,
      prefix: scope.prefix,
      result: 'empty',
      live: 0,
      liveBytes: 0,
      retained: 0,
      retainedBytes: 0,
      containerState: 'exists',
      examples: [],
    }
    const liveExamples: ResidualItem[] = []
    const retainedExamples: ResidualItem[] = []
    try {
      for await (const blob of listScope(clients.container(scope, account), scope, {
        versions: true,
        snapshots: true,
        deleted: true,
        abortSignal: options.abortSignal,
      })) {
        const item: ResidualItem = {
          container: blob.container,
          name: blob.name,
          kind: blob.kind,
          ...(blob.snapshot ? {snapshot: blob.snapshot} : {}),
          ...(blob.versionId ? {versionId: blob.versionId} : {}),
          size: blob.size,
          ...(blob.deletedOn ? {deletedOn: blob.deletedOn} : {}),
          ...(blob.remainingRetentionDays !== undefined ? {remainingRetentionDays: blob.remainingRetentionDays} : {}),
        }
        const by = blob.kind === 'deleted' ? permanentDeletionDate(blob.remainingRetentionDays, now) : undefined
        if (by) {
          item.permanentlyDeletedBy = by
          v.retained++
          v.retainedBytes += blob.size
          if (!v.permanentlyDeletedBy || by > v.permanentlyDeletedBy) v.permanentlyDeletedBy = by
          if (retainedExamples.length < MAX_EXAMPLES) retainedExamples.push(item)
        } else {
          v.live++
          v.liveBytes += blob.size
          if (liveExamples.length < MAX_EXAMPLES) liveExamples.push(item)
        }
      }
    } catch (error) {
      if ((error as {statusCode?: number}).statusCode !== 404)
        throw fromAzureError(
          error,
          `container ${scope.container} in account ${scope.accountName} (store ${scope.store})`,
        )
      v.containerState = 'absent'
      if (scope.ownsContainer) await checkDeletedContainer(clients, account, scope, v, now)
    }

    v.examples = [...liveExamples, ...retainedExamples].slice(0, MAX_EXAMPLES)
    v.result = v.live > 0 ? 'residue' : v.retained > 0 || v.containerState === 'soft-deleted' ? 'retained' : 'empty'
    stores.push(v)
  }

  const live = stores.reduce((n, s) => n + s.live, 0)
  const retained = stores.reduce((n, s) => n + s.retained, 0)
  const dates = stores
    .flatMap((s) => [s.permanentlyDeletedBy, s.containerPermanentlyDeletedBy])
    .filter((d): d is string => Boolean(d))
  const result: VerificationResult = stores.some((s) => s.result === 'residue')
    ? 'residue'
    : stores.some((s) => s.result === 'retained')
      ? 'retained'
      : 'empty'
  return {
    result,
    checkedAt: now.toISOString(),
    live,
    retained,
    ...(dates.length > 0 ? {permanentlyDeletedBy: dates.sort().at(-1)} : {}),
    stores,
  }
}

/** Container soft delete keeps a deleted container (and what was in it) for its retention. */
async function checkDeletedContainer(
  clients: AzureClients,
  account: string,
  scope: Scope,
  v: StoreVerification,
  now: Date,
): Promise<void> {
  try {
    for await (const c of clients
      .blobService(account)
      .listContainers({prefix: scope.container, includeDeleted: true})) {
      if (c.name !== scope.container || !c.deleted) continue
      v.containerState = 'soft-deleted'
      const by = permanentDeletionDate(c.properties.remainingRetentionDays, now)
      if (by && (!v.containerPermanentlyDeletedBy || by > v.containerPermanentlyDeletedBy))
        v.containerPermanentlyDeletedBy = by
    }
  } catch (error) {
    throw fromAzureError(error, `deleted containers of account ${scope.accountName} (store ${scope.store})`)
  }
}

/**
 * The day soft delete's retention ends: the service reports the days left as of the listing, so
 * the date is the listing time plus those days (rounded up to the end of that UTC day).
 */
function permanentDeletionDate(remainingRetentionDays: number | undefined, now: Date): string | undefined {
  if (remainingRetentionDays === undefined || !Number.isFinite(remainingRetentionDays)) return undefined
  const day = new Date(now.getTime() + remainingRetentionDays * DAY_IN_MS)
  return new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate(), 23, 59, 59)).toISOString()
}
