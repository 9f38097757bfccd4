/**
 * Reading one object from the storage service: streamed, hashed while it streams (SHA-256 always,
 * MD5 to compare with the service's Content-MD5), and refused as an IntegrityMismatch when the
 * bytes do not match what the service says it holds.
 */
import {createHash} from 'node:crypto'
import {close, constants, createWriteStream, open, read} from 'node:fs'
import {promisify} from 'node:util'
import {Transform, Writable, type TransformCallback} from 'node:stream'
import {pipeline} from 'node:stream/promises'

import type {BlobClient, ContainerClient} from '@azure/storage-blob'

import type {BlobRead, BlobReader} from '../azure/blob-reader.js'
import {CustosError, ExitCode, fromAzureError} from '../errors.js'
import {Digests, type VerifiedDigest} from '../evidence/digests.js'
import {PRIVATE_FILE_MODE} from '../output/files.js'
import {assertInScope, type Scope} from '../scope.js'
import type {PlannedObject} from './plan.js'

export const EMPTY_SHA256 = createHash('sha256').digest('hex')

/** Hashes what passes through it and counts the bytes. */
export class HashingStream extends Transform {
  readonly digests = new Digests()

  constructor(private readonly onBytes?: (n: number) => void) {
    super()
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.digests.update(chunk)
    this.onBytes?.(chunk.length)
    callback(null, chunk)
  }
}

/** The client of the exact object: the current blob, a version or a snapshot. */
export function objectClient(container: ContainerClient, scope: Scope, object: PlannedObject): BlobClient {
  // Every read re-checks the scope, whatever produced the object (a listing, a journal).
  assertInScope(scope, container.containerName, object.name)
  const base = container.getBlobClient(object.name)
  const instance = blobInstance(object)
  if (instance.versionId) return base.withVersion(instance.versionId)
  if (instance.snapshot) return base.withSnapshot(instance.snapshot)
  return base
}

/** Which instance of the blob an object is: the current one, a version or a snapshot. */
function blobInstance(object: PlannedObject): {versionId?: string; snapshot?: string} {
  if (object.kind === 'version' && object.versionId) return {versionId: object.versionId}
  if (object.kind === 'snapshot' && object.snapshot) return {snapshot: object.snapshot}
  return {}
}

export function integrityError(customer: string, object: PlannedObject, what: string): CustosError {
  const id =
    object.versionId && object.kind === 'version'
      ? ` (version ${object.versionId})`
      : object.snapshot
        ? ` (snapshot ${object.snapshot})`
        : ''
  return new CustosError(
    `Integrity check failed for blob ${JSON.stringify(object.name)}${id} in store ${object.store} of customer ${customer}: ${what}.`,
    {
      code: 'IntegrityMismatch',
      exitCode: ExitCode.azure,
      hint: 'The export was stopped and no manifest was written. Check the blob (its Content-MD5 property may be wrong, or the data corrupted) and run the export again.',
    },
  )
}

/** Compares what was read with the listing's size and Content-MD5; throws IntegrityMismatch. */
function checkDigest(customer: string, object: PlannedObject, digest: VerifiedDigest, serviceMD5?: string): void {
  if (digest.bytes !== object.size)
    throw integrityError(customer, object, `${digest.bytes} bytes were read where the service lists ${object.size}`)
  for (const expected of new Set([object.contentMD5, serviceMD5])) {
    if (expected && expected !== digest.md5)
      throw integrityError(
        customer,
        object,
        `the data's MD5 is ${digest.md5} but the service's Content-MD5 is ${expected}`,
      )
  }
}

export interface DownloadOptions {
  customer: string
  abortSignal?: AbortSignal
  /** retries of a broken response stream (the request itself is retried by the client's policy) */
  maxRetryRequests: number
  onBytes?: (n: number) => void
}

/**
 * Streams one object into `sink` (which this function ends), verifying size and Content-MD5.
 * A current blob is read only if it is still the one listed (If-Match on its ETag), so the bytes
 * always belong to the properties the manifest records.
 */
