/**
 * Fills the local environment with demo customers: documents in a container per customer,
 * attachments under a prefix per customer in a shared container (with `acme` and `acme-corp` as
 * prefix neighbours), 30 days of nightly backups with one day missing for one customer, archived
 * sign-in and blob-read logs in the real PT1H.json layout, activity-log events and a key per customer.
 */
import {createHash} from 'node:crypto'

import type {AzureClients} from '../azure/clients.js'
import type {LocalEnvironment} from './environment.js'
import {DEMO_CUSTOMERS} from './environment.js'
import {
  demoPrincipals,
  demoSignIns,
  seededRandom,
  signInBlobName,
  storageReadBlobName,
  storageReadRecord,
} from './demo-records.js'
import {LOCAL_SUBSCRIPTION_ID} from './azure-server/state.js'

export interface DemoSummary {
  customers: string[]
  documents: number
  attachments: number
  backups: number
  missingBackupDay: {customer: string; day: string}
  signInRecords: number
  storageReadRecords: number
  activityEvents: number
  keys: string[]
}

export interface SeedOptions {
  now?: Date
  /** documents per customer (default 12) */
  documentsPerCustomer?: number
}

/** Deterministic demo content for a blob name. */
export function demoContent(name: string, size: number): Buffer {
  const out = Buffer.alloc(size)
  let block = createHash('sha256').update(name).digest()
  for (let offset = 0; offset < size; offset += block.length) {
    block.copy(out, offset)
    block = createHash('sha256').update(block).digest()
  }

  return out
}

const DOCUMENT_NAMES = [
  'contracts/2026/Rahmenvertrag Nr. 1.pdf',
  'contracts/2026/Anlage #2 (TOM).pdf',
  'reports/Q3 report 100% final.xlsx',
  'reports/Übersicht Größen.csv',
  'notes/what?.txt',
  'deep/a/b/c/d/e/f/g/h/i/j/record.json',
]

async function pool<T>(items: Iterable<T>, concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  const iterator = items[Symbol.iterator]()
  const workers = Array.from({length: concurrency}, async () => {
    for (let next = iterator.next(); !next.done; next = iterator.next()) await work(next.value)
  })
  await Promise.all(workers)
}

function day(date: Date): string {
  return date.toISOString().slice(0, 10)
}

