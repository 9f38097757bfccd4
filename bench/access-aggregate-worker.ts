/**
 * The custos side of bench/access-aggregate.ts: what `access report` does with every archived
 * record — the archive's record parser (src/lib/logs/records.ts), the access normaliser and the
 * per-principal aggregator with its findings (src/lib/access/) — on a local file stream. Compiled
 * with tsc and run with plain node by the benchmark, as dist/ is in production. Writes the
 * per-principal result to <output> and prints one JSON line: records, seconds, peak RSS.
 *
 *   node access-aggregate-worker.js <input> <output> <since ISO> <until ISO>
 */
import {createReadStream, writeFileSync} from 'node:fs'

import {AccessAggregator} from '../src/lib/access/aggregate.js'
import {consumeRecords} from '../src/lib/access/consume.js'
import {WorkingHours} from '../src/lib/access/hours.js'
import {fromArchivedRecord} from '../src/lib/access/normalize.js'
import {parseRecordStream} from '../src/lib/logs/records.js'

async function main(): Promise<void> {
  const [input, output, since, until] = process.argv.slice(2)
  const started = process.hrtime.bigint()
  const aggregator = new AccessAggregator({
    sinceInMs: Date.parse(since),
    untilInMs: Date.parse(until),
    lookbackInMs: 0,
    allowedCountries: ['DE'],
    burstFailures: 5,
    burstWindowInMs: 600_000,
    hours: new WorkingHours({timeZone: 'Europe/Berlin', workingHours: '07:00-19:00', workingDays: [1, 2, 3, 4, 5]}),
  })
  const counts = await consumeRecords(
    parseRecordStream(createReadStream(input, {highWaterMark: 1 << 20}), {source: input}),
    aggregator,
    {
      recordOf: (r) => r.record,
      toEvent: fromArchivedRecord,
    },
  )
  const principals = aggregator.principalSummaries()
  const findings = aggregator.findings()
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  writeFileSync(output, JSON.stringify({principals, findings: findings.length, daily: aggregator.dailyCounts()}))
  process.stdout.write(
    `${JSON.stringify({records: counts.records, inRange: counts.inRange, principals: principals.length, findings: findings.length, seconds, maxRssBytes: process.resourceUsage().maxRSS * 1024})}\n`,
  )
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) await main()
