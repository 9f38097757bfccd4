/**
 * Benchmark: `custos customer erase` against `azcopy remove --recursive` and (when the Azure CLI is
 * installed) `az storage blob delete-batch`, on one Azurite, in one run.
 *
 *   npm run build && npx tsx bench/erase.ts [--blobs N] [--others N] [--large N] [--skip-large] [--cli bin/run.js]
 *
 * Dataset (default): 5,000 blobs of 1 KiB under one customer's prefix (`bench/`) in a container
 * shared with other customers, who hold 1,000 more blobs there. Before each tool runs, the
 * customer's blobs are uploaded again; after it, the benchmark checks they are all gone and every
 * other customer's blob is still there. A counting HTTP proxy in front of Azurite counts the
 * requests each tool sends to the data account (custos's audit trail and lock live in a second
 * account, counted separately). Peak RSS (GNU time's %M) of custos is measured again with --large
 * (default 50,000) blobs.
 * Targets: ≤ 10 requests to storage per 1,000 blobs deleted; peak RSS at 50,000 ≤ 1.2× at 5,000.
 * Expect the 50,000-blob part to take one to three hours: Azurite rebuilds its blob index after every
 * delete, so its cost per delete grows with the number of blobs in the account (--skip-large skips it).
 */
import {randomBytes} from 'node:crypto'
import {existsSync} from 'node:fs'
import {mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises'
import {createServer, request, Agent, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {BlobServiceClient, ContainerSASPermissions, SASProtocol, type ContainerClient} from '@azure/storage-blob'

import {startAzurite} from '../src/lib/local/azurite.js'
import {CLI, azcopyEnv, azcopyPath, cpuOf, hasFlag, numberOption, option, timed, which} from './tools.js'

const BLOBS = numberOption('blobs', 5000)
const OTHERS = numberOption('others', 1000)
const LARGE = numberOption('large', 50_000)
const SKIP_LARGE = hasFlag('skip-large')
/** which tools run on the 5,000-blob dataset: `--tools custos` for the memory check alone */
const TOOLS = option('tools')?.split(',') ?? ['custos', 'azcopy', 'az']
const CONCURRENCY = 16
const CONTAINER = 'attachments'

interface Measurement {
  tool: string
  blobs: number
  seconds: number
  peakRssMiB: number
  /** requests the proxy saw to the data account */
  requests: number
  /** requests to the audit account (custos's audit trail and lock) */
  auditRequests?: number
  /** CPU Azurite spent serving that run: when it is close to the wall time, the emulator is the limit */
  azuriteCpuSeconds?: number
}

/** A pass-through proxy to Azurite that counts requests per account (first path segment). */
async function countingProxy(
  target: number,
): Promise<{port: number; counts: Map<string, number>; reset(): void; close(): Promise<void>}> {
  const counts = new Map<string, number>()
  // A fresh upstream connection per request: Azurite closes idle keep-alive sockets, and a request
  // sent on one as it closes would come back as a 502 that the SDK does not retry.
  const agent = new Agent({keepAlive: false, maxSockets: 256})
  const server: Server = createServer((req, res) => {
    const account = (req.url ?? '/').split('/')[1]?.split('?')[0] ?? ''
    counts.set(account, (counts.get(account) ?? 0) + 1)
    const upstream = request(
      {
        host: '127.0.0.1',
        port: target,
        method: req.method,
        path: req.url,
        headers: req.headers,
        agent,
        insecureHTTPParser: true,
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers)
        up.pipe(res)
      },
    )
    // Azurite resets connections under load; hand the reset on, so the client retries as it would without the proxy.
    upstream.on('error', (error) => {
      process.stderr.write(
        `proxy: ${req.method} ${req.url?.slice(0, 80)}: ${String(error)} (passed on to the client)\n`,
      )
      res.destroy(error)
    })
    req.pipe(upstream)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    counts,
    reset: () => counts.clear(),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
        agent.destroy()
      }),
  }
}

async function upload(container: ContainerClient, names: string[]): Promise<void> {
  let next = 0
  const body = randomBytes(1024)
  const worker = async () => {
    for (let i = next++; i < names.length; i = next++) await container.getBlockBlobClient(names[i]).uploadData(body)
  }

  await Promise.all(Array.from({length: 64}, worker))
}

async function count(container: ContainerClient, prefix: string): Promise<number> {
  let n = 0
  for await (const page of container.listBlobsFlat({prefix, includeSnapshots: true}).byPage({maxPageSize: 5000}))
    n += page.segment.blobItems.length
  return n
}

const customerNames = (n: number) =>
  Array.from(
    {length: n},
    (_, i) => `bench/${String(Math.floor(i / 1000)).padStart(3, '0')}/${String(i).padStart(6, '0')}.bin`,
  )

