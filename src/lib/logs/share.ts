/**
 * Hands a file over: uploads it to the exports container (`exports` in the data map) and makes a
 * read-only HTTPS link that expires — a blob SAS with `sp=r` and `spr=https`, signed by export's
 * {@link ReadLinkSigner} (account key from a connection string, else a user delegation key with
 * the Entra ID credential). Links never live longer than 7 days.
 */
import {basename} from 'node:path'
import {stat} from 'node:fs/promises'

import {parseAccount} from '../azure/account.js'
import type {AzureClients} from '../azure/clients.js'
import type {DataMap} from '../datamap/types.js'
import {configError, fromAzureError} from '../errors.js'
import {formatDuration, parseDurationInMs} from '../duration.js'
import {MAX_LINK_EXPIRY_MS, ReadLinkSigner, checkLinkExpiry} from '../export/sas.js'

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
  if (requestedInMs !== undefined)
    return checkLinkExpiry(requestedInMs, `--link-expiry ${formatDuration(requestedInMs)}`)
  const configured = map.exports?.linkExpiry
  return configured
    ? checkLinkExpiry(parseDurationInMs(configured), `exports.linkExpiry (${configured})`)
    : MAX_LINK_EXPIRY_MS
}

/** Throws a configuration error (exit 2) when `exports` is missing, so `--share` fails before any work. */
export function requireExports(map: DataMap): NonNullable<DataMap['exports']> {
  if (!map.exports)
    throw configError(
      '--share needs the exports container, and the data map has no "exports" section.',
      [],
      'Add exports: {account, container, linkExpiry} to the data map.',
    )
  return map.exports
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
export async function shareFile(
  clients: AzureClients,
  map: DataMap,
  localPath: string,
  options: ShareFileOptions,
): Promise<ShareLink> {
  const exportsConfig = requireExports(map)
  const service = clients.blobService(exportsConfig.account)
  const container = service.getContainerClient(exportsConfig.container)
  const what = `exports container ${exportsConfig.container} in account ${container.accountName}`
  try {
    await container.createIfNotExists({abortSignal: options.abortSignal})
    const blob = container.getBlockBlobClient(options.blobName)
    const size = (await stat(localPath)).size
    await blob.uploadFile(localPath, {
      abortSignal: options.abortSignal,
      blobHTTPHeaders: {
        blobContentType: options.contentType ?? 'application/gzip',
        blobContentDisposition: `attachment; filename="${basename(localPath)}"`,
      },
      metadata: options.metadata,
      concurrency: 4,
    })
    const stored = await blob.getProperties({abortSignal: options.abortSignal})
    if (stored.contentLength !== size)
      throw new Error(`uploaded ${size} bytes but the service stores ${stored.contentLength} for ${options.blobName}`)
    const signer = new ReadLinkSigner(clients, exportsConfig.account, {
      expiresOn: new Date((options.now ?? new Date()).getTime() + options.expiresInMs),
    })
    return {
      url: await signer.url(blob),
      account: container.accountName,
      container: exportsConfig.container,
      blob: options.blobName,
      expiresOn: signer.expiresOn.toISOString(),
      permissions: 'r',
      protocol: 'https',
      signedWith: parseAccount(exportsConfig.account).sharedKey ? 'account-key' : 'user-delegation-key',
    }
  } catch (error) {
    throw fromAzureError(error, what)
  }
}
