/**
 * Readers of the three packages custos writes evidence into — an export folder, a `.tar.gz`
 * (export archive, logs bundle, incident evidence) and a `.zip` export — for
 * `certificate verify`. Each finds `manifest.json` and `SHA256SUMS` at the root and reports every
 * other entry to a {@link ContentsChecker}, hashing file contents as they stream. Nothing is ever
 * written to disk, and nothing is followed: symbolic links in a folder and link entries in an
 * archive are reported, not read; archive entries whose names could escape the root (`..`,
 * absolute paths, drive letters, backslashes) are reported as unsafe.
 */
import {createHash} from 'node:crypto'
import {constants, createReadStream, type Dirent} from 'node:fs'
import {lstat, open, opendir, type FileHandle} from 'node:fs/promises'
import {join} from 'node:path'
import {createInterface} from 'node:readline'
import {Readable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {createGunzip} from 'node:zlib'

import tar from 'tar-stream'
import yauzl from 'yauzl'

import {TaskPool} from '../pool.js'
import type {ContentsChecker} from './contents.js'
import {EXPORT_JOURNAL_NAME, ROOT_FILES, unsafeNameReason} from './layout.js'

/** A package that cannot be checked at all (no manifest, not an archive, cut short). */
export class PackageProblem extends Error {
  override name = 'PackageProblem'
}

/** What a reader hands back while it reads. */
export interface PackageVisitor {
  checker: ContentsChecker
  /** The bytes of the root `manifest.json`; false stops the reading (the manifest is not to be trusted). */
  manifest(bytes: Buffer): Promise<boolean>
  /** The root `SHA256SUMS`, to be read to its end. */
  sums(stream: Readable): Promise<void>
}

export interface ReadPackageOptions {
  abortSignal?: AbortSignal
  /** files hashed at once in a folder; default 4 */
  concurrency?: number
}

const CHUNK_BYTES = 1 << 20
/** Root files of an export folder that the manifest does not list: custos's own. */
const FOLDER_ROOT_FILES = new Set<string>([...ROOT_FILES, EXPORT_JOURNAL_NAME])
// Regular files only; a FIFO swapped in after the listing must not block the open; never follow a link.
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0)

function codeOf(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? (error as Error).message
}

