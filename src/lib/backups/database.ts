/**
 * `backups verify` for a database: a flexible server's own point-in-time-restore backups, read from
 * Resource Manager. Checks: retention (≥ expect.keepDays), fresh (newest automatic backup younger
 * than expect.maxAge), restorable (the earliest restore point reaches back keepDays once the server
 * is that old), separate (geo-redundant backup into an allowed paired region), encrypted (the key
 * type, and a Key Vault key where required), resident (the server's region is allowed). An answer
 * that lacks a field gives `unknown` naming the field, never a guess.
 */
import type {AzureClients} from '../azure/clients.js'
import {
  listLongTermRetentionOperations,
  listServerBackups,
  parseFlexibleServerId,
  readFlexibleServer,
  type LongTermRetentionOperation,
} from '../azure/postgres-server.js'
import type {DataMap, PostgresDatabaseEntry} from '../datamap/types.js'
import {formatDuration, parseDurationInMs} from '../duration.js'
import {CustosError, isAbortError} from '../errors.js'
import type {FlexibleServerBody} from '../stores/postgres/residuals.js'
import {joinParts, worstStatus, type CheckPart, type CheckResult, type DatabaseBackupReport} from './model.js'

const DAY_MS = 86_400_000

/**
 * Azure's region pairs that custos knows (geo-redundant backups of a flexible server go to the
 * paired region). A region missing here makes `separate` unknown rather than guessed.
 */
const PAIRED_REGIONS: Readonly<Record<string, string>> = {
  germanywestcentral: 'germanynorth',
  germanynorth: 'germanywestcentral',
  westeurope: 'northeurope',
  northeurope: 'westeurope',
  francecentral: 'francesouth',
  francesouth: 'francecentral',
  switzerlandnorth: 'switzerlandwest',
  switzerlandwest: 'switzerlandnorth',
  uksouth: 'ukwest',
  ukwest: 'uksouth',
  norwayeast: 'norwaywest',
  norwaywest: 'norwayeast',
  swedencentral: 'swedensouth',
  swedensouth: 'swedencentral',
  eastus: 'westus',
  westus: 'eastus',
  eastus2: 'centralus',
  centralus: 'eastus2',
}

function region(value: string | undefined): string | undefined {
  return value?.toLowerCase().replaceAll(/\s+/g, '')
}

/** What Resource Manager said about one server: its body, its automatic backups and LTR operations. */
export interface ServerBackupFacts {
  server?: FlexibleServerBody
  /** why the server could not be read */
  error?: string
  /** completion times (ISO) of the automatic backups */
  automatic?: string[]
  backupsError?: string
  ltr?: LongTermRetentionOperation[]
  ltrError?: string
}

function message(error: unknown): string {
  if (isAbortError(error)) throw error
  if (error instanceof CustosError) return error.message.replace(/\.$/, '')
  throw error
}

/** Reads what the checks need; failures become sentences (the checks are then unknown). */
export async function readServerBackupFacts(
  clients: AzureClients,
  resourceId: string,
  options: {abortSignal?: AbortSignal} = {},
): Promise<ServerBackupFacts> {
  let server: FlexibleServerBody
  try {
    server = await readFlexibleServer(clients, resourceId, options)
  } catch (error) {
    return {error: message(error)}
  }

  const facts: ServerBackupFacts = {server}
  try {
    const automatic: string[] = []
    for await (const b of listServerBackups(clients, resourceId, options))
      if ((b.source ?? '').toLowerCase() === 'automatic' && b.completedTime) automatic.push(b.completedTime)
    facts.automatic = automatic
  } catch (error) {
    facts.backupsError = message(error)
  }

  try {
    const ltr: LongTermRetentionOperation[] = []
    for await (const o of listLongTermRetentionOperations(clients, resourceId, options)) ltr.push(o)
    facts.ltr = ltr
  } catch (error) {
    facts.ltrError = message(error)
  }

  return facts
}

