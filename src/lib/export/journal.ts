/**
 * The export journal: a JSON-lines file beside the output. The first line describes the export
 * (customer, destination kind, options, and the start time of the first attempt); every further
 * line is one finished, verified object, written in manifest order. Because the journal has the
 * listing's order, a resumed run merges it with a fresh listing line by line — nothing is indexed
 * in memory however many objects there are.
 */
import {createReadStream, createWriteStream, type WriteStream} from 'node:fs'
import {open, stat, truncate} from 'node:fs/promises'
import {once} from 'node:events'
import {createInterface, type Interface} from 'node:readline'

import {refusedError} from '../errors.js'
import {PRIVATE_FILE_MODE} from '../output/files.js'
import {writeCoalesced} from './coalesce.js'
import type {ManifestObject} from './manifest.js'

export const JOURNAL_FORMAT = 'custos.export-journal'

export interface JournalHeader {
  type: typeof JOURNAL_FORMAT
  formatVersion: 1
  customer: string
  destination: string
  includeVersions: boolean
  includeSnapshots: boolean
  /** start of the first attempt; a resumed run reuses it so its manifest equals an uninterrupted run's */
  startedAt: string
}

/** One finished object: its manifest entry plus what a resumed run compares with the listing. */
export interface JournalEntry extends ManifestObject {
  etag?: string
}

export interface JournalOpenResult {
  journal: ExportJournal
  startedAt: string
  /** a journal of the same export was already there */
  resumed: boolean
  /** object lines kept from earlier attempts */
  previousObjects: number
}

export interface JournalLine {
  entry: JournalEntry
  /** byte offset of the line's start (for truncation) */
  offset: number
}

/** Reads the object lines of a journal in order, with their offsets. */
export class JournalCursor {
  private readonly lines: AsyncIterator<string>
  private readonly rl: Interface
  private offset: number

  constructor(path: string, start: number) {
    this.offset = start
    this.rl = createInterface({input: createReadStream(path, {start}), crlfDelay: Infinity})
    this.lines = this.rl[Symbol.asyncIterator]()
  }

  /** The next line, or undefined at the end; a line that does not parse ends the journal there. */
  async next(): Promise<JournalLine | undefined> {
    const line = await this.lines.next()
    if (line.done) return undefined
    const offset = this.offset
    this.offset += Buffer.byteLength(line.value) + 1
    try {
      const entry = JSON.parse(line.value) as JournalEntry
      if (typeof entry.store !== 'string' || typeof entry.name !== 'string') throw new Error('not an object line')
      return {entry, offset}
    } catch {
      return {entry: {store: '', name: '', kind: 'current', path: '', size: -1, lastModified: ''}, offset}
    }
  }

  close(): void {
    this.rl.close()
  }
}

export class ExportJournal {
  private writer?: WriteStream

  private constructor(
    readonly path: string,
    /** byte length of the header line (object lines start there) */
    readonly headerBytes: number,
  ) {}

