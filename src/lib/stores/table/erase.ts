/**
 * Erasing a customer's entities from Table storage: plan, guard, apply, remaining.
 *
 * The plan counts the customer's entities and pins them with a fingerprint: a SHA-256 over every
 * entity's PartitionKey, RowKey and etag, plus the newest Timestamp. The service sets Timestamp
 * (and the etag) on every insert and update, so "nothing newer than the plan's newest Timestamp"
 * means no entity was added or changed since; that is what makes a resumed run safe: what is left
 * after a killed run is a subset of the plan (fewer entities, none newer), anything else is a
 * fingerprint mismatch (exit 3). The same test runs on every entity again just before its batch is
 * sent, so a write that lands between the guard and the delete is refused, not deleted.
 *
 * Apply deletes in entity group transactions of up to 100 entities of one partition, each committed
 * transaction journaled before the next is sent; a re-run lists what is left and deletes that. A
 * table per customer is deleted whole, after the same check.
 */
import {createHash} from 'node:crypto'

import type {TableClient, TableServiceClient} from '@azure/data-tables'

import {refusedError} from '../../errors.js'
import {deleteEntityBatch, EntityDigest, listEntityPages, normalizeTimestamp, type RawEntity} from './entities.js'
import {tableTargetOf, type TableDatabaseConfig, type TableIsolation} from './types.js'

/** One table store's section of the erase plan (the plan header carries it, fingerprinted). */
export interface TableErasePlan {
  store: string
  customer: string
  table: string
  isolation: TableIsolation
  partitionKey?: string
  rowKeyPrefix?: string
  method: 'entity-group-transactions' | 'delete-table'
  /** whether the table existed when planned */
  exists: boolean
  /** entities planned (the certificate's and the progress bar's "rows") */
  rows: number
  partitions: number
  bytes: number
  newest?: string
  /** SHA-256 over the entities' keys and etags */
  content: string
  fingerprint: string
  createdAt: string
}

type PlanBody = Omit<TableErasePlan, 'fingerprint' | 'createdAt'>

function fingerprintOf(plan: PlanBody): string {
  return createHash('sha256')
    .update(
      JSON.stringify([
        plan.store,
        plan.customer,
        plan.table,
        plan.isolation,
        plan.partitionKey ?? null,
        plan.rowKeyPrefix ?? null,
        plan.method,
        plan.exists,
        plan.rows,
        plan.newest ?? null,
        plan.content,
      ]),
    )
    .digest('hex')
}

async function summarize(
  client: TableClient,
  config: TableDatabaseConfig,
  customer: string,
  abortSignal?: AbortSignal,
) {
  const target = tableTargetOf(config, customer)
  const digest = new EntityDigest()
  const listing = listEntityPages(client, target, {abortSignal})
  for await (const page of listing.pages) for (const entity of page) digest.add(entity)
  return {target, exists: listing.exists(), ...digest.result()}
}

/** Lists what erase would delete, with a fingerprint. Changes nothing. */
export async function planTableErase(
  client: TableClient,
  config: TableDatabaseConfig,
  customer: string,
  options: {abortSignal?: AbortSignal} = {},
): Promise<TableErasePlan> {
  const s = await summarize(client, config, customer, options.abortSignal)
  const body: PlanBody = {
    store: config.name,
    customer,
    table: s.target.table,
    isolation: s.target.isolation,
    ...(s.target.partitionKey === undefined ? {} : {partitionKey: s.target.partitionKey}),
    ...(s.target.rowKeyPrefix === undefined ? {} : {rowKeyPrefix: s.target.rowKeyPrefix}),
    method: s.target.isolation === 'table' ? 'delete-table' : 'entity-group-transactions',
    exists: s.exists,
    rows: s.entities,
    partitions: s.partitions,
    bytes: s.bytes,
    ...(s.newest === undefined ? {} : {newest: s.newest}),
    content: s.content,
  }
  return {...body, fingerprint: fingerprintOf(body), createdAt: new Date().toISOString()}
}

function mismatch(plan: TableErasePlan, why: string): Error {
  return refusedError(
    'PlanMismatch',
    `Table ${plan.table} of store ${plan.store} no longer holds what the plan lists: ${why}.`,
    'Nothing of this store was deleted. Make a new plan (and a new export) and erase with it.',
  )
}

/** Whether an entity was written after the plan (its Timestamp is newer than the plan's newest). */
function newerThanPlan(plan: TableErasePlan, entity: RawEntity): boolean {
  if (entity.Timestamp === undefined) return true
  return plan.newest === undefined || normalizeTimestamp(entity.Timestamp) > plan.newest
}

/**
 * The fingerprint guard, before anything of any store is deleted: throws PlanMismatch (exit 3) when
 * entities were added or changed since the plan (fewer, left by an interrupted run, pass), or the
 * plan is not this store's. Changes nothing.
 */
