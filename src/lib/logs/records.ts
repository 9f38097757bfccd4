/**
 * Turns a byte stream of archived diagnostic logs into records, holding at most one chunk and one
 * line in memory. Two layouts are accepted (archived-storage-format.md):
 *
 * - JSON Lines (since November 2018): one record per line; a line that is itself a
 *   `{"records": [...]}` wrapper (Event Hubs style) is expanded;
 * - the old whole-blob wrapper `{"records": [ {...}, {...} ]}`, possibly pretty-printed over many
 *   lines, split element by element without reading the whole blob.
 *
 * A line that is not a JSON object is counted as malformed and skipped, never fatal.
 *
 * With `needles`, only lines containing one of them are parsed (a byte search, much cheaper than
 * JSON.parse); the rest are counted as `skipped` after a structural check (`{ … }`), so that
 * truncated lines are still counted as malformed. Lines with `\u` or `\/` escapes are always parsed,
 * because JSON may spell a needle that way.
 */
import type {LogRecord} from './fields.js'

export interface RecordStreamStats {
  /** non-blank lines (or wrapper elements) seen */
  lines: number
  /** lines parsed as JSON */
  parsed: number
  /** lines left unparsed by the needle prefilter */
  skipped: number
  /** lines that are not a JSON object (or not one structurally, when skipped) */
  malformed: number
}

export interface MalformedLine {
  source: string
  line: number
  reason: string
}

export interface ParseRecordsOptions {
  /** name of the source for messages (blob name, file path) */
  source: string
  /** when given, only lines containing one of these strings are parsed */
  needles?: readonly string[]
  /**
   * Speed hint for `needles`: distinctive strings (such as the customer id) that the needles
   * contain; the scan searches these and checks the needles around each hit. Results are the same.
   */
  anchors?: readonly string[]
  stats?: RecordStreamStats
  onMalformed?: (info: MalformedLine) => void
  /** lines longer than this are malformed (guards memory against a blob without newlines); default 64 MiB */
  maxLineBytes?: number
}

export interface ParsedRecord {
  record: LogRecord
  /** the record's text as stored (one line, or one wrapper element) */
  raw: string
  /** 1-based line number where the record starts */
  line: number
}

export function newRecordStreamStats(): RecordStreamStats {
  return {lines: 0, parsed: 0, skipped: 0, malformed: 0}
}

