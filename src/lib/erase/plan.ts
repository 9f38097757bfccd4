/**
 * The erase plan: everything that will go, written as it is listed so that memory stays flat.
 *
 * Format (JSON Lines, one JSON document per line, UTF-8, `\n` line ends), whatever the file is called:
 *
 *   line 1        header  `{"type":"custos.erase-plan","formatVersion":1,"customer":…,"stores":[…],"key":{…},…}`
 *   lines 2…n-1   items   `{"type":"item","store":…,"container":…,"name":…,"kind":…,"size":…,…}` (canonical JSON)
 *   line n        trailer `{"type":"trailer","items":…,"bytes":…,"stores":[…],"fingerprint":…,"headerSha256":…}`
 *
 * The fingerprint is the SHA-256 over the item lines exactly as written (canonical JSON, keys sorted,
 * each followed by `\n`), computed while writing. Item lines hold only what does not change by
 * itself (no "remaining retention days"), so listing the same data again yields the same lines.
 */
import {createHash, type Hash} from 'node:crypto'
import {createReadStream, createWriteStream, type WriteStream} from 'node:fs'
import {open, type FileHandle} from 'node:fs/promises'
import {createInterface} from 'node:readline'
import {once} from 'node:events'

import type {AzureClients} from '../azure/clients.js'
import type {DataMap, StoreConfig} from '../datamap/types.js'
import {CustosError, ExitCode, fromAzureError, refusedError} from '../errors.js'
import {PRIVATE_FILE_MODE} from '../output/files.js'
import {canonicalJson, sha256Hex} from '../evidence/canonical.js'
import {inventoryKey, type KeyInventory} from '../inventory/key.js'
import {listScope, type BlobKind, type ScopedBlob} from '../inventory/listing.js'
import {assertInScope, scopesOf, type Scope} from '../scope.js'
import type {PlanSection, StoreKindName} from '../stores/kind.js'
import {TOOL_VERSION} from '../version.js'

const PLAN_TYPE = 'custos.erase-plan'

/** One store or backup set as the plan saw it. */
export interface PlanStore {
  store: string
  role: 'store' | 'backup'
  /** blob endpoint of the account */
  account: string
  accountName: string
  container: string
  prefix: string
  ownsContainer: boolean
  /** false when the container did not exist when the plan was made */
  exists: boolean
}

export interface PlanKey extends KeyInventory {
  vault?: string
  /** number of key versions the vault lists (all are destroyed with the key) */
  versions?: number
}

export interface PlanHeader {
  type: typeof PLAN_TYPE
  formatVersion: 1
  customer: string
  createdAt: string
  tool: string
  /** the data map the plan was made from */
  dataMap: string
  stores: PlanStore[]
  key: PlanKey
  /**
   * The other store kinds' plans (databases: tables, rows and their fingerprints), only when the
   * data map has such stores. The plan's fingerprint covers them after the item lines.
   */
  sections?: PlanSection[]
}

/** One object that will be deleted. Only stable properties: listing it again gives the same line. */
export interface PlanItem {
  type: 'item'
  store: string
  container: string
  name: string
  kind: BlobKind
  snapshot?: string
  versionId?: string
  size: number
  etag?: string
  lastModified: string
  deletedOn?: string
  legalHold?: true
  immutableUntil?: string
  immutabilityMode?: string
}

export interface StoreTotals {
  store: string
  items: number
  bytes: number
  current: number
  snapshots: number
  versions: number
  softDeleted: number
  /** items under a legal hold or an unexpired immutability policy */
  holds: number
  /** soft-deleted base blobs: no API removes them before soft delete's retention ends */
  unpurgeable: number
}

export interface PlanTrailer {
  type: 'trailer'
  items: number
  bytes: number
  stores: StoreTotals[]
  /** SHA-256 over the item lines */
  fingerprint: string
  /** SHA-256 over the header line */
  headerSha256: string
}

export interface PlanSummary {
  header: PlanHeader
  trailer: PlanTrailer
}

/** The identity of one item inside its store: name, snapshot, version (journal keys). */
export type ItemKey = [name: string, snapshot: string, versionId: string]

export function itemKey(item: {name: string; snapshot?: string; versionId?: string}): ItemKey {
  return [item.name, item.snapshot ?? '', item.versionId ?? '']
}

export function keyString(store: string, key: ItemKey): string {
  return JSON.stringify([store, ...key])
}

