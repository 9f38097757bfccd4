/**
 * Benchmark: `custos customer export --to DIR` against `azcopy copy --recursive` and (when the
 * Azure CLI is installed) `az storage blob download-batch`, on one Azurite, in one run.
 *
 *   npm run build && npx tsx bench/export.ts [--small N] [--large N] [--large-mib N] [--repeat N] [--giant-mib N] [--cli bin/run.js]
 *
 * Dataset (default): 5,000 blobs of 4 KiB and 4 blobs of 50 MiB in one customer's container.
 * Each tool runs `--repeat` times (default 3, rounds interleaved) into a fresh folder; the best wall
 * time counts, and the highest peak RSS (GNU time's %M) of any run. AzCopy comes from the @azure-tools/azcopy-linux
 * dev dependency (Debian needs libsecret-1-0 for it); `az` from Debian's azure-cli package.
 * Then one blob of --giant-mib (default 2048; 0 skips it) is exported alone: peak RSS ≤ 150 MB.
 * Targets: custos ≤ 1.0× AzCopy's time, ≤ 0.5× az's time, peak RSS ≤ 150 MB.
 */
import {createHash, randomBytes} from 'node:crypto'
import {createReadStream, existsSync} from 'node:fs'
import {mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile} from 'node:fs/promises'
import {cpus, loadavg, tmpdir} from 'node:os'
import {join} from 'node:path'

import {ContainerSASPermissions, SASProtocol, BlobServiceClient} from '@azure/storage-blob'

import {startAzurite} from '../src/lib/local/azurite.js'
import {CLI, azcopyEnv, azcopyPath, cpuOf, hasFlag, numberOption, option, timed, which, type Timed} from './tools.js'

const SMALL = numberOption('small', 5000)
const LARGE = numberOption('large', 4)
const LARGE_MIB = numberOption('large-mib', 50)
const REPEAT = numberOption('repeat', 3)
/** size of the single giant blob whose export must stay under 150 MB peak RSS (0 to skip) */
const GIANT_MIB = numberOption('giant-mib', 2048)
const CONCURRENCY = 16
/** `--node-flags "--max-semi-space-size=4"`: V8 flags for the custos process (experiments) */
const NODE_FLAGS = option('node-flags')?.split(' ').filter(Boolean) ?? []
/** az's own default is 2 parallel connections, which is how operators run it; `--az-connections N` to change */
const AZ_CONNECTIONS = hasFlag('az-connections') ? ['--max-connections', option('az-connections')!] : []
/** `--tools custos,azcopy,az` to run only some */
const TOOLS = option('tools')?.split(',') ?? ['custos', 'azcopy', 'az']

interface Measurement {
  tool: string
  seconds: number
  /** user + system CPU of the tool's process in that run */
  cpuSeconds: number
  peakRssMiB: number
  /** CPU Azurite spent serving that run: when it is close to the wall time, the emulator is the limit */
  azuriteCpuSeconds: number
  files: number
  bytes: number
}

async function tree(dir: string): Promise<{files: number; bytes: number}> {
  let files = 0
  let bytes = 0
  const walk = async (d: string) => {
    for (const e of await readdir(d, {withFileTypes: true})) {
      const full = join(d, e.name)
      if (e.isDirectory()) await walk(full)
      else if (!e.name.startsWith('.') && e.name !== 'manifest.json' && e.name !== 'SHA256SUMS') {
        files++
        bytes += (await stat(full)).size
      }
    }
  }

  await walk(dir)
  return {files, bytes}
}

