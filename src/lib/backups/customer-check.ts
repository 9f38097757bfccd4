/**
 * The checks of one customer in one backup set, fed blob by blob while the listing streams by.
 * State is counters, a keepDays calendar, a few example names per finding and the N restore
 * candidates — it does not grow with the number of backups (the manifest, when there is one, is the
 * customer's own list and is read whole).
 */
import {expandCustomer} from '../datamap/placeholders.js'
import type {BackupSetConfig, DataMap} from '../datamap/types.js'
import {formatDuration} from '../duration.js'
import type {ScopedBlob} from '../inventory/listing.js'
import {describeScope, type Scope} from '../scope.js'
import {checkScopeDefinition, type EncryptionScopeFacts, type Lookup} from './accounts.js'
import {backupTimeReader, metadataValue, type BackupTimeSource} from './backup-time.js'
import {BackupCalendar, isoDay} from './calendar.js'
import {normalizeSha256, type ManifestEntry, type ManifestLookup} from './manifest.js'
import {
  Examples,
  joinParts,
  worstStatus,
  type CheckPart,
  type CheckResult,
  type CheckStatus,
  type CustomerSetReport,
} from './model.js'
import {RestoreSampler, type RestoreCandidate} from './restore.js'

/** What every customer of a backup set shares, worked out once per set. */
export interface SetContext {
  set: BackupSetConfig
  map: DataMap
  now: Date
  maxAgeInMs: number
  everyInMs: number
  /** the set's `resident` check (the same for every customer) */
  resident: CheckResult
  /** the account-level key requirement (requireCustomerManagedKey), when configured */
  accountKey?: {status: CheckStatus; text: string}
  /** the account's encryption scopes, when the set names one and has a resourceId */
  scopes?: Lookup<Map<string, EncryptionScopeFacts>>
  restoreSample: number
  random?: () => number
}

/** Blob metadata key that may carry a backup's SHA-256 (hex or base64). */
const SHA256_METADATA = 'sha256'

const MISSING_SHOWN = 10

export class CustomerSetCheck {
  private readonly readTime: (blob: ScopedBlob) => {time: Date; source: BackupTimeSource}
  private readonly calendar: BackupCalendar
  private readonly expectedScope?: string
  private readonly manifestEntries?: Map<string, ManifestEntry>
  private readonly sampler?: RestoreSampler
  private newestSource?: BackupTimeSource
  /** set to false when the customer's (or the shared) backup container does not exist */
  containerExists = true
  private bytes = 0
  private readonly enc = {
    encrypted: 0,
    notEncrypted: new Examples(),
    notReported: new Examples(),
    wrongScope: new Examples(),
  }
  private readonly integrity = {
    withMd5: 0,
    noMd5: new Examples(),
    empty: new Examples(),
    sizeMismatch: new Examples(),
    shaMismatch: new Examples(),
    shaCompared: 0,
    notInManifest: new Examples(),
  }

  constructor(
    private readonly ctx: SetContext,
    readonly scope: Scope,
    private readonly manifest?: {blobName: string; lookup: ManifestLookup},
  ) {
    this.readTime = backupTimeReader(ctx.set, scope.customer)
    this.calendar = new BackupCalendar({now: ctx.now, keepDays: ctx.set.expect.keepDays, everyInMs: ctx.everyInMs})
    if (ctx.set.encryptionScope) this.expectedScope = expandCustomer(ctx.set.encryptionScope, scope.customer)
    if (manifest?.lookup.state === 'found') this.manifestEntries = new Map(manifest.lookup.entries)
    if (ctx.restoreSample > 0) this.sampler = new RestoreSampler(ctx.restoreSample, ctx.random)
  }

  get customer(): string {
    return this.scope.customer
  }

