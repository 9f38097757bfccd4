/**
 * A data map and blobs for the export tests, on the shared Azurite: both store layouts
 * (container per customer, prefix in a shared container), customers `acme` and `acme-corp` whose
 * names share a prefix, and blob names that are awkward everywhere (spaces, unicode, `%`, `#`, `?`,
 * deep paths, long names).
 */
import {createHash} from 'node:crypto'
import {mkdtemp, readdir, readFile, stat} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join, relative, sep} from 'node:path'

import type {ContainerClient} from '@azure/storage-blob'

import {AzureClients} from '../../src/lib/azure/clients.js'
import {validateDataMap} from '../../src/lib/datamap/load.js'
import type {DataMap} from '../../src/lib/datamap/types.js'
import {getTestAzurite, uniqueName} from '../support/env.js'

export interface ExportFixture {
  map: DataMap
  clients: AzureClients
  /** raw data-map object (for writing a custos.json for the CLI) */
  raw: Record<string, unknown>
  tenantTemplate: string
  shared: string
  exportsContainer: string
  auditContainer: string
  container(name: string): ContainerClient
  exportsClient(): ContainerClient
  /** what `acme`'s export must contain: export path → bytes */
  expected: Map<string, Buffer>
}

/** Names that must survive an export unchanged. */
const AWKWARD_NAMES = [
  'plain.txt',
  'with space.txt',
  'ünïcødé/日本語/файл.txt',
  'percent%20and%25.txt',
  'hash#tag.txt',
  'question?mark.txt',
  'deep/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/file.bin',
  `long/${'x'.repeat(200)}/${'y'.repeat(240)}.txt`,
  'emoji 😀/smile.txt',
]

function content(label: string, size: number): Buffer {
  const seed = createHash('sha256').update(label).digest()
  const out = Buffer.alloc(size)
  for (let i = 0; i < size; i++) out[i] = seed[i % 32] ^ (i & 0xff)
  return out
}

export function newTempDir(label: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `custos-${label}-`))
}

/** Builds a data map with fresh containers; `extra` is merged into the raw map. */
export function makeMap(extra: Record<string, unknown> = {}): Omit<ExportFixture, 'expected'> {
  const azurite = getTestAzurite()
  const tenantTemplate = `${uniqueName('tn').slice(0, 20)}-{customer}`
  const shared = uniqueName('shared')
  const exportsContainer = uniqueName('exports')
  const auditContainer = uniqueName('audit')
  const raw: Record<string, unknown> = {
    stores: [
      {name: 'documents', account: azurite.connectionString('contosoprod'), container: tenantTemplate},
      {name: 'attachments', account: azurite.connectionString('contosoprod'), container: shared, prefix: '{customer}/'},
    ],
    exports: {account: azurite.connectionString('contosoexport'), container: exportsContainer, linkExpiry: '2d'},
    audit: {account: azurite.connectionString('contosoaudit'), container: auditContainer},
    ...extra,
  }
  for (const key of Object.keys(raw)) if (raw[key] === undefined) delete raw[key]
  const map = validateDataMap(structuredClone(raw), '/tmp/custos-test/custos.yaml')
  const clients = new AzureClients(map)
  const service = clients.blobService(map.stores[0].account)
  return {
    map,
    clients,
    raw,
    tenantTemplate,
    shared,
    exportsContainer,
    auditContainer,
    container: (name) => service.getContainerClient(name),
    exportsClient: () => clients.blobService(map.exports!.account).getContainerClient(exportsContainer),
  }
}

/** The standard data set: awkward names for acme in both stores, look-alike data for acme-corp and acmex. */
export async function makeFixture(): Promise<ExportFixture> {
  const base = makeMap()
  const expected = new Map<string, Buffer>()
  const put = async (container: string, name: string, data: Buffer, contentType = 'application/octet-stream') => {
    const c = base.container(container)
    await c.createIfNotExists()
    await c.getBlockBlobClient(name).uploadData(data, {blobHTTPHeaders: {blobContentType: contentType}})
  }

  const acmeDocs = base.tenantTemplate.replace('{customer}', 'acme')
  const corpDocs = base.tenantTemplate.replace('{customer}', 'acme-corp')
  for (const [i, name] of AWKWARD_NAMES.entries()) {
    const data = content(`acme/documents/${name}`, 100 + i * 997)
    await put(acmeDocs, name, data, 'text/plain')
    expected.set(`documents/${name}`, data)
    const att = content(`acme/attachments/${name}`, 50 + i * 31)
    await put(base.shared, `acme/${name}`, att)
    expected.set(`attachments/acme/${name}`, att)
  }

  const big = content('acme/big', 3 * 1024 * 1024 + 17) // larger than the archive's prefetch limit
  await put(acmeDocs, 'big/large.bin', big)
  expected.set('documents/big/large.bin', big)
  const empty = Buffer.alloc(0)
  await put(acmeDocs, 'empty.txt', empty)
  expected.set('documents/empty.txt', empty)
  for (const name of ['secret.txt', 'plain.txt', 'with space.txt']) {
    await put(corpDocs, name, Buffer.from(`acme-corp document ${name}`))
    await put(base.shared, `acme-corp/${name}`, Buffer.from(`acme-corp attachment ${name}`))
  }

  await put(base.shared, 'acmex.txt', Buffer.from('not acme'))
  await put(base.shared, 'acme', Buffer.from('a blob named exactly like the prefix, without the slash'))
  return {...base, expected}
}

/** Every file below `dir` (relative, `/`-separated) → bytes, skipping the names in `skip`. */
export async function readTree(dir: string, skip: string[] = []): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>()
  const walk = async (current: string) => {
    for (const entry of await readdir(current, {withFileTypes: true})) {
      const full = join(current, entry.name)
      const rel = relative(dir, full).split(sep).join('/')
      if (skip.includes(rel)) continue
      if (entry.isDirectory()) await walk(full)
      else out.set(rel, await readFile(full))
    }
  }

  await walk(dir)
  return out
}

export async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  )
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex')
}

/** Every audit record of the fixture's audit container. */
export async function auditRecords(
  fixture: Pick<ExportFixture, 'clients' | 'map'>,
): Promise<Array<Record<string, unknown>>> {
  const container = fixture.clients
    .blobService(fixture.map.audit.account)
    .getContainerClient(fixture.map.audit.container)
  if (!(await container.exists())) return []
  const records: Array<Record<string, unknown>> = []
  for await (const item of container.listBlobsFlat({prefix: 'trail/'})) {
    const text = (await container.getBlobClient(item.name).downloadToBuffer()).toString('utf8')
    for (const line of text.split('\n')) if (line.trim()) records.push(JSON.parse(line) as Record<string, unknown>)
  }

  return records
}
