/**
 * The guards of secure erase. Each returns a verdict; {@link refuseUnlessAllPass} turns failing
 * verdicts into one refusal (exit 3) that lists them all. Nothing here deletes anything.
 */
import {createInterface} from 'node:readline/promises'

import type {AzureClients} from '../azure/clients.js'
import {AuditTrail, type AuditRecord} from '../audit/trail.js'
import type {DataMap} from '../datamap/types.js'
import {formatDuration, parseDurationInMs} from '../duration.js'
import {fromAzureError, refusedError} from '../errors.js'
import {canonicalJson} from '../evidence/canonical.js'
import type {Scope} from '../scope.js'
import {
  isHeld,
  listCustomerItems,
  planItemLine,
  readPlanItems,
  storeConfigs,
  type PlanItem,
  type PlanSummary,
} from './plan.js'

export type GuardName = 'export' | 'holds' | 'fingerprint'

export interface GuardVerdict {
  guard: GuardName
  /** true: passes; false: refuses; skipped guards pass with `skipped` set */
  ok: boolean
  skipped?: boolean
  message: string
  details?: string[]
}

const MAX_LISTED = 20

// ------------------------------------------------------------------------------------ export

export interface ExportGuardOptions {
  /** false with --no-export-required */
  required: boolean
  now?: Date
}

/** Refuses unless a verified export of the customer finished within `erase.exportWindow`. */
export async function checkExportGuard(
  clients: AzureClients,
  map: DataMap,
  customer: string,
  options: ExportGuardOptions,
): Promise<GuardVerdict> {
  const windowInMs = parseDurationInMs(map.erase.exportWindow)
  if (!options.required)
    return {guard: 'export', ok: true, skipped: true, message: 'not required (--no-export-required)'}
  const now = options.now ?? new Date()
  const trail = new AuditTrail(clients, {signer: null})
  const latest: AuditRecord | undefined = await trail.findLatest(
    (r) =>
      r.action === 'export' &&
      r.result === 'succeeded' &&
      r.customer === customer &&
      (r.details as {verified?: unknown} | undefined)?.verified === true,
  )
  if (!latest) {
    return {
      guard: 'export',
      ok: false,
      message: `no verified export of ${customer} is recorded in the audit trail (${trail.location})`,
      details: ['Run `custos customer export` first, or pass --no-export-required if the customer waived its copy.'],
    }
  }

  const age = now.getTime() - new Date(latest.time).getTime()
  if (age > windowInMs) {
    return {
      guard: 'export',
      ok: false,
      message: `the last verified export of ${customer} finished ${formatDuration(age)} ago (${latest.time}), outside erase.exportWindow (${map.erase.exportWindow})`,
      details: ['Export again, or pass --no-export-required if the customer waived its copy.'],
    }
  }

  return {
    guard: 'export',
    ok: true,
    message: `verified export finished ${latest.time} (audit record ${latest.seq}), within ${map.erase.exportWindow}`,
  }
}

// ------------------------------------------------------------------------------------- holds

export interface HoldGuardOptions {
  now?: Date
  abortSignal?: AbortSignal
}

/**
 * Refuses when any planned item is under a legal hold or an unexpired immutability policy (from the
 * listing), or when a container of the customer carries a legal hold or immutability policy (from
 * the resource manager, for stores with a `resourceId`).
 */
