/**
 * The reliability suite's environment: ONE local environment (Azurite with the demo accounts, the
 * local Azure server and its vault) for every file of test/reliability, seeded once with the demo
 * data (acme, acme-corp, globex, initech). It is started by the first file that asks and stopped by
 * a root `after` hook registered here, so its ~12 s of start-up and seeding are paid once.
 *
 * Tests that change data work in a "world": a data map of their own with fresh containers (and EC
 * customer keys) in the same emulator, seeded with the same content every time, so that two worlds
 * can be compared — an interrupted erase against an uninterrupted one — and so that runs never see
 * each other's data. A world's accounts may point at a fault proxy.
 */
import {createHash, randomBytes} from 'node:crypto'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {BlobServiceClient, type BlobClient, type ContainerClient} from '@azure/storage-blob'

import {AzureClients} from '../../src/lib/azure/clients.js'
import {validateDataMap} from '../../src/lib/datamap/load.js'
import type {DataMap} from '../../src/lib/datamap/types.js'
import {demoContent, seedDemoData, type DemoSummary} from '../../src/lib/local/demo-data.js'
import {
  DEMO_ACCOUNTS,
  startLocalEnvironment,
  type DemoAccount,
  type LocalEnvironment,
} from '../../src/lib/local/environment.js'
import type {FaultProxy} from '../support/fault-proxy.js'
import {LOCAL_SUBSCRIPTION_ID} from '../../src/lib/local/azure-server/state.js'

/** Short retry delays for library calls (the CLI's are fixed; tests shorten only its attempts). */
export const FAST_RETRY = {maxTries: 8, retryDelayInMs: 20, maxRetryDelayInMs: 200}

export interface ReliabilityEnv {
  env: LocalEnvironment
  /** the demo data map (no proxy) */
  map: DataMap
  /** clients of the demo map, for seeding and inspection (never through a proxy) */
  clients: AzureClients
  demo: DemoSummary
  /** http://127.0.0.1:<azurite port>: what a fault proxy forwards to */
  upstream: string
  accountKey(account: DemoAccount): string
  /** a direct Blob service client (inspection, seeding) */
  service(account: DemoAccount): BlobServiceClient
  /** the demo data map with every account behind `proxy` (or direct), as a raw object */
  demoRaw(proxy?: FaultProxy): Record<string, unknown>
  /** every Azurite account key and the local development token: what must never be printed */
  secrets(): string[]
}

let started: Promise<ReliabilityEnv> | undefined
const scratchDirs: string[] = []

/** A temporary folder removed when the suite ends (with the environment). */
export function scratchDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `custos-rel-${label}-`))
  scratchDirs.push(dir)
  return dir
}

/** The shared environment of the reliability suite (started on first use). */
export function reliabilityEnv(): Promise<ReliabilityEnv> {
  started ??= startEnv()
  return started
}

// Root hook: registered once, when the first test file imports this module; runs after all tests.
after(async function () {
  this.timeout(60_000)
  for (const dir of scratchDirs.splice(0)) rmSync(dir, {recursive: true, force: true})
  if (!started) return
  const renv = await started.catch(() => undefined)
  await renv?.env.stop()
})

async function startEnv(): Promise<ReliabilityEnv> {
  const env = await startLocalEnvironment()
  try {
    const map = validateDataMap(structuredClone(env.config), env.configPath)
    const clients = new AzureClients(map, {retry: FAST_RETRY})
    const demo = await seedDemoData(clients, env, {documentsPerCustomer: 12})
    const upstream = new URL(env.azurite.blobEndpoint()).origin
    const accountKey = (account: DemoAccount) => env.azurite.accounts.find((a) => a.name === account)!.key
    return {
      env,
      map,
      clients,
      demo,
      upstream,
      accountKey,
      service: (account) => BlobServiceClient.fromConnectionString(env.azurite.connectionString(account)),
      demoRaw(proxy) {
        return retarget(structuredClone(env.config), env, proxy)
      },
      secrets: () => env.azurite.accounts.map((a) => a.key),
    }
  } catch (error) {
    await env.stop()
    throw error
  }
}

/** Replaces every demo connection string in a raw data map by the proxy's. */
function retarget(raw: Record<string, unknown>, env: LocalEnvironment, proxy?: FaultProxy): Record<string, unknown> {
  if (!proxy) return raw
  let text = JSON.stringify(raw)
  for (const {name} of DEMO_ACCOUNTS) {
    const key = env.azurite.accounts.find((a) => a.name === name)!.key
    text = text.replaceAll(
      JSON.stringify(env.azurite.connectionString(name)).slice(1, -1),
      JSON.stringify(proxy.connectionString(name, key)).slice(1, -1),
    )
  }

  return JSON.parse(text) as Record<string, unknown>
}

