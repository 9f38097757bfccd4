/**
 * custos's own tamper-evident audit trail: hash-chained JSON lines in append blobs
 * (`trail/<yyyy>-<MM>.jsonl`) in the audit container. Each record carries the SHA-256 of the
 * previous one; with a signing key configured each record's hash is also signed in Key Vault, and
 * an unsigned record, or one signed with another key, does not verify.
 *
 * **One chain, whatever the clocks.** A record always goes after the head of the whole trail (the
 * last record of the newest non-empty blob), never into an older blob: the blob is chosen by the
 * head, not by the record's time, so a writer whose clock is behind, or a test clock in the past,
 * cannot fork the chain. The trail moves to a new month blob only forward, through a roll-over
 * record: a writer whose clock has reached a later month appends `audit.rollover` (details
 * `next`: the new blob) to the head blob, on the append-position condition like any record, and
 * then the new record at position 0 of the next blob. The roll-over record closes its blob: every
 * writer that finds it as the head goes on in `next`, and a writer with a stale view of the blob
 * fails its append (412) and reads the head again. Of two writers rolling over at once one writes
 * the roll-over record and the other follows it; of two writing the first record of the next blob
 * one wins position 0. A writer that crashes in between leaves a head the next writer completes.
 *
 * Only Append Block and the creation of new blobs are used, so the trail works in a container with
 * a time-based immutability policy that allows protected append writes (the recommended set-up).
 */
import {createInterface} from 'node:readline'
import type {Readable} from 'node:stream'

import type {AppendBlobClient, ContainerClient} from '@azure/storage-blob'

import type {AzureClients} from '../azure/clients.js'
import {operatorIdentity} from '../azure/identity.js'
import {CustosError, ExitCode, fromAzureError} from '../errors.js'
import {canonicalJson, sha256Hex} from '../evidence/canonical.js'
import {
  keyVaultSigner,
  signingKeyMismatch,
  verifyDigestSignature,
  type Signature,
  type Signer,
} from '../evidence/signing.js'
import {redactSecrets} from '../secrets.js'
import {TOOL_VERSION} from '../version.js'

export const GENESIS_HASH = '0'.repeat(64)
const TRAIL_PREFIX = 'trail/'
const MAX_RECORD_BYTES = 64 * 1024
const MAX_APPEND_ATTEMPTS = 20
/** the action of the record that closes a month blob and names the next one */
export const ROLLOVER_ACTION = 'audit.rollover'
const BLOB_NAME = /^trail\/(\d{4})-(\d{2})\.jsonl$/
/** names the blob of the trail's first record, so that writers with different clocks agree on it */
const START_BLOB = 'trail_start'

export type AuditResult = 'started' | 'succeeded' | 'failed' | 'refused' | 'recorded'

export interface AuditEntry {
  /** e.g. `export`, `erase.apply`, `share-link`, `logs.bundle`, `incident.open` */
  action: string
  result: AuditResult
  customer?: string
  /** counts, paths, ids — never secrets; an event's own time (e.g. `detectedAt`) belongs here */
  details?: Record<string, unknown>
  /** links a `started` record with its outcome */
  operationId?: string
}

export interface AuditRecord extends AuditEntry {
  seq: number
  /** when the record was written, by the writer's clock; may be earlier than its predecessor's */
  time: string
  actor: string
  tool: string
  prev: string
  hash: string
  sig?: Signature
}

/**
 * Where a document's own audit record sits in the audit trail. Evidence documents carry it in their
 * body (evidence/envelope.ts re-exports it); verification checks that the trail still holds that
 * record, so deleting the trail's last records (truncation) shows.
 */
export interface AuditReference {
  seq: number
  hash: string
}

/** The reference to a record that a document carries (see {@link AuditReference}). */
export function referenceTo(record: AuditRecord): AuditReference {
  return {seq: record.seq, hash: record.hash}
}