export async function checkTablePlan(
  client: TableClient,
  config: TableDatabaseConfig,
  plan: TableErasePlan,
  options: {abortSignal?: AbortSignal} = {},
): Promise<void> {
  const {fingerprint, createdAt, ...body} = plan
  void createdAt
  if (fingerprintOf(body) !== fingerprint)
    throw refusedError(
      'PlanTampered',
      `The plan's fingerprint of store ${plan.store} does not match its content; make a new plan.`,
    )
  const target = tableTargetOf(config, plan.customer)
  if (target.table !== plan.table || target.isolation !== plan.isolation)
    throw mismatch(plan, `the data map now maps ${target.scope}`)
  const now = await summarize(client, config, plan.customer, options.abortSignal)
  if (now.content === plan.content && now.entities === plan.rows) return
  if (now.entities > plan.rows) throw mismatch(plan, `${now.entities - plan.rows} more entities than planned`)
  if (now.newest !== undefined && (plan.newest === undefined || now.newest > plan.newest))
    throw mismatch(
      plan,
      `an entity was added or changed at ${now.newest}, after the plan's newest (${plan.newest ?? 'none'})`,
    )
}

export interface TableBatch {
  table: string
  deleted: number
}

export interface ApplyTableEraseOptions {
  abortSignal?: AbortSignal
  /** after each committed entity group transaction (journal it before the next is sent) */
  onBatch(batch: TableBatch): Promise<void>
}

/** What apply did beyond the batches. */
export interface TableApplyResult {
  method: TableErasePlan['method']
  /** transactions sent in this run, or 1 for the table's deletion */
  statements: number
  /** the table was already gone (deleted by an earlier run of this plan) */
  alreadyGone: boolean
  /** entities that were already gone when their transaction was sent */
  gone: number
}

/** Deletes what the plan lists and is still there. Safe to run again after a kill. */
export async function applyTableErase(
  client: TableClient,
  service: TableServiceClient,
  config: TableDatabaseConfig,
  plan: TableErasePlan,
  options: ApplyTableEraseOptions,
): Promise<TableApplyResult> {
  const target = tableTargetOf(config, plan.customer)
  if (plan.method === 'delete-table') {
    // the check again, right before the table goes: a write since the guard is refused, not deleted
    const now = await summarize(client, config, plan.customer, options.abortSignal)
    if (!now.exists) return {method: plan.method, statements: 0, alreadyGone: true, gone: 0}
    if (
      now.entities > plan.rows ||
      (now.newest !== undefined && (plan.newest === undefined || now.newest > plan.newest))
    )
      throw mismatch(plan, 'an entity was added or changed after the plan')
    await service.deleteTable(target.table, {abortSignal: options.abortSignal})
    await options.onBatch({table: target.table, deleted: now.entities})
    return {method: plan.method, statements: 1, alreadyGone: false, gone: 0}
  }

  let statements = 0
  let gone = 0
  const listing = listEntityPages(client, target, {abortSignal: options.abortSignal, select: []})
  for await (const page of listing.pages) {
    // a page is deleted before the next is read: the continuation points past it, so deleting
    // what lies behind does not move it
    const partitions = new Map<string, RawEntity[]>()
    for (const entity of page) {
      if (newerThanPlan(plan, entity))
        throw mismatch(
          plan,
          `entity PartitionKey "${entity.PartitionKey}", RowKey "${entity.RowKey}" was written at ${entity.Timestamp ?? '?'}, after the plan`,
        )
      const list = partitions.get(entity.PartitionKey) ?? []
      list.push(entity)
      partitions.set(entity.PartitionKey, list)
    }

    for (const entities of partitions.values()) {
      for (let i = 0; i < entities.length; i += 100) {
        options.abortSignal?.throwIfAborted()
        const outcome = await deleteEntityBatch(client, entities.slice(i, i + 100), {abortSignal: options.abortSignal})
        if (outcome.tableGone) return {method: plan.method, statements, alreadyGone: statements === 0, gone}
        statements++
        gone += outcome.gone
        if (outcome.deleted > 0) await options.onBatch({table: target.table, deleted: outcome.deleted})
      }
    }
  }

  return {method: plan.method, statements, alreadyGone: !listing.exists() && plan.exists, gone}
}

/** What is left of the customer, counted afresh. */
export async function remainingEntities(
  client: TableClient,
  config: TableDatabaseConfig,
  customer: string,
  options: {abortSignal?: AbortSignal} = {},
): Promise<{entities: number; exists: boolean}> {
  const target = tableTargetOf(config, customer)
  let entities = 0
  const listing = listEntityPages(client, target, {abortSignal: options.abortSignal, select: []})
  for await (const page of listing.pages) entities += page.length
  return {entities, exists: listing.exists()}
}
