/**
 * `--to DIR`: a folder tree `<store>/<blob name>` with `manifest.json` and `SHA256SUMS` at the
 * root. Each object is downloaded to its path and verified; only then does the file get the blob's
 * Last-Modified time, which marks it complete (a file that fails verification is removed). The
 * journal `.custos-export-journal.jsonl` lets an interrupted export resume object by object; the
 * manifest appears (by rename from `.custos-partial/`) only when everything was verified.
 *
 * Nothing is written, read, kept or removed through a symbolic link inside the folder: a store
 * folder replaced by a link to elsewhere between two runs would otherwise send a resumed export's
 * files (and its clean-up) outside the folder. Every folder under the root is checked with lstat
 * before it is used (once per run) and every file is opened with O_NOFOLLOW; a link is refused
 * (exit 3, `SymbolicLink`) naming its path. Files are created 0600 and folders 0700.
 */
import {closeSync, constants, createWriteStream, futimesSync, openSync, writeSync, type WriteStream} from 'node:fs'
import {lstat, lutimes, mkdir, open as openFile, readdir, rename, rm, stat, unlink} from 'node:fs/promises'
import {dirname, join, relative, resolve, sep} from 'node:path'
import {pipeline} from 'node:stream/promises'
import {Writable} from 'node:stream'

import {EXPORT_JOURNAL_NAME} from '../evidence/layout.js'
import {CustosError, ExitCode, refusedError, usageError} from '../errors.js'
import {PRIVATE_DIR_MODE, PRIVATE_FILE_MODE} from '../output/files.js'
import type {Annotated, ExportDestination, ExportHeader, OpenedDestination, TransferContext} from './destination.js'
import {ExportJournal, type JournalCursor, type JournalEntry, type JournalLine} from './journal.js'
import type {ManifestObject} from './manifest.js'
import type {PlannedObject} from './plan.js'
import {EMPTY_SHA256, HashingStream} from './transfer.js'

const PARTIAL_DIR = '.custos-partial'
/** Objects up to this size are read into memory, verified, then written with one call. */
const IN_MEMORY_MAX_BYTES = 256 * 1024
/** Objects larger than this are read in ranges of RANGE_BYTES, several at once (AzCopy's block size is 8 MiB too). */
const RANGED_MIN_BYTES = 16 * 1024 * 1024
const RANGE_BYTES = 8 * 1024 * 1024
/** range requests in flight per object, at most (and never more than --concurrency) */
const RANGES_IN_FLIGHT = 4
/** a new file, never through a link at its own name (ELOOP then) */
const CREATE_NO_FOLLOW = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW
/** how many checked folders are remembered (a new check from the root costs one lstat per level) */
const CHECKED_DIRS_MAX = 4096

/** The refusal for a symbolic link found at `path` inside the export folder `root`. */
function linkRefusal(path: string, root: string): CustosError {
  return refusedError(
    'SymbolicLink',
    `Refused: ${path} inside the export folder ${root} is a symbolic link; custos writes, reads and removes nothing through links there.`,
    'Remove the link (or export into a new folder), then run the same command again.',
  )
}

export interface FolderResult {
  entry: ManifestObject
  /** finished by an earlier attempt (its file is kept, not downloaded again) */
  kept: boolean
}

/** The manifest entry of a planned object, once its hashes are known. */
export function entryOf(object: PlannedObject, sha256: string | undefined): ManifestObject {
  return {
    store: object.store,
    name: object.name,
    kind: object.kind,
    ...(object.versionId ? {versionId: object.versionId} : {}),
    ...(object.snapshot ? {snapshot: object.snapshot} : {}),
    path: object.path,
    size: object.size,
    ...(object.contentType ? {contentType: object.contentType} : {}),
    lastModified: object.lastModified,
    ...(object.contentMD5 ? {contentMD5: object.contentMD5} : {}),
    ...((sha256 ?? object.sha256) ? {sha256: sha256 ?? object.sha256} : {}),
    ...(object.table === undefined ? {} : {table: object.table}),
    ...(object.rows === undefined ? {} : {rows: object.rows}),
  }
}

/** The journal line of a finished object. */
export function journalEntryOf(object: PlannedObject, entry: ManifestObject): JournalEntry {
  return {...entry, ...(object.etag ? {etag: object.etag} : {})}
}

