/**
 * Reading one object from the storage service: streamed, hashed while it streams (SHA-256 always,
 * MD5 to compare with the service's Content-MD5), and refused as an IntegrityMismatch when the
 * bytes do not match what the service says it holds.
 */
import {createHash, type Hash} from 'node:crypto'
import {Transform, Writable, type TransformCallback} from 'node:stream'
import {pipeline} from 'node:stream/promises'

import type {BlobClient, ContainerClient} from '@azure/storage-blob'

import {CustosError, ExitCode, fromAzureError} from '../errors.js'
import {assertInScope, type Scope} from '../scope.js'
import type {PlannedObject} from './plan.js'

export const EMPTY_SHA256 = createHash('sha256').digest('hex')

/** Hashes what passes through it and counts the bytes. */
export class HashingStream extends Transform {
  readonly sha256: Hash = createHash('sha256')
  readonly md5: Hash = createHash('md5')
  bytes = 0

  constructor(private readonly onBytes?: (n: number) => void) {
    super()
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.sha256.update(chunk)
    this.md5.update(chunk)
    this.bytes += chunk.length
    this.onBytes?.(chunk.length)
    callback(null, chunk)
  }
}

export interface VerifiedDigest {
  sha256: string
  /** base64 MD5 of the bytes read */
  md5: string
  bytes: number
}

/** The client of the exact object: the current blob, a version or a snapshot. */
export function objectClient(container: ContainerClient, scope: Scope, object: PlannedObject): BlobClient {
  // Every read re-checks the scope, whatever produced the object (a listing, a journal).
  assertInScope(scope, container.containerName, object.name)
  const base = container.getBlobClient(object.name)
  if (object.kind === 'version' && object.versionId) return base.withVersion(object.versionId)
  if (object.kind === 'snapshot' && object.snapshot) return base.withSnapshot(object.snapshot)
  return base
}

export function integrityError(customer: string, object: PlannedObject, what: string): CustosError {
  const id = object.versionId && object.kind === 'version' ? ` (version ${object.versionId})` : object.snapshot ? ` (snapshot ${object.snapshot})` : ''
  return new CustosError(`Integrity check failed for blob ${JSON.stringify(object.name)}${id} in store ${object.store} of customer ${customer}: ${what}.`, {
    code: 'IntegrityMismatch',
    exitCode: ExitCode.azure,
    hint: 'The export was stopped and no manifest was written. Check the blob (its Content-MD5 property may be wrong, or the data corrupted) and run the export again.',
  })
}

/** Compares what was read with the listing's size and Content-MD5; throws IntegrityMismatch. */
export function checkDigest(customer: string, object: PlannedObject, digest: VerifiedDigest, serviceMD5?: string): void {
  if (digest.bytes !== object.size) throw integrityError(customer, object, `${digest.bytes} bytes were read where the service lists ${object.size}`)
  for (const expected of new Set([object.contentMD5, serviceMD5])) {
    if (expected && expected !== digest.md5) throw integrityError(customer, object, `the data's MD5 is ${digest.md5} but the service's Content-MD5 is ${expected}`)
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
export async function downloadVerified(client: BlobClient, object: PlannedObject, sink: Writable, options: DownloadOptions): Promise<VerifiedDigest> {
  const hashing = new HashingStream(options.onBytes)
  let serviceMD5: string | undefined
  try {
    const response = await client.download(0, undefined, {
      abortSignal: options.abortSignal,
      maxRetryRequests: options.maxRetryRequests,
      ...(object.kind === 'current' && object.etag ? {conditions: {ifMatch: object.etag}} : {}),
    })
    const md5 = response.contentMD5 ?? response.blobContentMD5
    if (md5 && md5.length > 0) serviceMD5 = Buffer.from(md5).toString('base64')
    if (!response.readableStreamBody) throw new Error('the service returned no body')
    await pipeline(response.readableStreamBody, hashing, sink, {signal: options.abortSignal})
  } catch (error) {
    if ((error as {statusCode?: number}).statusCode === 412) {
      throw new CustosError(`Blob ${JSON.stringify(object.name)} in store ${object.store} changed while customer ${options.customer} was being exported.`, {
        code: 'ChangedDuringExport',
        exitCode: ExitCode.azure,
        hint: 'Run the export again; it resumes and picks up the new content.',
      })
    }
    throw fromAzureError(error, `blob ${JSON.stringify(object.name)} in store ${object.store}`)
  }
  const digest: VerifiedDigest = {sha256: hashing.sha256.digest('hex'), md5: hashing.md5.digest('base64'), bytes: hashing.bytes}
  checkDigest(options.customer, object, digest, serviceMD5)
  return digest
}

/** Reads one (small) object into memory, verified; nothing is written anywhere when it does not match. */
export async function downloadToBuffer(client: BlobClient, object: PlannedObject, options: DownloadOptions): Promise<{data: Buffer; digest: VerifiedDigest}> {
  const chunks: Buffer[] = []
  const collect = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk)
      callback()
    },
  })
  const digest = await downloadVerified(client, object, collect, options)
  return {data: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks), digest}
}