// ------------------------------------------------------------------------------------ worlds

const WORLD_CUSTOMERS = ['acme', 'acme-corp', 'globex'] as const

export interface CustomerContent {
  documents: number
  attachments: number
  backups: number
  /** documents of 1 MiB (`large/<n>.bin`): big enough that a dropped connection interrupts a body mid-stream */
  large: number
}

export interface WorldOptions {
  /** put every account of the data map behind this proxy */
  proxy?: FaultProxy
  /** content per customer (default: small for everyone) */
  content?: Partial<Record<string, Partial<CustomerContent>>>
  /** a customer key per customer in the vault (default true) */
  keys?: boolean
}

export interface World {
  id: string
  dir: string
  /** the data map as written for the CLI (custos.json) */
  configPath: string
  raw: Record<string, unknown>
  map: DataMap
  /** direct clients (not through the proxy), for seeding and inspection */
  clients: AzureClients
  customers: readonly string[]
  containers: {
    documents(customer: string): string
    attachments: string
    backups: string
    exports: string
    audit: string
  }
  /** every container holding customer data (for inventories) */
  dataContainers(): Array<{account: DemoAccount; container: string}>
  keyName(customer: string): string
}

const DEFAULT_CONTENT: CustomerContent = {documents: 8, attachments: 4, backups: 3, large: 0}

/** A fresh world: unique containers, the same content each time for the same options. */
export async function createWorld(renv: ReliabilityEnv, options: WorldOptions = {}): Promise<World> {
  const id = `w${randomBytes(4).toString('hex')}`
  const dir = scratchDir(id)
  const {env} = renv
  const account = (name: DemoAccount) =>
    options.proxy ? options.proxy.connectionString(name, renv.accountKey(name)) : env.azurite.connectionString(name)
  const containers = {
    documents: (customer: string) => `${id}-${customer}`,
    // Not `${id}-att`: beside the `${id}-{customer}` template that would be customer "att"'s container,
    // and the data map would be refused as overlapping.
    attachments: `${id}att`,
    backups: `${id}-bak`,
    exports: `${id}-exp`,
    audit: `${id}-audit`,
  }
  const raw: Record<string, unknown> = {
    customers: {idPattern: '^[a-z0-9][a-z0-9-]{1,55}$'},
    stores: [
      {name: 'documents', account: account('contosoprod'), container: `${id}-{customer}`},
      {name: 'attachments', account: account('contosoprod'), container: containers.attachments, prefix: '{customer}/'},
    ],
    backups: [
      {
        name: 'nightly-db',
        account: account('contosobackup'),
        container: containers.backups,
        prefix: '{customer}/',
        dateFrom: '{customer}/{yyyy}-{MM}-{dd}/',
        expect: {every: '24h', maxAge: '26h', keepDays: 30},
      },
    ],
    keys: {
      vault: (env.config.keys as {vault: string}).vault,
      ...(options.keys === false ? {} : {customerKey: `${id}-{customer}`}),
      signingKey: 'custos-evidence',
    },
    exports: {account: account('contosoexport'), container: containers.exports, linkExpiry: '2d'},
    audit: {account: account('contosoaudit'), container: containers.audit},
    azure: {
      credential: 'local',
      caCertificate: env.caPath,
      resourceManager: env.server.url,
      subscription: LOCAL_SUBSCRIPTION_ID,
    },
  }
  const configPath = join(dir, 'custos.json')
  writeFileSync(configPath, JSON.stringify(raw, null, 2))
  const map = validateDataMap(structuredClone(raw), configPath)
  const direct = validateDataMap(retargetDirect(structuredClone(raw), renv, options.proxy), configPath)
  const world: World = {
    id,
    dir,
    configPath,
    raw,
    map,
    clients: new AzureClients(direct, {retry: FAST_RETRY}),
    customers: WORLD_CUSTOMERS,
    containers,
    dataContainers: () => [
      ...WORLD_CUSTOMERS.map((c) => ({account: 'contosoprod' as const, container: containers.documents(c)})),
      {account: 'contosoprod', container: containers.attachments},
      {account: 'contosobackup', container: containers.backups},
    ],
    keyName: (customer) => `${id}-${customer}`,
  }
  await seedWorld(renv, world, options)
  return world
}

function retargetDirect(
  raw: Record<string, unknown>,
  renv: ReliabilityEnv,
  proxy?: FaultProxy,
): Record<string, unknown> {
  if (!proxy) return raw
  let text = JSON.stringify(raw)
  for (const {name} of DEMO_ACCOUNTS) {
    text = text.replaceAll(
      JSON.stringify(proxy.connectionString(name, renv.accountKey(name))).slice(1, -1),
      JSON.stringify(renv.env.azurite.connectionString(name)).slice(1, -1),
    )
  }

  return JSON.parse(text) as Record<string, unknown>
}

