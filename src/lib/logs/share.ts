/**
 * Hands a file over: uploads it to the exports container (`exports` in the data map) and makes a
 * read-only HTTPS link that expires — a blob SAS with `sp=r` and `spr=https`, signed with the
 * account key when the data map gives a connection string with one, else with a user delegation
 * key obtained with the Entra ID credential (which needs Storage Blob Delegator on the account).
 * Links never live longer than {@link MAX_LINK_EXPIRY_MS} (7 days, also Azure's limit for user
 * delegation keys).
 */
import {basename} from 'node:path'
import {stat} from 'node:fs/promises'

import {
  BlobSASPermissions,
  SASProtocol,
  generateBlobSASQueryParameters,
  type BlobClient,
  type BlockBlobClient,
} from '@azure/storage-blob'

import {parseAccount} from '../azure/account.js'
import type {AzureClients} from '../azure/clients.js'
import {isLoopbackUrl} from '../azure/credential.js'
import type {DataMap} from '../datamap/types.js'
import {configError, fromAzureError, usageError} from '../errors.js'
import {formatDuration, parseDurationInMs} from '../duration.js'

export const MAX_LINK_EXPIRY_MS = 7 * 86_400_000
/** the link is valid from a few minutes back, for clocks that run behind */
const CLOCK_SKEW_MS = 5 * 60_000

export interface ShareLink {
  /** the HTTPS link (carries the SAS) */
  url: string
  account: string
  container: string
  blob: string
  expiresOn: string
  permissions: 'r'
  protocol: 'https'
  signedWith: 'account-key' | 'user-delegation-key'
}

/** The link lifetime to use: the flag, else `exports.linkExpiry`, else 7 days; longer is refused (exit 2). */
export function resolveLinkExpiry(map: DataMap, requestedInMs?: number): number {
  const configured = map.exports?.linkExpiry ? parseDurationInMs(map.exports.linkExpiry) : MAX_LINK_EXPIRY_MS
  const ms = requestedInMs ?? configured
  if (ms <= 0) throw usageError('The link expiry must be longer than zero.', 'Pass --link-expiry like 24h or 7d.')
  if (ms > MAX_LINK_EXPIRY_MS) {
    if (requestedInMs === undefined) throw configError(`exports.linkExpiry (${map.exports?.linkExpiry}) is longer than the 7-day maximum for shared links.`, [], 'Set exports.linkExpiry to 7d or less.')
    throw usageError(`--link-expiry ${formatDuration(ms)} is longer than the 7-day maximum for shared links.`, 'Use 7d or less.')
  }
  return ms
}

/** Throws a configuration error (exit 2) when `exports` is missing, so `--share` fails before any work. */
export function requireExports(map: DataMap): NonNullable<DataMap['exports']> {
  if (!map.exports) throw configError('--share needs the exports container, and the data map has no "exports" section.', [], 'Add exports: {account, container, linkExpiry} to the data map.')
  return map.exports
}

export interface ReadOnlyLinkOptions {
  expiresInMs: number
  now?: Date
  /**
   * Also allow plain HTTP (spr=https,http). Only for loopback endpoints (Azurite serves HTTP only);
   * links custos hands out are always HTTPS-only.
   */
  allowHttpOnLoopback?: boolean
}

/** A read-only SAS link to one blob (sp=r, spr=https), signed as the account allows. */
export async function createReadOnlyLink(clients: AzureClients, account: string, blob: BlobClient, options: ReadOnlyLinkOptions): Promise<Omit<ShareLink, 'account' | 'container' | 'blob'>> {
  if (options.expiresInMs > MAX_LINK_EXPIRY_MS) throw usageError('Shared links may not live longer than 7 days.')
  const now = options.now ?? new Date()
  const startsOn = new Date(now.getTime() - CLOCK_SKEW_MS)
  const expiresOn = new Date(now.getTime() + options.expiresInMs)
  if (options.allowHttpOnLoopback && !isLoopbackUrl(blob.url)) throw new Error('plain HTTP links are only allowed for loopback endpoints')
  const protocol = options.allowHttpOnLoopback ? SASProtocol.HttpsAndHttp : SASProtocol.Https
  const permissions = BlobSASPermissions.parse('r')
  const ref = parseAccount(account)
  if (ref.sharedKey) {
    const url = await blob.generateSasUrl({permissions, protocol, startsOn, expiresOn})
    return {url, expiresOn: expiresOn.toISOString(), permissions: 'r', protocol: 'https', signedWith: 'account-key'}
  }
  if (ref.sas) {
    throw configError(`The exports account ${ref.name} is given with a SAS token, which cannot sign a link.`, [], 'Give exports.account as a blob endpoint URL (Entra ID) or a connection string with an account key.')
  }
  const service = clients.blobService(account)
  const key = await service.getUserDelegationKey(startsOn, expiresOn)
  const sas = generateBlobSASQueryParameters(
    {containerName: blob.containerName, blobName: blob.name, permissions, protocol, startsOn, expiresOn},
    key,
    ref.name,
  ).toString()
  return {url: `${blob.url}?${sas}`, expiresOn: expiresOn.toISOString(), permissions: 'r', protocol: 'https', signedWith: 'user-delegation-key'}
}

export interface ShareFileOptions {
  /** blob name in the exports container */
  blobName: string
  expiresInMs: number
  contentType?: string
  metadata?: Record<string, string>
  abortSignal?: AbortSignal
  now?: Date
}

/** Uploads a local file to the exports container, checks its size there, and returns a read-only link. */
export async function shareFile(clients: AzureClients, map: DataMap, localPath: string, options: ShareFileOptions): Promise<ShareLink> {
  const exportsConfig = requireExports(map)
  const service = clients.blobService(exportsConfig.account)
  const container = service.getContainerClient(exportsConfig.container)
  const what = `exports container ${exportsConfig.container} in account ${container.accountName}`
  let blob: BlockBlobClient
  try {
    await container.createIfNotExists({abortSignal: options.abortSignal})
    blob = container.getBlockBlobClient(options.blobName)
    const size = (await stat(localPath)).size
    await blob.uploadFile(localPath, {
      abortSignal: options.abortSignal,
      blobHTTPHeaders: {blobContentType: options.contentType ?? 'application/gzip', blobContentDisposition: `attachment; filename="${basename(localPath)}"`},
      metadata: options.metadata,
      concurrency: 4,
    })
    const stored = await blob.getProperties({abortSignal: options.abortSignal})
    if (stored.contentLength !== size) throw new Error(`uploaded ${size} bytes but the service stores ${stored.contentLength} for ${options.blobName}`)
    const link = await createReadOnlyLink(clients, exportsConfig.account, blob, {expiresInMs: options.expiresInMs, now: options.now})
    return {...link, account: container.accountName, container: exportsConfig.container, blob: options.blobName}
  } catch (error) {
    throw fromAzureError(error, what)
  }
}