export type AuditBreakKind = 'invalid' | 'altered' | 'chain' | 'sequence' | 'unsigned' | 'signature' | 'head'

export interface AuditBreak {
  blob: string
  line: number
  seq?: number
  kind: AuditBreakKind
  reason: string
}

/**
 * Two records that claim the same predecessor, the second one first in a later month blob: what
 * custos before 0.2 wrote when a record's time fell in an earlier month than the newest blob. Both
 * branches are intact; nothing was removed or altered.
 */
export interface AuditFork {
  blob: string
  line: number
  seq: number
  /** the record both branches continue from */
  predecessor: {seq: number; hash: string; blob: string}
  /** the record that continued the chain first */
  sibling: {seq: number; blob: string; line: number}
}

export interface AuditHead {
  seq: number
  hash: string
  time: string
  blob: string
}

export interface AuditVerification {
  ok: boolean
  records: number
  signed: number
  /** the signing key every record must be signed with (keys.signingKey), when configured */
  signingKey?: string
  breaks: AuditBreak[]
  forks: AuditFork[]
  /** the last record read: keep it elsewhere and pass it back as `expectHead` */
  head?: AuditHead
  /** the result of the `expectHead` check, when one was asked for */
  expectedHead?: AuditReference & {found: boolean}
  lastHash: string
}

export interface VerifyOptions {
  /** a head kept from an earlier verification: it must still be in the chain */
  expectHead?: AuditReference
}

/** One record as the verification walk saw it. */
interface Verdict {
  record?: AuditRecord
  blob: string
  line: number
  /** its hash, link, sequence and (where a signing key is configured) signature verify */
  trusted: boolean
  breaks: AuditBreak[]
  fork?: AuditFork
}

/** 412: another writer appended first. */
function isLostRace(error: unknown): boolean {
  return (error as {statusCode?: number} | undefined)?.statusCode === 412
}

function hashOf(record: Omit<AuditRecord, 'hash' | 'sig'>): string {
  return sha256Hex(canonicalJson(record))
}

function monthBlobName(date: Date): string {
  return `${TRAIL_PREFIX}${date.getUTCFullYear()}-${String(date.getUTCMonth() + 1).padStart(2, '0')}.jsonl`
}

/** Parses `SEQ:HASH` as given to `audit trail --verify --expect-head`. */
export function parseAuditReference(text: string): AuditReference | undefined {
  const m = /^(\d{1,15}):([0-9a-f]{64})$/i.exec(text.trim())
  return m ? {seq: Number(m[1]), hash: m[2].toLowerCase()} : undefined
}

interface Head {
  /** the blob the next record goes into */
  blob: AppendBlobClient
  /** its size: the append position */
  size: number
  /** the record the next one chains to */
  last?: AuditRecord
  /** close `blob` with a roll-over record naming this blob before writing the record */
  rollTo?: string
}

export class AuditTrail {
  private readonly container: ContainerClient
  private readonly signer?: Signer
  private readonly keyCache = new Map()
  private containerReady = false
  /** where this trail's last append ended: the next one tries there first, without reading the blob */
  private tail?: {blob: string; size: number; record: AuditRecord}

  constructor(
    private readonly clients: AzureClients,
    options: {signer?: Signer | null} = {},
  ) {
    const audit = clients.map.audit
    this.container = clients.blobService(audit.account).getContainerClient(audit.container)
    this.signer = options.signer === null ? undefined : (options.signer ?? keyVaultSigner(clients))
  }

  get location(): string {
    return `${this.clients.map.audit.container} in ${this.container.accountName}`
  }

  /** the signing key every record must carry a signature of, when the data map names one */
  private get signingKey(): string | undefined {
    return this.clients.map.keys?.signingKey
  }

