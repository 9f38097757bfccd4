/**
 * The bundle's output files on local disk while the scan runs: one JSON-lines temp file per
 * source and category, written as records are kept (memory holds only stream buffers), then
 * redacted line by line into the final files, which are hashed and counted on the way. A tar entry
 * needs its size up front, hence the files.
 */
import {createHash} from 'node:crypto'
import {createReadStream, createWriteStream, type WriteStream} from 'node:fs'
import {mkdir, rm} from 'node:fs/promises'
import {once} from 'node:events'
import {dirname, join} from 'node:path'
import {createInterface} from 'node:readline'

import {PRIVATE_DIR_MODE, PRIVATE_FILE_MODE} from '../output/files.js'
import type {BundleRedactor} from './redact.js'

export interface BundleFile {
  /** path inside the bundle, e.g. `archive/SignInLogs.jsonl` */
  path: string
  records: number
  bytes: number
  sha256: string
}

interface OpenFile {
  path: string
  stream: WriteStream
  records: number
}

/** `archive`, `SignInLogs` → `archive/SignInLogs.jsonl` (category reduced to a safe file name). */
export function bundlePath(source: string, category: string): string {
  const safe = category.replaceAll(/[^A-Za-z0-9._-]+/g, '-').replaceAll(/^[.-]+|-+$/g, '') || 'uncategorised'
  return `${source}/${safe.slice(0, 100)}.jsonl`
}

async function write(stream: WriteStream, text: string): Promise<void> {
  if (!stream.write(text)) await once(stream, 'drain')
}

async function close(stream: WriteStream): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    stream.once('error', reject)
    stream.end(() => resolve())
  })
}

export class Spool {
  private readonly open = new Map<string, OpenFile>()
  private closed = false

  /** `dir` must be a private, empty folder (see bundle.ts); `raw/` and `out/` are made inside. */
  constructor(readonly dir: string) {}

  /** Appends one kept record (its JSON text, one line) to the file of its source and category. */
  async add(path: string, raw: string): Promise<void> {
    let file = this.open.get(path)
    if (!file) {
      const local = join(this.dir, 'raw', path)
      await mkdir(dirname(local), {recursive: true, mode: PRIVATE_DIR_MODE})
      file = {path, stream: createWriteStream(local, {mode: PRIVATE_FILE_MODE}), records: 0}
      this.open.set(path, file)
    }

    file.records++
    // A pretty-printed wrapper element spans lines; outside strings a newline is only white space.
    await write(file.stream, /[\r\n]/.test(raw) ? `${raw.replaceAll(/[\r\n]+/g, ' ')}\n` : `${raw}\n`)
  }

  /** Closes the raw files and writes the redacted final files; returns them sorted by path. */
  async finish(redactor: BundleRedactor): Promise<BundleFile[]> {
    await Promise.all([...this.open.values()].map((f) => close(f.stream)))
    this.closed = true
    const files: BundleFile[] = []
    for (const path of [...this.open.keys()].sort()) {
      const rawPath = join(this.dir, 'raw', path)
      const outPath = this.finalPath(path)
      await mkdir(dirname(outPath), {recursive: true, mode: PRIVATE_DIR_MODE})
      const out = createWriteStream(outPath, {mode: PRIVATE_FILE_MODE})
      const hash = createHash('sha256')
      let bytes = 0
      let records = 0
      const lines = createInterface({
        input: createReadStream(rawPath, {highWaterMark: 1 << 20}),
        crlfDelay: Number.POSITIVE_INFINITY,
      })
      for await (const raw of lines) {
        if (raw === '') continue
        const line = `${redactor.redactRecordText(raw)}\n`
        hash.update(line)
        bytes += Buffer.byteLength(line)
        records++
        await write(out, line)
      }

      await close(out)
      await rm(rawPath, {force: true})
      files.push({path, records, bytes, sha256: hash.digest('hex')})
    }

    return files
  }

  /** Where the final (redacted) file of `path` is. */
  finalPath(path: string): string {
    return join(this.dir, 'out', path)
  }

  /** Closes anything still open (after a failure). */
  async abort(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await Promise.allSettled([...this.open.values()].map((f) => close(f.stream)))
  }
}
