import {strict as assert} from 'node:assert'

import {CHECKS} from '../../src/lib/posture/catalogue.js'
import {isFailing} from '../../src/lib/posture/posture.js'
import type {PostureReport} from '../../src/lib/posture/types.js'
import {uniqueName} from '../support/env.js'
import {
  ACCOUNTS,
  AUDIT_RESOURCE,
  PostureBed,
  SUB,
  VAULT,
  accountId,
  auditContainerId,
  resultOf,
  vaultId,
} from './setup.js'

describe('audit posture', function () {
  this.timeout(30_000)
  const bed = new PostureBed()

  before(() => bed.start())

  after(() => bed.stop())

  beforeEach(() => bed.seed())

  describe('a compliant setup', () => {
    let report: PostureReport

    before(async () => {
      bed.seed()
      report = await bed.audit()
    })

    it('passes every check of the catalogue on every resource and fails nothing', () => {
      const notPassing = report.resources.flatMap((r) =>
        r.results.filter((x) => x.status !== 'pass').map((x) => `${r.name} ${x.check} ${x.status}: ${x.detail}`),
      )
      // the only non-pass results: the customer-managed key is required for contosoprod alone
      assert.deepEqual(
        notPassing.map((line) => line.split(':')[0]).sort(),
        [ACCOUNTS.audit, ACCOUNTS.backup, ACCOUNTS.exports, ACCOUNTS.logs]
          .map((n) => `${n} storage.customer-managed-key skipped`)
          .sort(),
      )
      // PostgreSQL servers are not part of this setup: test/posture/postgresql.test.ts passes their checks
      for (const check of CHECKS.filter((c) => c.resource !== 'postgresql-server')) {
        const passes = report.resources
          .flatMap((r) => r.results)
          .filter((x) => x.check === check.id && x.status === 'pass')
        assert.ok(passes.length > 0, `${check.id} passes somewhere`)
      }

      assert.equal(report.summary.failing, 0)
      assert.equal(report.summary.failed, 0)
      assert.equal(report.summary.unknown, 0)
    })

    it('checks every account of the data map once, the audit container, the vault, the subscription and the sign-in logs', () => {
      assert.deepEqual(report.resources.map((r) => `${r.kind} ${r.name}`).sort(), [
        `blob-container ${AUDIT_RESOURCE}`,
        'key-vault contoso-kv',
        `storage-account ${ACCOUNTS.audit}`,
        `storage-account ${ACCOUNTS.backup}`,
        `storage-account ${ACCOUNTS.exports}`,
        `storage-account ${ACCOUNTS.logs}`,
        `storage-account ${ACCOUNTS.prod}`,
        `subscription ${SUB}`,
        'tenant Entra ID sign-in logs',
      ])
      const prod = report.resources.find((r) => r.name === ACCOUNTS.prod)
      assert.deepEqual(prod?.usedBy, ['stores.documents', 'stores.attachments'])
      assert.equal(prod?.id, accountId(ACCOUNTS.prod))
      assert.equal(prod?.location, 'germanywestcentral')
      // found by listing the subscription and matching primaryEndpoints.blob (no resourceId in the map)
      assert.equal(report.resources.find((r) => r.name === ACCOUNTS.backup)?.id, accountId(ACCOUNTS.backup))
    })

    it('finds the vault by listing the subscription and matching vaultUri despite the trailing slash', () => {
      assert.equal(report.resources.find((r) => r.kind === 'key-vault')?.id, vaultId)
    })
  })

  // One crafted non-compliant resource per check: [check, resource, how to break it, what the fix must say].
  const cases: Array<[string, string, () => void, RegExp, Record<string, unknown>?]> = [
    [
      'storage.https-only',
      ACCOUNTS.prod,
      () => bed.patchAccount(ACCOUNTS.prod, {properties: {supportsHttpsTrafficOnly: false}}),
      /^az storage account update .*--resource-group custos-local --name contosoprod --https-only true$/,
    ],
    [
      'storage.minimum-tls',
      ACCOUNTS.backup,
      () => bed.patchAccount(ACCOUNTS.backup, {properties: {minimumTlsVersion: 'TLS1_0'}}),
      /--name contosobackup --min-tls-version TLS1_2$/,
    ],
    [
      'storage.public-blob-access',
      ACCOUNTS.exports,
      () => bed.patchAccount(ACCOUNTS.exports, {properties: {allowBlobPublicAccess: true}}),
      /--name contosoexport --allow-blob-public-access false$/,
    ],
    [
      'storage.shared-key-access',
      ACCOUNTS.audit,
      () => bed.patchAccount(ACCOUNTS.audit, {properties: {allowSharedKeyAccess: undefined}}),
      /--name contosoaudit --allow-shared-key-access false$/,
    ],
    [
      'storage.firewall',
      ACCOUNTS.prod,
      () => bed.patchAccount(ACCOUNTS.prod, {properties: {networkAcls: {defaultAction: 'Allow'}}}),
      /--name contosoprod --default-action Deny$/,
    ],
    [
      'storage.customer-managed-key',
      ACCOUNTS.prod,
      () =>
        bed.patchAccount(ACCOUNTS.prod, {
          properties: {encryption: {keySource: 'Microsoft.Storage', keyvaultproperties: undefined}},
        }),
      /--name contosoprod --encryption-key-source Microsoft\.Keyvault --encryption-key-vault https:\/\/127\.0\.0\.1:\d+\/vaults\/contoso-kv /,
    ],
    [
      'storage.infrastructure-encryption',
      ACCOUNTS.logs,
      () => bed.patchAccount(ACCOUNTS.logs, {properties: {encryption: {requireInfrastructureEncryption: false}}}),
      /--require-infrastructure-encryption true --resource-group custos-local/,
    ],
    [
      'storage.blob-soft-delete',
      ACCOUNTS.prod,
      () =>
        bed.state.setBlobServiceProperties(accountId(ACCOUNTS.prod), {deleteRetentionPolicy: {enabled: true, days: 3}}),
      /blob-service-properties update .*--account-name contosoprod --enable-delete-retention true --delete-retention-days 7$/,
    ],
    [
      'storage.container-soft-delete',
      ACCOUNTS.backup,
      () =>
        bed.state.setBlobServiceProperties(accountId(ACCOUNTS.backup), {
          containerDeleteRetentionPolicy: {enabled: false},
        }),
      /--account-name contosobackup --enable-container-delete-retention true/,
    ],
    [
      'storage.versioning',
      ACCOUNTS.exports,
      () => bed.state.setBlobServiceProperties(accountId(ACCOUNTS.exports), {isVersioningEnabled: false}),
      /--account-name contosoexport --enable-versioning true$/,
    ],
    [
      'storage.region',
      ACCOUNTS.exports,
      () => bed.patchAccount(ACCOUNTS.exports, {location: 'westeurope', properties: {primaryLocation: 'westeurope'}}),
      /az storage account create --location germanywestcentral --resource-group custos-local/,
    ],
    [
      'storage.replication',
      ACCOUNTS.backup,
      () =>
        bed.patchAccount(ACCOUNTS.backup, {
          sku: {name: 'Standard_RAGRS', tier: 'Standard'},
          properties: {secondaryLocation: 'westeurope', statusOfSecondary: 'available'},
        }),
      /--name contosobackup --sku Standard_ZRS/,
    ],
    [
      'audit.trail-immutable',
      AUDIT_RESOURCE,
      () => bed.state.setImmutabilityPolicy(auditContainerId, undefined),
      /^az storage container immutability-policy create --subscription .* --resource-group custos-local --account-name contosoaudit --container-name custos-audit --period <days> --allow-protected-append-writes true, then, .*lock it \(irreversible\): az storage container immutability-policy lock .*--container-name custos-audit --if-match "\$\(az storage container immutability-policy show .* --query etag --output tsv\)"$/,
    ],
    [
      'audit.trail-writable',
      AUDIT_RESOURCE,
      () => bed.state.setImmutabilityPolicy(auditContainerId, {days: 30, state: 'Unlocked'}),
      /^az storage container immutability-policy create .*--account-name contosoaudit --container-name custos-audit --period 30 --allow-protected-append-writes true$/,
      {alsoFailing: ['audit.trail-policy-locked']},
    ],
    [
      'audit.trail-policy-locked',
      AUDIT_RESOURCE,
      () =>
        bed.state.setImmutabilityPolicy(auditContainerId, {
          days: 365,
          state: 'Unlocked',
          allowProtectedAppendWrites: true,
        }),
      /^az storage container immutability-policy lock .*--account-name contosoaudit --container-name custos-audit --if-match "\$\(/,
    ],
    [
      'keyvault.soft-delete',
      VAULT,
      () => bed.patchVault({properties: {enableSoftDelete: false}}),
      /^az keyvault update .*--resource-group custos-local --name contoso-kv --enable-soft-delete true$/,
    ],
    [
      'keyvault.purge-protection',
      VAULT,
      () => bed.patchVault({properties: {enablePurgeProtection: undefined}}),
      /--name contoso-kv --enable-purge-protection true$/,
    ],
    [
      'keyvault.public-network-access',
      VAULT,
      () => bed.patchVault({properties: {publicNetworkAccess: 'Enabled'}}),
      /--name contoso-kv --public-network-access Disabled/,
    ],
    [
      'keyvault.region',
      VAULT,
      () => bed.patchVault({location: 'francecentral'}),
      /az keyvault create --location germanywestcentral --resource-group custos-local/,
    ],
    [
      'monitoring.storage-logs',
      ACCOUNTS.backup,
      () =>
        bed.state.addDiagnosticSetting(`${accountId(ACCOUNTS.backup)}/blobServices/default`, {
          name: 'to-archive',
          storageAccountId: accountId(ACCOUNTS.logs),
          logs: [
            {category: 'StorageRead', enabled: true},
            {category: 'StorageWrite', enabled: true},
            {category: 'StorageDelete', enabled: false},
          ],
        }),
      new RegExp(
        `^az monitor diagnostic-settings create --name custos-archive --resource ${escape(accountId(ACCOUNTS.backup))}/blobServices/default --storage-account ${escape(accountId(ACCOUNTS.logs))} --logs .*StorageDelete`,
      ),
    ],
    [
      'monitoring.keyvault-logs',
      VAULT,
      () =>
        bed.state.addDiagnosticSetting(vaultId, {
          name: 'kv-audit',
          eventHubAuthorizationRuleId: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.EventHub/namespaces/ns/authorizationrules/r`,
          logs: [{categoryGroup: 'audit', enabled: true}],
        }),
      new RegExp(`--resource ${escape(vaultId)} --storage-account .* --logs .*AuditEvent`),
    ],
    [
      'monitoring.archive-region',
      ACCOUNTS.prod,
      () => {
        const elsewhere = bed.state.addStorageAccount({
          name: 'contosoarchivewe',
          location: 'westeurope',
          secondaryLocation: null,
        })
        bed.state.addDiagnosticSetting(`${accountId(ACCOUNTS.prod)}/blobServices/default`, {
          name: 'to-archive',
          storageAccountId: elsewhere.id as string,
          logs: [{categoryGroup: 'allLogs', enabled: true}],
        })
      },
      new RegExp(
        `diagnostic-settings update --name to-archive --resource ${escape(accountId(ACCOUNTS.prod))}/blobServices/default --storage-account <id of an account in germanywestcentral>`,
      ),
    ],
    [
      'monitoring.activity-log',
      SUB,
      () => bed.state.removeDiagnosticSetting(`/subscriptions/${SUB}`, 'activity-to-archive'),
      /^az monitor diagnostic-settings subscription create --name custos-activity --location germanywestcentral --storage-account /,
    ],
    [
      'monitoring.sign-in-logs',
      'Entra ID sign-in logs',
      () => undefined,
      /Diagnostic settings, send SignInLogs to the archive account/,
      {containersOverride: true},
    ],
  ]

  for (const [check, resource, breakIt, fix, extra] of cases) {
    it(`fails ${check} on a crafted ${resource} and names the fix`, async () => {
      breakIt()
      const map = extra?.containersOverride
        ? bed.map({
            logs: {
              archive: {
                account: (bed.raw().logs as {archive: {account: string}}).archive.account,
                containers: [uniqueName('insights-logs-signinlogs')],
              },
            },
          })
        : bed.map()
      const report = await bed.audit(map)
      const r = resultOf(report, resource, check)
      assert.equal(r.status, 'fail', `${check}: ${r.detail}`)
      assert.match(r.remediation ?? '', fix)
      assert.ok(r.detail.length > 10)
      // the other checks of the catalogue are independent: breaking one leaves the rest of this resource passing
      const others = report.resources
        .find((x) => x.name === resource)
        ?.results.filter((x) => x.check !== check && x.status === 'fail')
      assert.deepEqual(
        others?.map((x) => x.check),
        (extra?.alsoFailing as string[] | undefined) ?? [],
      )
    })
  }

  describe('the audit container (the trail must be append-only and still writable)', () => {
    const trail = (report: PostureReport) =>
      Object.fromEntries(
        (report.resources.find((r) => r.name === AUDIT_RESOURCE)?.results ?? []).map((r) => [r.check, r]),
      )

    it('reads the container over Resource Manager and reports the retention period and the lock', async () => {
      const before = bed.server.requests.length
      const report = await bed.audit()
      const container = report.resources.find((r) => r.name === AUDIT_RESOURCE)
      assert.equal(container?.kind, 'blob-container')
      assert.equal(container?.id, auditContainerId)
      assert.equal(container?.location, 'germanywestcentral')
      assert.deepEqual(container?.usedBy, ['audit'])
      const r = trail(report)
      assert.equal(r['audit.trail-immutable'].status, 'pass')
      assert.match(r['audit.trail-immutable'].detail, /^Locked time-based retention of 365 days: /)
      assert.equal(
        r['audit.trail-writable'].detail,
        'allowProtectedAppendWrites is true: custos can append to the trail under the policy.',
      )
      assert.equal(r['audit.trail-policy-locked'].status, 'pass')
      assert.ok(
        bed.server.requests
          .slice(before)
          .some((q) => q.method === 'GET' && q.path.toLowerCase() === auditContainerId.toLowerCase()),
        'blobContainers.get on the audit container',
      )
    })

    it('counts allowProtectedAppendWritesAll as allowing appends too', async () => {
      bed.state.setImmutabilityPolicy(auditContainerId, {
        days: 90,
        state: 'Locked',
        allowProtectedAppendWritesAll: true,
      })
      const r = trail(await bed.audit())
      assert.equal(r['audit.trail-writable'].status, 'pass')
      assert.match(r['audit.trail-writable'].detail, /^allowProtectedAppendWritesAll is true/)
      assert.match(r['audit.trail-immutable'].detail, /90 days/)
    })

    it('says the trail cannot be written under a locked policy without protected append writes, and that the fix is a new container', async () => {
      bed.state.setImmutabilityPolicy(auditContainerId, {days: 100, state: 'Locked', allowProtectedAppendWrites: false})
      const report = await bed.audit()
      const r = trail(report)
      assert.equal(r['audit.trail-immutable'].status, 'pass')
      assert.equal(r['audit.trail-policy-locked'].status, 'pass')
      assert.equal(r['audit.trail-writable'].status, 'fail')
      assert.equal(
        r['audit.trail-writable'].detail,
        "The policy (Locked time-based retention of 100 days) allows no protected append writes: Azure refuses custos's Append Block, so the trail cannot be written.",
      )
      assert.match(
        r['audit.trail-writable'].remediation ?? '',
        /^A locked policy cannot be changed to allow appends: create a new container \(az storage container-rm create .*--storage-account contosoaudit --name <new container>\), give it the policy \(.*--container-name <new container> --period 100 --allow-protected-append-writes true, then lock it\) and set audit\.container to it$/,
      )
      assert.equal(report.summary.failing, 1)
    })

    it('says the trail cannot be written under a legal hold without allowProtectedAppendWritesAll', async () => {
      const add = (allow?: boolean) =>
        bed.state.addBlobContainer({
          accountId: accountId(ACCOUNTS.audit),
          name: 'custos-audit',
          immutabilityPolicy: {days: 365, state: 'Locked', allowProtectedAppendWrites: true},
          legalHoldTags: ['case17'],
          legalHoldAllowProtectedAppendWritesAll: allow,
        })
      add()
      const refused = trail(await bed.audit())['audit.trail-writable']
      assert.equal(refused.status, 'fail')
      assert.match(
        refused.detail,
        /^A legal hold \(case17\) without allowProtectedAppendWritesAll refuses Append Block/,
      )
      assert.match(
        refused.remediation ?? '',
        /^az storage container legal-hold set .*--container-name custos-audit --tags case17 --allow-protected-append-writes-all true$/,
      )
      add(true)
      assert.equal(trail(await bed.audit())['audit.trail-writable'].status, 'pass')
    })

    it('fails a container that does not exist yet: custos would create it without a policy', async () => {
      bed.state.blobContainers.delete(auditContainerId.toLowerCase())
      const r = trail(await bed.audit())
      assert.equal(r['audit.trail-immutable'].status, 'fail')
      assert.match(r['audit.trail-immutable'].detail, /does not exist yet/)
      assert.match(
        r['audit.trail-immutable'].remediation ?? '',
        /^az storage container-rm create .*--storage-account contosoaudit --name custos-audit, then az storage container immutability-policy create /,
      )
      assert.equal(r['audit.trail-writable'].status, 'pass')
      assert.equal(r['audit.trail-policy-locked'].status, 'skipped')
    })

    it('reports UNKNOWN with the reason, not a crash, when the audit account cannot be resolved', async () => {
      bed.state.storageAccounts.delete(accountId(ACCOUNTS.audit).toLowerCase())
      const report = await bed.audit()
      const container = report.resources.find((r) => r.name === AUDIT_RESOURCE)
      assert.equal(container?.id, undefined)
      assert.deepEqual(
        container?.results.map((r) => [r.check, r.status]),
        [
          ['audit.trail-immutable', 'unknown'],
          ['audit.trail-writable', 'unknown'],
          ['audit.trail-policy-locked', 'unknown'],
        ],
      )
      for (const r of container?.results ?? []) {
        assert.match(
          r.detail,
          /^The audit account contosoaudit could not be read: no storage account of subscription .* has the blob endpoint/,
        )
        assert.match(r.remediation ?? '', /^Add resourceId: .*storageAccounts\/contosoaudit to audit/)
      }
    })

    it('reports an unlocked policy at low severity: it fails the run only with --fail-on low', async () => {
      bed.state.setImmutabilityPolicy(auditContainerId, {days: 7, state: 'Unlocked', allowProtectedAppendWrites: true})
      const atMedium = await bed.audit()
      const r = trail(atMedium)['audit.trail-policy-locked']
      assert.deepEqual([r.status, r.severity], ['fail', 'low'])
      assert.equal(
        r.detail,
        'The policy is Unlocked: whoever may manage the account can still shorten or delete it, and then the trail.',
      )
      assert.equal(atMedium.summary.failing, 0)
      assert.equal((await bed.audit(bed.map(), {failOn: 'low'})).summary.failing, 1)
    })
  })

  it('reports storage.region and monitoring.archive-region when the log archive itself leaves Germany', async () => {
    bed.patchAccount(ACCOUNTS.logs, {location: 'westeurope'})
    const report = await bed.audit()
    assert.equal(resultOf(report, ACCOUNTS.logs, 'storage.region').status, 'fail')
    for (const name of Object.values(ACCOUNTS)) {
      const r = resultOf(report, name, 'monitoring.archive-region')
      assert.equal(r.status, 'fail')
      assert.match(r.detail, /contosologs in westeurope/)
    }

    assert.match(resultOf(report, VAULT, 'monitoring.archive-region').detail, /contosologs in westeurope/)
  })

  it('does not count a disabled log category as logged and names the one missing', async () => {
    bed.state.addDiagnosticSetting(`${accountId(ACCOUNTS.prod)}/blobServices/default`, {
      name: 'to-archive',
      storageAccountId: accountId(ACCOUNTS.logs),
      logs: [
        {category: 'StorageRead', enabled: true},
        {category: 'StorageWrite', enabled: true},
        {category: 'StorageDelete', enabled: false},
      ],
    })
    const r = resultOf(await bed.audit(), ACCOUNTS.prod, 'monitoring.storage-logs')
    assert.equal(r.status, 'fail')
    assert.equal(r.detail, 'No diagnostic setting keeps StorageDelete in an archive account or workspace.')
  })

  it('finds sign-in logs in the Log Analytics workspace when the archive has none', async () => {
    const queries: string[] = []
    bed.state.setLogQueryHandler((workspace, query) => {
      queries.push(`${workspace}: ${query}`)
      return workspace === 'ws-with-signins'
        ? [{columns: [{name: 'UserPrincipalName', type: 'string'}], rows: [['admin@contoso.com']]}]
        : [{columns: [{name: 'UserPrincipalName', type: 'string'}], rows: []}]
    })
    try {
      const logs = (workspace: string) => ({
        logs: {
          archive: {
            account: (bed.raw().logs as {archive: {account: string}}).archive.account,
            containers: ['insights-logs-storageread'],
          },
          workspace,
        },
      })
      const found = resultOf(
        await bed.audit(bed.map(logs('ws-with-signins'))),
        'Entra ID sign-in logs',
        'monitoring.sign-in-logs',
      )
      assert.equal(found.status, 'pass')
      assert.match(found.detail, /Workspace ws-with-signins holds sign-in logs/)
      assert.deepEqual(queries, ['ws-with-signins: SigninLogs | take 1'])
      const empty = resultOf(
        await bed.audit(bed.map(logs('ws-empty'))),
        'Entra ID sign-in logs',
        'monitoring.sign-in-logs',
      )
      assert.equal(empty.status, 'fail')
      assert.equal(
        empty.detail,
        'Sign-in logs are not being kept: logs.archive.containers names no sign-in log container (insights-logs-signinlogs); workspace ws-empty holds no sign-in logs of the last 30 days.',
      )
    } finally {
      bed.state.setLogQueryHandler(undefined)
    }
  })

  it('accepts Microsoft.KeyVault with a capital V as a customer-managed key, like Microsoft.Keyvault', async () => {
    bed.patchAccount(ACCOUNTS.prod, {properties: {encryption: {keySource: 'Microsoft.KeyVault'}}})
    const r = resultOf(await bed.audit(), ACCOUNTS.prod, 'storage.customer-managed-key')
    assert.equal(r.status, 'pass')
    assert.match(r.detail, /storage-key/)
  })

  it('treats a storage category group allLogs as logging reads, writes and deletes', async () => {
    bed.state.addDiagnosticSetting(`${accountId(ACCOUNTS.audit)}/blobServices/default`, {
      name: 'to-archive',
      workspaceId: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/ws1`,
      logs: [{categoryGroup: 'allLogs', enabled: true}],
    })
    const report = await bed.audit()
    assert.equal(resultOf(report, ACCOUNTS.audit, 'monitoring.storage-logs').status, 'pass')
    assert.match(resultOf(report, ACCOUNTS.audit, 'monitoring.storage-logs').detail, /workspace ws1/)
    assert.equal(resultOf(report, ACCOUNTS.audit, 'monitoring.archive-region').status, 'skipped')
  })

  it('reports UNKNOWN with a hint to add resourceId when an account is neither named nor listed', async () => {
    bed.state.storageAccounts.delete(accountId(ACCOUNTS.exports).toLowerCase())
    const report = await bed.audit()
    const exportsResults = report.resources.find((r) => r.name === ACCOUNTS.exports)?.results ?? []
    assert.equal(exportsResults.length, CHECKS.filter((c) => c.resource === 'storage-account').length)
    for (const r of exportsResults) {
      assert.equal(r.status, 'unknown')
      assert.match(
        r.detail,
        /no storage account of subscription .* has the blob endpoint http:\/\/127\.0\.0\.1:\d+\/contosoexport/,
      )
      assert.match(
        r.remediation ?? '',
        /^Add resourceId: \/subscriptions\/<id>\/resourceGroups\/<group>\/providers\/Microsoft\.Storage\/storageAccounts\/contosoexport to exports/,
      )
    }

    assert.ok(report.summary.failing > 0, 'an account that cannot be verified fails the run')
  })

  it('reports UNKNOWN naming the resourceId when a named account does not exist', async () => {
    const map = bed.map()
    map.stores[0].resourceId = accountId('nosuchaccount')
    const report = await bed.audit(map)
    const r = resultOf(report, ACCOUNTS.prod, 'storage.https-only')
    assert.equal(r.status, 'unknown')
    assert.match(r.detail, /storage account \/subscriptions\/.*\/nosuchaccount was not found \(404\)/)
    assert.match(r.remediation ?? '', /resourceId of stores\.documents/)
  })

  it('finds the vault by azure.keyVaultResourceId, and reports UNKNOWN with that hint when no vault matches', async () => {
    const named = await bed.audit(bed.map({azure: {...(bed.raw().azure as object), keyVaultResourceId: vaultId}}))
    assert.equal(resultOf(named, VAULT, 'keyvault.purge-protection').status, 'pass')
    assert.ok(
      bed.server.requests.some((q) => q.path.toLowerCase() === vaultId.toLowerCase()),
      'read with vaults.get',
    )

    bed.state.armKeyVaults.clear()
    const report = await bed.audit()
    const vault = report.resources.find((r) => r.kind === 'key-vault')
    assert.equal(vault?.name, VAULT)
    for (const r of vault?.results ?? []) {
      assert.equal(r.status, 'unknown')
      assert.match(r.remediation ?? '', /Set azure\.keyVaultResourceId/)
    }
  })

  it('counts a low-severity failure only when --fail-on is low', async () => {
    bed.patchAccount(ACCOUNTS.audit, {properties: {allowSharedKeyAccess: true}})
    const atMedium = await bed.audit(bed.map(), {failOn: 'medium'})
    assert.equal(atMedium.summary.failed, 1)
    assert.equal(atMedium.summary.failing, 0)
    const atLow = await bed.audit(bed.map(), {failOn: 'low'})
    assert.equal(atLow.summary.failing, 1)
    assert.ok(isFailing(resultOf(atLow, ACCOUNTS.audit, 'storage.shared-key-access'), 'low'))
  })

  it('requires the retention given by minRetentionDays', async () => {
    const report = await bed.audit(bed.map(), {minRetentionDays: 30})
    const r = resultOf(report, ACCOUNTS.prod, 'storage.blob-soft-delete')
    assert.equal(r.status, 'fail')
    assert.match(r.detail, /14 days, fewer than the required 30/)
    assert.match(r.remediation ?? '', /--delete-retention-days 30$/)
  })

  it('only reads: every request it sends to Resource Manager is a GET', async () => {
    const before = bed.server.requests.length
    await bed.audit()
    const sent = bed.server.requests.slice(before)
    assert.ok(sent.length >= 10)
    assert.deepEqual([...new Set(sent.map((q) => q.method))], ['GET'])
  })
})

function escape(text: string): string {
  return text.replaceAll(/[.*+?^${}()|[\]\\]/g, String.raw`\$&`)
}