  /** Takes one listed blob of this customer's scope into account. */
  add(blob: ScopedBlob): void {
    if (blob.kind !== 'current') return
    if (this.manifest && blob.name === this.manifest.blobName) return
    const {time, source} = this.readTime(blob)
    if (!this.calendar.newest || time > this.calendar.newest) this.newestSource = source
    this.calendar.add(time)
    this.bytes += blob.size
    const relative = blob.name.slice(this.scope.prefix.length)

    if (blob.serverEncrypted === true) this.enc.encrypted++
    else if (blob.serverEncrypted === false) this.enc.notEncrypted.add(blob.name)
    else this.enc.notReported.add(blob.name)
    if (this.expectedScope && blob.encryptionScope !== this.expectedScope) {
      this.enc.wrongScope.add(`${blob.name} (${blob.encryptionScope ? `scope ${blob.encryptionScope}` : 'no scope'})`)
    }

    const i = this.integrity
    if (blob.size === 0) i.empty.add(blob.name)
    if (blob.contentMD5) i.withMd5++
    else i.noMd5.add(blob.name)
    const metadataSha = normalizeSha256(metadataValue(blob, SHA256_METADATA))
    let expectedSha = metadataSha
    if (this.manifestEntries) {
      const entry = this.manifestEntries.get(relative)
      if (entry) {
        this.manifestEntries.delete(relative)
        if (entry.size !== undefined && entry.size !== blob.size)
          i.sizeMismatch.add(`${blob.name} (${blob.size} bytes, manifest says ${entry.size})`)
        if (entry.sha256 && metadataSha) {
          i.shaCompared++
          if (entry.sha256 !== metadataSha) i.shaMismatch.add(blob.name)
        }

        expectedSha = entry.sha256 ?? metadataSha
      } else {
        i.notInManifest.add(blob.name)
      }
    }

    this.sampler?.offer({blob, ...(expectedSha ? {sha256: expectedSha} : {})}, time)
  }

  /** The backups to download for `--restore-sample`. */
  restoreCandidates(): RestoreCandidate[] {
    return this.sampler?.pick() ?? []
  }

  /** The customer's report for this set (the restore check is added by the caller when it ends). */
  finish(): CustomerSetReport {
    const c = this.calendar
    const missing = c.missing()
    const checks = [this.fresh(), this.complete(missing), this.encrypted(), this.ctx.resident, this.intact()]
    return {
      set: this.ctx.set.name,
      scope: describeScope(this.scope),
      status: worstStatus(checks.map((k) => k.status)),
      backups: c.count,
      bytes: this.bytes,
      ...(c.newest
        ? {
            newest: c.newest.toISOString(),
            newestFrom: this.newestSource,
            newestAgeInMs: this.ctx.now.getTime() - c.newest.getTime(),
          }
        : {}),
      ...(c.oldest ? {oldest: c.oldest.toISOString()} : {}),
      missing,
      checks,
    }
  }

  private fresh(): CheckResult {
    const newest = this.calendar.newest
    if (!newest) {
      const where = this.containerExists
        ? describeScope(this.scope)
        : `${describeScope(this.scope)} (the container does not exist)`
      return {check: 'fresh', status: 'fail', detail: `no backups in ${where}`}
    }

    const age = this.ctx.now.getTime() - newest.getTime()
    const when = `${newest.toISOString()} (${this.newestSource === 'last-modified' ? 'Last-Modified' : `from ${this.newestSource}`})`
    if (age > this.ctx.maxAgeInMs) {
      return {
        check: 'fresh',
        status: 'fail',
        detail: `newest backup is ${formatDuration(age)} old, older than maxAge ${this.ctx.set.expect.maxAge}: ${when}`,
      }
    }

    return {
      check: 'fresh',
      status: 'pass',
      detail: `newest backup ${age < 0 ? 'is dated in the future' : `${formatDuration(age)} old`}: ${when}`,
    }
  }

  private complete(missing: string[]): CheckResult {
    const keep = this.ctx.set.expect.keepDays
    const older = this.calendar.beforeWindow > 0 ? `; ${this.calendar.beforeWindow} older than keepDays` : ''
    if (missing.length === 0) {
      return {
        check: 'complete',
        status: 'pass',
        detail: `no gap in the last ${keep} day${keep === 1 ? '' : 's'} (${this.calendar.count} backups${older})`,
      }
    }

    if (this.calendar.count === 0)
      return {check: 'complete', status: 'warn', detail: `no backup in the last ${keep} days`}
    const shown = missing.slice(-MISSING_SHOWN).join(', ')
    const more = missing.length > MISSING_SHOWN ? ` (and ${missing.length - MISSING_SHOWN} earlier)` : ''
    const unit = missing[0].includes('..') ? 'period' : 'day'
    // A gap that lies wholly before the oldest backup is either a customer added recently or backups deleted before keepDays.
    const oldest = isoDay(this.calendar.oldest!)
    const before = missing.every((m) => m.slice(-10) <= oldest)
      ? `; all before the oldest backup (${oldest}): a customer added since, or backups deleted before keepDays`
      : ''
    return {
      check: 'complete',
      status: 'warn',
      detail: `${missing.length} ${unit}${missing.length === 1 ? '' : 's'} without a backup in the last ${keep} days: ${shown}${more}${before}`,
    }
  }

