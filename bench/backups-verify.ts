/**
 * Benchmark of `backups verify` (not a test): seeds a private Azurite with C customers × 30 daily
 * backups in one shared container, then measures the single listing pass (names/s, listing passes,
 * peak live heap after GC, heap retained with the result) at C and C/4 customers, against a bare
 * SDK listing of the same container, and the end-to-end download throughput of `--restore-sample`.
 * The peak is one List Blobs page (5000 names) in hand; what stays is one small report per customer.
 *
 *   node --expose-gc --import tsx bench/backups-verify.ts [customers=400] [restoreMiB=8]
 */
import {createHash, randomBytes} from 'node:crypto'

import {AzureClients} from '../src/lib/azure/clients.js'
import {verifyBackups} from '../src/lib/backups/verify.js'
import {validateDataMap} from '../src/lib/datamap/load.js'
import {startAzurite} from '../src/lib/local/azurite.js'

const customers = Number(process.argv[2] ?? 400)
const restoreMiB = Number(process.argv[3] ?? 8)
const DAY = 86_400_000

const azurite = await startAzurite({accounts: [{name: 'contosobackup', key: randomBytes(64).toString('base64')}]})
try {
  const conn = azurite.connectionString('contosobackup')
  const mapFor = (container: string, known?: string[]) =>
    validateDataMap(
      {
        customers: known ? {known} : {},
        stores: [{name: 'documents', account: conn, container: 'tenant-{customer}'}],
        backups: [
          {
            name: 'nightly-db',
            account: conn,
            container,
            prefix: '{customer}/',
            dateFrom: '{customer}/{yyyy}-{MM}-{dd}/',
            expect: {every: '24h', maxAge: '26h', keepDays: 30},
          },
        ],
        azure: {credential: 'local'},
      },
      '/tmp/custos-bench/custos.yaml',
    )
  const clients = new AzureClients(mapFor('backups'))
  const service = clients.blobService(conn)

  const seed = async (container: string, count: number) => {
    const c = service.getContainerClient(container)
    await c.createIfNotExists()
    const names: string[] = []
    for (let i = 0; i < count; i++)
      for (let d = 0; d < 30; d++)
        names.push(
          `customer-${String(i).padStart(5, '0')}/${new Date(Date.now() - d * DAY).toISOString().slice(0, 10)}/db.bak`,
        )
    const started = performance.now()
    let next = 0
    await Promise.all(
      Array.from({length: 64}, async () => {
        while (next < names.length) {
          const name = names[next++]
          const body = Buffer.from(name)
          await c
            .getBlockBlobClient(name)
            .uploadData(body, {blobHTTPHeaders: {blobContentMD5: createHash('md5').update(body).digest()}})
        }
      }),
    )
    return {blobs: names.length, seconds: (performance.now() - started) / 1000}
  }

  const measure = async (container: string, options: Parameters<typeof verifyBackups>[2] = {}) => {
    const map = mapFor(container)
    // Live heap: sampled after a forced GC (run with --expose-gc), so garbage does not count.
    const live = () => {
      globalThis.gc?.()
      return process.memoryUsage().heapUsed
    }

    const base = live()
    let peak = base
    const timer = setInterval(() => (peak = Math.max(peak, live())), 250)
    const started = performance.now()
    const result = await verifyBackups(new AzureClients(map), map, options)
    const seconds = (performance.now() - started) / 1000
    clearInterval(timer)
    const retained = live()
    peak = Math.max(peak, retained)
    return {result, seconds, peakGrowthMiB: (peak - base) / 1024 / 1024, retainedKiB: (retained - base) / 1024}
  }

  const small = Math.max(1, Math.floor(customers / 4))
  const seeded = {large: await seed('backups-large', customers), small: await seed('backups-small', small)}
  console.log(
    `seeded ${seeded.large.blobs} + ${seeded.small.blobs} backups in ${(seeded.large.seconds + seeded.small.seconds).toFixed(1)} s`,
  )

  for (const [label, container, count] of [
    ['small', 'backups-small', small],
    ['large', 'backups-large', customers],
  ] as const) {
    await measure(container) // warm-up (JIT, connections)
    const bare = performance.now()
    let names = 0
    for await (const page of service
      .getContainerClient(container)
      .listBlobsFlat({includeMetadata: true})
      .byPage({maxPageSize: 5000}))
      names += page.segment.blobItems.length
    const bareSeconds = (performance.now() - bare) / 1000
    console.log(
      `${label}: bare SDK listing of ${names} names: ${bareSeconds.toFixed(2)} s = ${Math.round(names / bareSeconds)} names/s`,
    )
    const m = await measure(container)
    const s = m.result.sets[0]
    console.log(
      `${label}: ${count} customers, ${s.listed} names, ${s.listings} listing pass, ${m.seconds.toFixed(2)} s = ${Math.round(s.listed / m.seconds)} names/s, ` +
        `${Math.round(count / m.seconds)} customers/s, peak live heap growth ${m.peakGrowthMiB.toFixed(1)} MiB (the listing page in hand), ` +
        `retained with the result ${Math.max(0, m.retainedKiB / 1024).toFixed(1)} MiB (JSON ${(JSON.stringify(m.result).length / 1024 / count).toFixed(1)} KiB per customer), status ${m.result.status}`,
    )
  }

  // The peak is the listing pages in hand (the current one and the one being fetched), not the customers: a smaller page lowers it.
  const paged = await measure('backups-large', {pageSize: 1000})
  console.log(
    `large, 1000-name pages: ${paged.seconds.toFixed(2)} s = ${Math.round(paged.result.sets[0].listed / paged.seconds)} names/s, peak live heap growth ${paged.peakGrowthMiB.toFixed(1)} MiB`,
  )

  // --restore-sample throughput: 10 backups of restoreMiB each, downloaded and hashed end to end.
  const big = service.getContainerClient('backups-restore')
  await big.createIfNotExists()
  const body = randomBytes(restoreMiB * 1024 * 1024)
  const md5 = createHash('md5').update(body).digest()
  for (let d = 0; d < 10; d++) {
    await big
      .getBlockBlobClient(`acme/${new Date(Date.now() - d * DAY).toISOString().slice(0, 10)}/db.bak`)
      .uploadData(body, {
        blobHTTPHeaders: {blobContentMD5: md5},
        metadata: {sha256: createHash('sha256').update(body).digest('hex')},
      })
  }

  const r = await measure('backups-restore', {customer: 'acme', restoreSample: 10})
  const rs = r.result.restore!
  console.log(
    `restore-sample 10 × ${restoreMiB} MiB: ${(rs.bytes / 1024 / 1024).toFixed(0)} MiB in ${rs.seconds.toFixed(2)} s = ${(rs.bytesPerSecond / 1024 / 1024).toFixed(1)} MiB/s, failures ${rs.failures}, peak live heap growth ${r.peakGrowthMiB.toFixed(1)} MiB`,
  )
} finally {
  await azurite.stop()
}