/** Whether an earlier attempt's journal line describes exactly this listed object. */
function sameObject(line: JournalEntry, object: PlannedObject): boolean {
  return (
    line.store === object.store &&
    line.name === object.name &&
    line.kind === object.kind &&
    (line.versionId ?? '') === (object.versionId ?? '') &&
    (line.snapshot ?? '') === (object.snapshot ?? '') &&
    line.path === object.path &&
    line.size === object.size &&
    line.lastModified === object.lastModified &&
    (line.contentMD5 ?? '') === (object.contentMD5 ?? '') &&
    (line.etag ?? '') === (object.etag ?? '')
  )
}

function manifestOfJournal(line: JournalEntry): ManifestObject {
  const {etag: _etag, ...entry} = line
  return entry
}

export class FolderDestination implements ExportDestination<FolderResult> {
  readonly kind = 'folder' as const
  readonly root: string
  private journal?: ExportJournal
  private resumed = false
  /** folders under the root that were checked to be real folders (not links) in this run */
  private readonly checkedDirs = new Set<string>()
  private manifestOut?: WriteStream
  private sumsOut?: WriteStream

  constructor(dir: string) {
    this.root = resolve(dir)
  }

  get location(): string {
    return this.root
  }

  window(concurrency: number): number {
    return Math.max(concurrency * 64, 1024)
  }

  private partial(name: string): string {
    return join(this.root, PARTIAL_DIR, name)
  }

  async open(header: ExportHeader, now: Date): Promise<OpenedDestination> {
    let entries: string[] = []
    try {
      const s = await stat(this.root)
      if (!s.isDirectory())
        throw usageError(`${this.root} exists and is not a folder.`, 'Give --to a new or empty folder.')
      entries = await readdir(this.root)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    }

    if (entries.length > 0 && !entries.includes(EXPORT_JOURNAL_NAME)) {
      throw refusedError(
        'DestinationNotEmpty',
        `Refused to export into ${this.root}: the folder is not empty and holds no custos export.`,
        'Give --to a new or empty folder.',
      )
    }

    await mkdir(this.root, {recursive: true, mode: PRIVATE_DIR_MODE})
    const journalPath = join(this.root, EXPORT_JOURNAL_NAME)
    if ((await lstat(journalPath).catch(() => undefined))?.isSymbolicLink()) throw linkRefusal(journalPath, this.root)
    const opened = await ExportJournal.open(journalPath, {...header, destination: 'folder'}, now)
    // A manifest from an earlier run would claim a success this run has not had yet.
    await rm(join(this.root, 'manifest.json'), {force: true})
    await rm(join(this.root, 'SHA256SUMS'), {force: true})
    await rm(join(this.root, PARTIAL_DIR), {recursive: true, force: true})
    await mkdir(join(this.root, PARTIAL_DIR), {mode: PRIVATE_DIR_MODE})
    this.journal = opened.journal
    this.resumed = opened.resumed
    this.manifestOut = createWriteStream(this.partial('manifest.json'), {mode: PRIVATE_FILE_MODE})
    this.sumsOut = createWriteStream(this.partial('SHA256SUMS'), {mode: PRIVATE_FILE_MODE})
    const notes = opened.resumed
      ? [`Resuming the export in ${this.root}: ${opened.previousObjects} objects were finished before.`]
      : []
    return {startedAt: opened.startedAt, resumed: opened.resumed, previousObjects: opened.previousObjects, notes}
  }

  /**
   * Merges the listing with the journal of earlier attempts, which has the same order. At the
   * first difference (the data changed since), the rest of the journal and the files it names
   * are dropped, and everything from there on is downloaded again.
   */
  async *annotate(listing: AsyncIterable<PlannedObject>): AsyncGenerator<Annotated> {
    let cursor: JournalCursor | undefined = this.resumed ? this.journal!.cursor() : undefined
    let line: JournalLine | undefined = cursor ? await cursor.next() : undefined
    try {
      for await (const object of listing) {
        if (line) {
          if (sameObject(line.entry, object) && (await this.intact(line.entry))) {
            yield {object, reuse: manifestOfJournal(line.entry)}
            line = await cursor!.next()
            continue
          }

          await this.discardFrom(cursor!, line)
          cursor = undefined
          line = undefined
        }

        yield {object}
      }

      if (line) await this.discardFrom(cursor!, line)
      cursor = undefined
    } finally {
      cursor?.close()
    }
  }

