/**
 * Private scratch folders for work in progress (a log bundle's spool, an incident package's parts).
 * Each is named `custos-<purpose>-<pid>-XXXXXX` in the system's temporary folder (or a given parent)
 * and is removed when the work ends. A run killed with SIGKILL cannot remove its folder, so
 * creating one first sweeps the scratch folders of custos processes that no longer run — any
 * purpose, the export's listing spool (`custos-export-listing-<pid>-…`) included.
 */
import {mkdtemp, readdir, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

/** `custos-<purpose>-<pid>-<mkdtemp's six characters>` */
const SCRATCH_NAME = /^custos-[a-z]+(?:-[a-z]+)*-(\d+)-[A-Za-z0-9]{6}$/

export interface ScratchDir {
  path: string
  /** Removes the folder and everything in it; never throws. */
  remove(): Promise<void>
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: it runs, as another user
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Removes the scratch folders in `parent` left by custos processes that are gone; returns their names. */
async function removeOrphanedScratchDirs(parent: string = tmpdir()): Promise<string[]> {
  const removed: string[] = []
  let names: string[]
  try {
    names = await readdir(parent)
  } catch {
    return removed
  }

  for (const name of names) {
    const pid = Number(SCRATCH_NAME.exec(name)?.[1])
    if (!Number.isInteger(pid) || pid <= 0 || isRunning(pid)) continue
    // another user's folder is not ours to remove (and rm fails on it); leave it
    await rm(join(parent, name), {recursive: true, force: true}).then(
      () => removed.push(name),
      () => {},
    )
  }

  return removed
}

/** A new private scratch folder for `purpose` (lower-case words and hyphens), after sweeping orphans. */
export async function createScratchDir(purpose: string, parent: string = tmpdir()): Promise<ScratchDir> {
  if (!/^[a-z]+(?:-[a-z]+)*$/.test(purpose)) throw new Error(`scratch purpose ${JSON.stringify(purpose)}`)
  await removeOrphanedScratchDirs(parent)
  // mkdtemp creates the folder with mode 0700
  const path = await mkdtemp(join(parent, `custos-${purpose}-${process.pid}-`))
  return {path, remove: () => rm(path, {recursive: true, force: true}).catch(() => {})}
}
