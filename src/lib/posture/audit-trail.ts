/**
 * The audit trail's own protection. custos only creates blobs and appends blocks in the audit
 * container, so a container-level time-based immutability policy (WORM) that allows protected append
 * writes keeps everyone, custos included, from rewriting or deleting a record while custos can still
 * append the next one. The container is read over Resource Manager (`blobContainers.get`, whose answer
 * carries the policy: storage-arm/2025-06-01/BlobContainersGet.json) and judged by a pure function, so
 * `audit posture` and `config validate` say the same thing.
 */
import type {BlobContainer, StorageAccount} from '@azure/arm-storage'

import type {AzureClients} from '../azure/clients.js'
import type {DataMap} from '../datamap/types.js'
import {AUDIT_POLICY_CREATE, fillRemediation} from './catalogue.js'
import {
  accountTargets,
  locateStorageAccounts,
  lookupFailure,
  normalizeEndpoint,
  parseResourceId,
  type Located,
  type OperationOptions,
} from './resolve.js'
import {normalizeRegion, resourcePlaceholders, result, unknownResults} from './result.js'
import type {CheckResult, CheckStatus, PostureResource} from './types.js'

const NEW_CONTAINER =
  'az storage container-rm create --subscription {subscription} --resource-group {resourceGroup} --storage-account {account} --name <new container>'

const AUDIT_TRAIL_CHECKS = ['audit.trail-immutable', 'audit.trail-writable', 'audit.trail-policy-locked'] as const

/** What Resource Manager said about the audit container. */
export type AuditContainerRead =
  | {state: 'found'; container: BlobContainer}
  /** 404: custos creates the container on its first audited action */
  | {state: 'missing'}
  | {state: 'unknown'; reason: string; hint: string}

/** Reads the container; a missing container is `missing`, a denied read `unknown`, anything else throws. */
async function readAuditContainer(
  clients: AzureClients,
  accountId: string,
  container: string,
  options: OperationOptions = {},
): Promise<AuditContainerRead> {
  const parts = parseResourceId(accountId)
  if (!parts)
    return {
      state: 'unknown',
      reason: `${accountId} is not a storage account id`,
      hint: 'Fix resourceId in the data map.',
    }
  try {
    const found = await clients
      .storageManagement(parts.subscription)
      .blobContainers.get(parts.resourceGroup, parts.name, container, {abortSignal: options.abortSignal})
    return {state: 'found', container: found}
  } catch (error) {
    if ((error as {statusCode?: number}).statusCode === 404) return {state: 'missing'}
    const failure = lookupFailure(error, `container ${container} of account ${parts.name}`)
    return {state: 'unknown', reason: failure.reason, hint: failure.hint}
  }
}

/**
 * The three checks of the audit container. `placeholders` fill the fixes: `subscription`,
 * `resourceGroup`, `account`, `container` (`days` comes from the policy, else `<days>`).
 */
