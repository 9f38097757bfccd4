/**
 * Runs one erase apply in its own process, for the kill -9 test: reads {config, plan} from the
 * JSON file named by argv[2], journals every committed batch to argv[3] (one JSON line each, as a
 * caller's journal would) and prints "batch" after each, so that the test can kill it mid-erase.
 */
import {appendFileSync, readFileSync} from 'node:fs'

import {applyErase, type PostgresErasePlan} from '../../../src/lib/stores/postgres/erase.js'
import type {PostgresDatabaseConfig} from '../../../src/lib/stores/postgres/types.js'

const [input, journal] = process.argv.slice(2)
const {config, plan} = JSON.parse(readFileSync(input, 'utf8')) as {
  config: PostgresDatabaseConfig
  plan: PostgresErasePlan
}
await applyErase(config, plan, {
  batchSize: 50,
  async onBatch(batch) {
    appendFileSync(journal, JSON.stringify(batch) + '\n')
    process.stdout.write('batch\n')
    await new Promise((r) => setTimeout(r, 30)) // slow enough to be killed in the middle
  },
})
process.stdout.write('done\n')