const NL = 0x0a
const CR = 0x0d
const OPEN_BRACE = 0x7b
const CLOSE_BRACE = 0x7d
const ESCAPES = [String.raw`\u`, String.raw`\/`]
const WRAPPER_HEAD = /^\s*\{\s*"records"\s*:\s*\[/
const DEFAULT_MAX_LINE = 64 * 1024 * 1024

/**
 * JSON.parse's message without the excerpt V8 quotes from the input (up to ten characters each
 * side of the error): the line may be any customer's record, with its ids, IPs or secrets, and the
 * reason goes into the bundle's manifest and the command's output.
 */
function parseErrorReason(error: unknown): string {
  const message = (error as Error)?.message?.split('\n')[0] ?? String(error)
  return message.replace(/,\s*(?:\.\.\.)?".*$/, '').replace(/".*$/, '')
}

function isSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x09 || byte === CR || byte === NL
}

/**
 * Finds needles line by line. Buffer.indexOf is slow for short needles whose first byte is common
 * in JSON (`"acme"` starts with a quote), so the scan looks for anchors — distinctive parts of the
 * needles such as the customer id — with one forward indexOf per occurrence (not per line) and
 * checks the whole needles around each hit.
 */
class NeedleScanner {
  private readonly next: number[]

  constructor(
    private readonly buf: Buffer,
    private readonly plan: ScanPlan,
  ) {
    this.next = plan.anchors.map(() => -2)
  }

  /** true when [start, end) contains a needle; calls must come with growing `start` */
  has(start: number, end: number): boolean {
    const {anchors} = this.plan
    for (const [i, anchor] of anchors.entries()) {
      let at = this.next[i]
      if (at !== -1 && at < start) at = this.buf.indexOf(anchor.bytes, start)
      while (at !== -1 && at + anchor.bytes.length <= end) {
        for (const {needle, offset} of anchor.needles) {
          const from = at - offset
          if (
            from >= start &&
            from + needle.length <= end &&
            this.buf.compare(needle, 0, needle.length, from, from + needle.length) === 0
          ) {
            this.next[i] = at
            return true
          }
        }

        at = this.buf.indexOf(anchor.bytes, at + 1)
      }

      this.next[i] = at
    }

    return false
  }
}

interface ScanPlan {
  anchors: Array<{bytes: Buffer; needles: Array<{needle: Buffer; offset: number}>}>
  /** every needle, for lines assembled across chunks */
  needles: Buffer[]
}

/** Groups needles under the anchors they contain; a needle without one anchors on itself. */
function scanPlan(needles: readonly string[], anchors: readonly string[]): ScanPlan {
  const plan: ScanPlan = {anchors: [], needles: needles.map((n) => Buffer.from(n, 'utf8'))}
  const byAnchor = new Map<string, ScanPlan['anchors'][number]>()
  const anchorOf = (text: string) => {
    let entry = byAnchor.get(text)
    if (!entry) {
      entry = {bytes: Buffer.from(text, 'utf8'), needles: []}
      byAnchor.set(text, entry)
      plan.anchors.push(entry)
    }

    return entry
  }

  for (const needle of needles) {
    const anchor = anchors.find((a) => a !== '' && needle.includes(a)) ?? needle
    const bytes = Buffer.from(needle, 'utf8')
    // every place the anchor occurs in the needle, in bytes
    for (let at = needle.indexOf(anchor); at !== -1; at = needle.indexOf(anchor, at + 1)) {
      anchorOf(anchor).needles.push({needle: bytes, offset: Buffer.byteLength(needle.slice(0, at))})
    }
  }

  return plan
}

class LineParser {
  readonly stats: RecordStreamStats
  private readonly plan?: ScanPlan
  private readonly maxLine: number
  private lineNo = 0
  private carry: Buffer[] = []
  private carryBytes = 0
  private carryOverflow = false
  private first = true

  constructor(private readonly options: ParseRecordsOptions) {
    this.stats = options.stats ?? newRecordStreamStats()
    this.plan = options.needles ? scanPlan([...options.needles, ...ESCAPES], options.anchors ?? []) : undefined
    this.maxLine = options.maxLineBytes ?? DEFAULT_MAX_LINE
  }

  private malformed(line: number, reason: string): void {
    this.stats.malformed++
    this.options.onMalformed?.({source: this.options.source, line, reason})
  }

  /** Parses one record's text (already known to be non-blank); the wrapper splitter uses it too. */
  parseText(text: string, line: number, out: ParsedRecord[]): void {
    this.stats.parsed++
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch (error) {
      this.malformed(line, `not valid JSON (${parseErrorReason(error)})`)
      return
    }

    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.malformed(line, 'not a JSON object')
      return
    }

    const record = value as LogRecord
    // A line holding a whole `{"records": [...]}` wrapper (Event Hubs capture style).
    if (Array.isArray(record.records) && record.time === undefined) {
      for (const element of record.records as unknown[]) {
        if (typeof element === 'object' && element !== null && !Array.isArray(element))
          out.push({record: element as LogRecord, raw: JSON.stringify(element), line})
        else this.malformed(line, 'a "records" element is not a JSON object')
      }

      return
    }

    out.push({record, raw: text, line})
  }

  /** One complete line buf[start, end) without its newline. */
  private line(buf: Buffer, start: number, end: number, scanner: NeedleScanner | undefined, out: ParsedRecord[]): void {
    this.lineNo++
    if (this.first) {
      this.first = false
      if (end - start >= 3 && buf[start] === 0xef && buf[start + 1] === 0xbb && buf[start + 2] === 0xbf) start += 3
    }

    let s = start
    let e = end
    while (s < e && isSpace(buf[s])) s++
    while (e > s && isSpace(buf[e - 1])) e--
    if (s === e) return
    this.stats.lines++
    if (this.plan && !(scanner ? scanner.has(s, e) : lineHas(buf, s, e, this.plan.needles))) {
      this.stats.skipped++
      if (buf[s] !== OPEN_BRACE || buf[e - 1] !== CLOSE_BRACE)
        this.malformed(this.lineNo, 'not a JSON object (truncated or not JSON)')
      return
    }

    this.parseText(buf.toString('utf8', s, e), this.lineNo, out)
  }

  /** Feeds a chunk; returns the records of the lines it completed. */
  push(chunk: Buffer): ParsedRecord[] {
    const out: ParsedRecord[] = []
    let start = 0
    if (this.carryBytes > 0 || this.carryOverflow) {
      const nl = chunk.indexOf(NL)
      if (nl === -1) {
        this.addCarry(chunk)
        return out
      }

      this.addCarry(chunk.subarray(0, nl))
      this.flushCarry(out)
      start = nl + 1
    }

    const scanner = this.plan ? new NeedleScanner(chunk, this.plan) : undefined
    for (;;) {
      const nl = chunk.indexOf(NL, start)
      if (nl === -1) break
      this.line(chunk, start, nl, scanner, out)
      start = nl + 1
    }

    if (start < chunk.length) this.addCarry(chunk.subarray(start))
    return out
  }

  end(): ParsedRecord[] {
    const out: ParsedRecord[] = []
    if (this.carryBytes > 0 || this.carryOverflow) this.flushCarry(out)
    return out
  }

  private addCarry(part: Buffer): void {
    if (this.carryOverflow) return
    if (this.carryBytes + part.length > this.maxLine) {
      this.carryOverflow = true
      this.carry = []
      this.carryBytes = 0
      return
    }

    // copy: the chunk it came from is released
    this.carry.push(Buffer.from(part))
    this.carryBytes += part.length
  }

  private flushCarry(out: ParsedRecord[]): void {
    if (this.carryOverflow) {
      this.lineNo++
      this.stats.lines++
      this.malformed(this.lineNo, `line longer than ${this.maxLine} bytes`)
    } else {
      const line = this.carry.length === 1 ? this.carry[0] : Buffer.concat(this.carry, this.carryBytes)
      this.line(line, 0, line.length, undefined, out)
    }

    this.carry = []
    this.carryBytes = 0
    this.carryOverflow = false
  }
}