/** The plan line of a listed object. */
function toPlanItem(blob: ScopedBlob): PlanItem {
  const item: PlanItem = {
    type: 'item',
    store: blob.store,
    container: blob.container,
    name: blob.name,
    kind: blob.kind,
    size: blob.size,
    lastModified: blob.lastModified,
  }
  if (blob.snapshot) item.snapshot = blob.snapshot
  if (blob.versionId) item.versionId = blob.versionId
  if (blob.etag) item.etag = blob.etag
  if (blob.deletedOn) item.deletedOn = blob.deletedOn
  if (blob.legalHold) item.legalHold = true
  if (blob.immutabilityPolicyExpiresOn) item.immutableUntil = blob.immutabilityPolicyExpiresOn
  if (blob.immutabilityPolicyMode) item.immutabilityMode = blob.immutabilityPolicyMode
  return item
}

export function planItemLine(item: PlanItem): string {
  return canonicalJson(item)
}

/** True when the item is under a legal hold or an immutability policy that has not expired. */
export function isHeld(item: Pick<PlanItem, 'legalHold' | 'immutableUntil'>, now: Date = new Date()): boolean {
  return Boolean(item.legalHold) || (item.immutableUntil !== undefined && new Date(item.immutableUntil) > now)
}

function emptyTotals(store: string): StoreTotals {
  return {store, items: 0, bytes: 0, current: 0, snapshots: 0, versions: 0, softDeleted: 0, holds: 0, unpurgeable: 0}
}

function addToTotals(totals: StoreTotals, item: PlanItem, now: Date): void {
  totals.items++
  totals.bytes += item.size
  if (item.kind === 'current') totals.current++
  else if (item.kind === 'snapshot') totals.snapshots++
  else if (item.kind === 'version') totals.versions++
  else {
    totals.softDeleted++
    if (!item.snapshot && !item.versionId) totals.unpurgeable++
  }

  if (isHeld(item, now)) totals.holds++
}

/** The store configs of a data map in scope order (stores, then backup sets). */
export function storeConfigs(map: DataMap): Array<{config: StoreConfig; role: 'store' | 'backup'}> {
  return [
    ...map.stores.map((config) => ({config, role: 'store' as const})),
    ...map.backups.map((config) => ({config, role: 'backup' as const})),
  ]
}

export interface ListCustomerOptions {
  abortSignal?: AbortSignal
  pageSize?: number
}

/**
 * Lists every object of every scope of the customer (versions, snapshots, soft-deleted items and
 * hold flags included), streaming, in a stable order: scopes in data-map order, then the service's order.
 * Calls `onStore` once per scope with whether its container exists.
 */
export async function* listCustomerItems(
  clients: AzureClients,
  map: DataMap,
  scopes: Scope[],
  options: ListCustomerOptions & {onStore?: (scope: Scope, exists: boolean) => void} = {},
): AsyncGenerator<PlanItem> {
  const accounts = new Map(storeConfigs(map).map(({config}) => [config.name, config.account]))
  for (const scope of scopes) {
    const container = clients.container(scope, accounts.get(scope.store)!)
    let exists = true
    try {
      for await (const blob of listScope(container, scope, {
        versions: true,
        snapshots: true,
        deleted: true,
        protection: true,
        pageSize: options.pageSize,
        abortSignal: options.abortSignal,
      })) {
        yield toPlanItem(blob)
      }
    } catch (error) {
      if ((error as {statusCode?: number}).statusCode === 404) {
        exists = false
      } else {
        throw fromAzureError(
          error,
          `container ${scope.container} in account ${scope.accountName} (store ${scope.store})`,
        )
      }
    }

    options.onStore?.(scope, exists)
  }
}

/** Reads the customer key's state for the plan (what crypto-shredding will destroy). */
async function planKey(clients: AzureClients, customer: string): Promise<PlanKey> {
  const state = await inventoryKey(clients, customer)
  if (state.state === 'not-configured') return state
  const key: PlanKey = {...state, vault: clients.map.keys?.vault}
  if (state.name && (state.state === 'enabled' || state.state === 'disabled')) {
    try {
      let versions = 0
      for await (const _ of clients.keyClient().listPropertiesOfKeyVersions(state.name)) versions++
      key.versions = versions
    } catch {
      // the version count is informative only; the key state above is what matters
    }
  }

  return key
}