async function main(): Promise<void> {
  if (!existsSync(join(CLI, '../../dist/commands/customer/erase.js'))) throw new Error('Build first: npm run build')
  const work = await mkdtemp(join(tmpdir(), 'custos-bench-erase-'))
  const data = {name: 'benchprod', key: randomBytes(64).toString('base64')}
  const audit = {name: 'benchaudit', key: randomBytes(64).toString('base64')}
  await mkdir(join(work, 'azurite'))
  const azurite = await startAzurite({accounts: [data, audit], location: join(work, 'azurite')})
  const proxy = await countingProxy(azurite.port)
  const via = (account: {name: string; key: string}) =>
    `DefaultEndpointsProtocol=http;AccountName=${account.name};AccountKey=${account.key};BlobEndpoint=http://127.0.0.1:${proxy.port}/${account.name};`
  try {
    const service = BlobServiceClient.fromConnectionString(azurite.connectionString(data.name))
    const container = service.getContainerClient(CONTAINER)
    await container.create()
    process.stderr.write(`Uploading ${OTHERS} blobs of other customers…\n`)
    await upload(
      container,
      Array.from({length: OTHERS}, (_, i) => `bench-corp/${i}.bin`),
    )
    const config = join(work, 'custos.json')
    await writeFile(
      config,
      JSON.stringify({
        stores: [{name: 'attachments', account: via(data), container: CONTAINER, prefix: '{customer}/'}],
        audit: {account: via(audit), container: 'custos-audit'},
      }),
    )

    const runCustos = async (blobs: number, label: string): Promise<Measurement> => {
      const plan = join(work, `plan-${blobs}-${Date.now()}.json`)
      proxy.reset()
      const m = await timed(
        process.execPath,
        [
          CLI,
          'customer',
          'erase',
          'bench',
          '--config',
          config,
          '--plan-out',
          plan,
          '--yes',
          '--no-export-required',
          '--concurrency',
          String(CONCURRENCY),
          '--json',
        ],
        {cwd: work},
      )
      const result = JSON.parse(m.stdout) as {
        exitCode: number
        apply: {stores: Array<{deleted: number; alreadyGone: number}>}
      }
      // A batch sent again after a reset connection finds the deletes Azurite had already done gone (404).
      const {deleted, alreadyGone} = result.apply.stores[0]
      if (result.exitCode !== 0 || deleted + alreadyGone !== blobs)
        throw new Error(`custos erase did not delete ${blobs} blobs: ${m.stdout.slice(0, 2000)}`)
      if (alreadyGone > 0)
        process.stderr.write(
          `custos: ${alreadyGone} of ${blobs} deletes found their blob gone (a batch sent again after a reset connection)\n`,
        )
      return {
        tool: label,
        blobs,
        seconds: m.seconds,
        peakRssMiB: m.peakRssMiB,
        requests: proxy.counts.get(data.name) ?? 0,
        auditRequests: proxy.counts.get(audit.name) ?? 0,
      }
    }

    const tools: Array<{tool: string; run: () => Promise<Measurement>}> = [
      {tool: 'custos customer erase', run: () => runCustos(BLOBS, 'custos customer erase')},
    ]
    const azcopy = TOOLS.includes('azcopy') ? azcopyPath() : undefined
    if (azcopy) {
      const sas = await container.generateSasUrl({
        permissions: ContainerSASPermissions.parse('rdl'),
        expiresOn: new Date(Date.now() + 6 * 3_600_000),
        protocol: SASProtocol.HttpsAndHttp,
      })
      const [base, query] = sas.split('?')
      const viaProxy = base.replace(`:${azurite.port}/`, `:${proxy.port}/`)
      tools.push({
        tool: 'azcopy remove --recursive',
        run: async () => {
          proxy.reset()
          const m = await timed(
            azcopy,
            [
              'remove',
              `${viaProxy}/bench?${query}`,
              '--recursive',
              '--from-to',
              'BlobTrash',
              '--log-level',
              'ERROR',
              '--output-level',
              'quiet',
            ],
            {env: azcopyEnv(work)},
          )
          return {
            tool: 'azcopy remove --recursive',
            blobs: BLOBS,
            seconds: m.seconds,
            peakRssMiB: m.peakRssMiB,
            requests: proxy.counts.get(data.name) ?? 0,
          }
        },
      })
    } else if (TOOLS.includes('azcopy'))
      process.stderr.write(
        'AzCopy not found (the @azure-tools/azcopy-linux dev dependency; Debian needs libsecret-1-0).\n',
      )
    const az = TOOLS.includes('az') ? which('az') : undefined
    if (az) {
      tools.push({
        tool: 'az storage blob delete-batch',
        run: async () => {
          proxy.reset()
          const m = await timed(
            az,
            [
              'storage',
              'blob',
              'delete-batch',
              '--source',
              CONTAINER,
              '--pattern',
              'bench/*',
              '--connection-string',
              via(data),
              '--only-show-errors',
              '--output',
              'none',
            ],
            {env: {AZURE_CORE_COLLECT_TELEMETRY: 'false'}},
          )
          return {
            tool: 'az storage blob delete-batch',
            blobs: BLOBS,
            seconds: m.seconds,
            peakRssMiB: m.peakRssMiB,
            requests: proxy.counts.get(data.name) ?? 0,
          }
        },
      })
    } else if (TOOLS.includes('az'))
      process.stderr.write('Azure CLI (az) not installed: apt-get install -y azure-cli.\n')

    const results: Measurement[] = []
    const check = async (tool: string, blobs: number) => {
      const left = await count(container, 'bench/')
      const others = await count(container, 'bench-corp/')
      if (left !== 0) throw new Error(`${tool} left ${left} of ${blobs} blobs under bench/`)
      if (others !== OTHERS) throw new Error(`${tool} touched other customers' blobs: ${others} of ${OTHERS} left`)
    }

    for (const {tool, run} of tools) {
      process.stderr.write(`Uploading ${BLOBS} × 1 KiB under bench/ …\n`)
      await upload(container, customerNames(BLOBS))
      process.stderr.write(`${tool}…\n`)
      const azuriteBefore = cpuOf(azurite.pid)
      results.push({...(await run()), azuriteCpuSeconds: cpuOf(azurite.pid) - azuriteBefore})
      process.stderr.write(`measured: ${JSON.stringify(results.at(-1))}\n`)
      await check(tool, BLOBS)
    }

    let large: Measurement | undefined
    if (!SKIP_LARGE) {
      process.stderr.write(`Uploading ${LARGE} × 1 KiB under bench/ for the memory check…\n`)
      await upload(container, customerNames(LARGE))
      process.stderr.write(`custos customer erase (${LARGE} blobs)…\n`)
      large = await runCustos(LARGE, `custos customer erase (${LARGE})`)
      process.stderr.write(`measured: ${JSON.stringify(large)}\n`)
      await check('custos (large)', LARGE)
    }

    const custos = results[0]
    console.log(
      `\nDataset: ${BLOBS} × 1 KiB under one customer's prefix in a container shared with ${OTHERS} blobs of others (Azurite on loopback, via a counting proxy); concurrency ${CONCURRENCY}\n`,
    )
    console.log(
      '| tool | blobs | wall time | Azurite CPU | blobs/s | peak RSS | requests to the data account | per 1,000 deleted | time vs custos |',
    )
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|')
    for (const r of [...results, ...(large ? [large] : [])]) {
      console.log(
        `| ${r.tool} | ${r.blobs} | ${r.seconds.toFixed(1)} s | ${r.azuriteCpuSeconds === undefined ? '' : `${r.azuriteCpuSeconds.toFixed(1)} s`} | ${(r.blobs / r.seconds).toFixed(0)} | ${r.peakRssMiB.toFixed(0)} MB | ${r.requests}${r.auditRequests !== undefined ? ` (+${r.auditRequests} audit/lock)` : ''} | ${((r.requests / r.blobs) * 1000).toFixed(1)} | ${(r.seconds / custos.seconds).toFixed(2)}× |`,
      )
    }

    console.log('')
    console.log(
      `custos requests per 1,000 deleted: ${((custos.requests / custos.blobs) * 1000).toFixed(1)} to the data account, ${(((custos.requests + (custos.auditRequests ?? 0)) / custos.blobs) * 1000).toFixed(1)} with the audit trail and lock (target ≤ 10)`,
    )
    // Azurite removes each blob with a LokiJS findAndRemove that rebuilds the blob collection's four
    // indices, whoever asks and however the delete arrives (single request or batch part): the CPU it
    // spent on custos's run is a floor no client can go below on this emulator.
    for (const peer of results.slice(1)) {
      const floor =
        custos.azuriteCpuSeconds === undefined
          ? ''
          : `; Azurite's own CPU for custos's deletes alone is ${(custos.azuriteCpuSeconds / peer.seconds).toFixed(2)}× of it`
      console.log(`custos ÷ ${peer.tool}: ${(custos.seconds / peer.seconds).toFixed(2)}× wall time${floor}`)
    }

    if (large)
      console.log(
        `custos peak RSS ${LARGE} vs ${BLOBS} blobs: ${large.peakRssMiB.toFixed(0)} MB / ${custos.peakRssMiB.toFixed(0)} MB = ${(large.peakRssMiB / custos.peakRssMiB).toFixed(2)}× (target ≤ 1.2×)`,
      )
  } finally {
    await proxy.close()
    await azurite.stop()
    await rm(work, {recursive: true, force: true})
  }
}

await main()
