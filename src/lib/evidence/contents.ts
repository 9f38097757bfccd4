/**
 * Checks what an export folder, an export archive or a log bundle holds against the files its
 * sealed manifest lists: every listed file must be there with the listed size and SHA-256, and
 * nothing else may be. `SHA256SUMS` beside the manifest is not signed, so it is never the source of
 * truth; where it disagrees with the manifest that is reported, for the reader, beside the result.
 *
 * Memory: one map of the manifest's entries keyed by path (O(manifest), which reading the manifest
 * costs anyway); file contents are only ever hashed as they stream. What is found is checked as it
 * is found, except in a `.tar.gz` whose manifest comes last (an export archive): there, what was
 * found before the manifest is kept as path, size and SHA-256 until the manifest is read.
 */
import type {ChalkInstance} from 'chalk'

import {formatCount} from '../output/table.js'

/** How many missing, extra, changed and disagreeing paths a report names (the counts are complete). */
export const MAX_NAMED = 20

const DUPLICATE = 'a second entry with a path already seen'

/** What a folder or an archive is checked as. */
export type PackageFormat = 'folder' | 'tar.gz' | 'zip'

/** One file (or folder marker, its path ending in `/`) as the manifest lists it. */
export interface ExpectedEntry {
  size: number
  /** hex; absent for entries whose bytes custos never saw (server-side exports) */
  sha256?: string
  seen: boolean
}

/** What a reader found in the folder or archive. Paths are relative and `/`-separated. */
export type FoundEntry =
  | {path: string; type: 'file'; size: number; sha256?: string; error?: string}
  | {path: string; type: 'directory'}
  /** a symbolic or hard link, a device, a FIFO: never followed or read */
  | {path: string; type: 'other'; detail: string}
  /** a name that could escape the root or be read differently by an extracting tool */
  | {path: string; type: 'unsafe'; detail: string}
  /** a second archive entry with the path of one already read (a second manifest.json) */
  | {path: string; type: 'duplicate'}

export interface ContentsExtra {
  path: string
  reason: string
}

export interface ContentsChange {
  path: string
  reason: string
  expected: {size: number; sha256?: string}
  actual: {size: number; sha256?: string}
}

export interface SumsCheck {
  /** false when there is no SHA256SUMS, or it could not be compared */
  checked: boolean
  lines: number
  /** lines that disagree with the manifest (the first MAX_NAMED), `path: why` */
  disagreements: string[]
  disagreeing: number
}

/** The `contents` part of a `certificate verify` report on a folder or an archive. */
export interface ContentsCheck {
  /** whether the files were compared with the manifest */
  checked: boolean
  format: PackageFormat
  /** entries the manifest lists */
  files: number
  /** listed, not there (the first MAX_NAMED by path) */
  missing: string[]
  /** there, not listed (or not safe to read) */
  extra: ContentsExtra[]
  /** there with another size or SHA-256 than listed */
  changed: ContentsChange[]
  counts: {matched: number; missing: number; extra: number; changed: number}
  /** SHA256SUMS compared with the manifest: reported, never trusted */
  sums: SumsCheck
  /** why the files were not (completely) compared */
  reason?: string
}

/** Keeps the first `max` items by path, whatever order they arrive in, and counts all of them. */
class FirstByPath<T extends {path: string} | string> {
  readonly items: T[] = []
  count = 0

  constructor(private readonly max = MAX_NAMED) {}

  add(item: T): void {
    this.count++
    const key = (x: T) => (typeof x === 'string' ? x : x.path)
    const k = key(item)
    if (this.items.length === this.max && k >= key(this.items.at(-1)!)) return
    let lo = 0
    let hi = this.items.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (key(this.items[mid]) <= k) lo = mid + 1
      else hi = mid
    }

    this.items.splice(lo, 0, item)
    if (this.items.length > this.max) this.items.pop()
  }
}

/**
 * The entries a sealed manifest lists, keyed by path, or a sentence saying why it lists none:
 * export manifests list `objects` (`size`), logs and incident-evidence manifests `files` (`bytes`).
 */
