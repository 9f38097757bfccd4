import {strict as assert} from 'node:assert'
import {join} from 'node:path'

import {AuditTrail} from '../../src/lib/audit/trail.js'
import {AzureClients} from '../../src/lib/azure/clients.js'
import {evaluateServerBackups, residualCheck, type ServerBackupFacts} from '../../src/lib/backups/database.js'
import {nagiosLine, renderReport} from '../../src/lib/backups/report.js'
import {verifyBackups} from '../../src/lib/backups/verify.js'
import {validateDataMap} from '../../src/lib/datamap/load.js'
import type {DataMap, PostgresDatabaseEntry} from '../../src/lib/datamap/types.js'
import {LOCAL_SUBSCRIPTION_ID, LocalAzureState} from '../../src/lib/local/azure-server/index.js'
import type {FlexibleServerBody} from '../../src/lib/stores/postgres/residuals.js'
import {getTestAzurite, uniqueName} from '../support/env.js'
import {DAY, seedDailyBackups, startArm, type Arm} from './helpers.js'

const NOW = new Date('2025-03-01T09:00:00.000Z')
const SERVER_ID = LocalAzureState.flexibleServerId(LOCAL_SUBSCRIPTION_ID, 'custos-local', 'contoso-pg')

const db = (extra: Partial<PostgresDatabaseEntry> = {}): PostgresDatabaseEntry & {resourceId: string} => ({
  name: 'app-db',
  engine: 'postgresql',
  host: 'contoso-pg.postgres.database.azure.com',
  database: 'app',
  auth: 'entra',
  user: 'custos',
  isolation: 'shared',
  tenantColumn: 'tenant_id',
  tables: ['public.projects'],
  resourceId: SERVER_ID,
  expect: {every: '24h', maxAge: '26h', keepDays: 30},
  ...extra,
})

function server(patch: {location?: string; backup?: object; dataEncryption?: object; createdAt?: string} = {}) {
  return {
    id: SERVER_ID,
    name: 'contoso-pg',
    location: patch.location ?? 'germanywestcentral',
    systemData: {createdAt: patch.createdAt ?? new Date(NOW.getTime() - 400 * DAY).toISOString()},
    properties: {
      backup: {
        backupRetentionDays: 35,
        geoRedundantBackup: 'Enabled',
        earliestRestoreDate: new Date(NOW.getTime() - 35 * DAY).toISOString(),
        ...patch.backup,
      },
      dataEncryption: patch.dataEncryption ?? {type: 'SystemManaged'},
    },
  } as FlexibleServerBody
}

const facts = (body: FlexibleServerBody, extra: Partial<ServerBackupFacts> = {}): ServerBackupFacts => ({
  server: body,
  automatic: [new Date(NOW.getTime() - 5 * 3_600_000).toISOString()],
  ltr: [],
  ...extra,
})

const MAP = {residency: {allowedRegions: ['germanywestcentral', 'germanynorth']}} as DataMap

function statuses(report: ReturnType<typeof evaluateServerBackups>): Record<string, string> {
  return Object.fromEntries(report.checks.map((c) => [c.check, c.status]))
}

