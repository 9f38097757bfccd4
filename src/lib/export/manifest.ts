/**
 * `manifest.json` and `SHA256SUMS`, written while the export runs, one object at a time.
 *
 * The manifest is a sealed document (evidence/envelope.ts, kind `custos.export-manifest`): the
 * same shape and the same hash as `sealDocument` would give, but streamed. The file is the
 * canonical JSON of the whole document (keys sorted, so `body` comes first and the hash and
 * signature last) with a line break before each object, which JSON ignores and the hash does not
 * cover. So memory stays flat for millions of objects and `certificate verify` reads it like any
 * other sealed document.
 */
import {createHash, type Hash} from 'node:crypto'
import type {Writable} from 'node:stream'

import {canonicalJson} from '../evidence/canonical.js'
import type {AuditReference, EvidenceKind, SealedDocument} from '../evidence/envelope.js'
import type {Signer} from '../evidence/signing.js'
import {sha256sumsLine} from '../evidence/sums.js'
import {writeCoalesced} from '../output/coalesce.js'
import type {ExportStore, PlannedObject} from './plan.js'

const MANIFEST_KIND: EvidenceKind = 'custos.export-manifest'

export type DestinationKind = 'folder' | 'tar.gz' | 'zip' | 'server-side'

/**
 * One exported object: the planned object as listed (plan.ts, which documents the fields), without
 * what only the transfer needs (its ETag, whether it is a folder marker). local-folder.ts `entryOf`
 * makes one from the other.
 */
export interface ManifestObject extends Omit<PlannedObject, 'etag' | 'folderMarker' | 'sha256'> {
  /** hex SHA-256 of the bytes, computed while they streamed (not for server-side exports, whose bytes never reach custos) */
  sha256?: string
}

export interface ManifestTotals {
  objects: number
  bytes: number
  current: number
  versions: number
  snapshots: number
  /** objects whose bytes were checked against the service's Content-MD5 */
  withContentMD5: number
}

export interface ManifestDestination {
  kind: DestinationKind
  /** server-side only: where the copies are */
  account?: string
  container?: string
  prefix?: string
}

/** The body of an export manifest. Keys are listed in canonical (sorted) order. */
export interface ExportManifestBody {
  /** the export's own `started` record in the audit trail (of the first attempt when resumed) */
  audit?: AuditReference
  customer: string
  destination: ManifestDestination
  objects: ManifestObject[]
  options: {includeVersions: boolean; includeSnapshots: boolean}
  /** start of the first attempt (a resumed export keeps it) */
  startedAt: string
  stores: ExportStore[]
  tool: string
  totals: ManifestTotals
  /** what "verified" means for this destination */
  verification: string
}

export type ExportManifest = SealedDocument<ExportManifestBody>

type Head = Pick<ExportManifestBody, 'audit' | 'customer' | 'destination'>
type Tail = Omit<ExportManifestBody, 'customer' | 'destination' | 'objects' | 'totals'>

/** Awaits the stream's room for more (backpressure). */
async function write(out: Writable, text: string): Promise<void> {
  if (!writeCoalesced(out, text)) {
    await new Promise<void>((resolve, reject) => {
      const done = () => {
        out.off('error', fail)
        resolve()
      }

      const fail = (error: Error) => {
        out.off('drain', done)
        reject(error)
      }

      out.once('drain', done)
      out.once('error', fail)
    })
  }
}

/** Streams a sealed export manifest into `out` (which it ends). */
export class ManifestWriter {
  private readonly hash: Hash = createHash('sha256')
  private first = true
  private started = false
  readonly totals: ManifestTotals = {objects: 0, bytes: 0, current: 0, versions: 0, snapshots: 0, withContentMD5: 0}

  constructor(private readonly out: Writable) {}

  /** Writes `text` to the file and `hashed` (defaults to text) to the hash. */
  private async emit(text: string, hashed: string | null = text): Promise<void> {
    if (hashed) this.hash.update(hashed)
    await write(this.out, text)
  }

  async begin(head: Head): Promise<void> {
    this.started = true
    await this.emit('{"body":', null)
    await this.emit(
      `{${head.audit ? `"audit":${canonicalJson(head.audit)},` : ''}"customer":${canonicalJson(head.customer)},"destination":${canonicalJson(head.destination)},"objects":[`,
    )
  }

  async add(object: ManifestObject): Promise<void> {
    const json = canonicalJson(object)
    await this.emit(`${this.first ? '' : ','}\n${json}`, `${this.first ? '' : ','}${json}`)
    this.first = false
    const t = this.totals
    t.objects++
    t.bytes += object.size
    if (object.kind === 'current') t.current++
    else if (object.kind === 'version') t.versions++
    else if (object.kind === 'snapshot') t.snapshots++
    if (object.contentMD5) t.withContentMD5++
  }

  /** Closes the body, seals it (signing the hash when a signer is given) and ends the stream. */
  async finish(tail: Tail, signer?: Signer): Promise<{sha256: string; signed: boolean}> {
    if (!this.started) throw new Error('ManifestWriter.finish before begin')
    const rest = {
      options: tail.options,
      startedAt: tail.startedAt,
      stores: tail.stores,
      tool: tail.tool,
      totals: this.totals,
      verification: tail.verification,
    }
    // canonicalJson of `rest` is `{...}`; its members follow `objects` in sorted key order.
    await this.emit(`${this.first ? '' : '\n'}],${canonicalJson(rest).slice(1)}`, `],${canonicalJson(rest).slice(1)}`)
    const sha256 = this.hash.digest('hex')
    const signature = signer ? await signer.signDigest(Buffer.from(sha256, 'hex')) : undefined
    const envelope = {
      formatVersion: 1,
      kind: MANIFEST_KIND,
      sha256,
      ...(signature ? {signature} : {}),
      signed: Boolean(signer),
    }
    await write(this.out, `,${canonicalJson(envelope).slice(1)}\n`)
    await new Promise<void>((resolve, reject) => {
      this.out.once('error', reject)
      this.out.end(() => resolve())
    })
    return {sha256, signed: Boolean(signer)}
  }
}

/**
 * Streams `SHA256SUMS` (checkable with `sha256sum -c SHA256SUMS` from the export's root), one line
 * per object with bytes, in evidence/sums.ts's format (GNU escaping of odd names).
 */
export class SumsWriter {
  constructor(private readonly out: Writable) {}

  async add(object: ManifestObject): Promise<void> {
    if (object.sha256 && !object.path.endsWith('/')) await write(this.out, sha256sumsLine(object.sha256, object.path))
  }

  async finish(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.out.once('error', reject)
      this.out.end(() => resolve())
    })
  }
}