async function pool<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({length: concurrency}, async () => {
      while (next < items.length) await work(items[next++])
    }),
  )
}

async function seedWorld(renv: ReliabilityEnv, world: World, options: WorldOptions): Promise<void> {
  const prod = renv.service('contosoprod')
  const backup = renv.service('contosobackup')
  const uploads: Array<{container: ContainerClient; name: string; snapshot: boolean; size?: number}> = []
  const attachments = prod.getContainerClient(world.containers.attachments)
  const backups = backup.getContainerClient(world.containers.backups)
  await Promise.all([attachments.createIfNotExists(), backups.createIfNotExists()])
  for (const customer of world.customers) {
    const content = {...DEFAULT_CONTENT, ...options.content?.[customer]}
    const docs = prod.getContainerClient(world.containers.documents(customer))
    await docs.createIfNotExists()
    for (let i = 0; i < content.documents; i++)
      uploads.push({container: docs, name: `docs/${String(i).padStart(4, '0')}.txt`, snapshot: i === 0})
    for (let i = 0; i < content.large; i++)
      uploads.push({container: docs, name: `large/${i}.bin`, snapshot: false, size: 1024 * 1024})
    for (let i = 0; i < content.attachments; i++)
      uploads.push({
        container: attachments,
        name: `${customer}/files/${String(i).padStart(4, '0')}.bin`,
        snapshot: i === 0,
      })
    for (let i = 0; i < content.backups; i++)
      uploads.push({
        container: backups,
        name: `${customer}/2026-11-${String(i + 1).padStart(2, '0')}/db.bak`,
        snapshot: false,
      })
  }

  await pool(uploads, 32, async (u) => {
    // The same bytes in every world: the content depends on the blob name only.
    const body = demoContent(u.name, u.size ?? 64 + (createHash('sha256').update(u.name).digest()[0] % 64) * 16)
    const blob = u.container.getBlockBlobClient(u.name)
    await blob.uploadData(body, {blobHTTPHeaders: {blobContentType: 'application/octet-stream'}})
    if (u.snapshot) await blob.createSnapshot()
  })
  if (options.keys !== false) {
    const keys = world.clients.keyClient()
    await Promise.all(world.customers.map((c) => keys.createEcKey(world.keyName(c), {curve: 'P-256'})))
  }
}

// ------------------------------------------------------------------------------------ inventories

/** `account/container/name[@snapshot]` → `sha256:size` of every blob (and snapshot) of the given containers. */
export async function hashContainers(
  renv: ReliabilityEnv,
  containers: Array<{account: DemoAccount; container: string}>,
): Promise<Map<string, string>> {
  const blobs: Array<{key: string; client: BlobClient; metadata: string}> = []
  await pool(containers, 4, async ({account, container}) => {
    const client = renv.service(account).getContainerClient(container)
    if (!(await client.exists())) return
    for await (const item of client.listBlobsFlat({includeSnapshots: true, includeMetadata: true})) {
      const blob = item.snapshot
        ? client.getBlobClient(item.name).withSnapshot(item.snapshot)
        : client.getBlobClient(item.name)
      blobs.push({
        key: `${account}/${container}/${item.name}${item.snapshot ? `@${item.snapshot}` : ''}`,
        client: blob,
        metadata: JSON.stringify(item.metadata ?? {}),
      })
    }
  })
  const out = new Map<string, string>()
  await pool(blobs, 16, async ({key, client, metadata}) => {
    const bytes = await client.downloadToBuffer()
    out.set(key, `${createHash('sha256').update(bytes).digest('hex')}:${bytes.length}:${metadata}`)
  })
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : 1)))
}

/** Names and states of every key in the vault (crypto-shredding must not touch a key it should not). */
export async function keyStates(renv: ReliabilityEnv): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  for await (const k of renv.clients.keyClient().listPropertiesOfKeys()) out.set(k.name, `${k.enabled}`)
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : 1)))
}

/** `a` without the entries whose key starts with one of `prefixes`. */
export function without(a: Map<string, string>, prefixes: string[]): Map<string, string> {
  return new Map([...a].filter(([k]) => !prefixes.some((p) => k.startsWith(p))))
}

/** Everything of `customer` in a world: the inventory prefixes of its three scopes. */
export function customerPrefixes(world: World, customer: string): string[] {
  return [
    `contosoprod/${world.containers.documents(customer)}/`,
    `contosoprod/${world.containers.attachments}/${customer}/`,
    `contosobackup/${world.containers.backups}/${customer}/`,
  ]
}