export async function seedDemoData(
  clients: AzureClients,
  env: LocalEnvironment,
  options: SeedOptions = {},
): Promise<DemoSummary> {
  const now = options.now ?? new Date()
  const customers = [...DEMO_CUSTOMERS]
  const prod = clients.blobService(env.azurite.connectionString('contosoprod'))
  const backup = clients.blobService(env.azurite.connectionString('contosobackup'))
  const logs = clients.blobService(env.azurite.connectionString('contosologs'))
  const random = seededRandom(7)
  const perCustomer = options.documentsPerCustomer ?? 12

  // Live data: a container per customer, and a shared container with a folder per customer.
  const attachments = prod.getContainerClient('attachments')
  await attachments.createIfNotExists()
  let documents = 0
  let attachmentCount = 0
  const uploads: Array<{container: string; name: string; size: number; snapshot: boolean}> = []
  for (const customer of customers) {
    await prod.getContainerClient(`tenant-${customer}`).createIfNotExists()
    for (let i = 0; i < perCustomer; i++) {
      const name = i < DOCUMENT_NAMES.length ? DOCUMENT_NAMES[i] : `files/document-${String(i).padStart(4, '0')}.bin`
      uploads.push({
        container: `tenant-${customer}`,
        name,
        size: 512 + Math.floor(random() * 16_384),
        snapshot: i === 0,
      })
      documents++
    }

    for (const name of ['mail/inbox/2026-11-01 Angebot.eml', 'mail/sent/re: Angebot.eml', 'images/logo.png']) {
      uploads.push({
        container: 'attachments',
        name: `${customer}/${name}`,
        size: 256 + Math.floor(random() * 4096),
        snapshot: name.endsWith('.png'),
      })
      attachmentCount++
    }
  }

  await pool(uploads, 16, async (u) => {
    const blob = prod.getContainerClient(u.container).getBlockBlobClient(u.name)
    const body = demoContent(`${u.container}/${u.name}`, u.size)
    await blob.uploadData(body, {
      blobHTTPHeaders: {
        blobContentType: contentTypeOf(u.name),
        blobContentMD5: createHash('md5').update(body).digest(),
      },
    })
    if (u.snapshot) await blob.createSnapshot()
  })

  // Nightly backups for 30 days at a separate site; globex misses one day.
  const backups = backup.getContainerClient('backups')
  await backups.createIfNotExists()
  const missing = {customer: 'globex', day: day(new Date(now.getTime() - 12 * 86_400_000))}
  const backupUploads: Array<{name: string; day: string}> = []
  for (const customer of customers) {
    for (let d = 0; d < 30; d++) {
      const date = new Date(now.getTime() - d * 86_400_000)
      if (customer === missing.customer && day(date) === missing.day) continue
      backupUploads.push({name: `${customer}/${day(date)}/db.bak`, day: day(date)})
    }
  }

  await pool(backupUploads, 16, async (b) => {
    const body = demoContent(b.name, 4096)
    await backups.getBlockBlobClient(b.name).uploadData(body, {
      blobHTTPHeaders: {
        blobContentType: 'application/octet-stream',
        blobContentMD5: createHash('md5').update(body).digest(),
      },
      metadata: {backuptime: `${b.day}T02:00:00Z`, sha256: createHash('sha256').update(body).digest('hex')},
    })
  })

  // Archived sign-in logs: one append blob per hour, one JSON record per line.
  const principals = demoPrincipals(customers)
  const signIns = logs.getContainerClient('insights-logs-signinlogs')
  await signIns.createIfNotExists()
  const byHour = new Map<string, string[]>()
  let signInRecords = 0
  for (const {time, record} of demoSignIns(principals, now, 72)) {
    const name = signInBlobName(time)
    const lines = byHour.get(name) ?? []
    lines.push(JSON.stringify(record))
    byHour.set(name, lines)
    signInRecords++
  }

  // Archived blob reads of each customer's documents.
  const reads = logs.getContainerClient('insights-logs-storageread')
  await reads.createIfNotExists()
  const readsByHour = new Map<string, string[]>()
  let storageReadRecords = 0
  for (let h = 1; h <= 48; h += 3) {
    const time = new Date(now.getTime() - h * 3_600_000)
    for (const [i, customer] of customers.entries()) {
      const reader = principals[i * 3]
      const record = storageReadRecord(
        'contosoprod',
        `tenant-${customer}`,
        DOCUMENT_NAMES[h % DOCUMENT_NAMES.length],
        customer,
        time,
        reader,
      )
      const name = storageReadBlobName('contosoprod', time)
      const lines = readsByHour.get(name) ?? []
      lines.push(JSON.stringify(record))
      readsByHour.set(name, lines)
      storageReadRecords++
    }
  }

  await logs.getContainerClient('insights-activity-logs').createIfNotExists()
  const appendAll = async (container: typeof signIns, hours: Map<string, string[]>) =>
    pool(hours.entries(), 8, async ([name, lines]) => {
      const blob = container.getAppendBlobClient(name)
      await blob.createIfNotExists({blobHTTPHeaders: {blobContentType: 'application/json'}})
      const body = `${lines.join('\n')}\n`
      await blob.appendBlock(body, Buffer.byteLength(body))
    })
  await appendAll(signIns, byHour)
  await appendAll(reads, readsByHour)

  // Management operations in the activity log (served by the local Resource Manager).
  const operators = ['ops.admin@contoso.example', 'backup-job@contoso.example']
  const operations = [
    'Microsoft.Storage/storageAccounts/listKeys/action',
    'Microsoft.Storage/storageAccounts/write',
    'Microsoft.KeyVault/vaults/read',
  ]
  const events = []
  for (let h = 2; h <= 70; h += 2) {
    const time = new Date(now.getTime() - h * 3_600_000)
    events.push({
      eventTimestamp: time,
      operationName: operations[h % operations.length],
      resourceId: env.accountId('contosoprod'),
      caller: operators[h % operators.length],
      clientIpAddress: h === 40 ? '203.0.113.9' : '198.51.100.200',
      status: h % 17 === 0 ? 'Failed' : 'Succeeded',
    })
  }

  env.server.state.addActivityEvents(LOCAL_SUBSCRIPTION_ID, events)

  // Keys: the evidence signing key and one key per customer (the crypto-shredding target).
  const keyClient = clients.keyClient()
  await keyClient.createRsaKey('custos-evidence', {keySize: 2048, keyOps: ['sign', 'verify']})
  const keys = ['custos-evidence']
  for (const customer of customers) {
    await keyClient.createRsaKey(`tenant-${customer}`, {keySize: 2048, keyOps: ['wrapKey', 'unwrapKey']})
    keys.push(`tenant-${customer}`)
  }

  return {
    customers,
    documents,
    attachments: attachmentCount,
    backups: backupUploads.length,
    missingBackupDay: missing,
    signInRecords,
    storageReadRecords,
    activityEvents: events.length,
    keys,
  }
}

function contentTypeOf(name: string): string {
  if (name.endsWith('.pdf')) return 'application/pdf'
  if (name.endsWith('.csv')) return 'text/csv'
  if (name.endsWith('.json')) return 'application/json'
  if (name.endsWith('.txt')) return 'text/plain; charset=utf-8'
  if (name.endsWith('.eml')) return 'message/rfc822'
  if (name.endsWith('.png')) return 'image/png'
  if (name.endsWith('.xlsx')) return 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'
  return 'application/octet-stream'
}
