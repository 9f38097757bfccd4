/**
 * One access event from any of the shapes the same facts arrive in (see
 * ../shared/azure-contracts/logs/archived-storage-format.md, "Same data, other names"):
 * archived Entra ID sign-ins (camelCase under `properties`, string `resultType`), archived storage
 * and Key Vault resource logs, activity-log events in the REST shape (`{value, localizedValue}`
 * pairs, `caller`, `claims`, `httpRequest`) and activity-log records archived to storage (flat
 * `operationName`, `resultType`, `identity.claims`). Anything else, and a record without a time or a
 * caller, yields the reason it is skipped.
 */
import {isInterrupt} from './sign-ins.js'
import type {AccessEvent, SkipReason} from './types.js'

type Doc = Record<string, unknown>

const UPN_CLAIM = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn'
const OID_CLAIM = 'http://schemas.microsoft.com/identity/claims/objectidentifier'
const NAME_CLAIM = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name'

const SIGN_IN_CATEGORY = /signinlogs$/i
const DATA_CATEGORY = /^(StorageRead|StorageWrite|StorageDelete|AuditEvent)$/i
const ACTIVITY_CATEGORY =
  /^(Administrative|Security|Policy|Alert|Autoscale|Recommendation|ResourceHealth|ServiceHealth)$/i
/** the operation type that older archives (log profiles) write as the category of an Administrative record */
const OPERATION_TYPE_CATEGORY = /^(Write|Action|Delete)$/i

/** A record that is not turned into an event, and why (counted per source, never dropped silently). */
export interface Skipped {
  skipped: SkipReason
}

export type Normalized = AccessEvent | Skipped

const skip = (reason: SkipReason): Skipped => ({skipped: reason})

export function isSkipped(value: Normalized | undefined): value is Skipped {
  return value !== undefined && 'skipped' in value
}

/**
 * What an activity-log status says about its operation. The same statuses come in two
 * vocabularies: the REST API and Log Analytics write `Started` / `Accepted` / `Succeeded` /
 * `Failed`, the records a diagnostic setting archives to storage or Event Hubs write `Start` /
 * `Accept` / `Success` / `Failure` in `resultType` (which holds `status.value`: Microsoft's
 * mapping in "Azure Activity Log event schema", section "Schema from storage account and event
 * hubs", https://learn.microsoft.com/azure/azure-monitor/platform/activity-log-schema#schema-from-storage-account-and-event-hubs;
 * the real AzureActivity rows in ../shared/azure-contracts/logs/ show Start, Accept, Success).
 * Compared case-insensitively. `begin`: a record that opens (or reports progress on) an operation
 * whose end is logged by another record, which is the one counted.
 */
const OUTCOMES: Readonly<Record<string, 'begin' | 'failure' | 'success'>> = {
  start: 'begin',
  started: 'begin',
  accept: 'begin',
  accepted: 'begin',
  'in progress': 'begin',
  inprogress: 'begin',
  success: 'success',
  succeeded: 'success',
  failure: 'failure',
  failed: 'failure',
}

/** `begin`, `success` or `failure` in either vocabulary; anything else (Active, Resolved, Updated, none) is `other`. */
function activityOutcome(status: string | undefined): 'begin' | 'failure' | 'other' | 'success' {
  const key = status?.trim().toLowerCase()
  return key !== undefined && Object.hasOwn(OUTCOMES, key) ? OUTCOMES[key] : 'other'
}

function str(value: unknown): string | undefined {
  if (typeof value === 'string') return value.length > 0 ? value : undefined
  if (typeof value === 'number') return String(value)
  return undefined
}

function obj(value: unknown): Doc | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Doc) : undefined
}

/** `{value, localizedValue}` → value; a plain string stays itself. */
function pairValue(value: unknown): string | undefined {
  return str(value) ?? str(obj(value)?.value)
}

function time(value: unknown): number | undefined {
  if (value instanceof Date) return value.getTime()
  if (typeof value !== 'string') return undefined
  const t = Date.parse(value)
  return Number.isNaN(t) ? undefined : t
}

/** `1.2.3.4:56029` → `1.2.3.4`; `[2001:db8::1]:443` → `2001:db8::1`; a bare IPv6 address stays. */
function stripPort(address: string): string {
  if (address.startsWith('[')) {
    const end = address.indexOf(']')
    return end > 0 ? address.slice(1, end) : address
  }

  const colon = address.indexOf(':')
  if (colon > 0 && colon === address.lastIndexOf(':')) return address.slice(0, colon)
  return address
}

function lower(value: string | undefined): string | undefined {
  return value === undefined ? undefined : value.toLowerCase()
}

/** An archived sign-in record (SignInLogs, NonInteractiveUserSignInLogs, ServicePrincipalSignInLogs, ...). */
function fromSignInRecord(record: Doc): Normalized {
  const t = time(record.time)
  if (t === undefined) return skip('no-time')
  const p = obj(record.properties) ?? {}
  const principal = lower(
    str(p.userPrincipalName) ??
      str(p.servicePrincipalName) ??
      str(p.servicePrincipalId) ??
      str(p.appDisplayName) ??
      str(p.appId) ??
      str(record.identity),
  )
  if (!principal) return skip('no-principal')
  const status = obj(p.status)
  const code = str(record.resultType) ?? str(status?.errorCode) ?? '0'
  const success = code === '0'
  const location = obj(p.location)
  const country = str(location?.countryOrRegion) ?? str(record.location)
  const ip = str(p.ipAddress) ?? str(record.callerIpAddress)
  const event: AccessEvent = {kind: 'sign-in', time: t, principal, success}
  if (ip) event.ip = ip
  if (country && /^[A-Za-z]{2}$/.test(country)) event.country = country.toUpperCase()
  if (!success) event.errorCode = code
  if (isInterrupt(code)) event.interrupt = true
  const category = str(record.category)
  if (category) event.category = category
  const clientApp = str(p.clientAppUsed)
  if (clientApp) event.clientApp = clientApp
  const requirement = str(p.authenticationRequirement)
  if (requirement) event.authRequirement = requirement
  const detail = [str(status?.failureReason), str(status?.additionalDetails)].filter(Boolean).join(' ')
  if (detail) event.detail = detail
  const geo = obj(location?.geoCoordinates)
  if (typeof geo?.latitude === 'number' && typeof geo.longitude === 'number')
    event.geo = {lat: geo.latitude, lon: geo.longitude}
  return event
}