/** The report of one database's server at `now`. Pure: `facts` come from {@link readServerBackupFacts}. */
export function evaluateServerBackups(
  db: PostgresDatabaseEntry & {resourceId: string},
  facts: ServerBackupFacts,
  map: DataMap,
  now: Date,
): DatabaseBackupReport {
  const name = safeName(db.resourceId)
  const base = {database: db.name, server: facts.server?.name ?? name, resourceId: db.resourceId}
  if (!facts.server) {
    const detail = facts.error ?? `server ${name} could not be read`
    const checks = (['retention', 'fresh', 'restorable', 'separate', 'encrypted', 'resident'] as const).map(
      (check): CheckResult => ({check, status: 'unknown', detail}),
    )
    return {...base, status: 'unknown', checks}
  }

  const s = facts.server
  const backup = s.properties?.backup
  const location = region(s.location)
  const paired = location ? PAIRED_REGIONS[location] : undefined
  const newest = facts.automatic?.map((t) => Date.parse(t)).filter((t) => !Number.isNaN(t))
  const newestTime = newest && newest.length > 0 ? Math.max(...newest) : undefined
  const checks = [
    retention(db, s, facts),
    fresh(db, s, facts, newestTime, now),
    restorable(db, s, now),
    separate(s, location, paired, map.residency.allowedRegions),
    encrypted(db, s),
    resident(s, location, map.residency.allowedRegions),
  ]
  const latest = latestOperation(facts.ltr)
  const ltr = facts.ltr
    ? {
        operations: facts.ltr.length,
        ...(latest
          ? {latest: {backupName: latest.backupName, status: latest.status, startTime: latest.startTime}}
          : {}),
      }
    : facts.ltrError
      ? {operations: 0, error: facts.ltrError}
      : undefined
  return {
    ...base,
    status: worstStatus(checks.map((c) => c.status)),
    ...(location ? {region: location} : {}),
    ...(paired && backup?.geoRedundantBackup?.toLowerCase() === 'enabled' ? {pairedRegion: paired} : {}),
    ...(typeof backup?.backupRetentionDays === 'number' ? {retentionDays: backup.backupRetentionDays} : {}),
    ...(backup?.geoRedundantBackup ? {geoRedundantBackup: backup.geoRedundantBackup} : {}),
    ...(backup?.earliestRestoreDate ? {earliestRestoreDate: backup.earliestRestoreDate} : {}),
    ...(s.properties?.dataEncryption?.type ? {encryption: s.properties.dataEncryption.type} : {}),
    ...(newestTime === undefined
      ? {}
      : {newest: new Date(newestTime).toISOString(), newestAgeInMs: now.getTime() - newestTime}),
    ...(facts.automatic ? {automaticBackups: facts.automatic.length} : {}),
    ...(ltr ? {longTermRetention: ltr} : {}),
    checks,
  }
}

function latestOperation(operations: LongTermRetentionOperation[] | undefined): LongTermRetentionOperation | undefined {
  if (!operations || operations.length === 0) return undefined
  return operations.reduce((a, b) => ((b.startTime ?? '') > (a.startTime ?? '') ? b : a))
}

function safeName(resourceId: string): string {
  try {
    return parseFlexibleServerId(resourceId).name
  } catch {
    return resourceId
  }
}

const noExpect = (db: PostgresDatabaseEntry, check: 'fresh' | 'restorable' | 'retention'): CheckResult => ({
  check,
  status: 'warn',
  detail: `database ${db.name} has no expect (every, maxAge, keepDays) to check its server's backups against`,
})

function retention(db: PostgresDatabaseEntry, s: FlexibleServerBody, facts: ServerBackupFacts): CheckResult {
  const days = s.properties?.backup?.backupRetentionDays
  if (typeof days !== 'number')
    return {
      check: 'retention',
      status: 'unknown',
      detail: `server ${s.name} reports no properties.backup.backupRetentionDays`,
    }
  if (!db.expect) return noExpect(db, 'retention')
  const parts: CheckPart[] = [
    days >= db.expect.keepDays
      ? {status: 'pass', text: `server ${s.name} keeps backups ${days} days (keepDays ${db.expect.keepDays})`}
      : {
          status: 'fail',
          text: `server ${s.name} keeps backups ${days} days, fewer than keepDays ${db.expect.keepDays}`,
        },
  ]
  const latest = latestOperation(facts.ltr)
  if (facts.ltr && latest) {
    parts.push({
      status: 'pass',
      always: true,
      text: `long-term retention: ${facts.ltr.length} operation${facts.ltr.length === 1 ? '' : 's'}, latest ${latest.backupName ?? '(unnamed)'} ${latest.status ?? ''}`.trim(),
    })
  }

  return joinParts('retention', parts)
}

