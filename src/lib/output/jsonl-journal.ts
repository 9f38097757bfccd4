/**
 * The one framing of custos's journals — the export's `.custos-export-journal.jsonl` and the erase's
 * `<plan>.journal.jsonl`: JSON Lines, one document per line, each written as
 * `JSON.stringify(line) + "\n"`.
 *
 * - **Header.** The first line says what the journal is and in which version:
 *   `{"type": "<format>", "formatVersion": n, …}` (the caller's fields follow). Erase journals
 *   written before they had one start with a `start` line instead; they are opened without a header
 *   (`header` undefined, `headerBytes` 0) and stay readable.
 * - **A torn last line** (a kill while writing it: no newline at the end) is cut off when the
 *   journal is opened again, so that a new line is never glued to it. It was never acknowledged:
 *   what it described is done again. A file without one complete line starts over with a new header.
 * - **Readers** get every line with its byte offset; a line that does not parse (a torn line an
 *   earlier version left in the middle) comes as `value: undefined`, for the caller to skip or stop at.
 * - **Durability**, chosen per journal: `each-line` — every append is written and `fdatasync`ed
 *   before it resolves (the erase: a line is the record that deletes happened); `buffered` — lines
 *   are coalesced for up to 25 ms and `flush` waits for them (the export: a lost line means an object
 *   is hashed again on resume, never that one is missing).
 */
import {createReadStream, createWriteStream, type WriteStream} from 'node:fs'
import {once} from 'node:events'
import {open, stat, truncate, type FileHandle} from 'node:fs/promises'
import {createInterface} from 'node:readline'

import {writeCoalesced} from './coalesce.js'
import {PRIVATE_FILE_MODE} from './files.js'

export type Durability = 'each-line' | 'buffered'

/** The first line of a journal. */
export interface JsonlHeader {
  type: string
  formatVersion: number
  [field: string]: unknown
}

export interface OpenJsonlOptions {
  /** the header's `type`, e.g. `custos.export-journal` */
  format: string
  formatVersion: number
  /** the caller's header fields, written (after `type` and `formatVersion`) when the journal is new */
  header: Record<string, unknown>
  durability: Durability
}

/** One line of a journal: its parsed document (undefined when it does not parse) and where it starts. */
export interface JsonlLine {
  value: unknown
  /** byte offset of the line's start (for `truncateAt`) */
  offset: number
}

/** The first 64 KiB of a file (enough for a header line) and its size, or undefined when it does not exist. */
async function readHead(path: string): Promise<{head: Buffer; size: number} | undefined> {
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
    return {head: buffer.subarray(0, bytesRead), size: (await handle.stat()).size}
  } finally {
    await handle.close()
  }
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return undefined
  }
}

export class JsonlJournal {
  /** each-line: appends go through this handle, one after another */
  private handle?: FileHandle
  private chain: Promise<void> = Promise.resolve()
  /** buffered: appends go through this stream */
  private writer?: WriteStream

  private constructor(
    readonly path: string,
    readonly durability: Durability,
    /** the header line, when the journal has one of the format asked for */
    readonly header: JsonlHeader | undefined,
    /** the first line as it parsed (undefined if it did not), for a caller that explains a mismatch */
    readonly firstLine: unknown,
    /** byte length of the header line: where the other lines start (0 without a header) */
    readonly headerBytes: number,
    /** the journal was created (or started over) by this open */
    readonly created: boolean,
  ) {}

