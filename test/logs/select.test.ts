import {strict as assert} from 'node:assert'

import {customerPredicate} from '../../src/lib/access/customer.js'
import {WorkingHours} from '../../src/lib/access/hours.js'
import {workspaceCustomer, workspacePrelude} from '../../src/lib/access/workspace.js'
import {validateDataMap} from '../../src/lib/datamap/load.js'
import {customerSelector} from '../../src/lib/logs/select.js'
import {evaluateKql} from '../support/kql.js'

const map = validateDataMap(
  {
    stores: [
      {name: 'documents', account: 'https://contosoprod.blob.core.windows.net', container: 'tenant-{customer}'},
      {
        name: 'attachments',
        account: 'https://contosoprod.blob.core.windows.net',
        container: 'attachments',
        prefix: '{customer}/',
      },
    ],
    backups: [
      {
        name: 'nightly-db',
        account: 'https://contosobackup.blob.core.windows.net',
        container: 'backups',
        prefix: '{customer}/',
        expect: {every: '24h', maxAge: '26h', keepDays: 30},
      },
    ],
  },
  '/tmp/custos-select-test/custos.yaml',
)

/** Workspace rows (columns as Log Analytics names them) and whether they concern the customer. */
const rows: Array<{why: string; customer?: string; row: Record<string, unknown>; concerns: boolean}> = [
  {why: 'customer field equals the id', row: {customerId: 'acme'}, concerns: true},
  {why: 'customer field, PascalCase column', row: {CustomerId: 'acme'}, concerns: true},
  {why: 'second customer field', row: {tenantId: 'acme'}, concerns: true},
  {why: 'another customer whose id starts with the id', row: {customerId: 'acme-corp'}, concerns: false},
  {why: 'the id in another case', row: {customerId: 'ACME'}, concerns: false},
  {why: 'a field that is not a customer field', row: {userId: 'acme'}, concerns: false},
  {why: 'a numeric id as a number', customer: '4711', row: {customerId: 4711}, concerns: true},
  {why: 'a numeric id as a string', customer: '4711', row: {customerId: '4711'}, concerns: true},
  {why: 'a longer number', customer: '4711', row: {customerId: 47_110}, concerns: false},
  {why: 'a blob in the own container', row: {ObjectKey: '/contosoprod/tenant-acme/invoice.pdf'}, concerns: true},
  {why: 'the account in capitals', row: {ObjectKey: '/CONTOSOPROD/tenant-acme/invoice.pdf'}, concerns: true},
  {why: 'the own container itself', row: {ObjectKey: '/contosoprod/tenant-acme'}, concerns: true},
  {why: 'the container in capitals is another name', row: {ObjectKey: '/contosoprod/TENANT-ACME/x'}, concerns: false},
  {why: "another customer's container", row: {ObjectKey: '/contosoprod/tenant-acme-corp/x.pdf'}, concerns: false},
  {why: 'a blob under the prefix', row: {ObjectKey: '/contosoprod/attachments/acme/photo.png'}, concerns: true},
  {
    why: "a longer customer's prefix",
    row: {ObjectKey: '/contosoprod/attachments/acme-corp/photo.png'},
    concerns: false,
  },
  {why: 'no / boundary', row: {ObjectKey: '/contosoprod/attachments/acmex.txt'}, concerns: false},
  {why: 'the prefix in capitals', row: {ObjectKey: '/contosoprod/attachments/ACME/photo.png'}, concerns: false},
  {why: 'the prefix alone', row: {ObjectKey: '/contosoprod/attachments/acme/'}, concerns: false},
  {why: 'the shared container itself', row: {ObjectKey: '/contosoprod/attachments'}, concerns: false},
  {why: 'a .. segment', row: {ObjectKey: '/contosoprod/attachments/acme/../acme-corp/x'}, concerns: false},
  {why: 'a . segment', row: {ObjectKey: '/contosoprod/tenant-acme/./x'}, concerns: false},
  {why: 'another account', row: {ObjectKey: '/contosoother/tenant-acme/x'}, concerns: false},
  {why: 'a backup set', row: {ObjectKey: '/contosobackup/backups/acme/2026-02-02/db.bak'}, concerns: true},
  {why: 'a name longer than 1024', row: {ObjectKey: `/contosoprod/tenant-acme/${'a'.repeat(1025)}`}, concerns: false},
  {why: 'a name of 1024', row: {ObjectKey: `/contosoprod/tenant-acme/${'a'.repeat(1024)}`}, concerns: true},
  {why: 'neither field nor object', row: {OperationName: 'GetBlob'}, concerns: false},
]

describe('customer selection: one rule for the log bundle, the access report and its KQL', () => {
  for (const {why, customer = 'acme', row, concerns} of rows) {
    it(`${concerns ? 'selects' : 'does not select'} ${customer}: ${why}`, () => {
      assert.equal(customerSelector(map, customer).match(row) !== undefined, concerns, 'log bundle (stream)')
      assert.equal(customerPredicate(map, customer)(row), concerns, 'access report (stream)')
      assert.equal(evaluateKql(workspaceCustomer(map, customer).where, row), concerns, 'access report (KQL)')
    })
  }

  it('puts the same predicate on sign-ins and blob access in the workspace prelude', () => {
    const {where} = workspaceCustomer(map, 'acme')
    const prelude = workspacePrelude({
      since: new Date('2026-02-02T00:00:00Z'),
      until: new Date('2026-02-03T00:00:00Z'),
      lookbackStart: new Date('2026-02-01T00:00:00Z'),
      hours: new WorkingHours({timeZone: 'Europe/Berlin', workingHours: '07:00-19:00', workingDays: [1, 2, 3, 4, 5]}),
      burstFailures: 5,
      burstBucketInMs: 60_000,
      customer: {id: 'acme', where},
    })
    assert.equal(prelude.split(`| where ${where}`).length - 1, 2)
  })

  it('uses the default customer fields in the workspace too', () => {
    assert.match(workspaceCustomer(map, 'acme').where, /column_ifexists\("customerId", ""\)\) == "acme"/)
    assert.match(workspaceCustomer(map, 'acme').where, /column_ifexists\("tenantId", ""\)\) == "acme"/)
  })

  it('reads an upper-cased ARM container id as the lower-case container (archive shape)', () => {
    const record = {
      resourceId:
        '/SUBSCRIPTIONS/X/RESOURCEGROUPS/Y/PROVIDERS/MICROSOFT.STORAGE/STORAGEACCOUNTS/CONTOSOPROD/BLOBSERVICES/DEFAULT/CONTAINERS/TENANT-ACME',
    }
    assert.equal(customerPredicate(map, 'acme')(record), true)
    assert.equal(customerPredicate(map, 'acme-corp')(record), false)
  })

  it('finds an unquoted numeric id with the prefilter', () => {
    assert.ok(customerSelector(map, '4711').needles.includes('4711'))
    assert.ok(!customerSelector(map, 'acme').needles.includes('acme'))
  })
})