  private async intact(entry: JournalEntry): Promise<boolean> {
    const target = this.target(entry.path)
    const s = await this.lstatUnder(target)
    return entry.path.endsWith('/') ? Boolean(s?.isDirectory()) : Boolean(s?.isFile() && s.size === entry.size)
  }

  /**
   * lstat of `path` after checking every folder between the root and it; undefined when something
   * on the way is missing or not a folder. A link on the way, or at `path`, is refused.
   */
  private async lstatUnder(path: string): Promise<Awaited<ReturnType<typeof lstat>> | undefined> {
    let current = this.root
    for (const part of relative(this.root, dirname(path)).split(sep).filter(Boolean)) {
      current = join(current, part)
      if (this.checkedDirs.has(current)) continue
      const s = await lstat(current).catch(() => undefined)
      if (s?.isSymbolicLink()) throw linkRefusal(current, this.root)
      if (!s?.isDirectory()) return undefined
      this.remember(current)
    }

    const s = await lstat(path).catch(() => undefined)
    if (s?.isSymbolicLink()) throw linkRefusal(path, this.root)
    return s
  }

  private remember(dir: string): void {
    if (this.checkedDirs.size >= CHECKED_DIRS_MAX) this.checkedDirs.clear()
    this.checkedDirs.add(dir)
  }

  /** Removes the files of journal lines from `line` on, then cuts the journal there. */
  private async discardFrom(cursor: JournalCursor, line: JournalLine): Promise<void> {
    let current: JournalLine | undefined = line
    while (current) {
      if (current.entry.path && !current.entry.path.endsWith('/')) {
        const target = this.target(current.entry.path)
        if (await this.lstatUnder(target)) await rm(target, {force: true})
      }

      current = await cursor.next()
    }

    cursor.close()
    await this.journal!.truncateAt(line.offset)
  }

  /** The local path of an export path; never outside the root (names were checked, this re-checks). */
  private target(path: string): string {
    const full = resolve(this.root, ...path.split('/'))
    if (!full.startsWith(this.root + sep))
      throw refusedError('UnsafeBlobName', `Refused: ${JSON.stringify(path)} would be written outside ${this.root}.`)
    return full
  }

  /** Creates `dir` and the folders above it under the root (0700), refusing a link anywhere on the way. */
  private async ensureDir(dir: string): Promise<void> {
    if (this.checkedDirs.has(dir)) return
    let current = this.root
    for (const part of relative(this.root, dir).split(sep).filter(Boolean)) {
      current = join(current, part)
      if (this.checkedDirs.has(current)) continue
      try {
        await mkdir(current, {mode: PRIVATE_DIR_MODE})
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      }

      const s = await lstat(current)
      if (s.isSymbolicLink()) throw linkRefusal(current, this.root)
      if (!s.isDirectory()) throw Object.assign(new Error(`${current} is not a folder`), {code: 'ENOTDIR'})
      this.remember(current)
    }
  }