export async function checkHoldGuard(
  clients: AzureClients,
  map: DataMap,
  scopes: Scope[],
  items: AsyncIterable<PlanItem>,
  options: HoldGuardOptions = {},
): Promise<GuardVerdict> {
  const now = options.now ?? new Date()
  const details: string[] = []
  let held = 0
  for await (const item of items) {
    if (!isHeld(item, now)) continue
    held++
    if (details.length < MAX_LISTED)
      details.push(
        `${item.store}: ${item.container}/${item.name}${item.versionId ? ` (version ${item.versionId})` : item.snapshot ? ` (snapshot ${item.snapshot})` : ''}: ${describeHold(item)}`,
      )
  }

  if (held > MAX_LISTED) details.push(`… and ${held - MAX_LISTED} more held item(s)`)
  const configs = new Map(storeConfigs(map).map(({config}) => [config.name, config]))
  let containersHeld = 0
  let containersChecked = 0
  for (const scope of scopes) {
    const resourceId = configs.get(scope.store)?.resourceId
    if (!resourceId) continue
    const [, , subscription, , resourceGroup, , , , accountName] = resourceId.split('/')
    containersChecked++
    let container
    try {
      container = await clients
        .storageManagement(subscription)
        .blobContainers.get(resourceGroup, accountName, scope.container, {abortSignal: options.abortSignal})
    } catch (error) {
      if ((error as {statusCode?: number}).statusCode === 404) continue
      throw fromAzureError(
        error,
        `container ${scope.container} of ${resourceId} in the resource manager (store ${scope.store})`,
      )
    }

    const reasons: string[] = []
    if (container.hasLegalHold || container.legalHold?.hasLegalHold) {
      const tags = (container.legalHold?.tags ?? []).map((t) => t.tag).filter(Boolean)
      reasons.push(`legal hold${tags.length > 0 ? ` (tags: ${tags.join(', ')})` : ''}`)
    }

    if (container.hasImmutabilityPolicy ?? Boolean(container.immutabilityPolicy?.state)) {
      const p = container.immutabilityPolicy
      reasons.push(
        `immutability policy${p ? ` (${p.state ?? 'state unknown'}, ${p.immutabilityPeriodSinceCreationInDays ?? '?'} days since creation)` : ''}`,
      )
    }

    if (reasons.length > 0) {
      containersHeld++
      details.push(`${scope.store}: container ${scope.container} in account ${accountName}: ${reasons.join('; ')}`)
    }
  }

  if (held > 0 || containersHeld > 0) {
    const parts = [
      held > 0 ? `${held} item(s) under a legal hold or immutability policy` : '',
      containersHeld > 0 ? `${containersHeld} container(s) with a container-level hold or policy` : '',
    ].filter(Boolean)
    details.push(
      'Release the hold or let the policy expire first, if that is lawful; nothing can be erased while it applies.',
    )
    return {guard: 'holds', ok: false, message: parts.join(' and '), details}
  }

  return {
    guard: 'holds',
    ok: true,
    message: `no legal hold or immutability policy on any item${containersChecked ? ` or on ${containersChecked} container(s) checked in the resource manager` : ''}`,
  }
}

function describeHold(item: PlanItem): string {
  const parts: string[] = []
  if (item.legalHold) parts.push('legal hold')
  if (item.immutableUntil)
    parts.push(`immutable until ${item.immutableUntil}${item.immutabilityMode ? ` (${item.immutabilityMode})` : ''}`)
  return parts.join(', ')
}

// ------------------------------------------------------------------------------- fingerprint

export interface FingerprintGuardOptions {
  /** the journal shows an interrupted run of this plan: items may be gone or soft-deleted already */
  resumed: boolean
  abortSignal?: AbortSignal
  onItem?: () => void
}

/**
 * Lists the customer's scopes again and compares with the plan. A fresh apply needs exactly the
 * same items (the same lines, hence the same fingerprint). A resumed apply accepts that items of
 * the plan are gone or now soft-deleted (its own earlier work), but nothing new and nothing changed.
 */
export async function checkFingerprintGuard(
  clients: AzureClients,
  map: DataMap,
  scopes: Scope[],
  planPath: string,
  plan: PlanSummary,
  options: FingerprintGuardOptions,
): Promise<GuardVerdict> {
  const planned = readPlanItems(planPath)[Symbol.asyncIterator]()
  const storeOrder = new Map(plan.header.stores.map((s, i) => [s.store, i]))
  const difference = (p: PlanItem | undefined, now: PlanItem) => describeDifference(p, now, storeOrder)
  let listed = 0
  let firstDifference: string | undefined
  const next = async () => {
    const r = await planned.next()
    return r.done ? undefined : r.value
  }

  try {
    for await (const item of listCustomerItems(clients, map, scopes, {abortSignal: options.abortSignal})) {
      listed++
      options.onItem?.()
      if (firstDifference) continue
      const line = planItemLine(item)
      if (!options.resumed) {
        const p = await next()
        if (!p || canonicalJson(p) !== line) firstDifference = difference(p, item)
        continue
      }

      // Resumed: the listing must be a subsequence of the plan (same order), item by item.
      let p = await next()
      while (p && !sameObject(p, item)) p = await next()
      if (!p) firstDifference = `${describe(item)} is not in the plan (it appeared after the plan was made)`
      else if (canonicalJson(p) !== line && !isOwnDeletionEffect(p, item)) firstDifference = difference(p, item)
    }

    if (!firstDifference && !options.resumed) {
      const rest = await next()
      if (rest) firstDifference = `${describe(rest)} is in the plan but no longer there`
    }
  } finally {
    await planned.return?.(undefined)
  }

  if (firstDifference) {
    return {
      guard: 'fingerprint',
      ok: false,
      message: `what is there no longer matches the plan (fingerprint ${plan.trailer.fingerprint.slice(0, 12)}…): ${firstDifference}`,
      details: ['Make a new plan with --plan-out, review it, and apply that one.'],
    }
  }

  return {
    guard: 'fingerprint',
    ok: true,
    message: options.resumed
      ? `resuming: ${listed} item(s) still there, all of them in the plan`
      : `${listed} item(s) listed again, identical to the plan (fingerprint ${plan.trailer.fingerprint.slice(0, 12)}…)`,
  }
}