  /**
   * Appends one record after the head of the trail and returns it. `now` is the write time; the
   * record's blob follows the head, so a clock behind the head's never forks the chain.
   */
  async append(entry: AuditEntry, now: () => Date = () => new Date()): Promise<AuditRecord> {
    try {
      await this.ensureContainer()
      const actor = (await operatorIdentity(this.clients)).name
      for (let attempt = 0; attempt < MAX_APPEND_ATTEMPTS; attempt++) {
        const time = now()
        try {
          const head = await this.headFor(time)
          if (head.rollTo) {
            // Close the head blob first; the record itself goes into the next blob on the next turn.
            await this.write(
              head,
              {action: ROLLOVER_ACTION, result: 'recorded', details: {next: head.rollTo}},
              time,
              actor,
            )
            this.tail = undefined
            continue
          }

          return await this.write(head, entry, time, actor)
        } catch (error) {
          // 412: another writer appended first (or created the first blob); read the head again.
          if (isLostRace(error)) continue
          throw error
        }
      }

      throw new Error(
        `could not append to the audit trail after ${MAX_APPEND_ATTEMPTS} attempts (too many concurrent writers)`,
      )
    } catch (error) {
      throw fromAzureError(error, `the audit trail (${this.location})`)
    }
  }

  /** Builds, signs and appends one record after `head`, on the append-position condition. */
  private async write(head: Head, entry: AuditEntry, time: Date, actor: string): Promise<AuditRecord> {
    const body: Omit<AuditRecord, 'hash' | 'sig'> = {
      seq: (head.last?.seq ?? 0) + 1,
      time: time.toISOString(),
      actor,
      tool: `custos ${TOOL_VERSION}`,
      action: entry.action,
      result: entry.result,
      ...(entry.customer ? {customer: entry.customer} : {}),
      ...(entry.operationId ? {operationId: entry.operationId} : {}),
      ...(entry.details
        ? {details: JSON.parse(redactSecrets(JSON.stringify(entry.details))) as Record<string, unknown>}
        : {}),
      prev: head.last?.hash ?? GENESIS_HASH,
    }
    const hash = hashOf(body)
    const record: AuditRecord = {...body, hash}
    if (this.signer) record.sig = await this.signer.signDigest(Buffer.from(hash, 'hex'))
    const line = `${JSON.stringify(record)}\n`
    if (Buffer.byteLength(line) > MAX_RECORD_BYTES)
      throw new RangeError(`audit record for ${entry.action} is larger than ${MAX_RECORD_BYTES} bytes`)
    await head.blob.appendBlock(line, Buffer.byteLength(line), {conditions: {appendPosition: head.size}})
    this.tail = {blob: head.blob.name, size: head.size + Buffer.byteLength(line), record}
    return record
  }

  /**
   * Where a record written at `time` goes and what it chains to, or that the head blob must be
   * closed with a roll-over record first (`rollTo`). Never a blob before the head's.
   */
  private async headFor(time: Date): Promise<Head> {
    const wanted = monthBlobName(time)
    // Fast path: right after this trail's own append it knows the head; the append position
    // condition catches any other writer in between.
    const known = this.tail
    this.tail = undefined
    if (known && known.record.action !== ROLLOVER_ACTION && wanted <= known.blob)
      return {blob: this.container.getAppendBlobClient(known.blob), size: known.size, last: known.record}

    const newest = await this.newestNonEmptyBlob()
    if (!newest) {
      // An empty trail. Writers whose clocks name different months must still agree on the one blob
      // that holds the first record: the first to create `trail_start` names it.
      const start = this.container.getBlockBlobClient(START_BLOB)
      try {
        await start.upload(wanted, Buffer.byteLength(wanted), {conditions: {ifNoneMatch: '*'}})
      } catch (error) {
        // 409 BlobAlreadyExists (412 on some emulators): another writer named the first blob.
        const status = (error as {statusCode?: number}).statusCode
        if (status !== 409 && status !== 412) throw error
      }

      const first = (await start.downloadToBuffer()).toString('utf8').trim()
      if (!BLOB_NAME.test(first)) throw new Error(`${START_BLOB} names ${JSON.stringify(first)}, not a trail blob`)
      const blob = this.container.getAppendBlobClient(first)
      await blob.createIfNotExists()
      // If another writer's first record landed meanwhile, the append at 0 fails and the head is read again.
      return {blob, size: 0}
    }

    const blob = this.container.getAppendBlobClient(newest)
    const size = (await blob.getProperties()).contentLength ?? 0
    const last = await this.trustedLastRecord(blob, size)
    if (last.action === ROLLOVER_ACTION) {
      const next = (last.details as {next?: unknown} | undefined)?.next
      if (typeof next !== 'string' || !BLOB_NAME.test(next) || next <= newest)
        throw new Error(
          `the roll-over record seq ${last.seq} in ${newest} names ${JSON.stringify(next)}, not a later trail blob`,
        )
      const target = this.container.getAppendBlobClient(next)
      await target.createIfNotExists()
      // Empty unless another writer's record landed meanwhile: then the append at 0 fails (412).
      return {blob: target, size: 0, last}
    }

    if (wanted > newest) return {blob, size, last, rollTo: wanted}
    return {blob, size, last}
  }

