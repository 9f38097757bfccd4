/**
 * Benchmark: custos's log filter against jq on 1 GB of archived sign-in records.
 *
 *   node --import tsx bench/logs-filter.ts [--size-mb 1024] [--file /tmp/custos-bench/signins.jsonl] [--redact]
 *
 * Builds (once, then reuses) a JSON-lines file in the archive's format from the real sign-in
 * records in ../shared/azure-contracts/logs/sekoia-azure-ad/ (ids and times varied), one record in
 * 8 with `properties.customerId == "acme"` (the others belong to acme-corp, globex, …: a prefix
 * neighbour included). Then, in the same run:
 *
 *   jq -c 'select(.properties.customerId=="acme")' file > out-jq.jsonl
 *   custos: bench/logs-filter-worker.ts — the library's record parser (records.ts: byte
 *           prefilter + JSON.parse), record time and customer selector (select.ts) on a local
 *           file stream, compiled with tsc (as dist/ is) and run with plain node in a child
 *           process (wall time and peak RSS of the whole process, start-up included), writing
 *           the kept lines to a file.
 *
 * Prints both wall times, the ratio (target ≤ 0.15) and custos's peak RSS (target ≤ 200 MB), and
 * checks that both kept the same records. `--redact` also runs the bundle's redaction on every
 * kept record (the second pass of `logs bundle`).
 */
import {execFileSync, spawn} from 'node:child_process'
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  statSync,
  writeFileSync,
  type WriteStream,
} from 'node:fs'
import {once} from 'node:events'
import {createHash} from 'node:crypto'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'

import {BENCH_CUSTOMERS} from './logs-filter-worker.js'

const HERE = dirname(fileURLToPath(import.meta.url))
const SAMPLES = join(HERE, '../../shared/azure-contracts/logs/sekoia-azure-ad/')
const OWNERS = BENCH_CUSTOMERS
const ROOT = join(HERE, '..')

const {values} = parseArgs({
  options: {
    'size-mb': {type: 'string', default: '1024'},
    file: {type: 'string', default: '/tmp/custos-bench/signins-archive.jsonl'},
    redact: {type: 'boolean', default: false},
  },
})

async function write(stream: WriteStream, text: string): Promise<void> {
  if (!stream.write(text)) await once(stream, 'drain')
}

/** Writes `sizeBytes` of JSON lines built from the real sign-in records. */
async function generate(file: string, sizeBytes: number): Promise<void> {
  mkdirSync(dirname(file), {recursive: true})
  const samples = readdirSync(SAMPLES)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map(
      (f) =>
        JSON.parse(
          (JSON.parse(readFileSync(SAMPLES + f, 'utf8')) as {input: {message: string}}).input.message,
        ) as Record<string, any>,
    )
  const out = createWriteStream(`${file}.partial`, {highWaterMark: 1 << 20})
  let bytes = 0
  let i = 0
  const start = Date.UTC(2026, 10, 1)
  while (bytes < sizeBytes) {
    const r = structuredClone(samples[i % samples.length])
    const time = new Date(start + i * 997)
    r.time = time.toISOString().replace(/\.(\d{3})Z$/, '.$10000Z')
    r.properties.id = createHash('md5').update(String(i)).digest('hex')
    r.properties.createdDateTime = time.toISOString().replace('Z', '+00:00')
    r.properties.customerId = OWNERS[i % OWNERS.length]
    const line = `${JSON.stringify(r)}\n`
    bytes += Buffer.byteLength(line)
    await write(out, line)
    i++
  }

  out.end()
  await once(out, 'finish')
  renameSync(`${file}.partial`, file)
}

