/**
 * Where each exported object lands, and which blob names are refused because they are not safe
 * as local paths. One mapping for every destination, so that a folder export, an archive and a
 * server-side export name an object the same way and the manifest's `path` means one thing.
 *
 * Layout (relative to the export root):
 *   <store>/<blob name>                              the current blob
 *   <store>@versions/<version id>/<blob name>        an older version (--include-versions)
 *   <store>@snapshots/<snapshot time>/<blob name>    a snapshot (--include-snapshots)
 * Store names never contain `@` (data-map schema), so versions and snapshots cannot collide with
 * current blobs or with another store, whatever the blob names are. The files at the root and which
 * names are safe as local paths are the package layout's (evidence/layout.ts), which
 * `certificate verify` reads by too.
 */
import {unsafeNameReason, type NameCheckOptions} from '../evidence/layout.js'
import {refusedError} from '../errors.js'

/** `table`: a database table's rows as CSV; `schema`: a database store's schema.json */
export type ExportObjectKind = 'current' | 'version' | 'snapshot' | 'table' | 'schema'

/** Version ids and snapshot times are ISO timestamps; `:` is not allowed in Windows file names. */
function idSegment(id: string): string {
  return id.replaceAll(':', '-')
}

/** The relative, `/`-separated path of an object inside an export. */
export function exportPath(store: string, name: string, kind: ExportObjectKind, id?: string): string {
  if (kind === 'current') return `${store}/${name}`
  return `${store}@${kind === 'version' ? 'versions' : 'snapshots'}/${idSegment(id ?? 'unknown')}/${name}`
}

/** Refuses (exit 3) a name that is not safe as a local path, naming customer, store and blob. */
export function assertSafeName(
  customer: string,
  store: string,
  name: string,
  size: number,
  options: NameCheckOptions,
): void {
  const reason = unsafeNameReason(name, size, options)
  if (reason) {
    throw refusedError(
      'UnsafeBlobName',
      `Refused to export customer ${customer}: blob ${JSON.stringify(name)} in store ${store} cannot be written as a local path (${reason}).`,
      'Nothing was written. Rename the blob, or export it with --server-side, which keeps names as they are.',
    )
  }
}

/**
 * Finds a blob that a folder export could not write because another blob uses its name as a folder
 * (`a` and `a/b`). Fed names in listing order, it keeps only the chain of names that are prefixes of
 * the current one, so memory stays bounded by the path depth however many blobs there are: in a
 * lexicographically sorted listing every name between `a` and `a/b` starts with `a`.
 */
export class FolderConflictDetector {
  private chain: string[] = []

  /** The earlier name that conflicts with `name`, if any. */
  check(name: string): string | undefined {
    while (this.chain.length > 0 && !name.startsWith(this.chain.at(-1)!)) this.chain.pop()
    const parent = this.chain.at(-1)
    if (parent !== undefined && parent !== name && !parent.endsWith('/') && name.charAt(parent.length) === '/')
      return parent
    if (parent !== name) this.chain.push(name)
    return undefined
  }

  reset(): void {
    this.chain = []
  }
}
