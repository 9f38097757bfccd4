/**
 * custos's own tamper-evident audit trail: hash-chained JSON lines in append blobs
 * (`trail/<yyyy>-<MM>.jsonl`) in the audit container. Each record carries the SHA-256 of the
 * previous one; with a signing key configured each record's hash is also signed in Key Vault, so
 * rewriting the chain needs the vault as well as the storage account. Appends use the append
 * position as a condition, so two writers never fork the chain.
 */
import type {AppendBlobClient, ContainerClient} from '@azure/storage-blob'

import type {AzureClients} from '../azure/clients.js'
import {operatorIdentity} from '../azure/identity.js'
import {fromAzureError} from '../errors.js'
import {canonicalJson, sha256Hex} from '../evidence/canonical.js'
import {keyVaultSigner, verifyDigestSignature, type Signature, type Signer} from '../evidence/signing.js'
import {redactSecrets} from '../secrets.js'
import {TOOL_VERSION} from '../version.js'

export const GENESIS_HASH = '0'.repeat(64)
const TRAIL_PREFIX = 'trail/'
const MAX_RECORD_BYTES = 64 * 1024
const MAX_APPEND_ATTEMPTS = 20

export type AuditResult = 'started' | 'succeeded' | 'failed' | 'refused' | 'recorded'

export interface AuditEntry {
  /** e.g. `export`, `erase.apply`, `share-link`, `logs.bundle`, `incident.open` */
  action: string
  result: AuditResult
  customer?: string
  /** counts, paths, ids — never secrets */
  details?: Record<string, unknown>
  /** links a `started` record with its outcome */
  operationId?: string
}

export interface AuditRecord extends AuditEntry {
  seq: number
  time: string
  actor: string
  tool: string
  prev: string
  hash: string
  sig?: Signature
}

export interface AuditBreak {
  blob: string
  line: number
  seq?: number
  reason: string
}

export interface AuditVerification {
  ok: boolean
  records: number
  signed: number
  breaks: AuditBreak[]
  lastHash: string
}

function hashOf(record: Omit<AuditRecord, 'hash' | 'sig'>): string {
  return sha256Hex(canonicalJson(record))
}

function monthBlobName(date: Date): string {
  return `${TRAIL_PREFIX}${date.getUTCFullYear()}-${String(date.getUTCMonth() + 1).padStart(2, '0')}.jsonl`
}

export class AuditTrail {
  private readonly container: ContainerClient
  private readonly signer?: Signer
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