/** Compiles the worker and the library modules it imports (tsc, the project's settings) into `dir`. */
function compileWorker(dir: string): string {
  execFileSync(
    process.execPath,
    [
      join(ROOT, 'node_modules/typescript/bin/tsc'),
      '--outDir',
      dir,
      '--rootDir',
      ROOT,
      '--module',
      'NodeNext',
      '--moduleResolution',
      'NodeNext',
      '--target',
      'ES2022',
      '--strict',
      '--skipLibCheck',
      '--types',
      'node',
      join(HERE, 'logs-filter-worker.ts'),
    ],
    {stdio: 'inherit'},
  )
  writeFileSync(join(dir, 'package.json'), '{"type": "module"}\n')
  return join(dir, 'bench/logs-filter-worker.js')
}

function run(command: string, args: string[], stdoutFile?: string): Promise<{seconds: number; stdout: string}> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint()
    const child = spawn(command, args, {stdio: ['ignore', stdoutFile ? 'pipe' : 'pipe', 'inherit']})
    let stdout = ''
    if (stdoutFile) child.stdout!.pipe(createWriteStream(stdoutFile, {highWaterMark: 1 << 20}))
    else child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()))
    child.on('error', reject)
    child.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9
      if (code !== 0) reject(new Error(`${command} exited with ${code}`))
      else resolve({seconds, stdout})
    })
  })
}

/** The `properties.id` of every kept record (the first "id" key of a sign-in line), sorted. */
function keptIds(file: string): string[] {
  const ids: string[] = []
  for (const m of readFileSync(file, 'utf8').matchAll(/"id":"([0-9a-f]{32})"/g)) ids.push(m[1])
  return ids.sort()
}

async function main(): Promise<void> {
  const file = values.file!
  const size = Number(values['size-mb']) * 1024 * 1024
  if (!existsSync(file) || statSync(file).size < size) {
    process.stderr.write(`Generating ${values['size-mb']} MiB of archived sign-in records in ${file}…\n`)
    await generate(file, size)
  }

  const bytes = statSync(file).size
  // Warm the page cache so that neither side pays for the first read from disk.
  for await (const _ of createReadStream(file, {highWaterMark: 8 << 20})) void _
  const jqOut = `${file}.jq.out`
  const custosOut = `${file}.custos.out`
  const worker = compileWorker(join(dirname(file), 'build'))
  const jq = await run('jq', ['-c', 'select(.properties.customerId=="acme")', file], jqOut)
  const custos = await run(process.execPath, [worker, file, custosOut, ...(values.redact ? ['--redact'] : [])])
  const report = JSON.parse(custos.stdout) as {
    kept: number
    seconds: number
    maxRssBytes: number
    stats: Record<string, number>
  }
  const jqIds = keptIds(jqOut)
  const custosIds = keptIds(custosOut)
  const same =
    jqIds.length === custosIds.length && jqIds.every((id, i) => id === custosIds[i]) && custosIds.length === report.kept
  const jqKept = jqIds.length
  const ratio = custos.seconds / jq.seconds
  const mb = (n: number) => (n / 1024 / 1024).toFixed(0)
  process.stdout.write(
    [
      `input: ${mb(bytes)} MiB, ${report.stats.lines} records, 1 in ${OWNERS.length} for acme`,
      `jq 'select(.properties.customerId=="acme")': ${jq.seconds.toFixed(2)} s, kept ${jqKept}`,
      `custos filter${values.redact ? ' + redaction' : ''}: ${custos.seconds.toFixed(2)} s wall (filter loop ${report.seconds.toFixed(2)} s, ${(bytes / 1024 / 1024 / report.seconds).toFixed(0)} MiB/s), kept ${report.kept}, parsed ${report.stats.parsed}, skipped ${report.stats.skipped}, peak RSS ${mb(report.maxRssBytes)} MB`,
      `ratio custos/jq: ${ratio.toFixed(3)} (target <= 0.15) ${ratio <= 0.15 ? 'OK' : 'MISSED'}; peak RSS ${report.maxRssBytes <= 200 * 1024 * 1024 ? 'OK' : 'MISSED'} (target <= 200 MB)`,
      `same records kept (by properties.id): ${same ? 'yes' : 'NO'}`,
      '',
    ].join('\n'),
  )
  if (!same) process.exitCode = 1
}

await main()