function fresh(
  db: PostgresDatabaseEntry,
  s: FlexibleServerBody,
  facts: ServerBackupFacts,
  newest: number | undefined,
  now: Date,
): CheckResult {
  if (facts.backupsError) return {check: 'fresh', status: 'unknown', detail: facts.backupsError}
  if (!db.expect) return noExpect(db, 'fresh')
  if (newest === undefined)
    return {check: 'fresh', status: 'fail', detail: `server ${s.name} lists no automatic backup`}
  const age = now.getTime() - newest
  const maxAge = parseDurationInMs(db.expect.maxAge)
  const when = new Date(newest).toISOString()
  return age > maxAge
    ? {
        check: 'fresh',
        status: 'fail',
        detail: `newest automatic backup of ${s.name} is ${formatDuration(age)} old, older than maxAge ${db.expect.maxAge}: ${when}`,
      }
    : {check: 'fresh', status: 'pass', detail: `newest automatic backup ${when} (${formatDuration(age)} old)`}
}

function restorable(db: PostgresDatabaseEntry, s: FlexibleServerBody, now: Date): CheckResult {
  const earliestText = s.properties?.backup?.earliestRestoreDate
  const earliest = earliestText ? Date.parse(earliestText) : Number.NaN
  if (Number.isNaN(earliest))
    return {
      check: 'restorable',
      status: 'unknown',
      detail: `server ${s.name} reports no valid properties.backup.earliestRestoreDate`,
    }
  if (!db.expect) return noExpect(db, 'restorable')
  const keepDays = db.expect.keepDays
  const required = now.getTime() - keepDays * DAY_MS
  const earliestIso = new Date(earliest).toISOString()
  if (earliest <= required)
    return {
      check: 'restorable',
      status: 'pass',
      detail: `restorable back to ${earliestIso} (${formatDuration(now.getTime() - earliest)}, keepDays ${keepDays})`,
    }
  const created = Date.parse(s.systemData?.createdAt ?? '')
  if (Number.isNaN(created))
    return {
      check: 'restorable',
      status: 'unknown',
      detail: `restorable back to ${earliestIso} only, and server ${s.name} reports no systemData.createdAt to tell whether it is younger than keepDays ${keepDays}`,
    }
  if (created > required)
    return {
      check: 'restorable',
      status: 'pass',
      detail: `restorable back to ${earliestIso}; the server was created ${new Date(created).toISOString()}, less than keepDays ${keepDays} ago`,
    }
  return {
    check: 'restorable',
    status: 'fail',
    detail: `server ${s.name} can only restore back to ${earliestIso} (${formatDuration(now.getTime() - earliest)}), not the ${keepDays} days of keepDays`,
  }
}

function separate(
  s: FlexibleServerBody,
  location: string | undefined,
  paired: string | undefined,
  allowedRegions: string[],
): CheckResult {
  const geo = s.properties?.backup?.geoRedundantBackup
  if (geo === undefined)
    return {
      check: 'separate',
      status: 'unknown',
      detail: `server ${s.name} reports no properties.backup.geoRedundantBackup`,
    }
  if (geo.toLowerCase() !== 'enabled')
    return {
      check: 'separate',
      status: 'fail',
      detail: `geo-redundant backup is ${geo} on server ${s.name}: its backups stay in ${location ?? 'its own region'}`,
    }
  if (!location) return {check: 'separate', status: 'unknown', detail: `server ${s.name} reports no location`}
  if (!paired)
    return {
      check: 'separate',
      status: 'unknown',
      detail: `geo-redundant backup is on, but custos does not know the paired region of ${location}`,
    }
  const allowed = allowedRegions.map((r) => region(r))
  if (!allowed.includes(paired))
    return {
      check: 'separate',
      status: 'fail',
      detail: `geo-redundant backups of ${s.name} go to ${paired}, which is not in residency.allowedRegions (${allowedRegions.join(', ')})`,
    }
  return {check: 'separate', status: 'pass', detail: `geo-redundant backups go from ${location} to ${paired} (allowed)`}
}

/** `https://contoso-kv.vault.azure.net/keys/name/version` → vault URL and key name. */
function keyParts(uri: string): {vault: string; key?: string} {
  try {
    const url = new URL(uri)
    return {vault: url.origin, key: url.pathname.split('/').filter(Boolean)[1]}
  } catch {
    return {vault: uri}
  }
}