  /**
   * Opens the journal at `path`: creates it with its header line when it does not exist or holds no
   * complete line, else reads its first line and changes nothing — the caller checks the header
   * (and may read the lines) before `beginAppending`, so a journal it refuses is left as it was.
   */
  static async open(path: string, options: OpenJsonlOptions): Promise<JsonlJournal> {
    const read = await readHead(path)
    const firstLineEnd = read?.head.indexOf(0x0a) ?? -1
    let journal: JsonlJournal
    if (read === undefined || (firstLineEnd < 0 && read.size <= read.head.length)) {
      const header: JsonlHeader = {type: options.format, formatVersion: options.formatVersion, ...options.header}
      const line = `${JSON.stringify(header)}\n`
      const handle = await open(path, 'w', PRIVATE_FILE_MODE)
      try {
        await handle.writeFile(line)
        await handle.datasync()
      } finally {
        await handle.close()
      }

      journal = new JsonlJournal(path, options.durability, header, header, Buffer.byteLength(line), true)
    } else {
      // a first line longer than the head is no header (and is read like any other line)
      const first = firstLineEnd < 0 ? undefined : parse(read.head.subarray(0, firstLineEnd).toString('utf8'))
      const isHeader = (first as JsonlHeader | undefined)?.type === options.format
      const headerBytes = isHeader ? firstLineEnd + 1 : 0
      journal = new JsonlJournal(
        path,
        options.durability,
        isHeader ? (first as JsonlHeader) : undefined,
        first,
        headerBytes,
        false,
      )
    }

    return journal
  }

  /** Cuts a torn last line (never the header) and readies `append`. */
  async beginAppending(): Promise<void> {
    await this.cutTornLine(this.headerBytes)
    if (this.durability === 'buffered')
      this.writer = createWriteStream(this.path, {flags: 'a', mode: PRIVATE_FILE_MODE})
    else this.handle = await open(this.path, 'a', PRIVATE_FILE_MODE)
  }

  /** The lines after the header, in order, with their offsets (from `start`, a line's offset). */
  async *lines(start = this.headerBytes): AsyncGenerator<JsonlLine> {
    const rl = createInterface({input: createReadStream(this.path, {start}), crlfDelay: Number.POSITIVE_INFINITY})
    let offset = start
    try {
      for await (const text of rl) {
        const lineOffset = offset
        offset += Buffer.byteLength(text) + 1
        if (text.trim() === '') continue
        yield {value: parse(text), offset: lineOffset}
      }
    } finally {
      rl.close()
    }
  }

  /** Appends one line (after `beginAppending`); with `each-line` durability it is on disk when this resolves. */
  append(line: object): Promise<void> {
    const text = `${JSON.stringify(line)}\n`
    if (this.writer) {
      writeCoalesced(this.writer, text)
      return Promise.resolve()
    }

    const handle = this.handle!
    const next = this.chain.then(async () => {
      await handle.write(text)
      await handle.datasync()
    })
    this.chain = next.catch(() => {})
    return next
  }

  /** Resolves once every line appended so far has reached the file. */
  async flush(): Promise<void> {
    await this.chain
    const w = this.writer
    if (!w || w.writableLength === 0) return
    await new Promise<void>((resolve, reject) => w.write('', (error) => (error ? reject(error) : resolve())))
  }

  /** Drops every line from `offset` on (never the header). */
  async truncateAt(offset: number): Promise<void> {
    await this.flush()
    await truncate(this.path, Math.max(offset, this.headerBytes))
  }

  async close(): Promise<void> {
    await this.chain
    const {handle, writer} = this
    this.handle = undefined
    this.writer = undefined
    if (handle) await handle.close()
    if (writer) {
      writer.end()
      if (!writer.closed) await once(writer, 'close')
    }
  }

  /** Cuts a last line without its newline (the run was killed while writing it), never before `keep`. */
  private async cutTornLine(keep: number): Promise<void> {
    const {size} = await stat(this.path)
    const handle = await open(this.path, 'r')
    let end: number
    try {
      end = await endOfLastLine(handle, keep, size)
    } finally {
      await handle.close()
    }

    if (end < size) await truncate(this.path, end)
  }
}

/** The offset just after the last newline between `keep` and `size` (`keep` when there is none). */
async function endOfLastLine(handle: FileHandle, keep: number, size: number): Promise<number> {
  const chunk = Buffer.alloc(64 * 1024)
  let to = size
  while (to > keep) {
    const from = Math.max(keep, to - chunk.length)
    const {bytesRead} = await handle.read(chunk, 0, to - from, from)
    const at = chunk.subarray(0, bytesRead).lastIndexOf(0x0a)
    if (at !== -1) return from + at + 1
    to = from
  }

  return keep
}