async function collect(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

/** Reads a stream to its end, keeping nothing. */
export async function drain(stream: AsyncIterable<unknown>): Promise<void> {
  for await (const _chunk of stream);
}

async function hashStream(stream: AsyncIterable<unknown>): Promise<{size: number; sha256: string}> {
  const hash = createHash('sha256')
  let size = 0
  for await (const chunk of stream) {
    hash.update(chunk as Buffer)
    size += (chunk as Buffer).length
  }

  return {size, sha256: hash.digest('hex')}
}

/** The lines of a stream, one at a time. */
export function linesOf(stream: Readable): AsyncIterable<string> {
  return createInterface({input: stream, crlfDelay: Infinity})
}

// ------------------------------------------------------------------------------------ folder

async function readWhole(handle: FileHandle): Promise<Buffer> {
  return collect(handle.createReadStream({autoClose: false}))
}

/** Opens a root file of the folder: undefined when absent; a problem when it is a link or not a file. */
async function openRootFile(root: string, name: string): Promise<FileHandle | undefined> {
  let handle: FileHandle
  try {
    handle = await open(join(root, name), OPEN_FLAGS)
  } catch (error) {
    const code = codeOf(error)
    if (code === 'ENOENT') return undefined
    if (code === 'ELOOP') throw new PackageProblem(`${name} in ${root} is a symbolic link; it is not followed`)
    throw new PackageProblem(`${name} in ${root} cannot be read (${code})`)
  }

  if (!(await handle.stat()).isFile()) {
    await handle.close()
    throw new PackageProblem(`${name} in ${root} is not a regular file`)
  }

  return handle
}

function describeType(d: {isSymbolicLink(): boolean; isFIFO(): boolean; isSocket(): boolean}): string {
  if (d.isSymbolicLink()) return 'a symbolic link'
  if (d.isFIFO()) return 'a FIFO'
  if (d.isSocket()) return 'a socket'
  return 'a device file'
}

/**
 * An export folder (`customer export --to DIR`): the manifest first, then a walk of the tree that
 * never follows a symbolic link, hashing (a few at a time) only the files whose size already matches.
 */
export async function readFolder(root: string, visit: PackageVisitor, options: ReadPackageOptions = {}): Promise<void> {
  const manifest = await openRootFile(root, 'manifest.json')
  if (!manifest) {
    const partial = await lstat(join(root, '.custos-partial')).then(
      () => true,
      () => false,
    )
    throw new PackageProblem(
      `${root} holds no manifest.json${partial ? ': the export in it has not finished (or was interrupted)' : ': it is not a custos export, or its manifest was removed'}`,
    )
  }

  let bytes: Buffer
  try {
    bytes = await readWhole(manifest)
  } finally {
    await manifest.close()
  }

  if (!(await visit.manifest(bytes))) return
  const sums = await openRootFile(root, 'SHA256SUMS').catch(() => undefined)
  if (sums) {
    try {
      await visit.sums(sums.createReadStream({autoClose: false}))
    } finally {
      await sums.close()
    }
  }

  const {checker} = visit
  const pool = new TaskPool(options.concurrency ?? 4)
  const buffers: Buffer[] = []
  const checkFile = async (full: string, path: string): Promise<void> => {
    let handle: FileHandle
    try {
      handle = await open(full, OPEN_FLAGS)
    } catch (error) {
      const code = codeOf(error)
      if (code === 'ELOOP') checker.add({path, type: 'other', detail: 'a symbolic link'})
      else checker.add({path, type: 'file', size: 0, error: code})
      return
    }

    const buffer = buffers.pop() ?? Buffer.allocUnsafe(CHUNK_BYTES)
    try {
      const s = await handle.stat()
      if (!s.isFile()) {
        checker.add({path, type: 'other', detail: describeType(s)})
        return
      }

      if (!checker.wants(path, s.size)) {
        checker.add({path, type: 'file', size: s.size})
        return
      }

      const hash = createHash('sha256')
      let size = 0
      for (;;) {
        const {bytesRead} = await handle.read(buffer, 0, buffer.length, null)
        if (bytesRead === 0) break
        hash.update(buffer.subarray(0, bytesRead))
        size += bytesRead
      }

      checker.add({path, type: 'file', size, sha256: hash.digest('hex')})
    } catch (error) {
      checker.add({path, type: 'file', size: 0, error: codeOf(error)})
    } finally {
      buffers.push(buffer)
      await handle.close()
    }
  }

  const walk = async (dir: string, rel: string): Promise<void> => {
    let entries: AsyncIterable<Dirent>
    try {
      entries = await opendir(dir, {bufferSize: 256})
    } catch (error) {
      throw new PackageProblem(`the folder ${dir} cannot be read (${codeOf(error)})`)
    }

    for await (const d of entries) {
      if (options.abortSignal?.aborted) throw options.abortSignal.reason
      if (rel === '' && FOLDER_ROOT_FILES.has(d.name)) continue
      const path = rel === '' ? d.name : `${rel}/${d.name}`
      const full = join(dir, d.name)
      // Some file systems do not say the type in the listing: ask, without following.
      const type = d.isFile() || d.isDirectory() || d.isSymbolicLink() ? d : await lstat(full)
      if (type.isDirectory()) {
        checker.add({path, type: 'directory'})
        await walk(full, path)
      } else if (type.isFile()) {
        await pool.run(() => checkFile(full, path))
      } else {
        checker.add({path, type: 'other', detail: describeType(type)})
      }
    }
  }

  await walk(root, '')
  await pool.drain()
}

// ------------------------------------------------------------------------------ archives

/** The name of an archive entry as a path; `./` prefixes (tar run on `.`) are dropped. */
function entryPath(name: string): string {
  let path = name
  while (path.startsWith('./')) path = path.slice(2)
  return path
}

/** Why an archive entry's name is unsafe to extract, if it is. */
function unsafeEntry(path: string): string | undefined {
  return unsafeNameReason(path, 0, {folder: false})
}

/**
 * A `.tar.gz` (export archive, logs bundle, incident evidence), read once as a stream. The manifest
 * may come first (bundles) or last (export archives); until it is read, what is found waits in the
 * checker as path, size and SHA-256.
 */
export async function readTarGz(file: string, visit: PackageVisitor, options: ReadPackageOptions = {}): Promise<void> {
  const {checker} = visit
  const extract = tar.extract()
  let failure: unknown
  let stopped = false
  let manifestSeen = false
  let sumsSeen = false
  const reading = pipeline(createReadStream(file), createGunzip(), extract).catch((error: unknown) => {
    failure ??= error
  })
  try {
    for await (const entry of extract) {
      if (options.abortSignal?.aborted) throw options.abortSignal.reason
      const {header} = entry
      const path = entryPath(header.name)
      const isDirectory = header.type === 'directory'
      const isFile = header.type === 'file' || header.type === 'contiguous-file'
      if (path === '' || path === '.' || path === './') {
        await drain(entry)
        continue
      }

      if (isFile && path === 'manifest.json' && !manifestSeen) {
        manifestSeen = true
        if (!(await visit.manifest(await collect(entry)))) {
          stopped = true
          break
        }

        continue
      }

      if (isFile && path === 'SHA256SUMS' && !sumsSeen) {
        sumsSeen = true
        await visit.sums(Readable.from(entry))
        continue
      }

      if (isFile && (path === 'manifest.json' || path === 'SHA256SUMS')) {
        // An extracting tool would let this one win over the one verified.
        await drain(entry)
        checker.add({path, type: 'duplicate'})
        continue
      }

      const unsafe = unsafeEntry(path)
      if (unsafe) {
        await drain(entry)
        checker.add({path, type: 'unsafe', detail: unsafe})
      } else if (isDirectory) {
        await drain(entry)
        checker.add({path: path.replace(/\/+$/, ''), type: 'directory'})
      } else if (isFile) {
        checker.add({path, type: 'file', ...(await hashStream(entry))})
      } else {
        await drain(entry)
        const detail =
          header.type === 'symlink'
            ? 'a symbolic link entry'
            : header.type === 'link'
              ? 'a hard link entry'
              : `a ${header.type ?? 'special'} entry`
        checker.add({path, type: 'other', detail})
      }
    }
  } catch (error) {
    if (options.abortSignal?.aborted) throw error
    failure ??= error
  }

  await reading
  if (stopped) return
  if (failure)
    throw new PackageProblem(
      `${file} cannot be read to its end as a .tar.gz (${(failure as Error).message}): it is damaged or not a tar archive`,
    )
  if (!manifestSeen) throw new PackageProblem(`${file} holds no manifest.json at its root`)
}

const ZIP_OPTIONS: yauzl.Options = {
  lazyEntries: true,
  autoClose: false,
  // Names are decoded and judged here: yauzl's own check would fail the whole archive on one `..`.
  decodeStrings: false,
  strictFileNames: true,
  validateEntrySizes: true,
}

function zipName(entry: yauzl.Entry): string {
  return yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileNameRaw, entry.extraFields, true)
}