/** The caller of a storage or Key Vault resource-log record. */
function resourceLogPrincipal(record: Doc): string | undefined {
  const identity = obj(record.identity)
  if (!identity) return undefined
  const requester = obj(identity.requester)
  const fromRequester = str(requester?.upn) ?? str(requester?.objectId) ?? str(requester?.appId)
  if (fromRequester) return fromRequester.toLowerCase()
  const claim = obj(identity.claim) ?? obj(identity.claims)
  const fromClaim =
    str(claim?.upn) ?? str(claim?.[UPN_CLAIM]) ?? str(claim?.oid) ?? str(claim?.[OID_CLAIM]) ?? str(claim?.appid)
  if (fromClaim) return fromClaim.toLowerCase()
  const type = str(identity.type)
  if (type) {
    // SAS and shared-key callers are named by the account key that signed the request, never by the token itself
    const key = /^(key[12])\b/i.exec(str(identity.tokenHash) ?? '')?.[1]?.toLowerCase()
    const kind =
      type.toLowerCase() === 'sas' ? 'sas' : type.toLowerCase() === 'accountkey' ? 'account-key' : type.toLowerCase()
    return key ? `${kind} (${key})` : kind
  }

  return undefined
}

/** An archived storage (StorageRead/Write/Delete) or Key Vault (AuditEvent) record. */
function fromResourceLogRecord(record: Doc): Normalized {
  const t = time(record.time)
  if (t === undefined) return skip('no-time')
  const principal = resourceLogPrincipal(record) ?? 'anonymous'
  const props = obj(record.properties)
  const status =
    typeof record.statusCode === 'number'
      ? record.statusCode
      : typeof props?.httpStatusCode === 'number'
        ? props.httpStatusCode
        : Number(record.statusCode ?? props?.httpStatusCode ?? 200)
  const event: AccessEvent = {kind: 'data', time: t, principal, success: !(status >= 400)}
  const ip = str(record.callerIpAddress)
  if (ip) event.ip = stripPort(ip)
  const operation = str(record.operationName)
  if (operation) event.operation = operation
  return event
}

function claimsPrincipal(claims: Doc | undefined): string | undefined {
  return lower(str(claims?.[UPN_CLAIM]) ?? str(claims?.[NAME_CLAIM]) ?? str(claims?.[OID_CLAIM]) ?? str(claims?.appid))
}

/** An activity-log event in the REST shape (also what `activityLogs.list` of @azure/arm-monitor returns). */
export function fromActivityEvent(event: Doc): Normalized {
  const t = time(event.eventTimestamp)
  if (t === undefined) return skip('no-time')
  const outcome = activityOutcome(pairValue(event.status))
  if (outcome === 'begin') return skip('operation-begin')
  const claims = obj(event.claims)
  const principal = lower(str(event.caller)) ?? claimsPrincipal(claims)
  if (!principal) return skip('no-principal')
  const out: AccessEvent = {kind: 'operation', time: t, principal, success: outcome !== 'failure'}
  const ip = str(obj(event.httpRequest)?.clientIpAddress) ?? str(claims?.ipaddr)
  if (ip) out.ip = stripPort(ip)
  const operation = pairValue(event.operationName)
  if (operation) out.operation = operation
  return out
}

/** An activity-log record archived to storage (insights-activity-logs/…/PT1H.json). */
function fromArchivedActivityRecord(record: Doc): Normalized {
  const t = time(record.time)
  if (t === undefined) return skip('no-time')
  const outcome = activityOutcome(str(record.resultType))
  if (outcome === 'begin') return skip('operation-begin')
  const identity = obj(record.identity)
  const principal = lower(str(record.caller)) ?? claimsPrincipal(obj(identity?.claims))
  if (!principal) return skip('no-principal')
  const out: AccessEvent = {kind: 'operation', time: t, principal, success: outcome !== 'failure'}
  const ip = str(record.callerIpAddress) ?? str(obj(identity?.claims)?.ipaddr)
  if (ip) out.ip = stripPort(ip)
  const operation = str(record.operationName)
  if (operation) out.operation = operation
  return out
}

/**
 * Any record read from the archive, classified by its own fields (not by the container it came
 * from). Archived activity-log records are recognised by their category, by the `Write` / `Action`
 * / `Delete` that older archives write there instead of `Administrative` (Microsoft's example of
 * the archived schema still shows `"category": "Write"`), or by `properties.eventCategory`.
 */
export function fromArchivedRecord(record: Doc): Normalized {
  const category = str(record.category) ?? ''
  if (SIGN_IN_CATEGORY.test(category)) return fromSignInRecord(record)
  if (DATA_CATEGORY.test(category)) return fromResourceLogRecord(record)
  if (record.eventTimestamp !== undefined) return fromActivityEvent(record)
  if (
    ACTIVITY_CATEGORY.test(category) ||
    OPERATION_TYPE_CATEGORY.test(category) ||
    ACTIVITY_CATEGORY.test(str(obj(record.properties)?.eventCategory) ?? '')
  )
    return fromArchivedActivityRecord(record)
  return skip('not-access-record')
}
