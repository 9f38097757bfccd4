/**
 * The files custos writes hold customer data or evidence about it: exports, archives, plans,
 * journals, certificates, bundles, notices, reports, spools. One rule for all of them: files are
 * created 0600 and folders 0700 (owner only), and an existing file is never replaced unless the
 * operator said `--force` (refused with exit 3 otherwise).
 */
import {chmodSync, lstatSync, writeFileSync} from 'node:fs'

import {refusedError} from '../errors.js'

/** The mode of every file custos creates: read and write for the owner only. */
export const PRIVATE_FILE_MODE = 0o600
/** The mode of every folder custos creates. */
export const PRIVATE_DIR_MODE = 0o700
/** The process umask of the CLI: whatever it creates without an explicit mode is private too. */
export const PRIVATE_UMASK = 0o077

/**
 * Refuses (exit 3, `DestinationExists`) when one of `paths` exists — a file, a folder or a link —
 * unless `force`. `flag` names the option the operator can change (`--output`, `--plan-out`).
 */
export function refuseOverwrite(paths: readonly string[], flag: string, force: boolean | undefined): void {
  if (force) return
  const existing = paths.find((path) => exists(path))
  if (existing === undefined) return
  throw refusedError(
    'DestinationExists',
    `Refused to overwrite ${existing}: it exists (${flag}).`,
    `Give ${flag} a new path, or add --force to replace it.`,
  )
}

function exists(path: string): boolean {
  try {
    lstatSync(path) // a dangling link exists too: writing through it would create its target
    return true
  } catch {
    return false
  }
}

/** Writes a whole file with {@link PRIVATE_FILE_MODE}, also when it replaces one (`--force`) that had another mode. */
export function writePrivateFileSync(path: string, data: string | Buffer): void {
  writeFileSync(path, data, {mode: PRIVATE_FILE_MODE})
  chmodSync(path, PRIVATE_FILE_MODE)
}