function lineHas(buf: Buffer, start: number, end: number, needles: readonly Buffer[]): boolean {
  for (const needle of needles) {
    const at = buf.indexOf(needle, start)
    if (at !== -1 && at + needle.length <= end) return true
  }

  return false
}

/**
 * Splits the old `{"records": [ … ]}` layout element by element, tracking strings and nesting, so
 * a large pretty-printed blob never has to be held whole.
 */
class WrapperSplitter {
  private headerDone = false
  private header = ''
  private depth = 0
  private inString = false
  private escaped = false
  private done = false
  private element: Buffer[] = []
  private elementBytes = 0
  private elementLine = 0
  private lineNo = 1

  constructor(
    private readonly parser: LineParser,
    private readonly options: ParseRecordsOptions,
    private readonly stats: RecordStreamStats,
  ) {}

  push(chunk: Buffer): ParsedRecord[] {
    const out: ParsedRecord[] = []
    let i = 0
    if (!this.headerDone) {
      // The header is short; find the '[' that opens the records array.
      const bracket = chunk.indexOf(0x5b)
      if (bracket === -1) {
        this.header += chunk.toString('utf8')
        return out
      }

      this.header += chunk.toString('utf8', 0, bracket + 1)
      for (const c of this.header) if (c === '\n') this.lineNo++
      this.headerDone = true
      i = bracket + 1
    }

    let elementStart = this.depth > 0 ? i : -1
    for (; i < chunk.length && !this.done; i++) {
      const b = chunk[i]
      if (b === NL) this.lineNo++
      if (this.inString) {
        if (this.escaped) this.escaped = false
        else if (b === 0x5c) this.escaped = true
        else if (b === 0x22) this.inString = false
        continue
      }

      if (b === 0x22) {
        this.inString = true
      } else if (b === OPEN_BRACE || b === 0x5b) {
        if (this.depth === 0) {
          elementStart = i
          this.elementLine = this.lineNo
        }

        this.depth++
      } else if (b === CLOSE_BRACE || b === 0x5d) {
        if (this.depth === 0) {
          this.done = true // the records array closed
          break
        }

        this.depth--
        if (this.depth === 0) {
          this.addElement(chunk.subarray(elementStart, i + 1))
          this.emit(out)
          elementStart = -1
        }
      }
    }

    if (this.depth > 0 && elementStart !== -1) this.addElement(chunk.subarray(elementStart, i))
    return out
  }

  end(): ParsedRecord[] {
    if (!this.done && (this.depth > 0 || !this.headerDone)) {
      this.stats.lines++
      this.stats.malformed++
      this.options.onMalformed?.({
        source: this.options.source,
        line: this.elementLine || this.lineNo,
        reason: 'the "records" array is truncated',
      })
    }

    return []
  }

  private addElement(part: Buffer): void {
    this.element.push(Buffer.from(part))
    this.elementBytes += part.length
  }

  private emit(out: ParsedRecord[]): void {
    const text = Buffer.concat(this.element, this.elementBytes).toString('utf8')
    this.element = []
    this.elementBytes = 0
    this.stats.lines++
    this.parser.parseText(text, this.elementLine, out)
  }
}

/**
 * Parses archived log records from a stream of bytes (a blob download, a local file), yielding
 * each record with its raw text and line number. Memory holds one chunk and one line.
 */
export async function* parseRecordStream(
  chunks: AsyncIterable<Buffer | string>,
  options: ParseRecordsOptions,
): AsyncGenerator<ParsedRecord> {
  const parser = new LineParser(options)
  let splitter: WrapperSplitter | undefined
  let head: Buffer | undefined
  let decided = false
  for await (const piece of chunks) {
    let chunk = typeof piece === 'string' ? Buffer.from(piece, 'utf8') : piece
    if (!decided) {
      // Decide the layout from the first non-blank bytes (at least 64 of them, or the whole stream).
      head = head ? Buffer.concat([head, chunk]) : chunk
      const text = head.toString('utf8', 0, Math.min(head.length, 256)).replace(/^\uFEFF/, '')
      if (text.trim().length < 16 && head.length < 256) continue
      decided = true
      if (WRAPPER_HEAD.test(text)) splitter = new WrapperSplitter(parser, options, parser.stats)
      chunk = head
      head = undefined
    }

    const records = splitter ? splitter.push(chunk) : parser.push(chunk)
    for (const r of records) yield r
  }

  if (!decided && head) {
    const text = head.toString('utf8').replace(/^\uFEFF/, '')
    if (WRAPPER_HEAD.test(text)) splitter = new WrapperSplitter(parser, options, parser.stats)
    for (const r of splitter ? splitter.push(head) : parser.push(head)) yield r
  }

  for (const r of splitter ? splitter.end() : parser.end()) yield r
}