  /** The name of the newest trail blob that holds a record, if any. */
  private async newestNonEmptyBlob(): Promise<string | undefined> {
    let newest: string | undefined
    for await (const item of this.container.listBlobsFlat({prefix: TRAIL_PREFIX})) {
      if (BLOB_NAME.test(item.name) && (item.properties.contentLength ?? 0) > 0) newest = item.name
    }

    return newest
  }

  /**
   * The last record of `blob`, which the next record will chain to. custos never continues a
   * chain from a record it cannot trust (a hand-written line, an altered or unsigned record):
   * that would make the next genuine record vouch for it.
   */
  private async trustedLastRecord(blob: AppendBlobClient, size: number): Promise<AuditRecord> {
    const window = Math.min(size, MAX_RECORD_BYTES * 2)
    const tail = (await blob.downloadToBuffer(size - window, window)).toString('utf8')
    const lastLine = tail.split('\n').findLast((l) => l.trim() !== '')
    const problem = await this.recordProblem(lastLine)
    if (problem || !lastLine)
      throw new CustosError(
        `The last record of the audit trail (${blob.name} in ${this.location}) cannot be trusted: ${problem ?? 'it is empty'}.`,
        {
          code: 'AuditTrailDamaged',
          exitCode: ExitCode.refused,
          hint: 'Run `custos audit trail --verify` and investigate; custos does not chain new records to a record it cannot verify. To go on, point audit.container at a new container and keep the old one as evidence.',
        },
      )
    return JSON.parse(lastLine) as AuditRecord
  }

  /** Why one line is not a record custos can chain to, or undefined. */
  private async recordProblem(line: string | undefined): Promise<string | undefined> {
    if (!line) return 'no record'
    let record: AuditRecord
    try {
      record = JSON.parse(line) as AuditRecord
    } catch {
      return 'the line is not JSON'
    }

    const check = await this.checkRecord(record)
    return check.find((b) => b.kind !== 'chain' && b.kind !== 'sequence')?.reason
  }