/**
 * The lines of the other kinds' sections that the fingerprint covers after the item lines: one
 * canonical line per section. Nothing for a blob-only plan, whose fingerprint stays what it was.
 */
function sectionLines(sections: PlanSection[] | undefined): string[] {
  return (sections ?? []).map((s) => `${canonicalJson(s)}\n`)
}

export interface WritePlanOptions extends ListCustomerOptions {
  /** the other store kinds' plans, for the header */
  sections?: PlanSection[]
  /** where to write; undefined writes nothing (a dry run that only counts and fingerprints) */
  path?: string
  /** called for every listed item (progress) */
  onItem?: (item: PlanItem) => void
  now?: Date
}

/** Lists everything of the customer and writes the plan, computing totals and the fingerprint on the way. */
export async function writePlan(
  clients: AzureClients,
  map: DataMap,
  customer: string,
  options: WritePlanOptions = {},
): Promise<PlanSummary> {
  const scopes = scopesOf(map, customer)
  const now = options.now ?? new Date()
  const key = await planKey(clients, customer)
  const configs = storeConfigs(map)
  const stores: PlanStore[] = scopes.map((scope, i) => ({
    store: scope.store,
    role: configs[i].role,
    account: scope.endpoint,
    accountName: scope.accountName,
    container: scope.container,
    prefix: scope.prefix,
    ownsContainer: scope.ownsContainer,
    exists: true,
  }))
  const totals = new Map(scopes.map((s) => [s.store, emptyTotals(s.store)]))
  const fingerprint = createHash('sha256')
  const sink = options.path ? createWriteStream(options.path, {encoding: 'utf8', mode: PRIVATE_FILE_MODE}) : undefined
  try {
    // The header says which containers exist; one cheap request per scope, before the items stream.
    for (const [i, scope] of scopes.entries()) {
      const container = clients.container(scope, configs[i].config.account)
      try {
        stores[i].exists = await container.exists({abortSignal: options.abortSignal})
      } catch (error) {
        throw fromAzureError(
          error,
          `container ${scope.container} in account ${scope.accountName} (store ${scope.store})`,
        )
      }
    }

    const header: PlanHeader = {
      type: PLAN_TYPE,
      formatVersion: 1,
      customer,
      createdAt: now.toISOString(),
      tool: `custos ${TOOL_VERSION}`,
      dataMap: map.source,
      stores,
      key,
      ...(options.sections && options.sections.length > 0 ? {sections: options.sections} : {}),
    }
    const headerLine = canonicalJson(header)
    await writeLine(sink, headerLine)
    for await (const item of listCustomerItems(
      clients,
      map,
      scopes.filter((_, i) => stores[i].exists),
      options,
    )) {
      const line = planItemLine(item)
      fingerprint.update(`${line}\n`)
      addToTotals(totals.get(item.store)!, item, now)
      options.onItem?.(item)
      await writeLine(sink, line)
    }

    for (const line of sectionLines(header.sections)) fingerprint.update(line)
    const trailer = makeTrailer([...totals.values()], fingerprint, sha256Hex(headerLine))
    await writeLine(sink, canonicalJson(trailer))
    if (sink) await closeStream(sink)
    return {header, trailer}
  } catch (error) {
    sink?.destroy()
    throw error
  }
}

function makeTrailer(stores: StoreTotals[], fingerprint: Hash, headerSha256: string): PlanTrailer {
  let items = 0
  let bytes = 0
  for (const s of stores) {
    items += s.items
    bytes += s.bytes
  }

  return {type: 'trailer', items, bytes, stores, fingerprint: fingerprint.digest('hex'), headerSha256}
}

async function writeLine(sink: WriteStream | undefined, line: string): Promise<void> {
  if (!sink) return
  if (!sink.write(`${line}\n`)) await once(sink, 'drain')
}

async function closeStream(sink: WriteStream): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    sink.once('error', reject)
    sink.end(() => resolve())
  })
}

function planAltered(path: string, why: string): CustosError {
  return refusedError(
    'PlanAltered',
    `The plan ${path} cannot be trusted: ${why}.`,
    'Nothing was deleted. Make a new plan with --plan-out and review it.',
  )
}