function encrypted(db: PostgresDatabaseEntry, s: FlexibleServerBody): CheckResult {
  const enc = s.properties?.dataEncryption
  if (!enc?.type)
    return {
      check: 'encrypted',
      status: 'unknown',
      detail: `server ${s.name} reports no properties.dataEncryption.type`,
    }
  if (enc.type.toLowerCase() === 'azurekeyvault') {
    const {vault, key} = enc.primaryKeyURI ? keyParts(enc.primaryKeyURI) : {vault: undefined, key: undefined}
    const status = enc.primaryEncryptionKeyStatus
    if (status && status.toLowerCase() !== 'valid')
      return {
        check: 'encrypted',
        status: 'fail',
        detail: `server ${s.name} encrypts with Key Vault key ${key ?? '(unnamed)'}${vault ? ` in ${vault}` : ''}, whose status is ${status}`,
      }
    return {
      check: 'encrypted',
      status: 'pass',
      detail: `AzureKeyVault: key ${key ?? '(unnamed)'}${vault ? ` in vault ${vault}` : ' (no key URI reported)'}; backups are encrypted with it`,
    }
  }

  if (db.requireCustomerManagedKey)
    return {
      check: 'encrypted',
      status: 'fail',
      detail: `server ${s.name} encrypts with ${enc.type} keys, not with a Key Vault key as requireCustomerManagedKey demands`,
    }
  return {check: 'encrypted', status: 'pass', detail: `${enc.type} (service-managed keys); backups are encrypted`}
}

function resident(s: FlexibleServerBody, location: string | undefined, allowedRegions: string[]): CheckResult {
  if (!location) return {check: 'resident', status: 'unknown', detail: `server ${s.name} reports no location`}
  return allowedRegions.some((r) => region(r) === location)
    ? {check: 'resident', status: 'pass', detail: `server ${s.name} is in ${location} (allowed)`}
    : {
        check: 'resident',
        status: 'fail',
        detail: `server ${s.name} is in ${location}, which is not in residency.allowedRegions (${allowedRegions.join(', ')})`,
      }
}

/**
 * The `residual` check of an erased customer in one database: its rows stay restorable from the
 * server's point-in-time backups until erase time + retention days (what its certificate states).
 * Before that date this is `retired`; after it, a server that can still restore to a point before
 * the erase breaks the certificate's statement (`fail`).
 */
export function residualCheck(
  db: {name: string},
  facts: ServerBackupFacts,
  erasedAt: Date,
  now: Date,
  stated?: string,
): CheckResult {
  const s = facts.server
  if (!s) return {check: 'residual', status: 'unknown', detail: facts.error ?? 'the server could not be read'}
  const days = s.properties?.backup?.backupRetentionDays
  const statedTime = stated === undefined ? Number.NaN : Date.parse(stated)
  if (typeof days !== 'number' && Number.isNaN(statedTime))
    return {
      check: 'residual',
      status: 'unknown',
      detail: `server ${s.name} reports no properties.backup.backupRetentionDays, so the residual date is unknown`,
    }
  // the date the certificate states wins; without it, the rule the certificate applies
  const until = Number.isNaN(statedTime) ? new Date(erasedAt.getTime() + days! * DAY_MS) : new Date(statedTime)
  const rule = Number.isNaN(statedTime)
    ? `erase + ${days} days, the certificate's rule`
    : 'the date its certificate states'
  if (now < until)
    return {
      check: 'residual',
      status: 'retired',
      detail: `erased ${erasedAt.toISOString()}; rows remain restorable from ${db.name}'s server ${s.name} until ${until.toISOString()} (${rule})`,
    }
  const earliest = Date.parse(s.properties?.backup?.earliestRestoreDate ?? '')
  if (Number.isNaN(earliest))
    return {
      check: 'residual',
      status: 'unknown',
      detail: `past the residual date ${until.toISOString()}, but server ${s.name} reports no properties.backup.earliestRestoreDate`,
    }
  if (earliest <= erasedAt.getTime())
    return {
      check: 'residual',
      status: 'fail',
      detail: `past the residual date ${until.toISOString()}, server ${s.name} can still restore to ${new Date(earliest).toISOString()}, before the erase at ${erasedAt.toISOString()}`,
    }
  return {
    check: 'residual',
    status: 'retired',
    detail: `past the residual date ${until.toISOString()}: the earliest restore point of ${s.name} (${new Date(earliest).toISOString()}) is after the erase`,
  }
}