async function openZip(file: string): Promise<yauzl.ZipFile> {
  try {
    return await yauzl.openPromise(file, ZIP_OPTIONS)
  } catch (error) {
    throw new PackageProblem(`${file} cannot be read as a .zip (${(error as Error).message})`)
  }
}

/** Unix file type bits of a zip entry, where the tool that wrote it recorded them (0: none). */
function unixType(entry: yauzl.Entry): number {
  return entry.versionMadeBy >> 8 === 3 ? (entry.externalFileAttributes >>> 16) & 0o170000 : 0
}

/**
 * A `.zip` export, read through its central directory: a first pass finds `manifest.json` and
 * `SHA256SUMS` (yazl writes them last), a second streams and hashes each entry the manifest lists
 * with the listed size.
 */
export async function readZip(file: string, visit: PackageVisitor, options: ReadPackageOptions = {}): Promise<void> {
  const {checker} = visit
  let manifestEntry: yauzl.Entry | undefined
  let sumsEntry: yauzl.Entry | undefined
  const first = await openZip(file)
  try {
    for await (const entry of first.eachEntry()) {
      const name = zipName(entry)
      if (name === 'manifest.json' && !manifestEntry) manifestEntry = entry
      else if (name === 'SHA256SUMS' && !sumsEntry) sumsEntry = entry
    }

    if (!manifestEntry) throw new PackageProblem(`${file} holds no manifest.json at its root`)
    const manifest = await collect(await first.openReadStreamPromise(manifestEntry))
    if (!(await visit.manifest(manifest))) return
    if (sumsEntry) await visit.sums(await first.openReadStreamPromise(sumsEntry))
  } catch (error) {
    if (error instanceof PackageProblem) throw error
    throw new PackageProblem(`${file} cannot be read as a .zip (${(error as Error).message})`)
  } finally {
    first.close()
  }

  const own = new Set([manifestEntry.relativeOffsetOfLocalHeader, sumsEntry?.relativeOffsetOfLocalHeader])
  const second = await openZip(file)
  try {
    for await (const entry of second.eachEntry()) {
      if (options.abortSignal?.aborted) throw options.abortSignal.reason
      if (own.has(entry.relativeOffsetOfLocalHeader)) continue
      const path = entryPath(zipName(entry))
      const unsafe = unsafeEntry(path)
      const type = unixType(entry)
      if (path === 'manifest.json' || path === 'SHA256SUMS') {
        checker.add({path, type: 'duplicate'})
      } else if (unsafe) {
        checker.add({path, type: 'unsafe', detail: unsafe})
      } else if (path.endsWith('/') || type === 0o040000) {
        checker.add({path: path.replace(/\/+$/, ''), type: 'directory'})
      } else if (type !== 0 && type !== 0o100000) {
        checker.add({path, type: 'other', detail: type === 0o120000 ? 'a symbolic link entry' : 'a special file entry'})
      } else if (!checker.wants(path, entry.uncompressedSize)) {
        checker.add({path, type: 'file', size: entry.uncompressedSize})
      } else if (!entry.canDecodeFileData()) {
        checker.add({
          path,
          type: 'file',
          size: entry.uncompressedSize,
          error: 'encrypted, or compressed in a way custos cannot read',
        })
      } else {
        try {
          checker.add({path, type: 'file', ...(await hashStream(await second.openReadStreamPromise(entry)))})
        } catch (error) {
          checker.add({path, type: 'file', size: entry.uncompressedSize, error: (error as Error).message})
        }
      }
    }
  } catch (error) {
    if (options.abortSignal?.aborted) throw error
    throw new PackageProblem(`${file} cannot be read to its end as a .zip (${(error as Error).message})`)
  } finally {
    second.close()
  }
}
