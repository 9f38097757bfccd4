/**
 * Reading and deleting a customer's entities with `@azure/data-tables`, keeping what the service
 * sent: every page's JSON body is taken as it came (through the operation's `onResponse`), so an
 * entity keeps its `odata.etag` and its `Property@odata.type` annotations (Edm.Int64, Edm.DateTime,
 * Edm.Guid, Edm.Binary) exactly; the SDK's deserialised copy is not used. Paging follows the
 * service's continuation headers (`x-ms-continuation-NextPartitionKey` / `-NextRowKey`, sent back as
 * `NextPartitionKey` / `NextRowKey`), which the SDK carries from page to page; the recorded wire in
 * test/stores/table/recorded.test.ts pins that.
 */
import {createHash} from 'node:crypto'

import {isRestError, type RestError} from '@azure/core-rest-pipeline'
import type {TableClient, TransactionAction} from '@azure/data-tables'

import {inTarget, type TableTarget} from './types.js'

/** One entity as the service returned it. */
export interface RawEntity {
  PartitionKey: string
  RowKey: string
  Timestamp?: string
  'odata.etag'?: string
  [property: string]: unknown
}

export interface ListEntitiesOptions {
  abortSignal?: AbortSignal
  /** only these properties (keys, Timestamp and the etag always come) */
  select?: string[]
  /** entities per page (the service's maximum is 1000) */
  maxPageSize?: number
}

/** Whether an error says the table does not exist. */
function isTableNotFound(error: unknown): boolean {
  return isRestError(error) && error.statusCode === 404 && (error.code === 'TableNotFound' || !error.code)
}

/**
 * The customer's entities, one page at a time, as the service returned them. A missing table
 * yields nothing (`exists` is then false on the returned handle). An entity outside the target —
 * which the filter cannot return — stops the listing: custos never acts on what its scope rejects.
 */
export function listEntityPages(
  client: TableClient,
  target: TableTarget,
  options: ListEntitiesOptions = {},
): {pages: AsyncGenerator<RawEntity[]>; exists: () => boolean} {
  let exists = true
  async function* pages(): AsyncGenerator<RawEntity[]> {
    let body: string | undefined
    const iterator = client
      .listEntities({
        abortSignal: options.abortSignal,
        queryOptions: {
          ...(target.filter ? {filter: target.filter} : {}),
          ...(options.select ? {select: ['PartitionKey', 'RowKey', 'Timestamp', ...options.select]} : {}),
        },
        onResponse(raw) {
          body = raw.bodyAsText ?? undefined
        },
      })
      .byPage({maxPageSize: options.maxPageSize ?? 1000})
    try {
      for await (const page of iterator) {
        const value = body === undefined ? [] : ((JSON.parse(body) as {value?: RawEntity[]}).value ?? [])
        if (value.length !== page.length)
          throw new Error(`the page's body holds ${value.length} entities, the SDK read ${page.length}`)
        body = undefined
        for (const entity of value) {
          if (!inTarget(target, entity))
            throw new Error(
              `the service returned an entity outside the scope ${target.scope} (PartitionKey "${entity.PartitionKey}", RowKey "${entity.RowKey}")`,
            )
        }

        yield value
      }
    } catch (error) {
      if (!isTableNotFound(error)) throw error
      exists = false
    }
  }

  return {pages: pages(), exists: () => exists}
}

/** Timestamps come with 7 or 6 (or fewer) fractional digits; padded to 7 they compare as strings. */
export function normalizeTimestamp(timestamp: string): string {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(timestamp)
  if (!m) return timestamp
  return `${m[1]}.${(m[2] ?? '').padEnd(7, '0')}Z`
}

/** What a listing of the customer's entities adds up to (the plan's and the guard's view). */
export interface EntitySummary {
  entities: number
  partitions: number
  /** approximate bytes: the entities' JSON as the service sent it */
  bytes: number
  /** the newest Timestamp (normalised), absent without entities */
  newest?: string
  /** SHA-256 over every entity's PartitionKey, RowKey and etag, in listing order */
  content: string
}

export class EntityDigest {
  private readonly hash = createHash('sha256')
  private readonly partitionSet = new Set<string>()
  entities = 0
  bytes = 0
  newest?: string

  add(entity: RawEntity): void {
    this.entities++
    this.bytes += Buffer.byteLength(JSON.stringify(entity))
    this.partitionSet.add(entity.PartitionKey)
    this.hash.update(
      JSON.stringify([entity.PartitionKey, entity.RowKey, entity['odata.etag'] ?? entity.Timestamp ?? '']),
    )
    this.hash.update('\n')
    const ts = entity.Timestamp === undefined ? undefined : normalizeTimestamp(entity.Timestamp)
    if (ts !== undefined && (this.newest === undefined || ts > this.newest)) this.newest = ts
  }

  result(): EntitySummary {
    return {
      entities: this.entities,
      partitions: this.partitionSet.size,
      bytes: this.bytes,
      ...(this.newest === undefined ? {} : {newest: this.newest}),
      content: this.hash.digest('hex'),
    }
  }
}

/** What one entity group transaction did. */
export interface BatchOutcome {
  deleted: number
  /** entities already gone (404 for one operation: the rest was retried without it) */
  gone: number
  /** the table itself is gone */
  tableGone: boolean
}

/**
 * The index of the failed operation in a changeset: the service answers a failed entity group
 * transaction with a single sub-response whose message starts with that index (`0:The table
 * specified does not exist.`; tables/batch-suberror-response.multipart).
 */
function failedOperationIndex(error: RestError): number | undefined {
  const m = /^(\d+):/.exec(error.message)
  return m ? Number(m[1]) : undefined
}

/**
 * Deletes up to 100 entities of one partition in one entity group transaction. A transaction is all
 * or nothing; when one operation fails because its entity is already gone (deleted by an earlier,
 * killed run or by someone else), the transaction is sent again without it — only for what is left.
 */
export async function deleteEntityBatch(
  client: TableClient,
  entities: readonly RawEntity[],
  options: {abortSignal?: AbortSignal} = {},
): Promise<BatchOutcome> {
  if (entities.length === 0) return {deleted: 0, gone: 0, tableGone: false}
  if (entities.length > 100) throw new Error('an entity group transaction holds at most 100 operations')
  if (new Set(entities.map((e) => e.PartitionKey)).size !== 1)
    throw new Error('an entity group transaction stays in one partition')
  let left = [...entities]
  let gone = 0
  while (left.length > 0) {
    const actions: TransactionAction[] = left.map((e) => ['delete', {partitionKey: e.PartitionKey, rowKey: e.RowKey}])
    try {
      await client.submitTransaction(actions, {abortSignal: options.abortSignal})
      return {deleted: left.length, gone, tableGone: false}
    } catch (error) {
      if (!isRestError(error) || error.statusCode !== 404) throw error
      if (error.code === 'TableNotFound') return {deleted: 0, gone: gone + left.length, tableGone: true}
      const index = failedOperationIndex(error)
      if (index === undefined || index >= left.length) throw error
      left = left.filter((_, i) => i !== index)
      gone++
    }
  }

  return {deleted: 0, gone, tableGone: false}
}
