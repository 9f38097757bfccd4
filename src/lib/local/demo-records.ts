/**
 * Demo log records in the real archived formats (see ../shared/azure-contracts/logs): sign-ins as
 * Entra ID exports them to `insights-logs-signinlogs`, blob reads as `insights-logs-storageread`,
 * one JSON record per line in hourly `PT1H.json` append blobs. Deterministic for a given seed.
 */
import {createHash} from 'node:crypto'

import {DEFAULT_RESOURCE_GROUP, LOCAL_SUBSCRIPTION_ID, LOCAL_TENANT_ID} from './azure-server/state.js'
import {seededRandom} from './seeded-random.js'

const DEMO_TENANT_ID = LOCAL_TENANT_ID
const DEMO_SUBSCRIPTION_ID = LOCAL_SUBSCRIPTION_ID
const DEMO_RESOURCE_GROUP = DEFAULT_RESOURCE_GROUP

export interface DemoPrincipal {
  upn: string
  displayName: string
  customer: string
  /** usual country and IP */
  country: string
  city: string
  ip: string
}

function uuidFrom(text: string): string {
  const h = createHash('sha256').update(text).digest('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`
}

export function demoPrincipals(customers: string[]): DemoPrincipal[] {
  const people = [
    ['anna.schmidt', 'Anna Schmidt', 'DE', 'Berlin'],
    ['jonas.weber', 'Jonas Weber', 'DE', 'Hamburg'],
    ['lea.fischer', 'Lea Fischer', 'DE', 'Munich'],
  ]
  const out: DemoPrincipal[] = []
  customers.forEach((customer, ci) => {
    people.forEach(([user, name, country, city], pi) => {
      out.push({
        upn: `${user}@${customer}.example`,
        displayName: `${name} (${customer})`,
        customer,
        country,
        city,
        ip: `198.51.100.${10 + ci * 10 + pi}`,
      })
    })
  })
  return out
}

/** The archived sign-in record for one sign-in (shape of signinlogs-archived-documented.json). */
export function signInRecord(
  p: DemoPrincipal,
  time: Date,
  options: {errorCode?: number; ip?: string; country?: string; city?: string},
): Record<string, unknown> {
  const errorCode = options.errorCode ?? 0
  const id = uuidFrom(`${p.upn}|${time.toISOString()}|${errorCode}`)
  const failureReason =
    errorCode === 0
      ? 'Other.'
      : errorCode === 50_126
        ? 'Error validating credentials due to invalid username or password.'
        : 'The account is disabled.'
  return {
    time: time.toISOString().replace('Z', '0000Z'),
    resourceId: `/tenants/${DEMO_TENANT_ID}/providers/Microsoft.aadiam`,
    operationName: 'Sign-in activity',
    operationVersion: '1.0',
    category: 'SignInLogs',
    tenantId: DEMO_TENANT_ID,
    resultType: String(errorCode),
    resultSignature: 'None',
    resultDescription: errorCode === 0 ? '' : failureReason,
    durationMs: 0,
    callerIpAddress: options.ip ?? p.ip,
    correlationId: uuidFrom(`corr|${id}`),
    identity: p.displayName,
    Level: 4,
    location: options.country ?? p.country,
    properties: {
      id,
      createdDateTime: time.toISOString().replace('Z', '+00:00'),
      userDisplayName: p.displayName,
      userPrincipalName: p.upn,
      userId: uuidFrom(p.upn),
      appId: 'c44b4083-3bb0-49c1-b47d-974e53cbdf3c',
      appDisplayName: 'Azure Portal',
      ipAddress: options.ip ?? p.ip,
      status: errorCode === 0 ? {errorCode: 0} : {errorCode, failureReason},
      clientAppUsed: 'Browser',
      deviceDetail: {operatingSystem: 'Windows 10', browser: 'Edge 120.0.0'},
      location: {
        city: options.city ?? p.city,
        state: '',
        countryOrRegion: options.country ?? p.country,
        geoCoordinates: {latitude: 52.52, longitude: 13.4},
      },
      correlationId: uuidFrom(`corr|${id}`),
      conditionalAccessStatus: 'success',
      isInteractive: true,
      tokenIssuerType: 'AzureAD',
      customerId: p.customer,
    },
  }
}

/** An archived StorageRead record for a blob read (shape of storagebloblogs-storageread-captured.json). */
export function storageReadRecord(
  account: string,
  container: string,
  blobName: string,
  customer: string,
  time: Date,
  caller: DemoPrincipal,
): Record<string, unknown> {
  const resourceId = `/subscriptions/${DEMO_SUBSCRIPTION_ID}/resourceGroups/${DEMO_RESOURCE_GROUP}/providers/Microsoft.Storage/storageAccounts/${account}/blobServices/default`
  return {
    time: time.toISOString().replace('Z', '0000Z'),
    resourceId,
    category: 'StorageRead',
    operationName: 'GetBlob',
    operationVersion: '2021-06-08',
    schemaVersion: '1.0',
    statusCode: 200,
    statusText: 'Success',
    durationMs: 9,
    callerIpAddress: `${caller.ip}:56029`,
    correlationId: uuidFrom(`read|${blobName}|${time.toISOString()}`),
    identity: {
      type: 'OAuth',
      authorization: [
        {
          action: 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read',
          principals: [{id: uuidFrom(caller.upn), type: 'User'}],
          result: 'Granted',
        },
      ],
      requester: {upn: caller.upn, objectId: uuidFrom(caller.upn), tenantId: DEMO_TENANT_ID},
    },
    location: 'Germany West Central',
    properties: {
      accountName: account,
      userAgentHeader: 'custos-demo/1.0',
      serviceType: 'blob',
      objectKey: `/${account}/${container}/${blobName}`,
      metricResponseType: 'Success',
      serverLatencyMs: 9,
      requestHeaderSize: 636,
      responseHeaderSize: 394,
      responseBodySize: 99,
      tlsVersion: 'TLS 1.2',
      customerId: customer,
    },
    uri: `https://${account}.blob.core.windows.net:443/${container}/${encodeURI(blobName)}?sp=r&spr=https&sv=2021-06-08&sr=b&sig=XXXXX`,
    protocol: 'HTTPS',
    resourceType: 'Microsoft.Storage/storageAccounts/blobServices',
  }
}

/** `y=2026/m=11/d=22/h=10/m=00/PT1H.json` for the hour containing `time`. */
function hourPath(time: Date): string {
  const p = (n: number) => String(n).padStart(2, '0')
  return `y=${time.getUTCFullYear()}/m=${p(time.getUTCMonth() + 1)}/d=${p(time.getUTCDate())}/h=${p(time.getUTCHours())}/m=00/PT1H.json`
}

export function signInBlobName(time: Date): string {
  return `resourceId=/tenants/${DEMO_TENANT_ID}/providers/Microsoft.aadiam/${hourPath(time)}`
}

export function storageReadBlobName(account: string, time: Date): string {
  return `resourceId=/SUBSCRIPTIONS/${DEMO_SUBSCRIPTION_ID.toUpperCase()}/RESOURCEGROUPS/${DEMO_RESOURCE_GROUP.toUpperCase()}/PROVIDERS/MICROSOFT.STORAGE/STORAGEACCOUNTS/${account.toUpperCase()}/BLOBSERVICES/DEFAULT/${hourPath(time)}`
}

/**
 * Sign-ins for `hours` hours before `now`: office-hour sign-ins of every principal, a few failures,
 * a burst of failures for one principal, one sign-in from abroad and one at night.
 */
export function* demoSignIns(
  principals: DemoPrincipal[],
  now: Date,
  hours: number,
  seed = 42,
): Generator<{time: Date; record: Record<string, unknown>}> {
  const random = seededRandom(seed)
  const start = Math.floor(now.getTime() / 3_600_000) * 3_600_000 - hours * 3_600_000
  for (let h = 0; h < hours; h++) {
    const hourStart = new Date(start + h * 3_600_000)
    const berlinHour = (hourStart.getUTCHours() + 1) % 24
    const weekday = hourStart.getUTCDay()
    const office = berlinHour >= 8 && berlinHour < 18 && weekday >= 1 && weekday <= 5
    for (const p of principals) {
      if (!office || random() > 0.35) continue
      const time = new Date(hourStart.getTime() + Math.floor(random() * 3_500_000))
      const failed = random() < 0.1
      yield {time, record: signInRecord(p, time, failed ? {errorCode: 50_126} : {})}
    }

    if (h === hours - 20 && principals.length > 4) {
      const victim = principals[4]
      for (let i = 0; i < 12; i++) {
        const time = new Date(hourStart.getTime() + 60_000 + i * 20_000)
        yield {
          time,
          record: signInRecord(victim, time, {errorCode: 50_126, ip: '203.0.113.77', country: 'RU', city: 'Moscow'}),
        }
      }
    }

    if (h === hours - 30 && principals.length > 1) {
      const night = new Date(hourStart.getTime() + 5 * 60_000)
      yield {time: night, record: signInRecord(principals[1], night, {ip: '192.0.2.44'})}
    }
  }
}

export {seededRandom} from './seeded-random.js'
