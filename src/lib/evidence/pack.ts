/**
 * Writes a `.tar.gz` from files on disk and small in-memory documents (tar-stream + zlib),
 * streaming: each entry's size is known before it is written, the archive is hashed as it is
 * written, and it appears under its final name only when complete (written as `.partial`, then
 * renamed).
 */
import {createReadStream, createWriteStream} from 'node:fs'
import {rename, rm, stat} from 'node:fs/promises'
import {pipeline} from 'node:stream/promises'
import {createGzip} from 'node:zlib'

import tar from 'tar-stream'

import {PRIVATE_FILE_MODE} from '../output/files.js'
import {Sha256PassThrough} from './digests.js'

export type PackEntry = {name: string; file: string} | {name: string; content: string | Buffer}

export interface PackResult {
  path: string
  bytes: number
  sha256: string
}

/** Packs `entries` in order into `path` (gzip level 6); modification time `mtime` on every entry. */
export async function writeTarGz(
  path: string,
  entries: readonly PackEntry[],
  options: {mtime?: Date; abortSignal?: AbortSignal} = {},
): Promise<PackResult> {
  const mtime = options.mtime ?? new Date()
  const partial = `${path}.partial`
  const pack = tar.pack()
  const hashing = new Sha256PassThrough()
  const feeding = (async () => {
    for (const entry of entries) {
      if (options.abortSignal?.aborted) throw options.abortSignal.reason ?? new Error('aborted')
      if ('content' in entry) {
        const body = typeof entry.content === 'string' ? Buffer.from(entry.content, 'utf8') : entry.content
        await new Promise<void>((resolve, reject) =>
          pack.entry({name: entry.name, size: body.length, mode: PRIVATE_FILE_MODE, mtime}, body, (err) =>
            err ? reject(err) : resolve(),
          ),
        )
      } else {
        const size = (await stat(entry.file)).size
        const sink = pack.entry({name: entry.name, size, mode: PRIVATE_FILE_MODE, mtime})
        await pipeline(createReadStream(entry.file, {highWaterMark: 1 << 20}), sink)
      }
    }

    pack.finalize()
  })()
  try {
    await Promise.all([
      feeding,
      pipeline(pack, createGzip({level: 6}), hashing, createWriteStream(partial, {mode: PRIVATE_FILE_MODE}), {
        signal: options.abortSignal,
      }),
    ])
    await rename(partial, path)
  } catch (error) {
    pack.destroy()
    await rm(partial, {force: true})
    throw error
  }

  return {path, bytes: hashing.bytes, sha256: hashing.sha256()}
}
