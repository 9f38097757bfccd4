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
 * current blobs or with another store, whatever the blob names are.
 */
import {refusedError} from '../errors.js'

/** `table`: a database table's rows as CSV; `schema`: a database store's schema.json */
export type ExportObjectKind = 'current' | 'version' | 'snapshot' | 'table' | 'schema'

/** Files custos writes at the root of an export, beside the store folders (no store may be named so). */
export const ROOT_FILES = ['manifest.json', 'SHA256SUMS', 'download-links.tsv'] as const

/** ext4, xfs, btrfs, APFS and NTFS all stop at 255 bytes (or UTF-16 units) per path segment. */
const MAX_SEGMENT_BYTES = 255

/** Version ids and snapshot times are ISO timestamps; `:` is not allowed in Windows file names. */
function idSegment(id: string): string {
  return id.replaceAll(':', '-')
}

/** The relative, `/`-separated path of an object inside an export. */
export function exportPath(store: string, name: string, kind: ExportObjectKind, id?: string): string {
  if (kind === 'current') return `${store}/${name}`
  return `${store}@${kind === 'version' ? 'versions' : 'snapshots'}/${idSegment(id ?? 'unknown')}/${name}`
}

export interface NameCheckOptions {
  /** a folder on this machine: also refuse segments longer than the file system allows */
  folder: boolean
}

/**
 * Why a blob name cannot be written below a local folder or into an archive, or undefined when
 * it can. Spaces, unicode, `%`, `#`, `?` and deep paths are fine; what could escape the export root
 * or be read differently by an extracting tool is not.
 */
export function unsafeNameReason(name: string, size: number, options: NameCheckOptions): string | undefined {
  if (name.length === 0) return 'the name is empty'
  if (name.includes('\0')) return 'it contains a NUL character'
  if (name.startsWith('/')) return 'it is an absolute path'
  if (/^[A-Za-z]:/.test(name)) return 'it starts with a drive letter'
  if (name.includes('\\'))
    return 'it contains a backslash, which Windows tools and zip readers treat as a folder separator'
  const segments = name.split('/')
  // A zero-length blob whose name ends in "/" is a folder marker (written by some tools); it becomes a folder.
  const folderMarker = name.endsWith('/')
  if (folderMarker && size > 0) return 'it ends with "/" but holds data'
  const checked = folderMarker ? segments.slice(0, -1) : segments
  for (const segment of checked) {
    if (segment === '') return 'it contains an empty path segment ("//")'
    if (segment === '.' || segment === '..') return `it contains a "${segment}" path segment`
    if (options.folder && Buffer.byteLength(segment) > MAX_SEGMENT_BYTES) {
      return `one path segment is ${Buffer.byteLength(segment)} bytes long, more than a local file name can hold (${MAX_SEGMENT_BYTES}); export to --archive instead`
    }
  }

  return undefined
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