export function expectedEntries(doc: unknown): Map<string, ExpectedEntry> | string {
  const d = doc as {kind?: unknown; body?: Record<string, unknown>}
  const list =
    d?.kind === 'custos.export-manifest'
      ? d.body?.objects
      : d?.kind === 'custos.logs-manifest' || d?.kind === 'custos.incident-evidence'
        ? d.body?.files
        : undefined
  if (list === undefined) return `a ${String(d?.kind ?? 'document')} lists no files to compare with`
  if (!Array.isArray(list)) return 'the manifest has no list of files'
  const map = new Map<string, ExpectedEntry>()
  for (const item of list as Array<Record<string, unknown>>) {
    const size = typeof item?.size === 'number' ? item.size : item?.bytes
    if (typeof item?.path !== 'string' || typeof size !== 'number')
      return 'an entry of the manifest has no path or size'
    map.set(item.path, {size, ...(typeof item.sha256 === 'string' ? {sha256: item.sha256} : {}), seen: false})
  }

  return map
}

/** Compares found entries with the manifest's, as they are found. */
export class ContentsChecker {
  private expected?: Map<string, ExpectedEntry>
  private pending: FoundEntry[] = []
  private matched = 0
  private readonly missing = new FirstByPath<string>()
  private readonly extra = new FirstByPath<ContentsExtra>()
  private readonly changed = new FirstByPath<ContentsChange>()
  private readonly sumsDisagree = new FirstByPath<string>()
  private sumsLines = 0
  private sumsChecked = false

  constructor(readonly format: PackageFormat) {}

  /** The manifest's entries; entries found before it are checked now. */
  setExpected(expected: Map<string, ExpectedEntry>): void {
    this.expected = expected
    const {pending} = this
    this.pending = []
    for (const entry of pending) this.add(entry)
  }

  get ready(): boolean {
    return this.expected !== undefined
  }

  /** Whether the bytes at `path` need hashing: not when the manifest is known and size alone decides. */
  wants(path: string, size: number): boolean {
    if (!this.expected) return true
    const e = this.expected.get(path)
    return e !== undefined && !e.seen && e.size === size && e.sha256 !== undefined
  }

  add(entry: FoundEntry): void {
    if (!this.expected) {
      this.pending.push(entry)
      return
    }

    const {path} = entry
    switch (entry.type) {
      case 'unsafe': {
        this.extra.add({path, reason: `an unsafe path (${entry.detail}); never extracted`})
        return
      }

      case 'duplicate': {
        this.extra.add({path, reason: DUPLICATE})
        return
      }

      case 'directory': {
        const marker = this.expected.get(`${path}/`)
        if (marker && !marker.seen) {
          marker.seen = true
          this.matched++
        }

        const file = this.expected.get(path)
        if (file && !file.seen) {
          file.seen = true
          this.changed.add({
            path,
            reason: 'a folder stands where the manifest lists a file',
            expected: expectedOf(file),
            actual: {size: 0},
          })
        }

        return
      }

      case 'other': {
        const e = this.expected.get(path)
        if (e && !e.seen) {
          e.seen = true
          this.changed.add({
            path,
            reason: `${entry.detail} where the manifest lists a file; not followed`,
            expected: expectedOf(e),
            actual: {size: 0},
          })
        } else {
          this.extra.add({path, reason: `${entry.detail} not in the manifest; not followed`})
        }

        return
      }

      default: {
        this.addFile(entry)
      }
    }
  }

  private addFile(entry: Extract<FoundEntry, {type: 'file'}>): void {
    const e = this.expected!.get(entry.path)
    if (!e) {
      this.extra.add({path: entry.path, reason: 'not in the manifest'})
      return
    }

    if (e.seen) {
      this.extra.add({path: entry.path, reason: DUPLICATE})
      return
    }

    e.seen = true
    const actual = {size: entry.size, ...(entry.sha256 ? {sha256: entry.sha256} : {})}
    let reason: string | undefined
    if (entry.error) reason = `cannot be read (${entry.error})`
    else if (entry.size !== e.size)
      reason = `${formatCount(entry.size)} bytes where the manifest lists ${formatCount(e.size)}`
    else if (e.sha256 && entry.sha256 && entry.sha256 !== e.sha256) reason = "its SHA-256 is not the manifest's"
    if (reason) this.changed.add({path: entry.path, reason, expected: expectedOf(e), actual})
    else this.matched++
  }

  /** One line of SHA256SUMS (`sha256sum` format), compared with the manifest. */
  addSumsLine(line: string, manifestSha256: string): void {
    if (line === '') return
    this.sumsChecked = true
    this.sumsLines++
    const m = /^(\\?)([\da-f]{64}) [ *](.*)$/i.exec(line)
    if (!m) {
      this.sumsDisagree.add(`line ${this.sumsLines}: not a sha256sum line`)
      return
    }

    const sha256 = m[2].toLowerCase()
    const path = m[1] ? m[3].replaceAll(/\\(.)/g, (_all, c: string) => (c === 'n' ? '\n' : c === 'r' ? '\r' : c)) : m[3]
    if (path === 'manifest.json') {
      if (sha256 !== manifestSha256) this.sumsDisagree.add(`manifest.json: not the SHA-256 of the manifest read`)
      return
    }

    const e = this.expected?.get(path)
    if (!e) this.sumsDisagree.add(`${path}: not in the manifest`)
    else if (e.sha256 && e.sha256 !== sha256) this.sumsDisagree.add(`${path}: another SHA-256 than the manifest's`)
  }

