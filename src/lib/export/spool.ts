/**
 * The export's listing, kept on local disk between the preflight (which checks every name before
 * anything is written) and the transfer: one JSON line per object in listing order, in a private
 * temporary folder that is removed when the export ends. Memory stays flat; the service is
 * listed once; and the objects transferred are exactly the objects checked.
 *
 * The folder is a scratch folder (output/scratch.ts): its name carries the process id, and an
 * export killed with SIGKILL leaves it for the next custos run to sweep. Store kinds stage their
 * files (database tables) below it, so they go with it.
 */
import {createReadStream, createWriteStream, type WriteStream} from 'node:fs'
import {rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {createInterface} from 'node:readline'

import {PRIVATE_FILE_MODE} from '../output/files.js'
import {createScratchDir} from '../output/scratch.js'
import type {PlannedObject} from './plan.js'

export class ListingSpool {
  private out?: WriteStream

  private constructor(
    /** the spool's private folder; store kinds stage files below it (removed with the spool) */
    readonly dir: string,
    readonly path: string,
  ) {
    this.out = createWriteStream(path, {mode: PRIVATE_FILE_MODE})
  }

  static async create(parent = tmpdir()): Promise<ListingSpool> {
    // custos-export-listing-<pid>-…: swept by the next custos run if this process is killed
    const scratch = await createScratchDir('export-listing', parent)
    return new ListingSpool(scratch.path, join(scratch.path, 'listing.jsonl'))
  }

  async add(object: PlannedObject): Promise<void> {
    if (!this.out!.write(`${JSON.stringify(object)}\n`))
      await new Promise<void>((resolve) => this.out!.once('drain', () => resolve()))
  }

  /** Ends writing; the spool can then be read. */
  async close(): Promise<void> {
    const out = this.out
    this.out = undefined
    if (out)
      await new Promise<void>((resolve, reject) =>
        out.end((error?: Error | null) => (error ? reject(error) : resolve())),
      )
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
