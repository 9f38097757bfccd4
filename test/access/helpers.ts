/**
 * Helpers for the access-report tests: the contract samples (read in place), a local Azure server
 * with its CA file, data maps for Azurite + that server, and archived PT1H.json uploads.
 */
import {mkdtempSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

import {AzureClients} from '../../src/lib/azure/clients.js'
import {validateDataMap} from '../../src/lib/datamap/load.js'
import type {DataMap} from '../../src/lib/datamap/types.js'
import {
  LOCAL_SUBSCRIPTION_ID,
  startLocalAzureServer,
  type LocalAzureServer,
} from '../../src/lib/local/azure-server/index.js'
import {getTestAzurite} from '../support/env.js'

const here = dirname(fileURLToPath(import.meta.url))
const ROOT = resolve(here, '../..')
const CONTRACTS = process.env.CUSTOS_AZURE_CONTRACTS ?? resolve(ROOT, '../shared/azure-contracts')

export type Doc = Record<string, any>

export function readSample(relativePath: string): Doc {
  return JSON.parse(readFileSync(resolve(CONTRACTS, relativePath), 'utf8')) as Doc
}

/** The `input.message` records of the Sekoia parser fixtures in a folder (one real record each). */
export function sekoiaRecords(folder: string): Array<{file: string; record: Doc}> {
  const dir = resolve(CONTRACTS, folder)
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({file, record: JSON.parse(readSample(join(folder, file)).input.message as string) as Doc}))
}

export interface LocalAzure {
  server: LocalAzureServer
  caPath: string
  close(): Promise<void>
}

export async function startLocalAzure(): Promise<LocalAzure> {
  const server = await startLocalAzureServer({port: 0})
  const dir = mkdtempSync(join(tmpdir(), 'custos-access-'))
  const caPath = join(dir, 'ca.pem')
  writeFileSync(caPath, server.caCertificatePem)
  return {server, caPath, close: () => server.close()}
}

export interface AccessMapOptions {
  local?: LocalAzure
  containers?: string[]
  activityLog?: boolean
  workspace?: string
  extra?: Doc
}

/** A validated data map: archive on Azurite's contosologs, activity log / workspace on the local server. */
export function accessMap(options: AccessMapOptions = {}): DataMap {
  return validateDataMap(accessMapDocument(options), '/tmp/custos-access-test/custos.yaml')
}

/** The same data map as a document, for a file handed to the CLI. */
export function accessMapDocument(options: AccessMapOptions = {}): Doc {
  const azurite = getTestAzurite()
  const raw: Doc = {
    stores: [
      {name: 'documents', account: azurite.connectionString('contosoprod'), container: 'tenant-{customer}'},
      {
        name: 'attachments',
        account: azurite.connectionString('contosoprod'),
        container: 'attachments',
        prefix: '{customer}/',
      },
    ],
    logs: {
      ...(options.containers
        ? {archive: {account: azurite.connectionString('contosologs'), containers: options.containers}}
        : {}),
      ...(options.workspace ? {workspace: options.workspace} : {}),
    },
    ...(options.activityLog ? {activityLog: {subscription: LOCAL_SUBSCRIPTION_ID}} : {}),
    azure: options.local
      ? {
          credential: 'local',
          caCertificate: options.local.caPath,
          resourceManager: options.local.server.url,
          logAnalytics: `${options.local.server.url}/v1`,
          subscription: LOCAL_SUBSCRIPTION_ID,
        }
      : {credential: 'local'},
    ...options.extra,
  }
  return raw
}

/** `y=2026/m=03/d=30/h=05/m=00/PT1H.json` */
function hourPath(time: string | number): string {
  const d = new Date(time)
  const p = (n: number) => String(n).padStart(2, '0')
  return `y=${d.getUTCFullYear()}/m=${p(d.getUTCMonth() + 1)}/d=${p(d.getUTCDate())}/h=${p(d.getUTCHours())}/m=00/PT1H.json`
}

/** Writes records as JSON Lines into hour blobs `<prefix>/<hourPath of each record's time>`. */
export async function uploadArchive(map: DataMap, container: string, prefix: string, records: Doc[]): Promise<void> {
  const clients = new AzureClients(map)
  const c = clients.blobService(map.logs!.archive!.account).getContainerClient(container)
  await c.createIfNotExists()
  const byBlob = new Map<string, string[]>()
  for (const r of records) {
    const name = `${prefix}/${hourPath(r.time as string)}`
    byBlob.set(name, [...(byBlob.get(name) ?? []), JSON.stringify(r)])
  }

  for (const [name, lines] of byBlob) {
    const text = `${lines.join('\n')}\n`
    await c.getBlockBlobClient(name).upload(text, Buffer.byteLength(text))
  }
}

