/** The Key Vault checks, as pure functions of the Microsoft.KeyVault/vaults resource. */
import type {Vault} from '@azure/arm-keyvault'

import {normalizeRegion, regionAllowed, resourcePlaceholders, result} from './result.js'
import type {CheckResult, CheckStatus} from './types.js'

export function evaluateVault(vault: Vault, allowedRegions: string[]): CheckResult[] {
  const values = resourcePlaceholders(vault.id, vault.name ?? '(unnamed)', allowedRegions)
  const r = (id: string, status: CheckStatus, detail: string) => result(id, status, detail, values)
  const p = vault.properties
  const out: CheckResult[] = []

  // Soft delete has been on by default since 2020 and can no longer be turned off; an absent flag on
  // an old vault still means off.
  out.push(
    p?.enableSoftDelete === false || p?.enableSoftDelete === undefined
      ? r('keyvault.soft-delete', 'fail', 'enableSoftDelete is not on: a deleted key is gone at once.')
      : r(
          'keyvault.soft-delete',
          'pass',
          `enableSoftDelete is true; deleted keys are kept ${p.softDeleteRetentionInDays ?? 90} days.`,
        ),
  )

  out.push(
    p?.enablePurgeProtection === true
      ? r(
          'keyvault.purge-protection',
          'pass',
          'enablePurgeProtection is true: nobody can purge a deleted key before its retention ends.',
        )
      : r(
          'keyvault.purge-protection',
          'fail',
          'enablePurgeProtection is not on: a deleted key (and the data it encrypts) can be purged at once.',
        ),
  )

  const pna = p?.publicNetworkAccess
  const action = p?.networkAcls?.defaultAction
  if (pna === 'Disabled')
    out.push(
      r(
        'keyvault.public-network-access',
        'pass',
        'publicNetworkAccess is Disabled: only private endpoints reach the vault.',
      ),
    )
  else if (action === 'Deny')
    out.push(
      r(
        'keyvault.public-network-access',
        'pass',
        `publicNetworkAccess is ${pna ?? 'Enabled'} behind a firewall (networkAcls.defaultAction Deny).`,
      ),
    )
  else
    out.push(
      r(
        'keyvault.public-network-access',
        'fail',
        `publicNetworkAccess is ${pna ?? 'not set (Enabled)'} and networkAcls.defaultAction is ${action ?? 'not set (Allow)'}: the vault is reachable from any network.`,
      ),
    )

  const location = normalizeRegion(vault.location)
  out.push(
    regionAllowed(location, allowedRegions)
      ? r('keyvault.region', 'pass', `Location ${location} is allowed.`)
      : r(
          'keyvault.region',
          'fail',
          `Location ${location ?? 'unknown'} is not in residency.allowedRegions (${allowedRegions.join(', ')}).`,
        ),
  )
  return out
}
