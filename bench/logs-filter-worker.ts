/**
 * The custos side of bench/logs-filter.ts: what `logs bundle` does to each archive blob — the
 * record parser with its byte prefilter (records.ts), the record's own time, the customer selector
 * (select.ts) and optionally the redaction of kept records (redact.ts) — on a local file stream,
 * writing the kept lines to a file. Compiled with tsc and run with plain node by the benchmark,
 * as dist/ is in production. Prints one JSON line: kept, seconds, stats, peak RSS.
 *
 *   node logs-filter-worker.js <input> <output> [--redact]
 */
import {once} from 'node:events'
import {createReadStream, createWriteStream, type WriteStream} from 'node:fs'

import type {DataMap} from '../src/lib/datamap/types.js'
import {recordTime} from '../src/lib/logs/fields.js'
import {newRecordStreamStats, parseRecordStream} from '../src/lib/logs/records.js'
import {BundleRedactor} from '../src/lib/logs/redact.js'
import {customerSelector} from '../src/lib/logs/select.js'

export const BENCH_CUSTOMERS = ['acme', 'acme-corp', 'globex', 'initech', 'umbrella', 'hooli', 'stark', 'wayne']

/** The data map of the benchmark, complete (as validateDataMap would leave it). */
export function benchMap(): DataMap {
  return {
    residency: {allowedRegions: ['germanywestcentral'], allowedCountries: ['DE']},
    customers: {idPattern: '^[a-z0-9][a-z0-9-]{1,55}$', known: BENCH_CUSTOMERS},
    stores: [
      {name: 'documents', account: 'https://contosoprod.blob.core.windows.net', container: 'tenant-{customer}'},
      {
        name: 'attachments',
        account: 'https://contosoprod.blob.core.windows.net',
        container: 'attachments',
        prefix: '{customer}/',
      },
    ],
    databases: [],
    backups: [],
    logs: {customerFields: ['properties.customerId', 'properties.tenantId']},
    audit: {
      account: 'https://contosoaudit.blob.core.windows.net',
      container: 'custos-audit',
      lockContainer: 'custos-audit-locks',
    },
    erase: {exportWindow: '30d'},
    access: {timeZone: 'Europe/Berlin', workingHours: '07:00-19:00', workingDays: [1, 2, 3, 4, 5]},
    incident: {timeZone: 'Europe/Berlin', warnWithin: '12h'},
    azure: {credential: 'default'},
    source: '/bench/custos.yaml',
  }
}

async function write(stream: WriteStream, text: string): Promise<void> {
  if (!stream.write(text)) await once(stream, 'drain')
}

async function main(): Promise<void> {
  const [input, output, flag] = process.argv.slice(2)
  const selector = customerSelector(benchMap(), 'acme')
  const redactor = flag === '--redact' ? new BundleRedactor('acme', BENCH_CUSTOMERS) : undefined
  const since = Date.UTC(2000, 0, 1)
  const until = Date.UTC(2100, 0, 1)
  const stats = newRecordStreamStats()
  const out = createWriteStream(output, {highWaterMark: 1 << 20})
  let kept = 0
  const started = process.hrtime.bigint()
  const records = parseRecordStream(createReadStream(input, {highWaterMark: 1 << 20}), {
    source: input,
    needles: selector.needles,
    anchors: selector.anchors,
    stats,
  })
  for await (const {record, raw} of records) {
    const time = recordTime(record)
    if (time === undefined || time < since || time >= until) continue
    if (!selector.match(record)) continue
    kept++
    await write(out, `${redactor ? redactor.redactRecordText(raw) : raw}\n`)
  }

  out.end()
  await once(out, 'finish')
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  process.stdout.write(
    `${JSON.stringify({kept, seconds, stats, redactions: redactor?.counts, maxRssBytes: process.resourceUsage().maxRSS * 1024})}\n`,
  )
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) await main()
