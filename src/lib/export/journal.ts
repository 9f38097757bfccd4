/**
 * The export journal: a JSON-lines file beside the output. The first line describes the export
 * (customer, destination kind, options, and the start time of the first attempt); every further
 * line is one finished, verified object, written in manifest order. Because the journal has the
 * listing's order, a resumed run merges it with a fresh listing line by line — nothing is indexed
 * in memory however many objects there are. The framing (header line, torn last line, buffered
 * writes) is the one of every custos journal: output/jsonl-journal.ts.
 */
import {refusedError} from '../errors.js'
import {JsonlJournal, type JsonlLine} from '../output/jsonl-journal.js'
import type {ManifestObject} from './manifest.js'

const JOURNAL_FORMAT = 'custos.export-journal'

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
  private readonly lines: AsyncGenerator<JsonlLine>

  constructor(journal: JsonlJournal) {
    this.lines = journal.lines()
  }

  /** The next line, or undefined at the end; a line that does not parse ends the journal there. */
  async next(): Promise<JournalLine | undefined> {
    const line = await this.lines.next()
    if (line.done) return undefined
    const entry = line.value.value as JournalEntry | undefined
    if (typeof entry?.store === 'string' && typeof entry.name === 'string') return {entry, offset: line.value.offset}
    return {
      entry: {store: '', name: '', kind: 'current', path: '', size: -1, lastModified: ''},
      offset: line.value.offset,
    }
  }

  close(): void {
    void this.lines.return(undefined)
  }
}

export class ExportJournal {
  private constructor(private readonly file: JsonlJournal) {}

  get path(): string {
    return this.file.path
  }

  /** byte length of the header line (object lines start there) */
  get headerBytes(): number {
    return this.file.headerBytes
  }

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
    // written buffered: a line a kill loses means the object is hashed again on resume, not fetched again
    const file = await JsonlJournal.open(path, {
      format: JOURNAL_FORMAT,
      formatVersion: 1,
      header: {...header, startedAt: now.toISOString()},
      durability: 'buffered',
    })
    const journal = new ExportJournal(file)
    if (file.created) {
      await file.beginAppending()
      return {journal, startedAt: now.toISOString(), resumed: false, previousObjects: 0}
    }

    const previous = file.firstLine as JournalHeader | undefined
    if (previous === undefined || typeof previous !== 'object') {
      throw refusedError(
        'JournalUnreadable',
        `The export journal ${path} is not readable.`,
        'Remove it (and the partial export beside it) to start over.',
      )
    }

    const same =
      file.header !== undefined &&
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

    if (options.restart) {
      const objects = await journal.countObjects()
      await file.truncateAt(file.headerBytes)
      await file.beginAppending()
      return {journal, startedAt: previous.startedAt, resumed: true, previousObjects: objects}
    }

    await file.beginAppending()
    return {journal, startedAt: previous.startedAt, resumed: true, previousObjects: await journal.countObjects()}
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
    return new JournalCursor(this.file)
  }

  /** Drops every object line from `offset` on (the data changed since they were written). */
  async truncateAt(offset: number): Promise<void> {
    await this.file.truncateAt(offset)
  }

  /** Appends one finished object (buffered; a line lost to a kill is redone on resume). */
  append(entry: JournalEntry): void {
    void this.file.append(entry)
  }

  /** Resolves once every line appended so far has reached the file. */
  async flush(): Promise<void> {
    await this.file.flush()
  }

  async close(): Promise<void> {
    await this.file.close()
  }
}
