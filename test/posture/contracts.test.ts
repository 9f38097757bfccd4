/**
 * The posture checks on Resource Manager answers in the real formats of ../shared/azure-contracts/:
 * the local server serves the recorded and spec-example bodies as they are, the real SDK reads them.
 */
import {strict as assert} from 'node:assert'
import {readFileSync} from 'node:fs'
import {resolve} from 'node:path'

import type {JsonObject} from '../../src/lib/local/azure-server/index.js'
import {AUDIT_RESOURCE, CONTRACTS, PostureBed, auditContainerId, resultOf, sample} from './setup.js'

const SAMPLE_SUB = 'sample-subscription'

describe('audit posture on recorded and documented Azure responses', function () {
  this.timeout(30_000)
  const bed = new PostureBed()

  before(() => bed.start())

  after(() => bed.stop())

  beforeEach(() => {
    bed.seed()
    bed.state.storageAccounts.clear()
    bed.state.blobServices.clear()
  })

  const mapFor = (stores: Array<Record<string, unknown>>, subscription: string) =>
    bed.map({
      stores,
      backups: [],
      logs: undefined,
      exports: undefined,
      audit: undefined,
      keys: undefined,
      azure: {...(bed.raw().azure as object), subscription},
    })

  it('fails the recorded real account (TLS 1.0, public blob access, open firewall, westeurope, GRS to northeurope)', async () => {
    const body = sample('storage-arm/recorded-storageaccounts-get.json').Entries[0].ResponseBody as JsonObject
    const id = body.id as string
    bed.state.storageAccounts.set(id.toLowerCase(), body)
    // the 2025-06-01 BlobServicesGet example, as documented: blob soft delete 300 days, versioning, no container soft delete
    bed.state.blobServices.set(
      id.toLowerCase(),
      sample('storage-arm/2025-06-01/BlobServicesGet.json').responses['200'].body.properties,
    )
    const map = mapFor(
      [
        {
          name: 'recorded',
          account: 'https://storageaccountzzzxxx.blob.core.windows.net',
          container: 'tenant-{customer}',
          resourceId: id,
        },
      ],
      'azure_subscription_id',
    )
    const report = await bed.audit(map)
    const status = (check: string) => resultOf(report, 'storageaccountzzzxxx', check).status
    assert.deepEqual(
      Object.fromEntries(
        report.resources[0].results.filter((r) => !r.check.startsWith('monitoring.')).map((r) => [r.check, r.status]),
      ),
      {
        'storage.https-only': 'pass',
        'storage.minimum-tls': 'fail',
        'storage.public-blob-access': 'fail',
        'storage.shared-key-access': 'fail',
        'storage.firewall': 'fail',
        'storage.customer-managed-key': 'skipped',
        'storage.infrastructure-encryption': 'fail',
        'storage.blob-soft-delete': 'pass',
        'storage.container-soft-delete': 'fail',
        'storage.versioning': 'pass',
        'storage.region': 'fail',
        'storage.replication': 'fail',
      },
    )
    assert.match(resultOf(report, 'storageaccountzzzxxx', 'storage.minimum-tls').detail, /TLS1_0/)
    assert.match(
      resultOf(report, 'storageaccountzzzxxx', 'storage.replication').detail,
      /Standard_GRS copies the data to northeurope/,
    )
    assert.match(resultOf(report, 'storageaccountzzzxxx', 'storage.blob-soft-delete').detail, /300 days/)
    assert.equal(status('monitoring.storage-logs'), 'fail')
  })

  it('locates accounts of the documented StorageAccountList by blob endpoint and reads their customer-managed keys', async () => {
    const text = readFileSync(resolve(CONTRACTS, 'storage-arm/2025-06-01/StorageAccountList.json'), 'utf8').replaceAll(
      '{subscription-id}',
      SAMPLE_SUB,
    )
    for (const account of JSON.parse(text).responses['200'].body.value as JsonObject[])
      bed.state.storageAccounts.set((account.id as string).toLowerCase(), account)
    const map = mapFor(
      [
        // keySource "Microsoft.Keyvault" (lower-case v) with keyvaultproperties
        {
          name: 'cmk',
          account: 'https://sto8596.blob.core.windows.net/',
          container: 'cmk-{customer}',
          requireCustomerManagedKey: true,
        },
        // keySource "Microsoft.Storage"
        {
          name: 'mmk',
          account: 'https://STO1125.blob.core.windows.net',
          container: 'mmk-{customer}',
          requireCustomerManagedKey: true,
        },
        // no encryption and no networkAcls in the body at all
        {name: 'bare', account: 'https://sto3699.blob.core.windows.net', container: 'bare-{customer}'},
      ],
      SAMPLE_SUB,
    )
    const report = await bed.audit(map)
    const cmk = resultOf(report, 'sto8596', 'storage.customer-managed-key')
    assert.equal(cmk.status, 'pass')
    assert.match(cmk.detail, /Key Vault key wrappingKey in https:\/\/myvault8569\.vault\.azure\.net/)
    assert.equal(resultOf(report, 'sto1125', 'storage.customer-managed-key').status, 'fail')
    assert.equal(resultOf(report, 'sto3699', 'storage.customer-managed-key').status, 'skipped')
    assert.equal(resultOf(report, 'sto3699', 'storage.firewall').status, 'fail')
    assert.match(resultOf(report, 'sto3699', 'storage.firewall').detail, /not set \(Allow\)/)
    assert.match(
      resultOf(report, 'sto8596', 'storage.region').detail,
      /eastus2\(stage\) is not in residency\.allowedRegions/,
    )
    assert.equal(resultOf(report, 'sto8596', 'storage.https-only').status, 'fail')
  })

  it('judges the audit container on the documented locked policy with a legal hold and on the recorded container without a policy', async () => {
    bed.seed()
    const statuses = async () => {
      const report = await bed.audit()
      const check = (id: string) => resultOf(report, AUDIT_RESOURCE, id)
      return {
        report,
        check,
        statuses: ['audit.trail-immutable', 'audit.trail-writable', 'audit.trail-policy-locked'].map(
          (id) => check(id).status,
        ),
      }
    }

    // BlobContainersGet (2025-06-01): Locked, 100 days, no append flag, legal hold tag1..tag3 (served as it is)
    const documented = sample('storage-arm/2025-06-01/BlobContainersGet.json').responses['200'].body as JsonObject
    bed.state.blobContainers.set(auditContainerId.toLowerCase(), documented)
    let run = await statuses()
    assert.deepEqual(run.statuses, ['pass', 'fail', 'pass'])
    assert.match(run.check('audit.trail-immutable').detail, /^Locked time-based retention of 100 days: /)
    assert.equal(
      run.check('audit.trail-writable').detail,
      "The policy (Locked time-based retention of 100 days) allows no protected append writes: Azure refuses custos's Append Block, so the trail cannot be written. A legal hold (tag1, tag2, tag3) without allowProtectedAppendWritesAll refuses Append Block: the trail cannot be written.",
    )
    assert.equal(run.report.resources.find((r) => r.name === AUDIT_RESOURCE)?.id, documented.id)

    // the recorded real container GET: hasImmutabilityPolicy false, no immutabilityPolicy, legalHold without tags
    const recorded = sample('storage-arm/recorded-blobcontainers-get.json').Entries[0].ResponseBody as JsonObject
    bed.state.blobContainers.set(auditContainerId.toLowerCase(), recorded)
    run = await statuses()
    assert.deepEqual(run.statuses, ['fail', 'pass', 'skipped'])
    assert.match(run.check('audit.trail-immutable').detail, /^No immutability policy on custos-audit/)
    assert.equal(run.check('audit.trail-writable').detail, 'No immutability policy or legal hold refuses appends.')
  })

  it('reads the documented diagnostic setting shape (workspaceId "", categoryGroup allLogs) and reports an unreadable archive as UNKNOWN', async () => {
    bed.seed()
    const documented = sample('monitor/getDiagnosticSetting.json').responses['200'].body
    const p = documented.properties
    bed.state.addDiagnosticSetting(`${bed.map().stores[0].resourceId}/blobServices/default`, {
      name: documented.name,
      storageAccountId: p.storageAccountId,
      workspaceId: p.workspaceId,
      eventHubAuthorizationRuleId: p.eventHubAuthorizationRuleId,
      marketplacePartnerId: p.marketplacePartnerId,
      logs: p.logs,
    })
    bed.state.removeDiagnosticSetting(`${bed.map().stores[0].resourceId}/blobServices/default`, 'to-archive')
    const report = await bed.audit()
    const logged = resultOf(report, 'contosoprod', 'monitoring.storage-logs')
    assert.equal(logged.status, 'pass')
    assert.match(logged.detail, /StorageRead, StorageWrite, StorageDelete via mysetting to account appteststorage1/)
    const region = resultOf(report, 'contosoprod', 'monitoring.archive-region')
    assert.equal(region.status, 'unknown')
    assert.match(region.detail, /appteststorage1 \(storage account .* was not found \(404\)\)/)
  })
})