async function main(): Promise<void> {
  if (!existsSync(join(CLI, '../../dist/commands/customer/export.js'))) throw new Error('Build first: npm run build')
  const work = await mkdtemp(join(tmpdir(), 'custos-bench-'))
  const account = {name: 'benchprod', key: randomBytes(64).toString('base64')}
  await mkdir(join(work, 'azurite'))
  const azurite = await startAzurite({accounts: [account], location: join(work, 'azurite')})
  try {
    const connection = azurite.connectionString('benchprod')
    const service = BlobServiceClient.fromConnectionString(connection)
    const container = service.getContainerClient('tenant-bench')
    await container.create()
    process.stderr.write(`Uploading ${SMALL} × 4 KiB and ${LARGE} × ${LARGE_MIB} MiB to Azurite…\n`)
    let next = 0
    const uploadSmall = async () => {
      for (let i = next++; i < SMALL; i = next++) {
        await container
          .getBlockBlobClient(`small/${String(Math.floor(i / 100)).padStart(3, '0')}/${i}.bin`)
          .uploadData(randomBytes(4096))
      }
    }

    await Promise.all(Array.from({length: 32}, uploadSmall))
    for (let i = 0; i < LARGE; i++) {
      // one Put Blob, so that the service stores a Content-MD5 for it as for the small ones
      await container
        .getBlockBlobClient(`large/${i}.bin`)
        .uploadData(randomBytes(LARGE_MIB * 1024 * 1024), {maxSingleShotSize: 256 * 1024 * 1024})
    }

    const config = join(work, 'custos.json')
    await writeFile(
      config,
      JSON.stringify({
        stores: [{name: 'documents', account: connection, container: 'tenant-{customer}'}],
        audit: {account: connection, container: 'custos-audit'},
      }),
    )

    const tools: Array<{tool: string; run: (dir: string) => Promise<Timed>}> = []
    if (TOOLS.includes('custos'))
      tools.push({
        tool: 'custos export --to',
        run: (dir) =>
          timed(process.execPath, [
            ...NODE_FLAGS,
            CLI,
            'customer',
            'export',
            'bench',
            '--to',
            dir,
            '--config',
            config,
            '--concurrency',
            String(CONCURRENCY),
            '--json',
          ]),
      })
    const azcopy = TOOLS.includes('azcopy') ? azcopyPath() : undefined
    if (azcopy) {
      const sas = await container.generateSasUrl({
        permissions: ContainerSASPermissions.parse('rl'),
        expiresOn: new Date(Date.now() + 6 * 3_600_000),
        protocol: SASProtocol.HttpsAndHttp,
      })
      tools.push({
        tool: 'azcopy copy --recursive',
        run: (dir) =>
          timed(
            azcopy,
            [
              'copy',
              sas,
              dir,
              '--recursive',
              '--from-to',
              'BlobLocal',
              '--log-level',
              'ERROR',
              '--output-level',
              'quiet',
            ],
            {env: azcopyEnv(work)},
          ),
      })
    } else if (TOOLS.includes('azcopy'))
      process.stderr.write('AzCopy not found (npm install the @azure-tools/azcopy-linux dev dependency).\n')
    const az = TOOLS.includes('az') ? which('az') : undefined
    if (az) {
      tools.push({
        tool: 'az storage blob download-batch',
        run: (dir) =>
          timed(
            az,
            [
              'storage',
              'blob',
              'download-batch',
              '--destination',
              dir,
              '--source',
              'tenant-bench',
              '--connection-string',
              connection,
              ...AZ_CONNECTIONS,
              '--only-show-errors',
              '--output',
              'none',
            ],
            {env: {AZURE_CORE_COLLECT_TELEMETRY: 'false'}},
          ),
      })
    } else if (TOOLS.includes('az'))
      process.stderr.write('Azure CLI (az) not installed: apt-get install -y azure-cli.\n')

    // Rounds interleave the tools, so that a busy moment on the machine does not fall on one tool only.
    const best = new Map<string, Measurement>()
    for (let r = 0; r < REPEAT; r++) {
      for (const [i, {tool, run}] of tools.entries()) {
        const dir = join(work, `out-${i}-${r}`)
        process.stderr.write(`${tool} (round ${r + 1}/${REPEAT}, load average ${loadavg()[0].toFixed(1)})…\n`)
        await mkdir(dir) // az wants it to exist; custos and azcopy accept an empty one
        const azuriteBefore = cpuOf(azurite.pid)
        const m = await run(dir)
        const measured: Measurement = {
          tool,
          seconds: m.seconds,
          cpuSeconds: m.cpuSeconds,
          peakRssMiB: m.peakRssMiB,
          azuriteCpuSeconds: cpuOf(azurite.pid) - azuriteBefore,
          ...(await tree(dir)),
        }
        process.stderr.write(
          `  ${m.seconds.toFixed(1)} s wall, ${m.cpuSeconds.toFixed(1)} s CPU, Azurite ${measured.azuriteCpuSeconds.toFixed(1)} s CPU\n`,
        )
        const previous = best.get(tool)
        if (!previous || measured.seconds < previous.seconds)
          best.set(tool, {...measured, peakRssMiB: Math.max(measured.peakRssMiB, previous?.peakRssMiB ?? 0)})
        else previous.peakRssMiB = Math.max(previous.peakRssMiB, measured.peakRssMiB)
        await rm(dir, {recursive: true, force: true})
      }
    }

    const results = [...best.values()]

    const totalMiB = (SMALL * 4096 + LARGE * LARGE_MIB * 1024 * 1024) / 1024 / 1024
    const custos = results.find((r) => r.tool.startsWith('custos')) ?? results[0]
    const ref = (name: string) => results.find((r) => r.tool.startsWith(name))
    console.log(
      `\nDataset: ${SMALL} × 4 KiB + ${LARGE} × ${LARGE_MIB} MiB = ${totalMiB.toFixed(1)} MiB in ${SMALL + LARGE} blobs (Azurite on loopback); best of ${REPEAT} interleaved rounds; custos --concurrency ${CONCURRENCY}; ${cpus().length} CPUs, load average now ${loadavg()[0].toFixed(1)}\n`,
    )
    console.log('| tool | wall time | CPU (user+sys) | Azurite CPU | throughput | peak RSS | files | time vs custos |')
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|')
    for (const r of results) {
      console.log(
        `| ${r.tool} | ${r.seconds.toFixed(1)} s | ${r.cpuSeconds.toFixed(1)} s | ${r.azuriteCpuSeconds.toFixed(1)} s | ${(r.bytes / 1024 / 1024 / r.seconds).toFixed(1)} MiB/s | ${r.peakRssMiB.toFixed(0)} MB | ${r.files} | ${(r.seconds / custos.seconds).toFixed(2)}× |`,
      )
    }

    const azcopyResult = ref('azcopy')
    const azResult = ref('az ')
    console.log('')
    if (azcopyResult)
      console.log(`custos / azcopy time: ${(custos.seconds / azcopyResult.seconds).toFixed(2)} (target ≤ 1.0)`)
    if (azResult) console.log(`custos / az time:     ${(custos.seconds / azResult.seconds).toFixed(2)} (target ≤ 0.5)`)
    console.log(`custos peak RSS:      ${custos.peakRssMiB.toFixed(0)} MB (target ≤ 150 MB)`)
    for (const r of results)
      if (r.files !== SMALL + LARGE) console.log(`WARNING: ${r.tool} wrote ${r.files} files, expected ${SMALL + LARGE}`)
    if (GIANT_MIB > 0) await giant(service, work, azcopy)
  } finally {
    await azurite.stop()
    await rm(work, {recursive: true, force: true})
  }
}

