/**
 * Benchmark of `audit posture` (not a test): the local environment (5 accounts, 1 vault), plus N
 * unrelated storage accounts in the same subscription listed before the data map's own, so every
 * account without a resourceId is found only after the whole subscription listing. Reports the
 * wall time of one audit and the heap growth, at N = 0, 1,000 and 10,000.
 *
 *   npx tsx bench/posture.ts [maxAccounts=10000]
 */
import {AzureClients} from '../src/lib/azure/clients.js'
import {loadDataMap} from '../src/lib/datamap/load.js'
import type {JsonObject} from '../src/lib/local/azure-server/index.js'
import {startLocalEnvironment} from '../src/lib/local/environment.js'
import {auditPosture} from '../src/lib/posture/posture.js'

const maxAccounts = Number(process.argv[2] ?? 10_000)
const env = await startLocalEnvironment()
try {
  const map = loadDataMap(env.configPath)
  const state = env.server.state
  const own = [...state.storageAccounts.entries()]
  for (const n of [0, Math.min(1000, maxAccounts), maxAccounts]) {
    // unrelated accounts first, then the data map's own (Map order is the listing order)
    state.storageAccounts.clear()
    for (let i = 0; i < n; i++)
      state.addStorageAccount({name: `other${String(i).padStart(6, '0')}`, resourceGroup: 'others'})
    for (const [key, account] of own) state.storageAccounts.set(key, account as JsonObject)
    globalThis.gc?.()
    const heapBefore = process.memoryUsage().heapUsed
    const started = process.hrtime.bigint()
    const report = await auditPosture(new AzureClients(map), map)
    const ms = Number(process.hrtime.bigint() - started) / 1e6
    const heapMiB = (process.memoryUsage().heapUsed - heapBefore) / 1024 / 1024
    console.log(
      `${String(n).padStart(6)} other accounts: ${ms.toFixed(0).padStart(5)} ms, ${report.summary.checks} checks, heap +${heapMiB.toFixed(1)} MiB`,
    )
  }
} finally {
  await env.stop()
}