  /**
   * Checks one record on its own: shape, hash and signature. Chain and sequence are the walk's
   * business (`verify`).
   */
  private async checkRecord(record: unknown): Promise<Array<Pick<AuditBreak, 'kind' | 'reason'>>> {
    if (
      !record ||
      typeof record !== 'object' ||
      typeof (record as AuditRecord).hash !== 'string' ||
      typeof (record as AuditRecord).prev !== 'string' ||
      typeof (record as AuditRecord).seq !== 'number'
    )
      return [{kind: 'invalid', reason: 'the line is not a valid audit record'}]
    const {hash, sig, ...body} = record as AuditRecord
    const content = Buffer.from(canonicalJson(body))
    const problems: Array<Pick<AuditBreak, 'kind' | 'reason'>> = []
    if (sha256Hex(content) !== hash)
      problems.push({kind: 'altered', reason: 'the record was altered: its content does not match its hash'})
    if (!sig) {
      if (this.signingKey)
        problems.push({
          kind: 'unsigned',
          reason: `the record is not signed, but the data map names the signing key ${this.signingKey}`,
        })
      return problems
    }

    const wrongKey = signingKeyMismatch(sig.kid, this.clients.map.keys)
    if (wrongKey) {
      problems.push({kind: 'signature', reason: `the record is ${wrongKey}`})
      return problems
    }

    const check = await verifyDigestSignature(this.clients, content, sig, this.keyCache)
    if (check.status === 'invalid')
      problems.push({kind: 'signature', reason: 'the signature does not match the record hash'})
    if (check.status === 'unverifiable')
      problems.push({kind: 'signature', reason: `the signature could not be checked: ${check.reason}`})
    return problems
  }

  /** Streams every line of the trail in chain order (blob name order, then line order). */
  async *read(): AsyncGenerator<{record: AuditRecord | undefined; raw: string; blob: string; line: number}> {
    try {
      if (!(await this.container.exists())) return
      for await (const item of this.container.listBlobsFlat({prefix: TRAIL_PREFIX})) {
        if (!BLOB_NAME.test(item.name) || (item.properties.contentLength ?? 0) === 0) continue
        const response = await this.container.getBlobClient(item.name).download()
        const lines = createInterface({input: response.readableStreamBody as Readable, crlfDelay: Infinity})
        let n = 0
        for await (const line of lines) {
          n++
          if (line.trim() === '') continue
          let record: AuditRecord | undefined
          try {
            record = JSON.parse(line) as AuditRecord
          } catch {
            record = undefined
          }

          yield {record, raw: line, blob: item.name, line: n}
        }
      }
    } catch (error) {
      throw fromAzureError(error, `the audit trail (${this.location})`)
    }
  }

  /**
   * Walks the trail and judges every record: its own hash and signature, its link to the record
   * before it, its sequence number. A record whose predecessor is not the record before it but an
   * earlier one, at the start of a month blob, with the next sequence number, is a fork written by
   * custos before 0.2 (see {@link AuditFork}), reported apart from tampering.
   */
  private async *walk(): AsyncGenerator<Verdict> {
    let prev: {hash: string; seq: number} = {hash: GENESIS_HASH, seq: 0}
    // Every record's hash → where it is and whether a record already continued from it. An audit
    // trail holds a few records per operation, so this stays small next to the customer data.
    const seen = new Map<
      string,
      {seq: number; blob: string; line: number; child?: {seq: number; blob: string; line: number}}
    >()
    let currentBlob = ''
    for await (const {record, blob, line} of this.read()) {
      const firstInBlob = blob !== currentBlob
      currentBlob = blob
      const own = await this.checkRecord(record)
      if (!record || own.some((p) => p.kind === 'invalid')) {
        yield {record: undefined, blob, line, trusted: false, breaks: own.map((p) => ({...p, blob, line}))}
        continue
      }

      const breaks: AuditBreak[] = own.map((p) => ({...p, blob, line, seq: record.seq}))
      let fork: AuditFork | undefined
      const parent = seen.get(record.prev)
      if (record.prev !== prev.hash) {
        if (firstInBlob && parent?.child && parent.child.blob !== blob && record.seq === parent.seq + 1) {
          fork = {
            blob,
            line,
            seq: record.seq,
            predecessor: {seq: parent.seq, hash: record.prev, blob: parent.blob},
            sibling: parent.child,
          }
        } else {
          breaks.push({
            blob,
            line,
            seq: record.seq,
            kind: 'chain',
            reason: `the chain is broken: "prev" does not match the hash of the record before it${prev.seq === 0 ? ' (the genesis value)' : ` (seq ${prev.seq})`}`,
          })
        }
      }

      const expectedSeq = fork ? fork.predecessor.seq + 1 : prev.seq + 1
      if (record.seq !== expectedSeq)
        breaks.push({
          blob,
          line,
          seq: record.seq,
          kind: 'sequence',
          reason: `sequence number ${record.seq} where ${expectedSeq} was expected (a record was removed or inserted)`,
        })
      if (parent && !parent.child) parent.child = {seq: record.seq, blob, line}
      if (!seen.has(record.hash)) seen.set(record.hash, {seq: record.seq, blob, line})
      prev = {hash: record.hash, seq: record.seq}
      yield {record, blob, line, trusted: breaks.length === 0, breaks, fork}
    }
  }

