/**
 * `--archive FILE.tar.gz|FILE.zip`: one file, streamed — object bytes go from the service through
 * the hashes into the archive, never into a temporary copy. Entries are written in manifest order;
 * small objects are fetched ahead in parallel (bounded memory), large ones stream in turn.
 * `manifest.json` and `SHA256SUMS` are the last entries, and a copy of the manifest is kept beside
 * the archive (`FILE.manifest.json`) for `custos certificate verify`.
 *
 * Resume: a half-written archive cannot be appended to safely, so an interrupted archive export is
 * written again from the start when re-run (it says so). The journal beside the archive keeps the
 * first attempt's start time, so the final manifest is the same as an uninterrupted run's. The
 * archive is written as `FILE.custos-partial` and renamed only when everything was verified.
 */
import {constants, createReadStream, createWriteStream, type WriteStream} from 'node:fs'
import {mkdir, rename, rm, stat} from 'node:fs/promises'
import {dirname, resolve} from 'node:path'
import {PassThrough, Writable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {createGzip} from 'node:zlib'

import tar from 'tar-stream'
import yazl from 'yazl'

import {usageError} from '../errors.js'
import {PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, refuseOverwrite} from '../output/files.js'
import type {Annotated, ExportDestination, ExportHeader, OpenedDestination, TransferContext} from './destination.js'
import {ExportJournal} from './journal.js'
import {entryOf, journalEntryOf} from './local-folder.js'
import type {ManifestObject} from './manifest.js'
import type {PlannedObject} from './plan.js'
import {EMPTY_SHA256} from './transfer.js'

/** zip entries carry the file type in the high bits of their mode, as stat() does */
const {S_IFDIR, S_IFREG} = constants

export type ArchiveFormat = 'tar.gz' | 'zip'

/** Objects up to this size are fetched ahead into memory while a larger one streams. */
const PREFETCH_MAX_BYTES = 1024 * 1024
/** …and at most this many of them at once (so at most 64 MiB are held). */
const PREFETCH_WINDOW = 64

/** Whether `file` names an archive (`.tar.gz`, `.tgz`, `.zip`): `customer export --output` writes one then, else a folder. */
export function isArchiveName(file: string): boolean {
  const lower = file.toLowerCase()
  return lower.endsWith('.tar.gz') || lower.endsWith('.tgz') || lower.endsWith('.zip')
}

export function archiveFormatOf(file: string, flag = '--archive'): ArchiveFormat {
  const lower = file.toLowerCase()
  if (lower.endsWith('.tar.gz') || lower.endsWith('.tgz')) return 'tar.gz'
  if (lower.endsWith('.zip')) return 'zip'
  throw usageError(`${flag} ${file}: the name must end in .tar.gz, .tgz or .zip (it decides the format).`)
}

interface ArchiveWriter {
  addDirectory(path: string, mtime: Date): Promise<void>
  addBuffer(path: string, data: Buffer, mtime: Date): Promise<void>
  /** a sink for one entry of `size` bytes; the entry is complete when the sink has finished */
  addStream(path: string, size: number, mtime: Date): Writable
  close(): Promise<void>
  destroy(error: Error): void
}

function tarWriter(file: string): ArchiveWriter {
  const pack = tar.pack()
  const done = pipeline(pack, createGzip(), createWriteStream(file, {mode: PRIVATE_FILE_MODE}))
  done.catch(() => {}) // observed in close()
  const entry = (header: Parameters<ReturnType<typeof tar.pack>['entry']>[0], data?: Buffer) =>
    new Promise<void>((resolveEntry, reject) => {
      const callback = (error?: Error | null) => (error ? reject(error) : resolveEntry())
      if (data) pack.entry(header, data, callback)
      else pack.entry(header, callback)
    })
  return {
    // Entries are private too: whoever unpacks the archive gets files 0600 and folders 0700.
    addDirectory: (path, mtime) => entry({name: path, type: 'directory', mode: PRIVATE_DIR_MODE, mtime}),
    addBuffer: (path, data, mtime) =>
      entry({name: path, type: 'file', mode: PRIVATE_FILE_MODE, mtime, size: data.length}, data),
    addStream(path, size, mtime) {
      let finished: (error?: Error | null) => void = () => {}
      const complete = new Promise<void>((resolveEntry, reject) => {
        finished = (error) => (error ? reject(error) : resolveEntry())
      })
      complete.catch(() => {})
      const sink = pack.entry({name: path, type: 'file', mode: PRIVATE_FILE_MODE, mtime, size}, (error) =>
        finished(error),
      )
      return new Writable({
        write(chunk: Buffer, _encoding, callback) {
          if (sink.write(chunk)) callback()
          else sink.once('drain', () => callback())
        },
        final(callback) {
          sink.end(() => {})
          complete.then(() => callback(), callback)
        },
        destroy(error, callback) {
          if (error) sink.destroy(error)
          callback(error)
        },
      })
    },
    async close() {
      pack.finalize()
      await done
    },
    destroy(error) {
      pack.destroy(error)
    },
  }
}

function zipWriter(file: string): ArchiveWriter {
  const zip = new yazl.ZipFile()
  const out = createWriteStream(file, {mode: PRIVATE_FILE_MODE})
  let failure: Error | undefined
  zip.on('error', (error: Error) => {
    failure = error
    out.destroy(error)
  })
  const done = pipeline(zip.outputStream, out)
  done.catch(() => {})
  const check = () => {
    if (failure) throw failure
  }

  return {
    async addDirectory(path, mtime) {
      check()
      zip.addEmptyDirectory(path, {mtime, mode: S_IFDIR | PRIVATE_DIR_MODE})
    },
    async addBuffer(path, data, mtime) {
      check()
      zip.addBuffer(data, path, {mtime, mode: S_IFREG | PRIVATE_FILE_MODE})
    },
    addStream(path, size, mtime) {
      check()
      const through = new PassThrough()
      zip.addReadStream(through, path, {size, mtime, mode: S_IFREG | PRIVATE_FILE_MODE})
      return through
    },
    async close() {
      check()
      zip.end()
      await done
      check()
    },
    destroy(error) {
      ;(zip.outputStream as PassThrough).destroy(error)
      out.destroy(error)
    },
  }
}

type ArchiveResult =
  {kind: 'folder'; entry: ManifestObject} | {kind: 'buffer'; data: Buffer; entry: ManifestObject} | {kind: 'stream'}

export class ArchiveDestination implements ExportDestination<ArchiveResult> {
  readonly format: ArchiveFormat
  readonly file: string
  private readonly partialFile: string
  private readonly journalPath: string
  readonly manifestPath: string
  private readonly manifestPartial: string
  private readonly sumsPartial: string
  private journal?: ExportJournal
  private writer?: ArchiveWriter
  private manifestOut?: WriteStream
  private sumsOut?: WriteStream

  /**
   * @param file the archive (`.tar.gz`, `.tgz` or `.zip`)
   * @param force replace `file` when it exists (--force). Without it an existing file is refused:
   * an interrupted archive export leaves only `FILE.custos-partial`, so `file` itself is a finished
   * export or someone else's file.
   * @param flag the flag that named `file`, as the operator typed it, for errors
   */
  constructor(
    file: string,
    private readonly force = false,
    private readonly flag = '--archive',
  ) {
    this.file = resolve(file)
    this.format = archiveFormatOf(this.file, flag)
    this.partialFile = `${this.file}.custos-partial`
    this.journalPath = `${this.file}.custos-export-journal.jsonl`
    this.manifestPath = `${this.file}.manifest.json`
    this.manifestPartial = `${this.manifestPath}.custos-partial`
    this.sumsPartial = `${this.file}.SHA256SUMS.custos-partial`
  }

  get kind(): ArchiveFormat {
    return this.format
  }

  get location(): string {
    return this.file
  }

  window(concurrency: number): number {
    return Math.max(Math.min(concurrency * 4, PREFETCH_WINDOW), 1)
  }

  async open(header: ExportHeader, now: Date): Promise<OpenedDestination> {
    const exists = async (path: string) =>
      stat(path).then(
        (s) => s,
        () => undefined,
      )
    const existing = await exists(this.file)
    if (existing?.isDirectory())
      throw usageError(
        `${this.flag} ${this.file} is a folder.`,
        'Give a file name ending in .tar.gz or .zip, or --output without those endings for a folder.',
      )
    refuseOverwrite([this.file], this.flag, this.force)
    await mkdir(dirname(this.file), {recursive: true, mode: PRIVATE_DIR_MODE})
    const opened = await ExportJournal.open(this.journalPath, {...header, destination: this.format}, now, {
      restart: true,
    })
    this.journal = opened.journal
    await rm(this.manifestPath, {force: true})
    this.writer = this.format === 'zip' ? zipWriter(this.partialFile) : tarWriter(this.partialFile)
    this.manifestOut = createWriteStream(this.manifestPartial, {mode: PRIVATE_FILE_MODE})
    this.sumsOut = createWriteStream(this.sumsPartial, {mode: PRIVATE_FILE_MODE})
    const notes = opened.resumed
      ? [
          `Archive exports cannot resume: ${this.file} is written again from the start${opened.previousObjects ? ` (${opened.previousObjects} objects had been written before)` : ''}; the manifest keeps the first attempt's start time.`,
        ]
      : []
    return {startedAt: opened.startedAt, resumed: opened.resumed, previousObjects: opened.previousObjects, notes}
  }

  async *annotate(listing: AsyncIterable<PlannedObject>): AsyncGenerator<Annotated> {
    for await (const object of listing) yield {object}
  }

  async work(item: Annotated, context: TransferContext, signal: AbortSignal): Promise<ArchiveResult> {
    const {object} = item
    if (object.folderMarker) return {kind: 'folder', entry: entryOf(object, EMPTY_SHA256)}
    if (object.size > PREFETCH_MAX_BYTES) return {kind: 'stream'}
    const {data, digest} = await context.reader(object.store).toBuffer(object, {
      customer: context.customer,
      abortSignal: signal,
      maxRetryRequests: context.maxRetryRequests,
      onBytes: context.onBytes,
    })
    return {kind: 'buffer', data, entry: entryOf(object, digest.sha256)}
  }

  async commit(
    item: Annotated,
    result: ArchiveResult,
    context: TransferContext,
    signal: AbortSignal,
  ): Promise<ManifestObject> {
    const {object} = item
    const mtime = new Date(object.lastModified)
    let entry: ManifestObject
    if (result.kind === 'folder') {
      await this.writer!.addDirectory(object.path, mtime)
      entry = result.entry
    } else if (result.kind === 'buffer') {
      await this.writer!.addBuffer(object.path, result.data, mtime)
      entry = result.entry
    } else {
      const sink = this.writer!.addStream(object.path, object.size, mtime)
      // Large objects stream straight into the archive; a mismatch found at the end fails the export and the partial archive is removed.
      const digest = await context.reader(object.store).toStream(object, sink, {
        customer: context.customer,
        abortSignal: signal,
        maxRetryRequests: context.maxRetryRequests,
        onBytes: context.onBytes,
      })
      entry = entryOf(object, digest.sha256)
    }

    this.journal!.append(journalEntryOf(object, entry))
    return entry
  }

  manifestSink(): WriteStream {
    return this.manifestOut!
  }

  sumsSink(): WriteStream {
    return this.sumsOut!
  }

  async finish(): Promise<{manifestLocation: string}> {
    const now = new Date()
    for (const [path, name] of [
      [this.manifestPartial, 'manifest.json'],
      [this.sumsPartial, 'SHA256SUMS'],
    ] as const) {
      const {size} = await stat(path)
      await pipeline(createReadStream(path), this.writer!.addStream(name, size, now))
    }

    await this.writer!.close()
    await this.journal!.close()
    await rename(this.partialFile, this.file)
    await rename(this.manifestPartial, this.manifestPath)
    await rm(this.sumsPartial, {force: true})
    return {manifestLocation: this.manifestPath}
  }

  async abort(error: unknown): Promise<void> {
    this.writer?.destroy(error instanceof Error ? error : new Error(String(error)))
    this.manifestOut?.on('error', () => {}).destroy()
    this.sumsOut?.on('error', () => {}).destroy()
    await this.journal?.close().catch(() => {})
    for (const path of [this.partialFile, this.manifestPartial, this.sumsPartial])
      await rm(path, {force: true}).catch(() => {})
  }
}
