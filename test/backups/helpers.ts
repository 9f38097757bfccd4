/**
 * Test fixtures for `backups verify`: the local Resource Manager with the accounts of the scenarios,
 * data maps pointing at the shared Azurite, daily backups seeded with real dates in their paths, and
 * a loopback Blob endpoint that answers List Blobs with recorded real service XML.
 */
import {createHash} from 'node:crypto'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

import type {ContainerClient} from '@azure/storage-blob'

import {validateDataMap} from '../../src/lib/datamap/load.js'
import type {DataMap} from '../../src/lib/datamap/types.js'
import {
  LOCAL_SUBSCRIPTION_ID,
  LocalAzureState,
  startLocalAzureServer,
  type LocalAzureServer,
} from '../../src/lib/local/azure-server/index.js'

const here = dirname(fileURLToPath(import.meta.url))
/** The recorded Azure samples, read in place (never copied into the repository). */
const CONTRACTS = process.env.CUSTOS_AZURE_CONTRACTS ?? resolve(here, '../../../shared/azure-contracts')

export const DAY = 86_400_000

/** Storage accounts as Resource Manager reports them: the primary, and backup accounts for each scenario. */
const ACCOUNTS = {
  prod: {name: 'contosoprod', location: 'germanywestcentral'},
  backup: {name: 'contosobackup', location: 'germanynorth'},
  westeurope: {name: 'contosobackupweu', location: 'westeurope'},
  sameSite: {name: 'contosobackupgwc', location: 'germanywestcentral'},
  cmk: {name: 'contosobackupcmk', location: 'germanynorth'},
} as const

export interface Arm {
  server: LocalAzureServer
  dir: string
  caPath: string
  id(account: keyof typeof ACCOUNTS): string
  close(): Promise<void>
}

export async function startArm(): Promise<Arm> {
  const server = await startLocalAzureServer({port: 0})
  const dir = mkdtempSync(join(tmpdir(), 'custos-backups-'))
  const caPath = join(dir, 'local-ca.pem')
  writeFileSync(caPath, server.caCertificatePem)
  for (const [key, a] of Object.entries(ACCOUNTS)) {
    server.state.addStorageAccount({
      name: a.name,
      location: a.location,
      secondaryLocation: null,
      sku: {name: 'Standard_ZRS'},
      ...(key === 'cmk'
        ? {
            properties: {
              encryption: {
                keySource: 'Microsoft.Keyvault',
                keyvaultproperties: {
                  keyvaulturi: `${server.url}/vaults/contoso-kv/`,
                  keyname: 'backup-cmk',
                  keyversion: '',
                },
              },
            },
          }
        : {}),
    })
  }

  return {
    server,
    dir,
    caPath,
    id: (account) => LocalAzureState.storageAccountId(LOCAL_SUBSCRIPTION_ID, 'custos-local', ACCOUNTS[account].name),
    async close() {
      await server.close()
      rmSync(dir, {recursive: true, force: true})
    },
  }
}

export interface MapOptions {
  /** the backup account's connection string */
  account: string
  container: string
  prefix?: string
  backupAccount?: keyof typeof ACCOUNTS | null
  known?: string[]
  set?: Record<string, unknown>
  keys?: Record<string, unknown>
}

/** A data map with one primary store and one backup set. */
export function backupMap(arm: Arm, primaryAccount: string, o: MapOptions): DataMap {
  const backupAccount = o.backupAccount === undefined ? 'backup' : o.backupAccount
  return validateDataMap(
    {
      residency: {allowedRegions: ['germanywestcentral', 'germanynorth']},
      customers: {idPattern: '^[a-z0-9][a-z0-9-]{1,55}$', ...(o.known ? {known: o.known} : {})},
      stores: [
        {name: 'documents', account: primaryAccount, container: 'tenant-{customer}', resourceId: arm.id('prod')},
      ],
      backups: [
        {
          name: 'nightly-db',
          account: o.account,
          container: o.container,
          ...(o.container.includes('{customer}') ? {} : {prefix: o.prefix ?? '{customer}/'}),
          dateFrom: o.container.includes('{customer}') ? '{yyyy}-{MM}-{dd}/' : '{customer}/{yyyy}-{MM}-{dd}/',
          ...(backupAccount ? {resourceId: arm.id(backupAccount)} : {}),
          expect: {every: '24h', maxAge: '26h', keepDays: 30},
          ...o.set,
        },
      ],
      ...(o.keys ? {keys: o.keys} : {}),
      azure: {
        credential: 'local',
        caCertificate: arm.caPath,
        resourceManager: arm.server.url,
        subscription: LOCAL_SUBSCRIPTION_ID,
      },
    },
    join(arm.dir, 'custos.yaml'),
  )
}