  private encrypted(): CheckResult {
    const parts: CheckPart[] = []
    const e = this.enc
    const total = this.calendar.count
    if (total === 0) parts.push({status: 'unknown', text: 'no backups to check'})
    if (e.notEncrypted.count > 0)
      parts.push({
        status: 'fail',
        text: `${e.notEncrypted.count} of ${total} backups are not server-encrypted: ${e.notEncrypted}`,
      })
    if (e.notReported.count > 0)
      parts.push({
        status: 'warn',
        text: `${e.notReported.count} of ${total} backups do not report server-side encryption: ${e.notReported}`,
      })
    if (e.wrongScope.count > 0)
      parts.push({
        status: 'fail',
        text: `${e.wrongScope.count} of ${total} backups are not in encryption scope ${this.expectedScope}: ${e.wrongScope}`,
      })
    if (total > 0 && e.encrypted === total && e.wrongScope.count === 0) {
      parts.push({
        status: 'pass',
        text: `all ${total} backups server-encrypted${this.expectedScope ? ` in scope ${this.expectedScope}` : ''}`,
      })
    }

    if (this.expectedScope) {
      const customerKey = this.ctx.map.keys?.customerKey
        ? expandCustomer(this.ctx.map.keys.customerKey, this.customer)
        : undefined
      const definition = checkScopeDefinition(
        this.expectedScope,
        this.ctx.scopes,
        customerKey,
        this.ctx.map.keys?.vault,
      )
      // "scope X" alone repeats the blob-level text; only say more than that.
      if (definition.status !== 'pass' || customerKey) parts.push(definition)
    }

    if (this.ctx.accountKey) parts.push(this.ctx.accountKey)
    return joinParts('encrypted', parts)
  }

  private intact(): CheckResult {
    const i = this.integrity
    const total = this.calendar.count
    const parts: CheckPart[] = []
    const m = this.manifest
    if (m && m.lookup.state === 'missing') parts.push({status: 'fail', text: `manifest ${m.blobName} not found`})
    if (m && m.lookup.state === 'invalid')
      parts.push({status: 'fail', text: `manifest ${m.blobName} is invalid: ${m.lookup.reason}`})
    if (total === 0 && parts.length === 0) return {check: 'intact', status: 'unknown', detail: 'no backups to check'}
    if (i.empty.count > 0)
      parts.push({status: 'warn', text: `${i.empty.count} backups are empty (0 bytes): ${i.empty}`})
    if (this.manifestEntries) {
      if (i.sizeMismatch.count > 0)
        parts.push({
          status: 'fail',
          text: `${i.sizeMismatch.count} backups differ in size from the manifest: ${i.sizeMismatch}`,
        })
      if (i.shaMismatch.count > 0)
        parts.push({
          status: 'fail',
          text: `${i.shaMismatch.count} backups have a SHA-256 other than the manifest's: ${i.shaMismatch}`,
        })
      const gone = [...this.manifestEntries.keys()]
      if (gone.length > 0)
        parts.push({
          status: 'fail',
          text: `${gone.length} backups listed in the manifest are missing: ${new ExamplesOf(gone, this.scope.prefix)}`,
        })
      if (i.notInManifest.count > 0)
        parts.push({
          status: 'warn',
          text: `${i.notInManifest.count} backups are not in the manifest: ${i.notInManifest}`,
        })
      if (parts.length === 0)
        parts.push({
          status: 'pass',
          text: `${total} backups match the manifest's sizes${i.shaCompared > 0 ? ` and SHA-256 (${i.shaCompared} compared)` : ''}`,
        })
    } else if (!m) {
      if (i.noMd5.count > 0) {
        parts.push({
          status: 'warn',
          text: `${i.noMd5.count} of ${total} backups carry no Content-MD5 and there is no manifest, so they cannot be verified: ${i.noMd5}`,
        })
      } else if (parts.length === 0) {
        parts.push({status: 'pass', text: `all ${total} backups carry a Content-MD5 (no manifest configured)`})
      }
    }

    return joinParts('intact', parts)
  }
}

/** A few names of a list, relative names shown as full blob names. */
class ExamplesOf extends Examples {
  constructor(names: string[], prefix: string) {
    super()
    for (const n of names) this.add(`${prefix}${n}`)
  }
}