  /** The result; entries the manifest lists that were not found are missing. */
  finish(reason?: string): ContentsCheck {
    const expected = this.expected ?? new Map<string, ExpectedEntry>()
    if (this.expected) for (const [path, e] of expected) if (!e.seen) this.missing.add(path)
    return {
      checked: this.expected !== undefined && reason === undefined,
      format: this.format,
      files: expected.size,
      missing: this.missing.items,
      extra: this.extra.items,
      changed: this.changed.items,
      counts: {
        matched: this.matched,
        missing: this.missing.count,
        extra: this.extra.count,
        changed: this.changed.count,
      },
      sums: {
        checked: this.sumsChecked,
        lines: this.sumsLines,
        disagreements: this.sumsDisagree.items,
        disagreeing: this.sumsDisagree.count,
      },
      ...(reason ? {reason} : {}),
    }
  }
}

function expectedOf(e: ExpectedEntry): ContentsChange['expected'] {
  return {size: e.size, ...(e.sha256 ? {sha256: e.sha256} : {})}
}

/** An empty result: the files were not compared, for `reason`. */
export function contentsNotChecked(format: PackageFormat, reason: string): ContentsCheck {
  return new ContentsChecker(format).finish(reason)
}

/** Whether the contents differ from the manifest (what makes a report `altered`). */
export function contentsDiffer(c: ContentsCheck): boolean {
  return c.counts.missing + c.counts.extra + c.counts.changed > 0
}

/** The one-sentence summary of a difference, for the report's reason. */
export function contentsReason(c: ContentsCheck): string {
  const parts = [
    c.counts.missing ? `${formatCount(c.counts.missing)} missing` : '',
    c.counts.extra ? `${formatCount(c.counts.extra)} extra` : '',
    c.counts.changed ? `${formatCount(c.counts.changed)} changed` : '',
  ].filter(Boolean)
  return `the ${c.format === 'folder' ? "folder's" : "archive's"} files differ from its manifest: ${parts.join(', ')}`
}

/** The text lines `certificate verify` prints for the contents. */
export function renderContents(c: ContentsCheck, paint: ChalkInstance, reportReason?: string): string[] {
  const lines: string[] = []
  const what = c.format === 'folder' ? 'folder' : `${c.format} archive`
  if (!c.checked && c.reason) {
    const why = reportReason?.includes(c.reason) ? '' : `: ${c.reason}`
    lines.push(paint.red(`  ✘ the files of the ${what} were not compared${why}`))
    return lines
  }

  const n = c.counts
  const summary = `${formatCount(c.files)} listed in the manifest, ${formatCount(n.matched)} match`
  if (!contentsDiffer(c))
    lines.push(`  ${paint.green('✔')} every file of the ${what} matches the manifest (${summary})`)
  else
    lines.push(
      paint.red(
        `  ✘ the ${what} does not match the manifest (${summary}; ${formatCount(n.missing)} missing, ${formatCount(n.extra)} extra, ${formatCount(n.changed)} changed)`,
      ),
    )
  const more = (count: number, shown: number, label: string) => {
    if (count > shown)
      lines.push(
        paint.red(`    … and ${formatCount(count - shown)} more ${label} (all counted; --json names ${MAX_NAMED})`),
      )
  }

  for (const path of c.missing) lines.push(paint.red(`    missing: ${path}`))
  more(n.missing, c.missing.length, 'missing')
  for (const e of c.extra) lines.push(paint.red(`    extra:   ${e.path} (${e.reason})`))
  more(n.extra, c.extra.length, 'extra')
  for (const e of c.changed) lines.push(paint.red(`    changed: ${e.path} (${e.reason})`))
  more(n.changed, c.changed.length, 'changed')
  if (c.sums.disagreeing > 0) {
    lines.push(
      paint.yellow(
        `  · SHA256SUMS (unsigned, not trusted) disagrees with the manifest on ${formatCount(c.sums.disagreeing)} line(s): ${c.sums.disagreements.slice(0, 5).join('; ')}`,
      ),
    )
  }

  return lines
}