/** Streams the items of a plan file. The header must come first; {@link verifyPlanFile} reads the header and the trailer. */
export async function* readPlanItems(path: string): AsyncGenerator<PlanItem> {
  let lineNo = 0
  const lines = createInterface({
    input: createReadStream(path, {encoding: 'utf8'}),
    crlfDelay: Number.POSITIVE_INFINITY,
  })
  for await (const line of lines) {
    lineNo++
    if (lineNo === 1 || line === '') continue
    let doc: {type?: string}
    try {
      doc = JSON.parse(line) as {type?: string}
    } catch {
      throw planAltered(path, `line ${lineNo} is not JSON`)
    }

    if (doc.type === 'item') yield doc as PlanItem
    else if (doc.type !== 'trailer') throw planAltered(path, `line ${lineNo} is neither an item nor the trailer`)
  }
}

/**
 * Reads the whole plan once, streaming, and checks that it is intact and safe: header first and of
 * this customer, trailer last, every item line canonical and inside the customer's scope as the
 * current data map draws it, the stores the same as in the data map, and the fingerprint and totals
 * equal to what the trailer says. Throws a refusal (exit 3) naming the first problem.
 */
export async function verifyPlanFile(
  path: string,
  map: DataMap,
  customer: string,
  now: Date = new Date(),
  /** the data map's stores of the other kinds, which the plan's sections must name in this order */
  kinds: Array<{kind: StoreKindName; names: readonly string[]}> = [],
): Promise<PlanSummary> {
  const scopes = scopesOf(map, customer)
  const byStore = new Map(scopes.map((s) => [s.store, s]))
  let header: PlanHeader | undefined
  let trailer: PlanTrailer | undefined
  let headerLine = ''
  const fingerprint = createHash('sha256')
  const totals = new Map(scopes.map((s) => [s.store, emptyTotals(s.store)]))
  let lineNo = 0
  let stream
  try {
    stream = createReadStream(path, {encoding: 'utf8'})
    await once(stream, 'open')
  } catch (error) {
    throw new CustosError(`The plan ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}).`, {
      code: 'PlanUnreadable',
      exitCode: ExitCode.usage,
      hint: 'Pass the file written by --plan-out.',
    })
  }

  const lines = createInterface({input: stream, crlfDelay: Number.POSITIVE_INFINITY})
  for await (const line of lines) {
    lineNo++
    if (line === '') continue
    if (trailer) throw planAltered(path, `line ${lineNo} follows the trailer`)
    let doc: Record<string, unknown>
    try {
      doc = JSON.parse(line) as Record<string, unknown>
    } catch {
      throw planAltered(path, `line ${lineNo} is not JSON`)
    }

    if (lineNo === 1) {
      if (doc.type !== PLAN_TYPE || doc.formatVersion !== 1) {
        throw new CustosError(`${path} is not a custos erase plan (its first line must be the plan header).`, {
          code: 'NotAPlan',
          exitCode: ExitCode.usage,
          hint: 'Pass the file written by --plan-out.',
        })
      }

      header = doc as unknown as PlanHeader
      headerLine = line
      if (header.customer !== customer)
        throw refusedError(
          'PlanCustomerMismatch',
          `The plan ${path} is for customer ${String(header.customer)}, not ${customer}.`,
          'Nothing was deleted. Pass the plan of this customer.',
        )
      checkStores(path, header, scopes)
      continue
    }

    if (doc.type === 'trailer') {
      trailer = doc as unknown as PlanTrailer
      continue
    }

    if (doc.type !== 'item') throw planAltered(path, `line ${lineNo} is neither an item nor the trailer`)
    if (canonicalJson(doc) !== line) throw planAltered(path, `line ${lineNo} is not in canonical form (it was edited)`)
    const item = doc as unknown as PlanItem
    const scope = byStore.get(item.store)
    if (!scope)
      throw planAltered(path, `line ${lineNo} names store ${String(item.store)}, which the data map does not have`)
    if (typeof item.name !== 'string' || typeof item.size !== 'number')
      throw planAltered(path, `line ${lineNo} is not a valid item`)
    // The scope comes from the data map, never from the plan: an edited plan cannot widen it.
    assertInScope(scope, item.container, item.name)
    fingerprint.update(`${line}\n`)
    addToTotals(totals.get(item.store)!, item, now)
  }

  if (!header) throw new CustosError(`The plan ${path} is empty.`, {code: 'NotAPlan', exitCode: ExitCode.usage})
  if (!trailer) throw planAltered(path, 'it has no trailer (it was cut short)')
  checkSections(path, header, kinds)
  for (const line of sectionLines(header.sections)) fingerprint.update(line)
  const recomputed = fingerprint.digest('hex')
  if (recomputed !== trailer.fingerprint)
    throw planAltered(
      path,
      `its items do not match its fingerprint (${trailer.fingerprint.slice(0, 12)}… written, ${recomputed.slice(0, 12)}… now)`,
    )
  if (sha256Hex(headerLine) !== trailer.headerSha256) throw planAltered(path, 'its header was edited')
  let items = 0
  let bytes = 0
  for (const t of totals.values()) {
    items += t.items
    bytes += t.bytes
  }

  if (items !== trailer.items || bytes !== trailer.bytes) throw planAltered(path, 'its totals do not match its items')
  return {header, trailer}
}

