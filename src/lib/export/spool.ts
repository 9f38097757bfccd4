/**
 * The export's listing, kept on local disk between the preflight (which checks every name before
 * anything is written) and the transfer: one JSON line per object in listing order, in a private
 * temporary folder that is removed when the export ends. Memory stays flat; the service is
 * listed once; and the objects transferred are exactly the objects checked.
 */
import {createReadStream, createWriteStream, type WriteStream} from 'node:fs'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {createInterface} from 'node:readline'

import type {PlannedObject} from './plan.js'

export class ListingSpool {
  private out?: WriteStream

  private constructor(
    private readonly dir: string,
    readonly path: string,
  ) {
    this.out = createWriteStream(path, {mode: 0o600})
  }

  static async create(): Promise<ListingSpool> {
    const dir = await mkdtemp(join(tmpdir(), 'custos-export-listing-'))
    return new ListingSpool(dir, join(dir, 'listing.jsonl'))
  }

  async add(object: PlannedObject): Promise<void> {
    if (!this.out!.write(`${JSON.stringify(object)}\n`)) await new Promise<void>((resolve) => this.out!.once('drain', () => resolve()))
  }

  /** Ends writing; the spool can then be read. */
  async close(): Promise<void> {
    const out = this.out
    this.out = undefined
    if (out) await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())))
  }

  async *read(): AsyncGenerator<PlannedObject> {
    const lines = createInterface({input: createReadStream(this.path), crlfDelay: Infinity})
    try {
      for await (const line of lines) if (line) yield JSON.parse(line) as PlannedObject
    } finally {
      lines.close()
    }
  }

  async remove(): Promise<void> {
    // let pending writes finish before the file goes (destroying mid-write raises an uncaught error)
    await this.close().catch(() => {})
    await rm(this.dir, {recursive: true, force: true})
  }
}
