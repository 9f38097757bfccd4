/**
 * Shared access signatures for exports: read-only, HTTPS-only links that expire within 7 days.
 * With a shared key (connection string) the link is a service SAS; with Entra ID it is a user
 * delegation SAS (the key is asked for once per account and lives no longer than the links).
 *
 * Only blob-level links are issued. A container-level link (even read+list) would let one
 * customer read — or list and then read — every other customer's exports in the same container,
 * because a flat-namespace container has no SAS scoped to a folder.
 */
import {
  BlobSASPermissions,
  SASProtocol,
  StorageSharedKeyCredential,
  generateBlobSASQueryParameters,
  type BlobClient,
  type UserDelegationKey,
} from '@azure/storage-blob'

import {parseAccount, type AccountRef} from '../azure/account.js'
import type {AzureClients} from '../azure/clients.js'
import {isLoopbackUrl} from '../azure/credential.js'
import {configError, fromAzureError, usageError} from '../errors.js'
import {formatDuration} from '../duration.js'

/** The longest a link may live (also the longest a user delegation key may). */
export const MAX_LINK_EXPIRY_MS = 7 * 24 * 60 * 60 * 1000
/** Tolerates clocks a little behind the service's. */
const CLOCK_SKEW_MS = 5 * 60 * 1000

/** Refuses an expiry beyond 7 days (or not positive) with a usage error naming where it came from. */
export function checkLinkExpiry(expiryInMs: number, source: string): number {
  if (!(expiryInMs > 0) || expiryInMs > MAX_LINK_EXPIRY_MS) {
    const message = `${source} is ${formatDuration(expiryInMs)}; a link must expire within 7 days.`
    throw source.startsWith('--')
      ? usageError(message, 'Use a duration up to 7d.')
      : configError(message, [], 'Set a duration up to 7d.')
  }

  return expiryInMs
}

export interface ReadLinkSignerOptions {
  /** when every link signed by this signer expires */
  expiresOn: Date
  /**
   * Also accept plain HTTP, for a loopback emulator endpoint only (Azurite serves no HTTPS). Used by
   * the copy source of a server-side export on Azurite and by tests; ignored for any other endpoint.
   */
  allowHttpOnLoopback?: boolean
}

/** Signs read-only blob links for one account. */
export class ReadLinkSigner {
  private delegationKey?: Promise<UserDelegationKey>
  private readonly ref: AccountRef
  readonly expiresOn: Date
  readonly protocol: SASProtocol

  constructor(
    private readonly clients: AzureClients,
    account: string,
    options: ReadLinkSignerOptions,
  ) {
    this.ref = parseAccount(account)
    const cap = Date.now() + MAX_LINK_EXPIRY_MS
    this.expiresOn = new Date(Math.min(options.expiresOn.getTime(), cap))
    const loopbackHttp = this.ref.endpoint.startsWith('http:') && isLoopbackUrl(this.ref.endpoint)
    this.protocol = options.allowHttpOnLoopback && loopbackHttp ? SASProtocol.HttpsAndHttp : SASProtocol.Https
    if (this.ref.sas && !this.ref.sharedKey) {
      throw configError(
        `Account ${this.ref.name} is configured with a SAS connection string, from which custos cannot sign links.`,
        [],
        'Configure it as a blob endpoint URL (Entra ID) or with an account key.',
      )
    }
  }

  /** A read-only link to `blob` (a current blob, version or snapshot). */
  async url(blob: BlobClient): Promise<string> {
    const startsOn = new Date(Date.now() - CLOCK_SKEW_MS)
    const values = {
      containerName: blob.containerName,
      blobName: blob.name,
      permissions: BlobSASPermissions.parse('r'),
      protocol: this.protocol,
      startsOn,
      expiresOn: this.expiresOn,
      ...(urlParam(blob.url, 'versionid') ? {versionId: urlParam(blob.url, 'versionid')} : {}),
      ...(urlParam(blob.url, 'snapshot') ? {snapshotTime: urlParam(blob.url, 'snapshot')} : {}),
    }
    const query = this.ref.sharedKey
      ? generateBlobSASQueryParameters(
          values,
          new StorageSharedKeyCredential(this.ref.sharedKey.accountName, this.ref.sharedKey.accountKey),
        )
      : generateBlobSASQueryParameters(values, await this.userDelegationKey(startsOn), this.ref.name)
    return `${blob.url}${blob.url.includes('?') ? '&' : '?'}${query.toString()}`
  }

  private userDelegationKey(startsOn: Date): Promise<UserDelegationKey> {
    this.delegationKey ??= this.clients
      .blobService(this.ref)
      .getUserDelegationKey(startsOn, this.expiresOn)
      .catch((error: unknown) => {
        this.delegationKey = undefined
        throw fromAzureError(error, `a user delegation key for account ${this.ref.name}`)
      })
    return this.delegationKey
  }
}

function urlParam(url: string, name: string): string | undefined {
  return new URL(url).searchParams.get(name) ?? undefined
}