describe('backups verify: database servers', () => {
  describe('the checks of a flexible server (pure)', () => {
    it('passes a compliant server: 35 days, fresh, restorable, geo-redundant to germanynorth, resident', () => {
      const report = evaluateServerBackups(db(), facts(server()), MAP, NOW)
      assert.deepEqual(statuses(report), {
        retention: 'pass',
        fresh: 'pass',
        restorable: 'pass',
        separate: 'pass',
        encrypted: 'pass',
        resident: 'pass',
      })
      assert.equal(report.status, 'pass')
      assert.equal(report.pairedRegion, 'germanynorth')
      assert.match(report.checks.find((c) => c.check === 'separate')!.detail, /germanywestcentral to germanynorth/)
    })

    it('fails short retention, a stale newest automatic backup and a too-late earliest restore point', () => {
      const report = evaluateServerBackups(
        db(),
        facts(
          server({
            backup: {backupRetentionDays: 7, earliestRestoreDate: new Date(NOW.getTime() - 7 * DAY).toISOString()},
          }),
          {
            automatic: [new Date(NOW.getTime() - 3 * DAY).toISOString()],
          },
        ),
        MAP,
        NOW,
      )
      assert.equal(statuses(report).retention, 'fail')
      assert.equal(statuses(report).fresh, 'fail')
      assert.equal(statuses(report).restorable, 'fail')
      assert.match(report.checks[0].detail, /keeps backups 7 days, fewer than keepDays 30/)
    })

    it('does not fail the restorable window of a server younger than keepDays', () => {
      const created = new Date(NOW.getTime() - 10 * DAY).toISOString()
      const report = evaluateServerBackups(
        db(),
        facts(server({createdAt: created, backup: {earliestRestoreDate: created}})),
        MAP,
        NOW,
      )
      assert.equal(statuses(report).restorable, 'pass')
    })

    it('fails disabled geo-redundancy, a region outside residency and a pair outside it (eastus ↔ westus)', () => {
      assert.equal(
        statuses(evaluateServerBackups(db(), facts(server({backup: {geoRedundantBackup: 'Disabled'}})), MAP, NOW))
          .separate,
        'fail',
      )
      const us = evaluateServerBackups(db(), facts(server({location: 'eastus'})), MAP, NOW)
      assert.equal(statuses(us).resident, 'fail')
      assert.equal(statuses(us).separate, 'fail')
      assert.match(us.checks.find((c) => c.check === 'separate')!.detail, /go to westus/)
    })

    it('fails SystemManaged keys where requireCustomerManagedKey is set, and names the vault of a Key Vault key', () => {
      assert.equal(
        statuses(evaluateServerBackups(db({requireCustomerManagedKey: true}), facts(server()), MAP, NOW)).encrypted,
        'fail',
      )
      const cmk = evaluateServerBackups(
        db({requireCustomerManagedKey: true}),
        facts(
          server({
            dataEncryption: {
              type: 'AzureKeyVault',
              primaryKeyURI: 'https://examplekeyvault3.vault.azure.net/keys/examplekey/xxxxxxxx',
              primaryEncryptionKeyStatus: 'Valid',
            },
          }),
        ),
        MAP,
        NOW,
      )
      assert.equal(statuses(cmk).encrypted, 'pass')
      assert.match(
        cmk.checks.find((c) => c.check === 'encrypted')!.detail,
        /key examplekey in vault https:\/\/examplekeyvault3\.vault\.azure\.net/,
      )
    })

    it('answers a field the server lacks with unknown naming the field, never a crash', () => {
      const body = server()
      delete body.properties!.backup!.backupRetentionDays
      delete body.properties!.dataEncryption
      const report = evaluateServerBackups(db(), facts(body), MAP, NOW)
      assert.equal(statuses(report).retention, 'unknown')
      assert.match(report.checks[0].detail, /properties\.backup\.backupRetentionDays/)
      assert.equal(statuses(report).encrypted, 'unknown')
      assert.equal(report.status, 'unknown')
    })

    it('dates an erased customer: retired until erase + retention, fail after it while a restore can reach before the erase', () => {
      const erasedAt = new Date(NOW.getTime() - 10 * DAY)
      const before = residualCheck({name: 'app-db'}, facts(server()), erasedAt, NOW)
      assert.equal(before.status, 'retired')
      assert.match(before.detail, /until 2025-03-26T09:00:00\.000Z \(erase \+ 35 days, the certificate's rule\)/)
      const stated = residualCheck({name: 'app-db'}, facts(server()), erasedAt, NOW, '2025-03-26T08:59:59.900Z')
      assert.match(stated.detail, /until 2025-03-26T08:59:59\.900Z \(the date its certificate states\)/)
      const later = new Date(erasedAt.getTime() + 40 * DAY)
      const stuck = server({backup: {earliestRestoreDate: new Date(erasedAt.getTime() - DAY).toISOString()}})
      assert.equal(residualCheck({name: 'app-db'}, facts(stuck), erasedAt, later).status, 'fail')
      const moved = server({backup: {earliestRestoreDate: new Date(later.getTime() - 35 * DAY).toISOString()}})
      assert.equal(residualCheck({name: 'app-db'}, facts(moved), erasedAt, later).status, 'retired')
    })
  })

  describe('through the local Resource Manager, the audit trail and Azurite', function () {
    this.timeout(60_000)
    let arm: Arm

    before(async () => {
      arm = await startArm()
    })

    after(() => arm.close())

    function map(container: string, audit: string): DataMap {
      const azurite = getTestAzurite()
      return validateDataMap(
        {
          residency: {allowedRegions: ['germanywestcentral', 'germanynorth']},
          customers: {known: ['acme', 'globex']},
          stores: [
            {
              name: 'documents',
              account: azurite.connectionString('contosoprod'),
              container: 'tenant-{customer}',
              resourceId: arm.id('prod'),
            },
          ],
          backups: [
            {
              name: 'nightly-db',
              account: azurite.connectionString('contosobackup'),
              container,
              prefix: '{customer}/',
              dateFrom: '{customer}/{yyyy}-{MM}-{dd}/',
              resourceId: arm.id('backup'),
              expect: {every: '24h', maxAge: '26h', keepDays: 30},
            },
          ],
          databases: [{...db(), resourceId: SERVER_ID}],
          audit: {account: azurite.connectionString('contosoaudit'), container: audit},
          azure: {
            credential: 'local',
            caCertificate: arm.caPath,
            resourceManager: arm.server.url,
            subscription: LOCAL_SUBSCRIPTION_ID,
          },
        },
        join(arm.dir, 'custos.yaml'),
      )
    }

    it('checks the server in the same result, and reports a customer custos erased as retired, not FAIL', async () => {
      const state = arm.server.state
      state.addFlexibleServer({
        name: 'contoso-pg',
        createdAt: new Date(NOW.getTime() - 400 * DAY),
        earliestRestoreDate: new Date(NOW.getTime() - 35 * DAY).toISOString(),
      })
      state.addFlexibleServerBackups(
        SERVER_ID,
        [1, 2, 3].map((d) => ({completedTime: new Date(NOW.getTime() - d * DAY + 3_600_000)})),
      )
      const container = uniqueName('backups')
      const audit = uniqueName('audit')
      const m = map(container, audit)
      const clients = new AzureClients(m, {retry: {maxTries: 3, retryDelayInMs: 100}})
      const blob = clients.blobService(m.backups[0].account).getContainerClient(container)
      await blob.create()
      await seedDailyBackups(
        blob,
        'globex/',
        Array.from({length: 31}, (_, i) => i),
        NOW,
      )
      const erasedAt = new Date(NOW.getTime() - 2 * DAY)
      await new AuditTrail(clients, {signer: null}).append(
        {
          action: 'erase.apply',
          result: 'succeeded',
          customer: 'acme',
          // the residual date as the certificate states it (a little before erase time + 35 days)
          details: {
            certificate: 'certificate-acme.json',
            residuals: [{store: 'app-db', until: '2025-04-03T08:59:59.900Z'}],
          },
        },
        () => erasedAt,
      )

      const result = await verifyBackups(clients, m, {now: NOW})
      assert.equal(result.databases.length, 1)
      assert.equal(result.databases[0].status, 'pass', JSON.stringify(result.databases[0].checks))
      assert.equal(result.databases[0].automaticBackups, 3)
      const acme = result.customers.find((c) => c.customer === 'acme')!
      assert.equal(acme.status, 'retired')
      assert.equal(acme.erasedAt, erasedAt.toISOString())
      assert.deepEqual(
        acme.sets.map((s) => [s.set, s.checks[0].check, s.status]),
        [
          ['nightly-db', 'retired', 'retired'],
          ['app-db', 'residual', 'retired'],
        ],
      )
      assert.match(acme.sets[0].checks[0].detail, /certificate-acme\.json/)
      assert.match(acme.sets[1].checks[0].detail, /until 2025-04-03T08:59:59\.900Z \(the date its certificate states\)/)
      const globex = result.customers.find((c) => c.customer === 'globex')!
      assert.equal(globex.status, 'pass', JSON.stringify(globex.sets[0].checks))
      assert.equal(result.status, 'retired')
      assert.equal(result.totals.retired, 1)
      const text = renderReport(result)
      assert.doesNotMatch(text, /FAIL/)
      assert.match(text, /Database app-db \(server contoso-pg\)/)
      const nagios = nagiosLine(result)
      assert.equal(nagios.exitCode, 0)
      assert.match(
        nagios.line,
        /^BACKUPS OK - 2 customers \(1 retired: erased by custos\) in 1 backup set and 1 database server: every check passed \|/,
      )

      // past the residual date, a server still restorable to before the erase breaks the certificate
      const later = new Date(erasedAt.getTime() + 36 * DAY)
      state.addFlexibleServer({
        name: 'contoso-pg',
        createdAt: new Date(NOW.getTime() - 400 * DAY),
        earliestRestoreDate: new Date(erasedAt.getTime() - DAY).toISOString(),
      })
      const after = await verifyBackups(clients, m, {now: later, customer: 'acme'})
      const residual = after.customers[0].sets.find((s) => s.set === 'app-db')!
      assert.equal(residual.status, 'fail')
      assert.equal(nagiosLine(after).exitCode, 2)
    })
  })
})