  async work(item: Annotated, context: TransferContext, signal: AbortSignal): Promise<FolderResult> {
    const {object} = item
    if (item.reuse) return {entry: item.reuse, kept: true}
    const target = this.target(object.path)
    if (object.folderMarker) {
      await this.ensureDir(target)
      return {entry: entryOf(object, EMPTY_SHA256), kept: false}
    }

    if (this.resumed) {
      const kept = await this.keptFile(object, target, context)
      if (kept) return {entry: kept, kept: true}
    }

    const reader = context.reader(object.store)
    const download = {
      customer: context.customer,
      abortSignal: signal,
      maxRetryRequests: context.maxRetryRequests,
      onBytes: context.onBytes,
    }
    try {
      await this.ensureDir(dirname(target))
      let sha256: string
      if (object.size <= IN_MEMORY_MAX_BYTES) {
        // verified before a byte is written
        const {data, digest} = await reader.toBuffer(object, download)
        writeSmallFile(target, data, new Date(object.lastModified))
        return {entry: entryOf(object, digest.sha256), kept: false}
      }

      if (object.size > RANGED_MIN_BYTES && context.concurrency > 1 && reader.toFileRanged) {
        sha256 = (
          await reader.toFileRanged(object, target, {
            ...download,
            rangeSize: RANGE_BYTES,
            parallel: Math.min(RANGES_IN_FLIGHT, context.concurrency),
          })
        ).sha256
      } else {
        const file = await openFile(target, CREATE_NO_FOLLOW, PRIVATE_FILE_MODE)
        sha256 = (await reader.toStream(object, file.createWriteStream(), download)).sha256
      }

      // The blob's Last-Modified, set only after verification, marks the file complete (see keptFile).
      const time = new Date(object.lastModified)
      await lutimes(target, time, time)
      return {entry: entryOf(object, sha256), kept: false}
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      // O_NOFOLLOW found a link at the file's own name: refused, and the link is left as it is.
      if (code === 'ELOOP') throw linkRefusal(target, this.root)
      await unlink(target).catch(() => {})
      if (code === 'EISDIR' || code === 'ENOTDIR' || code === 'EEXIST' || code === 'ENOTEMPTY') {
        throw refusedError(
          'PathConflict',
          `Blob ${JSON.stringify(object.name)} in store ${object.store} cannot be written to ${target}: another blob uses that path as a folder, or the reverse.`,
          'Export to --archive or --server-side instead.',
        )
      }

      if (code === 'ENAMETOOLONG') {
        throw refusedError(
          'UnsafeBlobName',
          `Blob ${JSON.stringify(object.name)} in store ${object.store} is too long a path for this file system (${target.length} characters).`,
          'Export to --archive or --server-side instead.',
        )
      }

      if (code === 'ENOSPC') {
        throw new CustosError(`The disk holding ${this.root} is full.`, {
          code: 'DiskFull',
          exitCode: ExitCode.azure,
          hint: 'Free space, then run the same command again to resume.',
        })
      }

      throw error
    }
  }

  /**
   * A file an earlier attempt finished after its journal line was lost (a kill before the ordered
   * journal write). Its modification time is the blob's Last-Modified only if it was completed and
   * verified; it is hashed again locally (not downloaded again) and checked against Content-MD5 where
   * there is one.
   */
  private async keptFile(
    object: PlannedObject,
    target: string,
    context: TransferContext,
  ): Promise<ManifestObject | undefined> {
    const s = await this.lstatUnder(target)
    if (!s?.isFile() || s.size !== object.size || s.mtimeMs !== Date.parse(object.lastModified)) return undefined
    const file = await openFile(target, constants.O_RDONLY | constants.O_NOFOLLOW)
    const hashing = new HashingStream()
    await pipeline(file.createReadStream(), hashing, new Writable({write: (_c, _e, cb) => cb()}))
    const digest = hashing.digests.result()
    if (digest.bytes !== object.size) return undefined
    if (object.contentMD5 && digest.md5 !== object.contentMD5) return undefined
    context.onBytes(object.size)
    return entryOf(object, digest.sha256)
  }

  async commit(item: Annotated, result: FolderResult): Promise<ManifestObject> {
    if (!item.reuse) this.journal!.append(journalEntryOf(item.object, result.entry))
    return result.entry
  }

  manifestSink(): WriteStream {
    return this.manifestOut!
  }

  sumsSink(): WriteStream {
    return this.sumsOut!
  }

  async finish(): Promise<{manifestLocation: string}> {
    await this.journal!.close()
    await rename(this.partial('SHA256SUMS'), join(this.root, 'SHA256SUMS'))
    await rename(this.partial('manifest.json'), join(this.root, 'manifest.json'))
    await rm(join(this.root, PARTIAL_DIR), {recursive: true, force: true})
    return {manifestLocation: join(this.root, 'manifest.json')}
  }

  async abort(): Promise<void> {
    this.manifestOut?.on('error', () => {}).destroy()
    this.sumsOut?.on('error', () => {}).destroy()
    await this.journal?.close().catch(() => {})
    await rm(join(this.root, PARTIAL_DIR), {recursive: true, force: true}).catch(() => {})
  }
}

/**
 * Writes a small, verified file and stamps it complete, in four system calls on this thread. The
 * promise API would hand open, write, utimes and close to the thread pool one after another; for
 * an export of thousands of small objects those hand-offs cost more CPU than the writes (on a busy
 * machine each one also gives the CPU away).
 */
function writeSmallFile(path: string, data: Buffer, lastModified: Date): void {
  const fd = openSync(path, CREATE_NO_FOLLOW, PRIVATE_FILE_MODE)
  try {
    for (let offset = 0; offset < data.length;) offset += writeSync(fd, data, offset)
    futimesSync(fd, lastModified, lastModified)
  } finally {
    closeSync(fd)
  }
}