export function isoDay(date: Date): string {
  return date.toISOString().slice(0, 10)
}

export interface SeededBackup {
  name: string
  body: Buffer
  sha256: string
}

/**
 * Uploads one backup per day for the given days back from `now` (0 = today), as
 * `<prefix><yyyy-MM-dd>/db.bak`, with Content-MD5 and a `sha256` metadata field.
 */
export async function seedDailyBackups(
  container: ContainerClient,
  prefix: string,
  daysBack: Iterable<number>,
  now = new Date(),
): Promise<SeededBackup[]> {
  const made: SeededBackup[] = []
  const uploads: Array<Promise<unknown>> = []
  for (const d of daysBack) {
    const name = `${prefix}${isoDay(new Date(now.getTime() - d * DAY))}/db.bak`
    const body = Buffer.from(`backup of ${name}\n`.repeat(64))
    const sha256 = createHash('sha256').update(body).digest('hex')
    made.push({name, body, sha256})
    uploads.push(
      container.getBlockBlobClient(name).uploadData(body, {
        blobHTTPHeaders: {
          blobContentType: 'application/octet-stream',
          blobContentMD5: createHash('md5').update(body).digest(),
        },
        metadata: {sha256},
      }),
    )
  }

  await Promise.all(uploads)
  return made
}

export function range(from: number, to: number): number[] {
  return Array.from({length: to - from + 1}, (_, i) => from + i)
}

export interface RecordedBlobEndpoint {
  /** a connection string for the real @azure/storage-blob client (the key is never checked) */
  connectionString: string
  /** requests seen, `METHOD path?query` */
  requests: string[]
  close(): Promise<void>
}

/**
 * A loopback Blob endpoint that answers List Blobs on the sample's container with a recorded real
 * List Blobs body from ../shared/azure-contracts/storage-blob-xml/ (after `edit`), and 404 to
 * anything else. Account name: the sample's `fakestorageaccount`.
 */
export async function serveRecordedListing(
  sampleFile: string,
  edit: (xml: string) => string = (x) => x,
): Promise<RecordedBlobEndpoint> {
  const xml = edit(readFileSync(resolve(CONTRACTS, 'storage-blob-xml', sampleFile), 'utf8'))
  const container = /ContainerName="([^"]+)"/.exec(xml)?.[1]
  if (!container) throw new Error(`${sampleFile} names no container`)
  const requests: string[] = []
  const server: Server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`)
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const common = {
      'x-ms-request-id': '00000000-0000-0000-0000-000000000000',
      'x-ms-version': '2021-12-02',
      date: new Date().toUTCString(),
    }
    if (
      req.method === 'GET' &&
      url.pathname === `/fakestorageaccount/${container}` &&
      url.searchParams.get('comp') === 'list'
    ) {
      res.writeHead(200, {...common, 'content-type': 'application/xml'})
      res.end(xml)
      return
    }

    const body =
      '<?xml version="1.0" encoding="utf-8"?><Error><Code>ResourceNotFound</Code><Message>The specified resource does not exist.</Message></Error>'
    res.writeHead(404, {...common, 'content-type': 'application/xml', 'x-ms-error-code': 'ResourceNotFound'})
    res.end(body)
  })
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok))
  const {port} = server.address() as AddressInfo
  return {
    connectionString: `DefaultEndpointsProtocol=http;AccountName=fakestorageaccount;AccountKey=${Buffer.from('not checked').toString('base64')};BlobEndpoint=http://127.0.0.1:${port}/fakestorageaccount;`,
    requests,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  }
}
