import {strict as assert} from 'node:assert'

import {reviewAccess} from '../../src/lib/access/review/review.js'
import {DEMO_ACCESS_EXPECTED, seedDemoAccess} from '../../src/lib/local/demo-access.js'
import {LOCAL_SUBSCRIPTION_ID, LocalAzureState} from '../../src/lib/local/azure-server/index.js'
import {NOW, ReviewBed} from './helpers.js'

const accountId = (name: string) => LocalAzureState.storageAccountId(LOCAL_SUBSCRIPTION_ID, 'custos-local', name)

describe('access review: the demo environment', function () {
  this.timeout(60_000)
  const bed = new ReviewBed()

  before(async () => {
    await bed.start()
    seedDemoAccess(bed.server.state, NOW)
  })

  after(() => bed.stop())

  it('shows every role-assignment finding kind, and none for the expected staff', async () => {
    const map = bed.map(
      {expected: DEMO_ACCESS_EXPECTED},
      {
        stores: [
          {
            name: 'documents',
            account: 'https://127.0.0.1:1/contosoprod',
            container: 'tenant-{customer}',
            resourceId: accountId('contosoprod'),
          },
        ],
        backups: [
          {
            name: 'nightly-db',
            account: 'https://127.0.0.1:1/contosobackup',
            container: 'backups',
            prefix: '{customer}/',
            resourceId: accountId('contosobackup'),
            expect: {every: '24h', maxAge: '26h', keepDays: 30},
          },
        ],
      },
    )
    const review = await reviewAccess(bed.clients(map), map, {failOn: 'low', now: NOW})
    const types = new Set(review.findings.map((f) => f.type))
    for (const type of [
      'unexpected-principal',
      'guest',
      'foreign-tenant',
      'privileged-unexpected',
      'stale',
      'disabled-holder',
      'orphaned',
    ])
      assert.ok(types.has(type as never), type)
    const flagged = new Set(review.findings.map((f) => f.principalName))
    for (const expected of ['anna.admin@contoso.example', 'ben.ops@contoso.example', 'platform-admins', 'custos-job'])
      assert.ok(!flagged.has(expected), expected)
  })
})