/** A minimal archived sign-in record (archive shape of signinlogs-archived-documented.json). */
export function signIn(
  upn: string,
  time: string | Date,
  options: {ip?: string; country?: string; code?: number; customerId?: string} = {},
): Doc {
  const code = options.code ?? 0
  const iso = new Date(time).toISOString()
  return {
    time: iso,
    resourceId: '/tenants/00000000-0000-0000-0000-000000000001/providers/Microsoft.aadiam',
    operationName: 'Sign-in activity',
    category: 'SignInLogs',
    resultType: String(code),
    callerIpAddress: options.ip ?? '198.51.100.1',
    Level: 4,
    location: options.country ?? 'DE',
    properties: {
      createdDateTime: iso,
      userPrincipalName: upn,
      ipAddress: options.ip ?? '198.51.100.1',
      status: {errorCode: code},
      location: {countryOrRegion: options.country ?? 'DE'},
      ...(options.customerId ? {customerId: options.customerId} : {}),
    },
  }
}

/** A minimal archived StorageRead record for a blob (shape of storagebloblogs-storageread-captured.json). */
export function blobRead(
  upn: string,
  time: string | Date,
  objectKey: string,
  options: {ip?: string; status?: number} = {},
): Doc {
  return {
    time: new Date(time).toISOString(),
    resourceId:
      '/subscriptions/x/resourceGroups/y/providers/Microsoft.Storage/storageAccounts/contosoprod/blobServices/default',
    category: 'StorageRead',
    operationName: 'GetBlob',
    statusCode: options.status ?? 200,
    callerIpAddress: `${options.ip ?? '198.51.100.1'}:50123`,
    identity: {type: 'OAuth', requester: {upn}},
    properties: {accountName: 'contosoprod', objectKey},
  }
}

/** The rows of a CSV sample (RFC 4180: quoted cells may hold commas, quotes and line ends; BOM and CRLF as exported). */
function readCsvSample(relativePath: string): Array<Record<string, string>> {
  const text = readFileSync(resolve(CONTRACTS, relativePath), 'utf8').replace(/^\uFEFF/, '')
  const rows: string[][] = []
  let row: string[] = []
  let cell = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"'
        i++
      } else if (c === '"') quoted = false
      else cell += c
    } else if (c === '"') quoted = true
    else if (c === ',') {
      row.push(cell)
      cell = ''
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++
      row.push(cell)
      rows.push(row)
      row = []
      cell = ''
    } else cell += c
  }

  if (cell !== '' || row.length > 0) rows.push([...row, cell])
  const [header, ...body] = rows
  return body.filter((r) => r.length === header.length).map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]])))
}

/** `4/28/2021, 2:42:47.641 PM` (Log Analytics CSV export, UTC) → ISO 8601. */
function usTime(text: string): string {
  const m = /^(\d+)\/(\d+)\/(\d{4}), (\d+):(\d\d):(\d\d)(\.\d+)? (AM|PM)$/.exec(text)
  if (!m) throw new Error(`not a US-style time: ${text}`)
  const hour = (Number(m[4]) % 12) + (m[8] === 'PM' ? 12 : 0)
  return new Date(
    Date.UTC(
      Number(m[3]),
      Number(m[1]) - 1,
      Number(m[2]),
      hour,
      Number(m[5]),
      Number(m[6]),
      Number((m[7] ?? '.0').slice(1).padEnd(3, '0')),
    ),
  ).toISOString()
}

/**
 * The 23 real AzureActivity rows of `logs/azureactivity-la-export-training-lab-adele.csv` (Start /
 * Accept / Success, as Log Analytics and the storage archive write them) turned into the records a
 * subscription diagnostic setting archives to storage, field by field as Microsoft's mapping says
 * ("Schema from storage account and event hubs",
 * https://learn.microsoft.com/azure/azure-monitor/platform/activity-log-schema#schema-from-storage-account-and-event-hubs):
 * time, resourceId, operationName, category, resultType (status), resultSignature (subStatus),
 * callerIpAddress, correlationId, identity {authorization, claims}, level, properties.
 */
export function archivedActivityRecords(): Array<{row: Record<string, string>; record: Doc}> {
  return readCsvSample('logs/azureactivity-la-export-training-lab-adele.csv').map((row) => ({
    row,
    record: {
      time: usTime(row['TimeGenerated [UTC]']),
      resourceId: row._ResourceId.toUpperCase(),
      operationName: row.OperationNameValue,
      category: row.CategoryValue,
      resultType: row.ActivityStatusValue,
      resultSignature: row.ActivitySubstatusValue,
      durationMs: 0,
      callerIpAddress: row.CallerIpAddress,
      correlationId: row.CorrelationId,
      identity: {authorization: JSON.parse(row.Authorization_d), claims: JSON.parse(row.Claims_d)},
      level: 'Information',
      location: 'global',
      properties: JSON.parse(row.Properties_d),
    },
  }))
}