  /**
   * Opens the journal at `path`, creating it with `header` when absent. An existing journal must
   * describe the same export (else exit 3: the output belongs to another export). A torn last line
   * from a killed run is cut off. With `restart`, earlier object lines are dropped (archives).
   */
  static async open(
    path: string,
    header: Omit<JournalHeader, 'type' | 'formatVersion' | 'startedAt'>,
    now: Date,
    options: {restart?: boolean} = {},
  ): Promise<JournalOpenResult> {
    const existing = await readHead(path)
    const firstLineEnd = existing?.indexOf('\n') ?? -1
    if (existing === undefined || firstLineEnd < 0) {
      const full: JournalHeader = {type: JOURNAL_FORMAT, formatVersion: 1, ...header, startedAt: now.toISOString()}
      const line = `${JSON.stringify(full)}\n`
      const handle = await open(path, 'w', PRIVATE_FILE_MODE)
      await handle.writeFile(line)
      await handle.close()
      const journal = new ExportJournal(path, Buffer.byteLength(line))
      journal.startWriter()
      return {journal, startedAt: full.startedAt, resumed: false, previousObjects: 0}
    }

    let previous: JournalHeader
    try {
      previous = JSON.parse(existing.slice(0, firstLineEnd)) as JournalHeader
    } catch {
      throw refusedError(
        'JournalUnreadable',
        `The export journal ${path} is not readable.`,
        'Remove it (and the partial export beside it) to start over.',
      )
    }

    const same =
      previous.type === JOURNAL_FORMAT &&
      previous.customer === header.customer &&
      previous.destination === header.destination &&
      previous.includeVersions === header.includeVersions &&
      previous.includeSnapshots === header.includeSnapshots
    if (!same) {
      throw refusedError(
        'OtherExport',
        `The export journal ${path} belongs to another export (customer ${previous.customer}, ${previous.destination}${previous.includeVersions ? ', with versions' : ''}${previous.includeSnapshots ? ', with snapshots' : ''}).`,
        'Export into a new, empty location, or run the earlier command again to finish that export.',
      )
    }

    const headerBytes = Buffer.byteLength(existing.slice(0, firstLineEnd + 1))
    const journal = new ExportJournal(path, headerBytes)
    if (options.restart) {
      const objects = await journal.countObjects()
      await truncate(path, headerBytes)
      journal.startWriter()
      return {journal, startedAt: previous.startedAt, resumed: true, previousObjects: objects}
    }

    await journal.cutTornLine()
    journal.startWriter()
    return {journal, startedAt: previous.startedAt, resumed: true, previousObjects: await journal.countObjects()}
  }

  private startWriter(): void {
    this.writer = createWriteStream(this.path, {flags: 'a', mode: PRIVATE_FILE_MODE})
  }

  /** Cuts a last line without its newline (the run was killed while writing it). */
  private async cutTornLine(): Promise<void> {
    const {size} = await stat(this.path)
    if (size <= this.headerBytes) return
    const window = Math.min(size - this.headerBytes, 256 * 1024)
    const buffer = Buffer.alloc(window)
    const handle = await open(this.path, 'r')
    try {
      await handle.read(buffer, 0, window, size - window)
    } finally {
      await handle.close()
    }

    if (buffer.at(-1) === 0x0a) return
    const lastNewline = buffer.lastIndexOf(0x0a)
    await truncate(this.path, lastNewline === -1 ? this.headerBytes : size - window + lastNewline + 1)
  }

  private async countObjects(): Promise<number> {
    const cursor = this.cursor()
    let n = 0
    try {
      while (await cursor.next()) n++
    } finally {
      cursor.close()
    }

    return n
  }

  /** A reader over the object lines kept from earlier attempts. */
  cursor(): JournalCursor {
    return new JournalCursor(this.path, this.headerBytes)
  }

  /** Drops every object line from `offset` on (the data changed since they were written). */
  async truncateAt(offset: number): Promise<void> {
    await this.flush()
    await truncate(this.path, Math.max(offset, this.headerBytes))
  }

  /** Appends one finished object (buffered; a line lost to a kill is redone on resume). */
  append(entry: JournalEntry): void {
    writeCoalesced(this.writer!, `${JSON.stringify(entry)}\n`)
  }

  /** Resolves once every line appended so far has reached the file. */
  async flush(): Promise<void> {
    const w = this.writer
    if (!w || w.writableLength === 0) return
    await new Promise<void>((resolve, reject) => w.write('', (error) => (error ? reject(error) : resolve())))
  }

  async close(): Promise<void> {
    const w = this.writer
    this.writer = undefined
    if (!w) return
    w.end()
    if (!w.closed) await once(w, 'close')
  }
}

/** The first 64 KiB of a file as text (enough for the header line), or undefined when it does not exist. */
async function readHead(path: string): Promise<string | undefined> {
  let handle
  try {
    handle = await open(path, 'r')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }

  try {
    const buffer = Buffer.alloc(64 * 1024)
    const {bytesRead} = await handle.read(buffer, 0, buffer.length, 0)
    return buffer.subarray(0, bytesRead).toString('utf8')
  } finally {
    await handle.close()
  }
}