function evaluateAuditContainer(
  read: AuditContainerRead,
  placeholders: Record<string, string | undefined>,
): CheckResult[] {
  if (read.state === 'unknown')
    return unknownResults(AUDIT_TRAIL_CHECKS, `The audit container could not be read: ${read.reason}.`, read.hint)
  const name = placeholders.container ?? 'the audit container'
  const values = {days: '<days>', ...placeholders}
  const r = (id: string, status: CheckStatus, detail: string, remediation?: string) =>
    result(id, status, detail, values, remediation === undefined ? undefined : fillRemediation(remediation, values))

  if (read.state === 'missing')
    return [
      r(
        'audit.trail-immutable',
        'fail',
        `Container ${name} does not exist yet: custos creates it on its first audited action, without an immutability policy.`,
        `${NEW_CONTAINER.replace('<new container>', '{container}')}, then ${AUDIT_POLICY_CREATE}, and lock the policy once custos has appended under it`,
      ),
      r('audit.trail-writable', 'pass', 'Nothing refuses appends yet (the container does not exist).'),
      r('audit.trail-policy-locked', 'skipped', 'No immutability policy to lock.'),
    ]

  const {container} = read
  const policy = container.immutabilityPolicy
  // A container without a policy has no `immutabilityPolicy` (recorded-blobcontainers-get.json); an
  // emptied one may still carry the object with an empty etag, which is no policy either.
  const hasPolicy =
    container.hasImmutabilityPolicy !== false &&
    policy !== undefined &&
    (Boolean(policy.etag) || (policy.immutabilityPeriodSinceCreationInDays ?? 0) > 0)
  if (container.hasImmutabilityPolicy === true && !hasPolicy)
    return unknownResults(
      AUDIT_TRAIL_CHECKS,
      `Resource Manager reports that container ${name} has an immutability policy, but not the policy itself.`,
      fillRemediation(
        'Read it with: az storage container immutability-policy show --subscription {subscription} --resource-group {resourceGroup} --account-name {account} --container-name {container}',
        values,
      ),
    )

  const out: CheckResult[] = []
  const days = policy?.immutabilityPeriodSinceCreationInDays
  if (hasPolicy && days !== undefined) values.days = String(days)
  const state = policy?.state
  const dayCount = `${days ?? '?'} day${days === 1 ? '' : 's'}`
  const period = `time-based retention of ${dayCount}`
  const describe = state ? `${state} ${period}` : `${period} (state not reported)`
  const appendFlag = policy?.allowProtectedAppendWritesAll
    ? 'allowProtectedAppendWritesAll'
    : policy?.allowProtectedAppendWrites
      ? 'allowProtectedAppendWrites'
      : undefined

  out.push(
    hasPolicy
      ? r(
          'audit.trail-immutable',
          'pass',
          `${capitalize(describe)}: a trail blob cannot be overwritten or deleted for ${dayCount} after it is created.`,
        )
      : r(
          'audit.trail-immutable',
          'fail',
          `No immutability policy on ${name}: whoever may write to the account can rewrite or delete the trail, and the hash chain would only show that it happened.`,
        ),
  )

  // What refuses Append Block: a policy without protected append writes, or a legal hold without
  // allowProtectedAppendWritesAll (legalHold.protectedAppendWritesHistory).
  const refusals: Array<{detail: string; fix: string}> = []
  if (hasPolicy && !appendFlag)
    refusals.push({
      detail: `The policy (${describe}) allows no protected append writes: Azure refuses custos's Append Block, so the trail cannot be written.`,
      fix:
        state === 'Locked'
          ? `A locked policy cannot be changed to allow appends: create a new container (${NEW_CONTAINER}), give it the policy (${AUDIT_POLICY_CREATE.replace('{container}', '<new container>')}, then lock it) and set audit.container to it`
          : AUDIT_POLICY_CREATE,
    })
  const hold = container.legalHold
  if (
    (hold?.hasLegalHold ?? container.hasLegalHold) &&
    hold?.protectedAppendWritesHistory?.allowProtectedAppendWritesAll !== true
  ) {
    const tags = (hold?.tags ?? []).map((t) => t.tag).filter(Boolean)
    refusals.push({
      detail: `A legal hold${tags.length > 0 ? ` (${tags.join(', ')})` : ''} without allowProtectedAppendWritesAll refuses Append Block: the trail cannot be written.`,
      fix: `az storage container legal-hold set --subscription {subscription} --resource-group {resourceGroup} --account-name {account} --container-name {container} --tags ${tags.length > 0 ? tags.join(' ') : '<tags>'} --allow-protected-append-writes-all true`,
    })
  }

  if (refusals.length > 0)
    out.push(
      r(
        'audit.trail-writable',
        'fail',
        refusals.map((x) => x.detail).join(' '),
        refusals.map((x) => x.fix).join('; and '),
      ),
    )
  else
    out.push(
      r(
        'audit.trail-writable',
        'pass',
        appendFlag
          ? `${appendFlag} is true: custos can append to the trail under the policy.`
          : 'No immutability policy or legal hold refuses appends.',
      ),
    )

  if (!hasPolicy) out.push(r('audit.trail-policy-locked', 'skipped', 'No immutability policy to lock.'))
  else if (state === 'Locked')
    out.push(
      r('audit.trail-policy-locked', 'pass', 'The policy is Locked: it can be extended, never shortened or removed.'),
    )
  else
    out.push(
      r(
        'audit.trail-policy-locked',
        'fail',
        `The policy is ${state ?? 'not reported as locked'}: whoever may manage the account can still shorten or delete it, and then the trail.`,
      ),
    )
  return out
}

/**
 * The audit container as a posture resource. `located` is the audit account as the posture run found
 * it (by `resourceId` of a store in the same account, or by listing the subscription); an account that
 * was not found makes every check `unknown` with the reason, never a crash.
 */
export async function auditTrailContainer(
  clients: AzureClients,
  map: DataMap,
  accountName: string,
  located: Located<StorageAccount> | undefined,
  options: OperationOptions = {},
): Promise<PostureResource> {
  const container = map.audit.container
  const base = {kind: 'blob-container' as const, name: `${accountName}/${container}`, usedBy: ['audit']}
  if (!located?.found)
    return {
      ...base,
      results: unknownResults(
        AUDIT_TRAIL_CHECKS,
        `The audit account ${accountName} could not be read: ${located?.reason ?? 'it was not located'}.`,
        located?.hint ?? 'Add resourceId to the data map.',
      ),
    }

  const accountId = located.resource.id as string
  const read = await readAuditContainer(clients, accountId, container, options)
  const placeholders = {
    ...resourcePlaceholders(accountId, accountName, []),
    account: located.resource.name ?? accountName,
    container,
  }
  return {
    ...base,
    id:
      read.state === 'found' && read.container.id
        ? read.container.id
        : `${accountId}/blobServices/default/containers/${container}`,
    location: normalizeRegion(located.resource.location),
    results: evaluateAuditContainer(read, placeholders),
  }
}

/**
 * The audit container's checks on their own (for `config validate`): locates the audit account the
 * way `audit posture` does, then reads the container.
 */
export async function checkAuditTrailContainer(
  clients: AzureClients,
  map: DataMap,
  options: OperationOptions = {},
): Promise<PostureResource> {
  const target = accountTargets(map).find((t) => t.usedBy.includes('audit'))
  if (!target) throw new Error('accountTargets() always includes the audit account')
  const located = await locateStorageAccounts(clients, map, [target], options)
  return auditTrailContainer(clients, map, target.name, located.get(normalizeEndpoint(target.endpoint)), options)
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1)
}