  /** Appends one record and returns it; retries when another writer appended first. */
  async append(entry: AuditEntry, now: () => Date = () => new Date()): Promise<AuditRecord> {
    try {
      await this.ensureContainer()
      const actor = (await operatorIdentity(this.clients)).name
      for (let attempt = 0; attempt < MAX_APPEND_ATTEMPTS; attempt++) {
        const time = now()
        const blob = this.container.getAppendBlobClient(monthBlobName(time))
        // After this trail's own append it knows the end of the chain; the append position condition
        // catches any other writer in between (412), and then the blob is read again.
        const known = this.tail?.blob === blob.name ? this.tail : undefined
        this.tail = undefined
        let size: number
        let last: AuditRecord | undefined
        if (known) {
          size = known.size
          last = known.record
        } else {
          await blob.createIfNotExists()
          size = (await blob.getProperties()).contentLength ?? 0
          last = size > 0 ? await this.lastRecordOf(blob, size) : await this.lastRecordBefore(blob.name)
        }

        const body: Omit<AuditRecord, 'hash' | 'sig'> = {
          seq: (last?.seq ?? 0) + 1,
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
          prev: last?.hash ?? GENESIS_HASH,
        }
        const hash = hashOf(body)
        const record: AuditRecord = {...body, hash}
        if (this.signer) record.sig = await this.signer.signDigest(Buffer.from(hash, 'hex'))
        const line = `${JSON.stringify(record)}\n`
        if (Buffer.byteLength(line) > MAX_RECORD_BYTES)
          throw new RangeError(`audit record for ${entry.action} is larger than ${MAX_RECORD_BYTES} bytes`)
        try {
          await blob.appendBlock(line, Buffer.byteLength(line), {conditions: {appendPosition: size}})
          this.tail = {blob: blob.name, size: size + Buffer.byteLength(line), record}
          return record
        } catch (error) {
          if ((error as {statusCode?: number}).statusCode === 412) continue
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

  /** Streams every record in chain order with where it was read from. */
  async *read(): AsyncGenerator<{record: AuditRecord | undefined; raw: string; blob: string; line: number}> {
    try {
      if (!(await this.container.exists())) return
      for await (const item of this.container.listBlobsFlat({prefix: TRAIL_PREFIX})) {
        const body = await this.container.getBlobClient(item.name).downloadToBuffer()
        const lines = body.toString('utf8').split('\n')
        for (const [i, line] of lines.entries()) {
          if (line.trim() === '') continue
          let record: AuditRecord | undefined
          try {
            record = JSON.parse(line) as AuditRecord
          } catch {
            record = undefined
          }

          yield {record, raw: line, blob: item.name, line: i + 1}
        }
      }
    } catch (error) {
      throw fromAzureError(error, `the audit trail (${this.location})`)
    }
  }

  /** Recomputes the chain and says exactly where it breaks. */
  async verify(): Promise<AuditVerification> {
    const breaks: AuditBreak[] = []
    let prevHash = GENESIS_HASH
    let expectedSeq = 1
    let records = 0
    let signed = 0
    const keyCache = new Map()
    for await (const {record, blob, line} of this.read()) {
      records++
      if (!record || typeof record !== 'object' || typeof record.hash !== 'string') {
        breaks.push({blob, line, reason: 'the line is not a valid audit record'})
        continue
      }

      const {hash, sig, ...body} = record
      const content = Buffer.from(canonicalJson(body))
      const recomputed = sha256Hex(content)
      if (recomputed !== hash)
        breaks.push({
          blob,
          line,
          seq: record.seq,
          reason: 'the record was altered: its content does not match its hash',
        })
      if (record.prev !== prevHash)
        breaks.push({
          blob,
          line,
          seq: record.seq,
          reason: `the chain is broken: "prev" does not match the hash of the record before it${expectedSeq === 1 ? ' (the genesis value)' : ` (seq ${expectedSeq - 1})`}`,
        })
      if (record.seq !== expectedSeq)
        breaks.push({
          blob,
          line,
          seq: record.seq,
          reason: `sequence number ${record.seq} where ${expectedSeq} was expected (a record was removed or inserted)`,
        })
      if (sig) {
        signed++
        const check = await verifyDigestSignature(this.clients, content, sig, keyCache)
        if (check.status === 'invalid')
          breaks.push({blob, line, seq: record.seq, reason: 'the signature does not match the record hash'})
        if (check.status === 'unverifiable')
          breaks.push({blob, line, seq: record.seq, reason: `the signature could not be checked: ${check.reason}`})
      }

      prevHash = hash
      expectedSeq = (typeof record.seq === 'number' ? record.seq : expectedSeq) + 1
    }

    return {ok: breaks.length === 0, records, signed, breaks, lastHash: prevHash}
  }

  /** Finds the most recent record of an action for a customer (e.g. the last verified export). */
  async findLatest(predicate: (record: AuditRecord) => boolean): Promise<AuditRecord | undefined> {
    let found: AuditRecord | undefined
    for await (const {record} of this.read()) if (record && predicate(record)) found = record
    return found
  }

  private async ensureContainer(): Promise<void> {
    if (this.containerReady) return
    await this.container.createIfNotExists()
    this.containerReady = true
  }

  private async lastRecordOf(blob: AppendBlobClient, size: number): Promise<AuditRecord | undefined> {
    const window = Math.min(size, MAX_RECORD_BYTES * 2)
    const tail = (await blob.downloadToBuffer(size - window, window)).toString('utf8')
    const lines = tail.split('\n').filter((l) => l.trim() !== '')
    const lastLine = lines.at(-1)
    if (!lastLine) return undefined
    try {
      return JSON.parse(lastLine) as AuditRecord
    } catch {
      throw new Error(`the last record of ${blob.name} is not valid JSON; run \`custos audit trail --verify\``)
    }
  }

  private async lastRecordBefore(blobName: string): Promise<AuditRecord | undefined> {
    let previous: string | undefined
    for await (const item of this.container.listBlobsFlat({prefix: TRAIL_PREFIX})) {
      if (item.name < blobName && (item.properties.contentLength ?? 0) > 0) previous = item.name
    }

    if (!previous) return undefined
    const blob = this.container.getAppendBlobClient(previous)
    const size = (await blob.getProperties()).contentLength ?? 0
    return this.lastRecordOf(blob, size)
  }
}