/**
 * One blob of GIANT_MIB (default 2 GiB), uploaded block by block with its Content-MD5, exported by
 * custos (peak RSS must stay ≤ 150 MB) and, for the time, by AzCopy; the exported file is hashed
 * again here and compared with the manifest.
 */
async function giant(service: BlobServiceClient, work: string, azcopy: string | undefined): Promise<void> {
  const container = service.getContainerClient('tenant-giant')
  await container.create()
  const blob = container.getBlockBlobClient('giant.bin')
  process.stderr.write(`Uploading one blob of ${GIANT_MIB} MiB…\n`)
  const md5 = createHash('md5')
  const sha256 = createHash('sha256')
  const ids: string[] = []
  for (let i = 0; i * 8 < GIANT_MIB; i++) {
    const block = randomBytes(Math.min(8, GIANT_MIB - i * 8) * 1024 * 1024)
    md5.update(block)
    sha256.update(block)
    const id = Buffer.from(String(i).padStart(8, '0')).toString('base64')
    await blob.stageBlock(id, block, block.length)
    ids.push(id)
  }

  await blob.commitBlockList(ids, {blobHTTPHeaders: {blobContentMD5: md5.digest()}})
  const expected = sha256.digest('hex')
  const config = join(work, 'custos.json')
  const dir = join(work, 'giant-custos')
  process.stderr.write(`custos export of the ${GIANT_MIB} MiB blob…\n`)
  const m = await timed(process.execPath, [
    ...NODE_FLAGS,
    CLI,
    'customer',
    'export',
    'giant',
    '--to',
    dir,
    '--config',
    config,
    '--concurrency',
    String(CONCURRENCY),
    '--json',
  ])
  const exported = createHash('sha256')
  for await (const chunk of createReadStream(join(dir, 'documents', 'giant.bin'))) exported.update(chunk as Buffer)
  const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as {
    body: {objects: Array<{sha256: string}>}
  }
  const same = exported.digest('hex') === expected && manifest.body.objects[0].sha256 === expected
  await rm(dir, {recursive: true, force: true})
  let azcopySeconds: number | undefined
  if (azcopy) {
    const sas = await container.generateSasUrl({
      permissions: ContainerSASPermissions.parse('rl'),
      expiresOn: new Date(Date.now() + 3_600_000),
      protocol: SASProtocol.HttpsAndHttp,
    })
    const out = join(work, 'giant-azcopy')
    await mkdir(out)
    process.stderr.write('azcopy copy of the same blob…\n')
    azcopySeconds = (
      await timed(
        azcopy,
        ['copy', sas, out, '--recursive', '--from-to', 'BlobLocal', '--log-level', 'ERROR', '--output-level', 'quiet'],
        {env: azcopyEnv(work)},
      )
    ).seconds
    await rm(out, {recursive: true, force: true})
  }

  console.log(
    `\nOne blob of ${GIANT_MIB} MiB: custos ${m.seconds.toFixed(1)} s, peak RSS ${m.peakRssMiB.toFixed(0)} MB (target ≤ 150 MB)${azcopySeconds ? `; azcopy ${azcopySeconds.toFixed(1)} s (custos ÷ azcopy ${(m.seconds / azcopySeconds).toFixed(2)})` : ''}; exported file and manifest SHA-256 ${same ? 'match the uploaded bytes' : 'DO NOT MATCH the uploaded bytes'}`,
  )
  if (!same) process.exitCode = 1
}

await main()
