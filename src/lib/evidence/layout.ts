/**
 * The layout of an evidence package on disk, shared by what writes one (export/) and what reads one
 * back (package-readers.ts, for `certificate verify`): the files custos keeps at its root beside the
 * data, and which entry names are safe as local paths. The readers go by this module, never by the
 * writers', so evidence/ does not depend on export/.
 */

/** Files custos writes at the root of an export, beside the store folders (no store may be named so). */
export const ROOT_FILES = ['manifest.json', 'SHA256SUMS', 'download-links.tsv'] as const

/** The export's resume journal, kept at the root of a folder export (and left there when it finished). */
export const EXPORT_JOURNAL_NAME = '.custos-export-journal.jsonl'

/** ext4, xfs, btrfs, APFS and NTFS all stop at 255 bytes (or UTF-16 units) per path segment. */
const MAX_SEGMENT_BYTES = 255

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
