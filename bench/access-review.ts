/**
 * Benchmark of `access review` (not a test): 10,000 role assignments over 5,000 principals (4,500
 * users, 450 service principals, 50 groups of 20 members) on the subscription and four mapped
 * resources of the local Azure server. Reports the Graph requests by kind (resolution with getByIds
 * must stay ≤ 6: one per 1,000 principals), the wall time and the RSS/heap growth.
 *
 *   npx tsx bench/access-review.ts [assignments=10000] [principals=5000]
 */
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {reviewAccess} from '../src/lib/access/review/review.js'
import {AzureClients} from '../src/lib/azure/clients.js'
import {validateDataMap} from '../src/lib/datamap/load.js'
import {
  LOCAL_SUBSCRIPTION_ID,
  LOCAL_TENANT_ID,
  LocalAzureState,
  startLocalAzureServer,
} from '../src/lib/local/azure-server/index.js'
import {seededRandom} from '../src/lib/local/seeded-random.js'

const assignments = Number(process.argv[2] ?? 10_000)
const principalCount = Number(process.argv[3] ?? 5000)
const server = await startLocalAzureServer()
const dir = mkdtempSync(join(tmpdir(), 'custos-bench-review-'))
try {
  const caPath = join(dir, 'ca.pem')
  writeFileSync(caPath, server.caCertificatePem)
  const d = server.state.directory
  const random = seededRandom(23)
  const account = (name: string) => LocalAzureState.storageAccountId(LOCAL_SUBSCRIPTION_ID, 'custos-local', name)
  const scopes = [
    `/subscriptions/${LOCAL_SUBSCRIPTION_ID}`,
    account('contosoprod'),
    account('contosobackup'),
    account('contosologs'),
    account('contosoaudit'),
  ]
  const ids: string[] = []
  const users = Math.floor(principalCount * 0.9)
  const groups = Math.floor(principalCount * 0.01)
  for (let i = 0; i < users; i++)
    ids.push(
      d.addUser({
        displayName: `user ${i}`,
        userPrincipalName: `user${i}@contoso.example`,
        lastSignInDateTime: new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString(),
      }).id as string,
    )
  for (let i = 0; i < principalCount - users - groups; i++)
    ids.push(d.addServicePrincipal({displayName: `app ${i}`, appOwnerOrganizationId: LOCAL_TENANT_ID}).id as string)
  for (let i = 0; i < groups; i++)
    ids.push(
      d.addGroup({displayName: `group ${i}`, members: Array.from({length: 20}, (_, j) => ids[(i * 20 + j) % users])})
        .id as string,
    )
  const roles = [
    '8e3af657-a8ff-443c-a75c-2fe8c4bcb635',
    'b24988ac-6180-42a0-ab88-20f7382dd24c',
    'acdd72a7-3385-48ef-bd42-f606fba81ae7',
  ]
  for (let i = 0; i < assignments; i++)
    d.addRoleAssignment({
      scope: scopes[Math.floor(random() * scopes.length)],
      roleDefinitionId: roles[Math.floor(random() * roles.length)],
      principalId: ids[i % ids.length],
    })

  const map = validateDataMap(
    {
      stores: ['contosoprod', 'contosologs', 'contosoaudit'].map((name) => ({
        name,
        account: `https://127.0.0.1:1/${name}`,
        container: `${name}-{customer}`,
        resourceId: account(name),
      })),
      backups: [
        {
          name: 'b',
          account: 'https://127.0.0.1:1/contosobackup',
          container: 'backups',
          prefix: '{customer}/',
          resourceId: account('contosobackup'),
          expect: {every: '24h', maxAge: '26h', keepDays: 30},
        },
      ],
      access: {expected: {domains: ['contoso.example'], tenants: [LOCAL_TENANT_ID]}},
      azure: {
        credential: 'local',
        resourceManager: server.url,
        graph: server.url,
        caCertificate: caPath,
        subscription: LOCAL_SUBSCRIPTION_ID,
        tenant: LOCAL_TENANT_ID,
      },
    },
    join(dir, 'custos.yaml'),
  )
  globalThis.gc?.()
  const before = process.memoryUsage()
  server.requests.length = 0
  const started = process.hrtime.bigint()
  const review = await reviewAccess(new AzureClients(map), map, {failOn: 'low', now: new Date('2026-06-01T00:00:00Z')})
  const ms = Number(process.hrtime.bigint() - started) / 1e6
  const after = process.memoryUsage()
  const count = (re: RegExp) => server.requests.filter((r) => re.test(r.path)).length
  console.log(
    `${review.summary.assignments} assignments, ${review.summary.principals} principals, ${review.summary.findings} findings: ${ms.toFixed(0)} ms`,
  )
  console.log(
    `Graph: ${count(/getByIds$/i)} getByIds (resolution), ${count(/transitiveMembers$/i)} transitiveMembers, ${count(/\/users$/)} users pages; ARM: ${count(/roleAssignments$/i)} role-assignment pages`,
  )
  console.log(
    `RSS +${((after.rss - before.rss) / 1024 / 1024).toFixed(1)} MiB, heap +${((after.heapUsed - before.heapUsed) / 1024 / 1024).toFixed(1)} MiB (the server's state shares the process)`,
  )
} finally {
  await server.close()
  rmSync(dir, {recursive: true, force: true})
}
