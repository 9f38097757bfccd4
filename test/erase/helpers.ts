/**
 * Shared set-up of the erase tests: a data map on the shared Azurite with both store layouts and a
 * backup set, seeded customers (acme, its look-alike acme-corp, and globex), a byte-level snapshot
 * of everything, and runners for the library and for the built CLI.
 */
import {createHash} from 'node:crypto'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {BlobServiceClient, type ContainerClient} from '@azure/storage-blob'

import {AzureClients} from '../../src/lib/azure/clients.js'
import {validateDataMap} from '../../src/lib/datamap/load.js'
import type {DataMap} from '../../src/lib/datamap/types.js'
import {ERASE_TEST_CLI, startCli as startProcess, type CliProcess, type CliResult} from '../support/cli.js'
import {getTestAzurite, uniqueName} from '../support/env.js'

export interface ErasePlayground {
  dir: string
  configPath: string
  map: DataMap
  raw: Record<string, unknown>
  clients: AzureClients
  /** container names */
  docs: string
  shared: string
  backups: string
  audit: string
  service(account: 'contosoprod' | 'contosobackup' | 'contosoaudit'): BlobServiceClient
}

export interface PlaygroundOptions {
  /** extra top-level data-map fields (keys, azure, erase) */
  extra?: Record<string, unknown>
  /** extra fields of the backup set (resourceId, encryptionScope) */
  backupExtra?: Record<string, unknown>
}

const CUSTOMERS = ['acme', 'acme-corp', 'globex'] as const

/** A fresh data map (unique container names) on the shared Azurite; writes it as JSON for the CLI. */
export function makePlayground(options: PlaygroundOptions = {}): ErasePlayground {
  const azurite = getTestAzurite()
  const dir = mkdtempSync(join(tmpdir(), 'custos-erase-'))
  const docsPrefix = uniqueName('doc').slice(0, 30)
  const shared = uniqueName('att')
  const backups = uniqueName('bak')
  const audit = uniqueName('audit')
  const raw: Record<string, unknown> = {
    stores: [
      {name: 'documents', account: azurite.connectionString('contosoprod'), container: `${docsPrefix}-{customer}`},
      {name: 'attachments', account: azurite.connectionString('contosoprod'), container: shared, prefix: '{customer}/'},
    ],
    backups: [
      {
        name: 'nightly-db',
        account: azurite.connectionString('contosobackup'),
        container: backups,
        prefix: '{customer}/',
        expect: {every: '24h', maxAge: '26h', keepDays: 30},
        ...options.backupExtra,
      },
    ],
    audit: {account: azurite.connectionString('contosoaudit'), container: audit},
    ...options.extra,
  }
  const configPath = join(dir, 'custos.json')
  writeFileSync(configPath, JSON.stringify(raw, null, 2))
  const map = validateDataMap(JSON.parse(JSON.stringify(raw)), configPath)
  const clients = new AzureClients(map, {retry: {maxTries: 3, retryDelayInMs: 50, maxRetryDelayInMs: 500}})
  return {
    dir,
    configPath,
    map,
    raw,
    clients,
    docs: docsPrefix,
    shared,
    backups,
    audit,
    service: (account) => BlobServiceClient.fromConnectionString(azurite.connectionString(account)),
  }
}

/** Uploads `count` small blobs per customer to each store (and two snapshots per customer per store). */
export async function seed(pg: ErasePlayground, customers: readonly string[] = CUSTOMERS, count = 6): Promise<void> {
  const prod = pg.service('contosoprod')
  const backup = pg.service('contosobackup')
  await prod.getContainerClient(pg.shared).createIfNotExists()
  await backup.getContainerClient(pg.backups).createIfNotExists()
  for (const customer of customers) {
    const docs = prod.getContainerClient(`${pg.docs}-${customer}`)
    await docs.createIfNotExists()
    await uploadMany(
      docs,
      Array.from({length: count}, (_, i) => `reports/${i}.txt`),
      customer,
    )
    await uploadMany(
      prod.getContainerClient(pg.shared),
      Array.from({length: count}, (_, i) => `${customer}/files/${i}.bin`),
      customer,
    )
    await uploadMany(
      backup.getContainerClient(pg.backups),
      Array.from({length: count}, (_, i) => `${customer}/2026-11-${String(i + 1).padStart(2, '0')}/db.bak`),
      customer,
    )
    await docs.getBlockBlobClient('reports/0.txt').createSnapshot()
    await prod.getContainerClient(pg.shared).getBlockBlobClient(`${customer}/files/0.bin`).createSnapshot()
  }
}

