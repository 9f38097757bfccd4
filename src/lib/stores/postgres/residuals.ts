/**
 * What still holds a customer's erased rows after the erase: the flexible server's own
 * point-in-time-restore (PITR) backups. custos cannot delete those (Azure offers no way to remove
 * rows from a backup) and never claims they are gone; it states the date until which a restore
 * could still bring the rows back.
 *
 * The rule: a PITR restore can go back `backupRetentionDays` from now. The last moment at which
 * the rows existed is the erase; it stays a restorable point until erase time + retention days.
 * After that date no point-in-time restore contains the rows. (Azure keeps the full backup a
 * restore needs for the oldest point, so files holding the rows may physically outlive that date
 * by up to a week; they can no longer be restored through the service.) With geo-redundant
 * backup the same holds for the copies in the paired region. Long-term-retention (vaulted)
 * backups follow their own retention and are reported separately, never estimated.
 */

/** The parts of an ARM GET of Microsoft.DBforPostgreSQL/flexibleServers this module reads. */
export interface FlexibleServerBody {
  id?: string
  name?: string
  location?: string
  /** `createdAt`: ISO time the server was created */
  systemData?: {createdAt?: string}
  properties?: {
    backup?: {
      backupRetentionDays?: number
      geoRedundantBackup?: string
      earliestRestoreDate?: string
    }
    /** `type`: `SystemManaged` or `AzureKeyVault`; the key URI with a customer-managed key */
    dataEncryption?: {
      type?: string
      primaryKeyURI?: string
      primaryEncryptionKeyStatus?: string
      geoBackupKeyURI?: string
    }
    network?: {publicNetworkAccess?: string; delegatedSubnetResourceId?: string}
    /** `Enabled` / `Disabled` each */
    authConfig?: {activeDirectoryAuth?: string; passwordAuth?: string; tenantId?: string}
    fullyQualifiedDomainName?: string
    version?: string
    state?: string
  }
}

export interface BackupResidual {
  server: string
  /** the server's region */
  location?: string
  retentionDays: number
  geoRedundant: boolean
  /** ISO time: until then a point-in-time restore can bring the erased rows back */
  restorableUntil: string
  /** ISO time the server reports as its earliest restore point (for the certificate's record) */
  earliestRestoreDate?: string
  /** `SystemManaged` or `CustomerManaged` (backups are encrypted like the server) */
  encryption?: string
  /** one sentence for the certificate */
  statement: string
}

const DAY_MS = 86_400_000

/**
 * The residual backup date of one server for rows erased at `erasedAt`. Pure: the caller fetches
 * the server (ARM GET) and passes its body. Throws when the body has no backup retention (a
 * residual date is never guessed).
 */
export function backupResidual(server: FlexibleServerBody, erasedAt: Date): BackupResidual {
  const backup = server.properties?.backup
  const days = backup?.backupRetentionDays
  const name = server.name ?? server.id ?? 'the server'
  if (typeof days !== 'number' || !Number.isFinite(days) || days < 0) {
    throw new Error(`The server ${name} reports no backup retention (properties.backup.backupRetentionDays).`)
  }

  if (Number.isNaN(erasedAt.getTime())) throw new Error('erasedAt is not a valid date')
  const until = new Date(erasedAt.getTime() + days * DAY_MS).toISOString()
  const geoRedundant = (backup?.geoRedundantBackup ?? '').toLowerCase() === 'enabled'
  const where = geoRedundant ? ' and in their geo-redundant copies in the paired region' : ''
  return {
    server: name,
    location: server.location,
    retentionDays: days,
    geoRedundant,
    restorableUntil: until,
    earliestRestoreDate: backup?.earliestRestoreDate,
    encryption: server.properties?.dataEncryption?.type,
    statement:
      `The erased rows remain in the point-in-time-restore backups of server ${name}${where} ` +
      `until ${until} (erase time + ${days} days of backup retention); custos cannot delete them ` +
      `there, and after that date no point-in-time restore contains them.`,
  }
}
