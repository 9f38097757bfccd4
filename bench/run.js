#!/usr/bin/env node
// `npm run bench [-- name …]`: runs the benchmarks under bench/ one after another (they share the
// machine's two cores, so never in parallel) and prints what each prints. Benchmarks are not tests.
import {spawnSync} from 'node:child_process'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const all = [
  'export',
  'erase',
  'logs-filter',
  'access-aggregate',
  'backups-verify',
  'posture',
  'incident',
  'postgres',
  'access-review',
]
const chosen = process.argv.slice(2).filter((a) => !a.startsWith('-'))
const unknown = chosen.filter((name) => !all.includes(name))
if (unknown.length > 0) {
  console.error(`Unknown benchmark ${unknown.join(', ')}; choose from: ${all.join(', ')}`)
  process.exit(2) // eslint-disable-line n/no-process-exit -- a script's exit code
}

let failed = 0
for (const name of chosen.length > 0 ? chosen : all) {
  console.log(`\n=== bench/${name}.ts (${new Date().toISOString()})`)
  const result = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', join(here, `${name}.ts`)], {
    stdio: 'inherit',
    cwd: join(here, '..'),
  })
  if (result.status !== 0) failed++
}

process.exit(failed === 0 ? 0 : 1) // eslint-disable-line n/no-process-exit -- a script's exit code
