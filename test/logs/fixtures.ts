/**
 * Log records for the tests, built on the real samples in ../shared/azure-contracts/logs/ (read
 * in place): the Sekoia sign-in fixtures' `input.message` strings (real, redacted diagnostic-export
 * records) and the captured StorageRead record. Only the time, ids and the fields a test is about
 * are changed.
 */
import {readFileSync, readdirSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

export const CONTRACTS = fileURLToPath(new URL('../../../shared/azure-contracts/logs/', import.meta.url))

type Json = Record<string, any>

/** The seven real sign-in records (SignInLogs, NonInteractiveUserSignInLogs, ServicePrincipalSignInLogs). */
export function realSignIns(): Json[] {
  const dir = `${CONTRACTS}sekoia-azure-ad/`
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map(
      (f) =>
        JSON.parse((JSON.parse(readFileSync(dir + f, 'utf8')) as {input: {message: string}}).input.message) as Json,
    )
}

export function realStorageRead(): Json {
  return JSON.parse(readFileSync(`${CONTRACTS}storagebloblogs-storageread-captured.json`, 'utf8')) as Json
}

/** A real Azure Files resource-log record (`storage_read`: AccountKey, `storage_write` / `storage_delete`: SAS). */
export function realFileRecord(name: 'storage_delete' | 'storage_read' | 'storage_write'): Json {
  return JSON.parse(
    (JSON.parse(readFileSync(`${CONTRACTS}sekoia-azure-files/${name}.json`, 'utf8')) as {input: {message: string}})
      .input.message,
  ) as Json
}

/** A real Key Vault AuditEvent record (`sekoia-azure-key-vault/test_event_<name>.json`). */
export function realKeyVaultRecord(name: string): Json {
  return JSON.parse(
    (
      JSON.parse(readFileSync(`${CONTRACTS}sekoia-azure-key-vault/test_event_${name}.json`, 'utf8')) as {
        input: {message: string}
      }
    ).input.message,
  ) as Json
}

export function realActivityEvent(name = 'administrative'): Json {
  return JSON.parse(
    (
      JSON.parse(readFileSync(`${CONTRACTS}sekoia-azure-activity-logs/${name}.json`, 'utf8')) as {
        input: {message: string}
      }
    ).input.message,
  ) as Json
}

/** The archive's time format: 7 fractional digits. */
export function archiveTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$10000Z')
}

let serial = 0

/** A sign-in (one of the real records, round-robin) at `time` for `customerId` (undefined: none), with a unique id. */
export function signIn(time: Date, customerId: string | undefined, patch: (r: Json) => void = () => {}): Json {
  const samples = realSignIns()
  const r = structuredClone(samples[serial % samples.length])
  serial++
  r.time = archiveTime(time)
  r.properties.createdDateTime = time.toISOString().replace('Z', '+00:00')
  r.properties.id = `signin-${serial.toString().padStart(5, '0')}`
  if (customerId === undefined) delete r.properties.customerId
  else r.properties.customerId = customerId
  patch(r)
  return r
}

/** The captured StorageRead record, reading `container/blobName` in `account`, at `time`, with no customer field. */
export function storageRead(
  time: Date,
  account: string,
  container: string,
  blobName: string,
  patch: (r: Json) => void = () => {},
): Json {
  const r = realStorageRead()
  serial++
  r.time = archiveTime(time)
  r.correlationId = `read-${serial.toString().padStart(5, '0')}`
  r.properties.accountName = account
  r.properties.objectKey = `/${account}/${container}/${blobName}`
  r.uri = `https://${account}.blob.core.windows.net:443/${container}/${blobName.split('/').map(encodeURIComponent).join('/')}?sp=r&st=2022-07-05T11:47:32Z&se=2022-07-05T19:47:32Z&spr=https&sv=2021-06-08&sr=b&sig=${'Q'.repeat(43)}%3D`
  patch(r)
  return r
}

/** `y=…/m=…/d=…/h=…/m=00/PT1H.json` of the hour containing `time`. */
export function hourPath(time: Date): string {
  const p = (n: number) => String(n).padStart(2, '0')
  return `y=${time.getUTCFullYear()}/m=${p(time.getUTCMonth() + 1)}/d=${p(time.getUTCDate())}/h=${p(time.getUTCHours())}/m=00/PT1H.json`
}
