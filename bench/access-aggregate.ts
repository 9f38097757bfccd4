/**
 * Benchmark: the access report's per-principal aggregation against an equivalent streaming jq
 * reduce, on 1.5 million archived sign-in records (about 1 GB of JSON lines).
 *
 *   node --import tsx bench/access-aggregate.ts [--records 1500000] [--principals 500] [--file /tmp/custos-bench/access-signins.jsonl]
 *
 * Builds (once, then reuses) a JSON-lines file of sign-in records in the archive's format
 * (signinlogs-archived-documented.json: camelCase `properties`, string `resultType`, `Level`;
 * about 850 bytes each, 1.2 GB): 500 principals over 30 days, 8 % failures with five error codes,
 * a home IP per principal plus strays, mostly DE. Then, in the same run:
 *
 *   jq -n 'reduce inputs as $r ({}; …)'  per principal: sign-ins, failures by code, IP and country
 *                                        sets, first and last seen
 *   custos: bench/access-aggregate-worker.ts — the archive's record parser, the access normaliser
 *           and the aggregator with its findings (which also does working hours in
 *           Europe/Berlin, days, bursts and countries: more than jq is asked to), compiled with
 *           tsc as dist/ is and run with plain node in a child process (wall time and peak RSS
 *           of the whole process, start-up included).
 *
 * Prints both wall times, the ratio (target ≤ 0.2), custos's peak RSS (target ≤ 200 MB) and
 * whether both computed the same per-principal figures.
 */
import {execFileSync, spawn} from 'node:child_process'
import {once} from 'node:events'
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'

import {seededRandom} from '../src/lib/local/seeded-random.js'

const HERE = dirname(fileURLToPath(import.meta.url))
const ROOT = join(HERE, '..')
const START = Date.UTC(2026, 10, 1)
const DAYS = 30

const {values} = parseArgs({
  options: {
    records: {type: 'string', default: '1500000'},
    principals: {type: 'string', default: '500'},
    /** custos only (while tuning); the comparison needs jq */
    'skip-jq': {type: 'boolean', default: false},
    file: {type: 'string', default: '/tmp/custos-bench/access-signins.jsonl'},
  },
})

/** Deterministic data for a given record count. */
const prng = seededRandom