export async function downloadVerified(
  client: BlobClient,
  object: PlannedObject,
  sink: Writable,
  options: DownloadOptions,
): Promise<VerifiedDigest> {
  const hashing = new HashingStream(options.onBytes)
  let serviceMD5: string | undefined
  try {
    const response = await client.download(0, undefined, {
      abortSignal: options.abortSignal,
      maxRetryRequests: options.maxRetryRequests,
      ...sameBlob(object),
    })
    serviceMD5 = base64(response.contentMD5 ?? response.blobContentMD5)
    if (!response.readableStreamBody) throw new Error('the service returned no body')
    await pipeline(response.readableStreamBody, hashing, sink, {signal: options.abortSignal})
  } catch (error) {
    throw readError(error, object, options.customer)
  }

  const digest = hashing.digests.result()
  checkDigest(options.customer, object, digest, serviceMD5)
  return digest
}

/** A current blob is read only while it is still the one listed (If-Match on its ETag). */
function sameBlob(object: PlannedObject): {conditions?: {ifMatch: string}} {
  return object.kind === 'current' && object.etag ? {conditions: {ifMatch: object.etag}} : {}
}

function base64(md5: Uint8Array | undefined): string | undefined {
  return md5 && md5.length > 0 ? Buffer.from(md5).toString('base64') : undefined
}

function readError(error: unknown, object: PlannedObject, customer: string): unknown {
  if (error instanceof CustosError) return error
  if ((error as {statusCode?: number}).statusCode === 412) {
    return new CustosError(
      `Blob ${JSON.stringify(object.name)} in store ${object.store} changed while customer ${customer} was being exported.`,
      {
        code: 'ChangedDuringExport',
        exitCode: ExitCode.azure,
        hint: 'Run the export again; it resumes and picks up the new content.',
      },
    )
  }

  return fromAzureError(error, `blob ${JSON.stringify(object.name)} in store ${object.store}`)
}

const readAt = (fd: number, buffer: Buffer, length: number, position: number) =>
  promisify(read)(fd, buffer, 0, length, position)

export interface RangedDownloadOptions extends DownloadOptions {
  /** bytes per range request */
  rangeSize: number
  /** range requests in flight at once for this object */
  parallel: number
}

/**
 * Downloads one large object into the file `path` with `parallel` range requests in flight, each
 * written at its own offset, so that one blob is not limited to one connection's speed.
 *
 * The hashes still cover the bytes in order: a range is hashed as soon as it and every range
 * before it are on disk, read back from the page cache while later ranges are still downloading —
 * memory stays at one read buffer per object, never the ranges that arrived early. Every range of
 * a current blob is conditional on the listed ETag, so all of them come from the same blob; size
 * and the blob's Content-MD5 are checked as in {@link downloadVerified}.
 */