function sameObject(a: PlanItem, b: PlanItem): boolean {
  return (
    a.store === b.store &&
    a.container === b.container &&
    a.name === b.name &&
    (a.snapshot ?? '') === (b.snapshot ?? '') &&
    (a.versionId ?? '') === (b.versionId ?? '')
  )
}

/** A planned object that an interrupted run of this plan deleted: now a previous version or soft-deleted. */
function isOwnDeletionEffect(planned: PlanItem, now: PlanItem): boolean {
  if (planned.kind === now.kind) return false
  return now.kind === 'deleted' || (planned.kind === 'current' && now.kind === 'version')
}

function describe(item: PlanItem): string {
  return `${item.store}: ${item.container}/${item.name}${item.snapshot ? ` (snapshot ${item.snapshot})` : ''}${item.versionId ? ` (version ${item.versionId})` : ''}`
}

function describeDifference(
  planned: PlanItem | undefined,
  now: PlanItem,
  storeOrder: ReadonlyMap<string, number>,
): string {
  const appeared = `${describe(now)} is not in the plan (it appeared after the plan was made)`
  if (!planned) return appeared
  if (!sameObject(planned, now)) {
    // Both sequences are in listing order (stores in data-map order, names sorted): the smaller one is the odd one out.
    const order = (x: PlanItem) => [
      String(storeOrder.get(x.store) ?? 0).padStart(4, '0'),
      x.name,
      x.snapshot ?? '',
      x.versionId ?? '',
    ]
    const [a, b] = [order(now), order(planned)]
    const nowFirst = a.findIndex((v, i) => v !== b[i])
    return nowFirst !== -1 && a[nowFirst] < b[nowFirst]
      ? appeared
      : `${describe(planned)} is in the plan but no longer there`
  }

  const changed = (['kind', 'size', 'etag', 'lastModified', 'legalHold', 'immutableUntil'] as const).filter(
    (k) => planned[k] !== now[k],
  )
  return `${describe(now)} changed since the plan was made (${changed.join(', ') || 'properties'})`
}

// ---------------------------------------------------------------------------------- verdicts

/** Throws one refusal (exit 3) listing every failing guard; returns when all pass. */
export function refuseUnlessAllPass(customer: string, verdicts: GuardVerdict[]): void {
  const failing = verdicts.filter((v) => !v.ok)
  if (failing.length === 0) return
  const details = failing.flatMap((v) => [`${v.guard}: ${v.message}`, ...(v.details ?? []).map((d) => `  ${d}`)])
  throw refusedError(
    failing.length === 1 ? refusalCode(failing[0].guard) : 'EraseRefused',
    `Refused to erase customer ${customer}: ${failing.map((v) => v.message).join('; ')}.`,
    'Nothing was deleted.',
    details,
  )
}

function refusalCode(guard: GuardName): string {
  return {export: 'NoVerifiedExport', holds: 'HoldPresent', fingerprint: 'PlanOutdated'}[guard]
}

// ------------------------------------------------------------------------------ confirmation

export interface ConfirmOptions {
  input?: NodeJS.ReadableStream
  output?: NodeJS.WritableStream
}

/** Asks the operator (on a terminal) to type the customer id; true only for the exact id. */
export async function confirmByTyping(
  customer: string,
  summary: string,
  options: ConfirmOptions = {},
): Promise<boolean> {
  const output = options.output ?? process.stderr
  const rl = createInterface({input: options.input ?? process.stdin, output, terminal: true})
  try {
    output.write(`${summary}\n`)
    const answer = await rl.question(
      `Type the customer id (${customer}) to erase all of the above for good, or anything else to stop: `,
    )
    return answer.trim() === customer
  } finally {
    rl.close()
  }
}