/** Every kind with stores in the data map has its section in the plan, naming the same stores. */
function checkSections(
  path: string,
  header: PlanHeader,
  kinds: Array<{kind: StoreKindName; names: readonly string[]}>,
): void {
  const sections = header.sections ?? []
  const wanted = kinds.filter((k) => k.kind !== 'blob' && k.names.length > 0)
  const describe = (kind: string, names: readonly string[]) => `${kind}: ${names.join(', ') || 'none'}`
  const planned = sections.map((s) =>
    describe(
      s.kind,
      s.stores.map((st) => st.store),
    ),
  )
  const current = wanted.map((k) => describe(k.kind, k.names))
  if (JSON.stringify(planned) !== JSON.stringify(current)) {
    throw refusedError(
      'PlanMismatch',
      `The plan ${path} was made with a different data map: its database stores are not those of the current data map.`,
      'Nothing was deleted. Make a new plan with the current data map.',
      [`data map: ${current.join('; ') || 'none'}`, `plan: ${planned.join('; ') || 'none'}`],
    )
  }

  for (const section of sections)
    for (const store of section.stores)
      if ((store as {customer?: unknown}).customer !== header.customer)
        throw planAltered(path, `its ${section.kind} section for ${store.store} is not for customer ${header.customer}`)
}

function checkStores(path: string, header: PlanHeader, scopes: Scope[]): void {
  const planned = header.stores ?? []
  const same =
    planned.length === scopes.length &&
    planned.every(
      (p, i) =>
        p.store === scopes[i].store &&
        p.container === scopes[i].container &&
        p.prefix === scopes[i].prefix &&
        p.account.toLowerCase() === scopes[i].endpoint.toLowerCase(),
    )
  if (!same) {
    throw refusedError(
      'PlanMismatch',
      `The plan ${path} was made with a different data map: its stores are not the stores of ${header.customer} in the current data map.`,
      'Nothing was deleted. Make a new plan with the current data map.',
      scopes.map(
        (s, i) =>
          `data map: ${s.store} ${s.accountName}/${s.container}/${s.prefix}; plan: ${planned[i] ? `${planned[i].store} ${planned[i].accountName}/${planned[i].container}/${planned[i].prefix}` : 'missing'}`,
      ),
    )
  }
}

/**
 * Whether `path` is a plan of `customer` that its listing never finished — a run killed while
 * planning leaves a header and items but no trailer (and no journal, since nothing was applied).
 * Such a file is no artefact anyone could use, so a new plan may replace it without --force.
 */
export async function isUnfinishedPlan(path: string, customer: string): Promise<boolean> {
  const edge = 64 * 1024
  let handle: FileHandle | undefined
  try {
    handle = await open(path, 'r')
    const {size} = await handle.stat()
    const read = async (position: number) => {
      const buffer = Buffer.alloc(Math.min(edge, size))
      const {bytesRead} = await handle!.read(buffer, 0, buffer.length, position)
      return buffer.subarray(0, bytesRead).toString('utf8')
    }

    const header = parseLine((await read(0)).split('\n')[0])
    if (header?.type !== 'custos.erase-plan' || header.customer !== customer) return false
    const last = (await read(Math.max(0, size - edge))).split('\n').findLast((line) => line.trim() !== '')
    return parseLine(last)?.type !== 'trailer'
  } catch {
    return false
  } finally {
    await handle?.close()
  }
}

function parseLine(line: string | undefined): Record<string, unknown> | undefined {
  try {
    const doc: unknown = JSON.parse(line ?? '')
    return typeof doc === 'object' && doc !== null ? (doc as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}
