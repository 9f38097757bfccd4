/**
 * A backup set's manifest: a JSON blob written by the backup job that lists what it wrote,
 * `[{"name": "2024-05-01/db.bak", "size": 123, "sha256": "…"}]` (or `{"backups": [...]}`), names
 * relative to the customer's scope.
 */
import type {ContainerClient} from '@azure/storage-blob'

import {fromAzureError} from '../errors.js'

export interface ManifestEntry {
  name: string
  size?: number
  /** lower-case hex */
  sha256?: string
}

export type ManifestLookup =
  {state: 'found'; entries: Map<string, ManifestEntry>} | {state: 'missing'} | {state: 'invalid'; reason: string}

/** A manifest is read whole; this bounds the damage a wrong `manifest` setting can do. */
const MAX_MANIFEST_BYTES = 64 * 1024 * 1024

/** Normalises a SHA-256 given as hex or base64 to lower-case hex; undefined when it is neither. */
export function normalizeSha256(value: string | undefined): string | undefined {
  if (!value) return undefined
  const text = value.trim()
  if (/^[0-9a-fA-F]{64}$/.test(text)) return text.toLowerCase()
  if (/^[A-Za-z0-9+/]{43}=$/.test(text)) return Buffer.from(text, 'base64').toString('hex')
  return undefined
}

export function parseManifest(text: string): ManifestLookup {
  let doc: unknown
  try {
    doc = JSON.parse(text.replace(/^\uFEFF/, ''))
  } catch (error) {
    return {state: 'invalid', reason: `not valid JSON (${(error as Error).message})`}
  }

  const list = Array.isArray(doc)
    ? doc
    : ((doc as {backups?: unknown; files?: unknown} | null)?.backups ?? (doc as {files?: unknown} | null)?.files)
  if (!Array.isArray(list))
    return {state: 'invalid', reason: 'expected a JSON array (or {"backups": [...]}) of {name, size, sha256}'}
  const entries = new Map<string, ManifestEntry>()
  for (const [i, raw] of list.entries()) {
    const e = raw as {name?: unknown; size?: unknown; sha256?: unknown}
    if (typeof e?.name !== 'string' || e.name === '') return {state: 'invalid', reason: `entry ${i} has no name`}
    if (e.size !== undefined && (typeof e.size !== 'number' || !Number.isInteger(e.size) || e.size < 0))
      return {state: 'invalid', reason: `entry ${e.name}: size must be a whole number of bytes`}
    const sha256 = e.sha256 === undefined ? undefined : normalizeSha256(String(e.sha256))
    if (e.sha256 !== undefined && !sha256)
      return {state: 'invalid', reason: `entry ${e.name}: sha256 must be 64 hex digits`}
    entries.set(e.name, {
      name: e.name,
      ...(e.size === undefined ? {} : {size: e.size as number}),
      ...(sha256 ? {sha256} : {}),
    })
  }

  return {state: 'found', entries}
}

/** Downloads and parses the manifest blob `blobName`; a missing blob is reported, not thrown. */
export async function readManifest(
  container: ContainerClient,
  blobName: string,
  options: {abortSignal?: AbortSignal} = {},
): Promise<ManifestLookup> {
  const blob = container.getBlobClient(blobName)
  try {
    const properties = await blob.getProperties({abortSignal: options.abortSignal})
    if ((properties.contentLength ?? 0) > MAX_MANIFEST_BYTES)
      return {state: 'invalid', reason: `larger than ${MAX_MANIFEST_BYTES / 1024 / 1024} MiB`}
    const body = await blob.downloadToBuffer(0, undefined, {abortSignal: options.abortSignal})
    return parseManifest(body.toString('utf8'))
  } catch (error) {
    const status = (error as {statusCode?: number}).statusCode
    if (status === 404) return {state: 'missing'}
    throw fromAzureError(error, `manifest ${blobName} in container ${container.containerName}`)
  }
}
