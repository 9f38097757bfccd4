/**
 * The export's listing, kept on local disk between the preflight (which checks every name before
 * anything is written) and the transfer: one JSON line per object in listing order, in a private
 * temporary folder that is removed when the export ends. Memory stays flat; the service is
 * listed once; and the objects transferred are exactly the objects checked.
 *
 * The folder's name carries the process id. An export killed with SIGKILL cannot remove its
 * spool, so each new spool first removes the spools of processes that no longer run.
 */
import {createReadStream, createWriteStream, type WriteStream} from 'node:fs'
import {mkdtemp, readdir, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {createInterface} from 'node:readline'

import {PRIVATE_FILE_MODE} from '../output/files.js'
import type {PlannedObject} from './plan.js'

const SPOOL_PREFIX = 'custos-export-listing-'

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: it runs, as another user
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Removes the spools in `parent` left by exports whose process is gone (killed, crashed). */
export async function removeOrphanedSpools(parent: string): Promise<string[]> {
  const removed: string[] = []
  let names: string[]
  try {
    names = await readdir(parent)
  } catch {
    return removed
  }

  for (const name of names) {
    const pid = Number(new RegExp(`^${SPOOL_PREFIX}(\\d+)-`).exec(name)?.[1])
    if (!Number.isInteger(pid) || pid <= 0 || isRunning(pid)) continue
    // another user's spool is not ours to remove (and rm fails on it); leave it
    await rm(join(parent, name), {recursive: true, force: true}).then(
      () => removed.push(name),
      () => {},
    )
  }

  return removed
}

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
    await removeOrphanedSpools(parent)
    const dir = await mkdtemp(join(parent, `${SPOOL_PREFIX}${process.pid}-`))
    return new ListingSpool(dir, join(dir, 'listing.jsonl'))
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