function uuid(random: () => number): string {
  const hex = () =>
    Math.floor(random() * 2 ** 32)
      .toString(16)
      .padStart(8, '0')
  const h = hex() + hex() + hex() + hex()
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`
}

const TENANT = '6c6f6361-6c00-4000-8000-637573746f73'
const CODES = ['50126', '50053', '50074', '50140', '50057']
const COUNTRIES: Array<[string, string, number]> = [
  ['DE', 'Berlin', 0.95],
  ['AT', 'Vienna', 0.02],
  ['FR', 'Paris', 0.015],
  ['US', 'Seattle', 0.01],
  ['RU', 'Moscow', 0.005],
]

async function generate(file: string, count: number, principals: number): Promise<void> {
  mkdirSync(dirname(file), {recursive: true})
  const random = prng(20_261_101)
  const out = createWriteStream(`${file}.partial`, {highWaterMark: 1 << 20})
  const step = (DAYS * 86_400_000) / count
  let batch = ''
  for (let i = 0; i < count; i++) {
    const user = Math.floor(random() * principals)
    const time = new Date(START + Math.floor(i * step + random() * step))
    const failed = random() < 0.08
    const code = failed ? CODES[Math.floor(random() * CODES.length)] : '0'
    const ip =
      random() < 0.9
        ? `10.${(user >> 8) & 255}.${user & 255}.1`
        : `203.0.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}`
    let pick = random()
    let [country, city] = COUNTRIES[0]
    for (const [c, town, p] of COUNTRIES) {
      if (pick < p) {
        ;[country, city] = [c, town]
        break
      }

      pick -= p
    }

    const iso = time.toISOString()
    const record = {
      time: iso.replace(/Z$/, '0000Z'),
      resourceId: `/tenants/${TENANT}/providers/Microsoft.aadiam`,
      operationName: 'Sign-in activity',
      category: 'SignInLogs',
      tenantId: TENANT,
      resultType: code,
      resultDescription: failed ? 'Invalid username or password.' : '',
      durationMs: 0,
      callerIpAddress: ip,
      correlationId: uuid(random),
      identity: `User ${user}`,
      Level: 4,
      location: country,
      properties: {
        id: uuid(random),
        createdDateTime: iso.replace('Z', '+00:00'),
        userDisplayName: `User ${user}`,
        userPrincipalName: `user${user}@contoso.com`,
        appId: 'c44b4083-3bb0-49c1-b47d-974e53cbdf3c',
        appDisplayName: 'Azure Portal',
        ipAddress: ip,
        status: {errorCode: Number(code)},
        clientAppUsed: 'Browser',
        location: {city, state: '', countryOrRegion: country},
        isInteractive: true,
      },
    }
    batch += `${JSON.stringify(record)}\n`
    if (batch.length > 1 << 20) {
      if (!out.write(batch)) await once(out, 'drain')
      batch = ''
    }
  }

  out.write(batch)
  out.end()
  await once(out, 'finish')
  renameSync(`${file}.partial`, file)
}

/** The equivalent aggregation in jq, streaming (`inputs`), one object per principal. */
export const JQ_PROGRAM = `reduce inputs as $r ({};
  ($r.properties.userPrincipalName | ascii_downcase) as $p
  | .[$p] |= ((. // {signIns: 0, failures: 0, failuresByCode: {}, ips: {}, countries: {}, first: $r.time, last: $r.time})
    | .signIns += 1
    | if $r.resultType != "0" then (.failures += 1 | .failuresByCode[$r.resultType] += 1) else . end
    | .ips[$r.properties.ipAddress] = true
    | (if ($r.properties.location.countryOrRegion // "") != "" then .countries[$r.properties.location.countryOrRegion] = true else . end)
    | (if $r.time < .first then .first = $r.time else . end)
    | (if $r.time > .last then .last = $r.time else . end)))
| map_values(.ips |= keys | .countries |= keys)`

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
      join(HERE, 'access-aggregate-worker.ts'),
    ],
    {stdio: 'inherit'},
  )
  writeFileSync(join(dir, 'package.json'), '{"type": "module"}\n')
  return join(dir, 'bench/access-aggregate-worker.js')
}

function run(
  command: string,
  args: string[],
  stdoutFile?: string,
): Promise<{seconds: number; stdout: string; stderr: string}> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint()
    const child = spawn(command, args, {stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    if (stdoutFile) child.stdout.pipe(createWriteStream(stdoutFile))
    else child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    child.on('error', reject)
    child.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9
      if (code !== 0) reject(new Error(`${command} exited with ${code}: ${stderr}`))
      else resolve({seconds, stdout, stderr})
    })
  })
}

interface Figures {
  signIns: number
  failures: number
  failuresByCode: Record<string, number>
  ips: string[]
  countries: string[]
  first: string
  last: string
}

async function main(): Promise<void> {
  const file = values.file!
  const count = Number(values.records)
  const principals = Number(values.principals)
  const stamp = `${count} ${principals}`
  if (!existsSync(file) || !existsSync(`${file}.count`) || readFileSync(`${file}.count`, 'utf8') !== stamp) {
    process.stderr.write(`Generating ${count} archived sign-in records of ${principals} principals in ${file}…\n`)
    await generate(file, count, principals)
    writeFileSync(`${file}.count`, stamp)
  }

  const bytes = statSync(file).size
  // warm the page cache so that neither side pays for the first read from disk
  for await (const _ of createReadStream(file, {highWaterMark: 8 << 20})) void _
  const worker = compileWorker(join(dirname(file), 'build-access'))
  const since = new Date(START).toISOString()
  const until = new Date(START + (DAYS + 1) * 86_400_000).toISOString()

  const custosOut = `${file}.custos.json`
  if (values['skip-jq']) {
    const alone = await run(process.execPath, [worker, file, custosOut, since, until])
    process.stdout.write(`custos alone: ${alone.seconds.toFixed(2)} s wall; ${alone.stdout}`)
    return
  }

  const jqOut = `${file}.jq.json`
  const hasTime = existsSync('/usr/bin/time')
  const jq = hasTime
    ? await run('/usr/bin/time', ['-f', 'maxrss_kb=%M', 'jq', '-n', '-c', JQ_PROGRAM, file], jqOut)
    : await run('jq', ['-n', '-c', JQ_PROGRAM, file], jqOut)
  const jqRss = Number(/maxrss_kb=(\d+)/.exec(jq.stderr)?.[1] ?? 0) * 1024
  const custos = await run(process.execPath, [worker, file, custosOut, since, until])
  const report = JSON.parse(custos.stdout) as {
    records: number
    inRange: number
    principals: number
    findings: number
    seconds: number
    maxRssBytes: number
  }

  const fromJq = JSON.parse(readFileSync(jqOut, 'utf8')) as Record<string, Figures>
  const fromCustos = (
    JSON.parse(readFileSync(custosOut, 'utf8')) as {
      principals: Array<{
        principal: string
        signIns: number
        failures: number
        failuresByCode: Record<string, number>
        ips: string[]
        countries: string[]
        firstSeen: string
        lastSeen: string
      }>
    }
  ).principals
  const mismatches: string[] = []
  if (Object.keys(fromJq).length !== fromCustos.length)
    mismatches.push(`principals: jq ${Object.keys(fromJq).length}, custos ${fromCustos.length}`)
  for (const p of fromCustos) {
    const j = fromJq[p.principal]
    const same =
      j &&
      j.signIns === p.signIns &&
      j.failures === p.failures &&
      JSON.stringify(Object.entries(j.failuresByCode).sort()) ===
        JSON.stringify(Object.entries(p.failuresByCode).sort()) &&
      JSON.stringify([...j.ips].sort()) === JSON.stringify(p.ips) &&
      JSON.stringify([...j.countries].sort()) === JSON.stringify(p.countries) &&
      new Date(j.first).toISOString() === p.firstSeen &&
      new Date(j.last).toISOString() === p.lastSeen
    if (!same && mismatches.length < 5) mismatches.push(p.principal)
  }

  const ratio = custos.seconds / jq.seconds
  const mb = (n: number) => (n / 1024 / 1024).toFixed(0)
  process.stdout.write(
    [
      `input: ${mb(bytes)} MiB, ${report.records} sign-in records, ${report.principals} principals`,
      `jq -n 'reduce inputs as $r (…)': ${jq.seconds.toFixed(2)} s${jqRss ? `, peak RSS ${mb(jqRss)} MB` : ''}`,
      `custos access aggregation: ${custos.seconds.toFixed(2)} s wall (aggregation ${report.seconds.toFixed(2)} s, ${(bytes / 1024 / 1024 / report.seconds).toFixed(0)} MiB/s, ${Math.round(report.records / report.seconds).toLocaleString('en-US')} records/s), ${report.findings} findings, peak RSS ${mb(report.maxRssBytes)} MB`,
      `ratio custos/jq: ${ratio.toFixed(3)} (target <= 0.2) ${ratio <= 0.2 ? 'OK' : 'MISSED'}; peak RSS ${report.maxRssBytes <= 200 * 1024 * 1024 ? 'OK' : 'MISSED'} (target <= 200 MB)`,
      `same per-principal figures as jq: ${mismatches.length === 0 ? 'yes' : `NO (${mismatches.join(', ')})`}`,
      '',
    ].join('\n'),
  )
  if (mismatches.length > 0) process.exitCode = 1
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) await main()