  /** Recomputes the chain and says exactly where it breaks, where it forked, and where its head is. */
  async verify(options: VerifyOptions = {}): Promise<AuditVerification> {
    const breaks: AuditBreak[] = []
    const forks: AuditFork[] = []
    let records = 0
    let signed = 0
    let head: AuditHead | undefined
    let expectedFound = false
    let lastBlob = ''
    let lastLine = 0
    for await (const verdict of this.walk()) {
      records++
      lastBlob = verdict.blob
      lastLine = verdict.line
      breaks.push(...verdict.breaks)
      if (verdict.fork) forks.push(verdict.fork)
      const {record} = verdict
      if (!record) continue
      if (record.sig) signed++
      head = {seq: record.seq, hash: record.hash, time: record.time, blob: verdict.blob}
      if (options.expectHead && record.seq === options.expectHead.seq && record.hash === options.expectHead.hash)
        expectedFound = true
    }

    let expectedHead: AuditVerification['expectedHead']
    if (options.expectHead) {
      expectedHead = {...options.expectHead, found: expectedFound}
      if (!expectedFound)
        breaks.push({
          blob: lastBlob,
          line: lastLine,
          seq: options.expectHead.seq,
          kind: 'head',
          reason: `the head kept from an earlier verification (seq ${options.expectHead.seq}, hash ${options.expectHead.hash.slice(0, 12)}…) is not in the trail: records were removed or rewritten`,
        })
    }

    return {
      ok: breaks.length === 0,
      records,
      signed,
      ...(this.signingKey ? {signingKey: this.signingKey} : {}),
      breaks,
      forks,
      ...(head ? {head} : {}),
      ...(expectedHead ? {expectedHead} : {}),
      lastHash: head?.hash ?? GENESIS_HASH,
    }
  }

  /**
   * The most recent record that matches `predicate` and verifies (hash, link, sequence and, with a
   * signing key configured, signature) — what a guard may rely on. A hand-written or re-hashed
   * record is never returned.
   */
  async findLatest(predicate: (record: AuditRecord) => boolean): Promise<AuditRecord | undefined> {
    let found: AuditRecord | undefined
    for await (const {record, trusted} of this.walk()) if (record && trusted && predicate(record)) found = record
    return found
  }

  /** Every record that matches `predicate` and verifies (as for `findLatest`), oldest first. */
  async findAll(predicate: (record: AuditRecord) => boolean): Promise<AuditRecord[]> {
    const found: AuditRecord[] = []
    for await (const {record, trusted} of this.walk()) if (record && trusted && predicate(record)) found.push(record)
    return found
  }

  /**
   * Whether the trail still holds the record a document names (its own audit record): the
   * document's evidence that nothing after it was truncated away.
   */
  async holds(reference: AuditReference): Promise<{found: boolean; trusted: boolean; record?: AuditRecord}> {
    for await (const {record, trusted} of this.walk()) {
      if (record?.seq === reference.seq && record.hash === reference.hash) return {found: true, trusted, record}
    }

    return {found: false, trusted: false}
  }

  private async ensureContainer(): Promise<void> {
    if (this.containerReady) return
    await this.container.createIfNotExists()
    this.containerReady = true
  }
}