export async function downloadRangesToFile(
  client: BlobClient,
  object: PlannedObject,
  path: string,
  options: RangedDownloadOptions,
): Promise<VerifiedDigest> {
  const ranges = Math.max(1, Math.ceil(object.size / options.rangeSize))
  const stop = new AbortController()
  const signal = options.abortSignal ? AbortSignal.any([options.abortSignal, stop.signal]) : stop.signal
  // A numeric descriptor, not a FileHandle (FileHandle.close() waits for every stream on it), for
  // creating the file and reading the ranges back to hash them. Never through a link at `path`
  // (ELOOP), created private (src/lib/export/local-folder.ts says why).
  const fd = await promisify(open)(
    path,
    constants.O_RDWR | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW,
    PRIVATE_FILE_MODE,
  )
  const digests = new Digests()
  const done = Array.from({length: ranges}, () => false)
  let hashed = 0
  let serviceMD5: string | undefined
  let hashing = Promise.resolve()
  const buffer = Buffer.allocUnsafe(Math.min(options.rangeSize, 1024 * 1024))

  /** Hashes, in order, every range whose predecessors are all on disk. */
  const advance = async (): Promise<void> => {
    while (hashed < ranges && done[hashed]) {
      const end = Math.min(object.size, (hashed + 1) * options.rangeSize)
      for (let at = hashed * options.rangeSize; at < end;) {
        const {bytesRead} = await readAt(fd, buffer, Math.min(buffer.length, end - at), at)
        if (bytesRead === 0)
          throw integrityError(options.customer, object, `the file ended at ${at} of ${object.size} bytes`)
        digests.update(buffer.subarray(0, bytesRead))
        at += bytesRead
      }

      hashed++
    }
  }

  let next = 0
  const worker = async (): Promise<void> => {
    for (let i = next++; i < ranges && !signal.aborted; i = next++) {
      const offset = i * options.rangeSize
      const count = Math.min(options.rangeSize, object.size - offset)
      const response = await client.download(offset, count, {
        abortSignal: signal,
        maxRetryRequests: options.maxRetryRequests,
        ...sameBlob(object),
      })
      serviceMD5 ??= base64(response.blobContentMD5)
      if (!response.readableStreamBody) throw new Error('the service returned no body')
      let received = 0
      const counting = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          received += chunk.length
          options.onBytes?.(chunk.length)
          callback(null, chunk)
        },
      })
      // Each range writes through a descriptor of its own: a write stream closes its descriptor
      // when it is destroyed, even with autoClose: false (Node 20), so a stream on the shared one
      // would, when one range is aborted, close it under the other ranges — whose writes could
      // then land in whatever file is opened next under the same number.
      const rangeFd = await promisify(open)(path, constants.O_WRONLY | constants.O_NOFOLLOW)
      await pipeline(response.readableStreamBody, counting, createWriteStream(path, {fd: rangeFd, start: offset}), {
        signal,
      })
      if (received !== count)
        throw integrityError(
          options.customer,
          object,
          `${received} bytes were read for the range at ${offset} where ${count} were asked for`,
        )
      done[i] = true
      hashing = hashing.then(advance)
      await hashing
    }
  }

  try {
    const workers = Array.from({length: Math.min(options.parallel, ranges)}, () =>
      worker().catch((error: unknown) => {
        stop.abort(error)
        throw error
      }),
    )
    await Promise.allSettled(workers)
    // the first failure, not the aborts it caused in the other workers
    if (stop.signal.aborted) throw stop.signal.reason
    await hashing
  } catch (error) {
    throw readError(error, object, options.customer)
  } finally {
    await promisify(close)(fd)
  }

  const digest = digests.result()
  checkDigest(options.customer, object, digest, serviceMD5)
  return digest
}

/** Where a small object is read from: the store's lean reader and the customer's scope in it. */
export interface SmallObjectSource {
  reader: BlobReader
  scope: Scope
}

/**
 * Reads one (small) object into memory, verified; nothing is written anywhere when it does not
 * match. It goes through the lean BlobReader (one GET, no SDK client per object): most objects of
 * an export are small, and the SDK's per-download overhead cost more CPU than the download itself.
 */
export async function downloadToBuffer(
  source: SmallObjectSource,
  object: PlannedObject,
  options: DownloadOptions,
): Promise<{data: Buffer; digest: VerifiedDigest}> {
  const {scope} = source
  // Every read re-checks the scope, whatever produced the object (a listing, a journal).
  assertInScope(scope, scope.container, object.name)
  let read: BlobRead
  try {
    read = await source.reader.read(
      {
        container: scope.container,
        name: object.name,
        ...blobInstance(object),
        ...sameBlob(object).conditions,
      },
      {abortSignal: options.abortSignal, maxRetryRequests: options.maxRetryRequests},
    )
  } catch (error) {
    throw readError(error, object, options.customer)
  }

  const digests = new Digests()
  digests.update(read.body)
  options.onBytes?.(read.body.length)
  const digest = digests.result()
  checkDigest(options.customer, object, digest, read.contentMD5)
  return {data: read.body, digest}
}
