/**
 * The storage-account checks, as pure functions of what Resource Manager returned (the account and
 * its blob service properties), so that every rule is testable on a recorded response.
 */
import type {BlobServiceProperties, StorageAccount} from '@azure/arm-storage'

import {normalizeRegion, regionAllowed, resourcePlaceholders, result} from './result.js'
import type {CheckResult, CheckStatus} from './types.js'

export interface StorageCheckContext {
  allowedRegions: string[]
  /** minimum soft-delete retention in days (blobs and containers) */
  minRetentionDays: number
  /** the data map requires a customer-managed key on this account */
  requireCustomerManagedKey: boolean
  /** keys.vault, for the remediation of the customer-managed-key check */
  vaultUri?: string
}

const GEO_REDUNDANT = /(^|_)(RA)?G(Z)?RS$/i

/** Evaluates every storage-account check except the monitoring ones. */
export function evaluateStorageAccount(
  account: StorageAccount,
  blobService: BlobServiceProperties | {unknown: string},
  ctx: StorageCheckContext,
): CheckResult[] {
  const name = account.name ?? '(unnamed)'
  const values = {
    ...resourcePlaceholders(account.id, name, ctx.allowedRegions),
    minDays: String(ctx.minRetentionDays),
    vaultUri: ctx.vaultUri,
  }
  const r = (id: string, status: CheckStatus, detail: string) => result(id, status, detail, values)
  const out: CheckResult[] = []

  out.push(
    account.enableHttpsTrafficOnly === true
      ? r('storage.https-only', 'pass', 'supportsHttpsTrafficOnly is true: plain HTTP requests are refused.')
      : r(
          'storage.https-only',
          'fail',
          `supportsHttpsTrafficOnly is ${String(account.enableHttpsTrafficOnly ?? 'not set')}: the account accepts unencrypted HTTP.`,
        ),
  )

  const tls = account.minimumTlsVersion
  out.push(
    tls === 'TLS1_2' || tls === 'TLS1_3'
      ? r('storage.minimum-tls', 'pass', `minimumTlsVersion is ${tls}.`)
      : r('storage.minimum-tls', 'fail', `minimumTlsVersion is ${tls ?? 'not set (Azure then accepts TLS 1.0)'}.`),
  )

  out.push(
    account.allowBlobPublicAccess === false
      ? r('storage.public-blob-access', 'pass', 'allowBlobPublicAccess is false: no container can be made public.')
      : r(
          'storage.public-blob-access',
          'fail',
          account.allowBlobPublicAccess === true
            ? 'allowBlobPublicAccess is true: any container can be opened to anonymous readers.'
            : 'allowBlobPublicAccess is not set, which allows public access on accounts created before 2023.',
        ),
  )

  out.push(
    account.allowSharedKeyAccess === false
      ? r(
          'storage.shared-key-access',
          'pass',
          'allowSharedKeyAccess is false: only Entra ID (and user delegation SAS) can reach the data.',
        )
      : r(
          'storage.shared-key-access',
          'fail',
          `allowSharedKeyAccess is ${account.allowSharedKeyAccess === true ? 'true' : 'not set (equivalent to true)'}: the account keys and key-signed SAS give full access.`,
        ),
  )

  const action = account.networkRuleSet?.defaultAction
  if (account.publicNetworkAccess === 'Disabled')
    out.push(
      r('storage.firewall', 'pass', 'publicNetworkAccess is Disabled: only private endpoints reach the account.'),
    )
  else if (action === 'Deny') {
    const rules =
      (account.networkRuleSet?.ipRules?.length ?? 0) + (account.networkRuleSet?.virtualNetworkRules?.length ?? 0)
    out.push(
      r(
        'storage.firewall',
        'pass',
        `networkAcls.defaultAction is Deny (${rules} IP/VNet rule${rules === 1 ? '' : 's'}, bypass ${account.networkRuleSet?.bypass ?? 'none'}).`,
      ),
    )
  } else
    out.push(
      r(
        'storage.firewall',
        'fail',
        `networkAcls.defaultAction is ${action ?? 'not set (Allow)'}: every network may reach the account.`,
      ),
    )

  const keySource = account.encryption?.keySource
  const cmk = keySource?.toLowerCase() === 'microsoft.keyvault'
  const kv = account.encryption?.keyVaultProperties
  const keyText = cmk
    ? `Key Vault key ${kv?.keyName ?? '?'} in ${kv?.keyVaultUri ?? '?'}`
    : `keySource ${keySource ?? 'not set (Microsoft.Storage)'}`
  if (!ctx.requireCustomerManagedKey)
    out.push(
      r(
        'storage.customer-managed-key',
        'skipped',
        `Not required by the data map (requireCustomerManagedKey); the account encrypts with ${keyText}.`,
      ),
    )
  else if (cmk) out.push(r('storage.customer-managed-key', 'pass', `Encrypted with the ${keyText}.`))
  else
    out.push(
      r(
        'storage.customer-managed-key',
        'fail',
        `The data map requires a customer-managed key, but the account encrypts with ${keyText} (Microsoft-managed keys).`,
      ),
    )

  out.push(
    account.encryption?.requireInfrastructureEncryption === true
      ? r(
          'storage.infrastructure-encryption',
          'pass',
          'requireInfrastructureEncryption is true: data is encrypted twice.',
        )
      : r(
          'storage.infrastructure-encryption',
          'fail',
          'requireInfrastructureEncryption is not on: data is encrypted once (AES-256), not twice.',
        ),
  )

  if ('unknown' in blobService) {
    for (const id of ['storage.blob-soft-delete', 'storage.container-soft-delete', 'storage.versioning'])
      out.push(r(id, 'unknown', blobService.unknown))
  } else {
    out.push(
      retention(
        'storage.blob-soft-delete',
        'blob soft delete',
        blobService.deleteRetentionPolicy,
        ctx.minRetentionDays,
        r,
      ),
    )
    out.push(
      retention(
        'storage.container-soft-delete',
        'container soft delete',
        blobService.containerDeleteRetentionPolicy,
        ctx.minRetentionDays,
        r,
      ),
    )
    out.push(
      blobService.isVersioningEnabled === true
        ? r(
            'storage.versioning',
            'pass',
            'isVersioningEnabled is true: overwritten and deleted blobs keep their previous versions.',
          )
        : r('storage.versioning', 'fail', 'isVersioningEnabled is not on: an overwrite loses the previous content.'),
    )
  }

  const location = normalizeRegion(account.location)
  out.push(
    regionAllowed(location, ctx.allowedRegions)
      ? r('storage.region', 'pass', `Location ${location} is allowed.`)
      : r(
          'storage.region',
          'fail',
          `Location ${location ?? 'unknown'} is not in residency.allowedRegions (${ctx.allowedRegions.join(', ')}).`,
        ),
  )

  const sku = account.sku?.name ?? 'unknown'
  if (!GEO_REDUNDANT.test(sku))
    out.push(
      r(
        'storage.replication',
        'pass',
        `Replication ${sku}: copies stay in ${location ?? 'the primary region'}, no secondary region.`,
      ),
    )
  else {
    const secondary = normalizeRegion(account.secondaryLocation)
    if (!secondary)
      out.push(
        r(
          'storage.replication',
          'unknown',
          `Replication ${sku} copies to a secondary region, but Resource Manager did not report which.`,
        ),
      )
    else if (regionAllowed(secondary, ctx.allowedRegions))
      out.push(r('storage.replication', 'pass', `Replication ${sku} to ${secondary}, an allowed region.`))
    else
      out.push(
        r(
          'storage.replication',
          'fail',
          `Replication ${sku} copies the data to ${secondary}, which is not in residency.allowedRegions.`,
        ),
      )
  }

  return out
}

function retention(
  id: string,
  what: string,
  policy: {enabled?: boolean; days?: number} | undefined,
  minDays: number,
  r: (id: string, status: CheckStatus, detail: string) => CheckResult,
): CheckResult {
  if (policy?.enabled !== true) return r(id, 'fail', `${what} is off: deleted items are gone at once.`)
  const days = policy.days ?? 0
  if (days < minDays)
    return r(
      id,
      'fail',
      `${what} keeps deleted items ${days} day${days === 1 ? '' : 's'}, fewer than the required ${minDays}.`,
    )
  return r(id, 'pass', `${what} keeps deleted items ${days} days.`)
}