export async function uploadMany(
  container: ContainerClient,
  names: string[],
  content: string,
  parallel = 32,
): Promise<void> {
  for (let i = 0; i < names.length; i += parallel) {
    await Promise.all(
      names
        .slice(i, i + parallel)
        .map((name) =>
          container.getBlockBlobClient(name).upload(`${content}:${name}`, Buffer.byteLength(`${content}:${name}`)),
        ),
    )
  }
}

/** Every blob and snapshot of the given containers with the SHA-256 of its bytes. */
export async function snapshotContainers(
  service: BlobServiceClient,
  containers: string[],
): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  for (const name of containers) {
    const container = service.getContainerClient(name)
    if (!(await container.exists())) continue
    for await (const item of container.listBlobsFlat({includeSnapshots: true})) {
      const blob = item.snapshot
        ? container.getBlobClient(item.name).withSnapshot(item.snapshot)
        : container.getBlobClient(item.name)
      const bytes = await blob.downloadToBuffer()
      out.set(
        `${name}/${item.name}${item.snapshot ? `@${item.snapshot}` : ''}`,
        createHash('sha256').update(bytes).digest('hex'),
      )
    }
  }

  return out
}

export async function countBlobs(service: BlobServiceClient, container: string, prefix?: string): Promise<number> {
  const c = service.getContainerClient(container)
  if (!(await c.exists())) return 0
  let n = 0
  for await (const _ of c.listBlobsFlat({prefix, includeSnapshots: true})) n++
  return n
}

/** Everything acme has across the playground (blobs and snapshots). */
export async function countCustomer(pg: ErasePlayground, customer: string): Promise<number> {
  return (
    (await countBlobs(pg.service('contosoprod'), `${pg.docs}-${customer}`)) +
    (await countBlobs(pg.service('contosoprod'), pg.shared, `${customer}/`)) +
    (await countBlobs(pg.service('contosobackup'), pg.backups, `${customer}/`))
  )
}

/** All containers other customers' data lives in (for before/after comparisons). */
export function othersContainers(
  pg: ErasePlayground,
  customers: readonly string[],
): {prod: string[]; backup: string[]} {
  return {prod: [pg.shared, ...customers.map((c) => `${pg.docs}-${c}`)], backup: [pg.backups]}
}

/** Removes the entries of one customer from a container snapshot. */
export function withoutCustomer(
  snapshot: Map<string, string>,
  pg: ErasePlayground,
  customer: string,
): Map<string, string> {
  return new Map(
    [...snapshot].filter(
      ([key]) =>
        !key.startsWith(`${pg.docs}-${customer}/`) &&
        !key.startsWith(`${pg.shared}/${customer}/`) &&
        !key.startsWith(`${pg.backups}/${customer}/`),
    ),
  )
}

// --------------------------------------------------------------------------------------- CLI

/** Starts `node bin/run.js <args>` with the given extra environment. */
export function startCli(args: string[], env: Record<string, string> = {}, cwd?: string): CliProcess {
  return startProcess(args, {env, cwd})
}

/**
 * Starts `custos <args>` through test/support/erase-cli.js, which pauses the erase (holding its
 * lock) once `afterBatches` batches are journaled and prints "paused after" on stderr.
 */
export function startPausedErase(args: string[], afterBatches: number): CliProcess {
  return startProcess(args, {entry: ERASE_TEST_CLI, env: {CUSTOS_TEST_PAUSE_AFTER_BATCHES: String(afterBatches)}})
}

export function runCli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return startCli(args, env).done
}
