import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'

import {AzureClients} from '../../src/lib/azure/clients.js'
import type {DataMap} from '../../src/lib/datamap/types.js'
import type {BackupsVerifyResult, CheckName, CustomerSetReport} from '../../src/lib/backups/model.js'
import {exitCodeOf, nagiosLine} from '../../src/lib/backups/report.js'
import {verifyBackups} from '../../src/lib/backups/verify.js'
import {getTestAzurite, uniqueName} from '../support/env.js'
import {DAY, backupMap, isoDay, range, seedDailyBackups, startArm, type Arm, type MapOptions} from './helpers.js'

function setOf(result: BackupsVerifyResult, customer: string): CustomerSetReport {
  const c = result.customers.find((r) => r.customer === customer)
  assert.ok(c, `no report for ${customer}; have ${result.customers.map((r) => r.customer).join(', ')}`)
  return c.sets[0]
}

function check(result: BackupsVerifyResult, customer: string, name: CheckName) {
  const found = setOf(result, customer).checks.find((k) => k.check === name)
  assert.ok(found, `no ${name} check for ${customer}`)
  return found
}

describe('backups verify', function () {
  this.timeout(60_000)
  let arm: Arm
  const conn = () => getTestAzurite().connectionString('contosobackup')
  const prod = () => getTestAzurite().connectionString('contosoprod')
  const mapFor = (o: Omit<MapOptions, 'account'> & {account?: string}): DataMap =>
    backupMap(arm, prod(), {account: conn(), ...o})
  const containerOf = (map: DataMap, name: string) =>
    new AzureClients(map).blobService(map.backups[0].account).getContainerClient(name)

  before(async () => {
    arm = await startArm()
  })

  after(async () => {
    await arm?.close()
  })

  describe('a healthy backup set', () => {
    const container = uniqueName('healthy')
    let map: DataMap
    let result: BackupsVerifyResult

    before(async () => {
      map = mapFor({container})
      const c = containerOf(map, container)
      await c.create()
      await seedDailyBackups(c, 'acme/', range(0, 29))
      await seedDailyBackups(c, 'globex/', range(0, 29))
      result = await verifyBackups(new AzureClients(map), map)
    })

    it('passes every check for every customer found in the listing', () => {
      assert.deepEqual(
        result.customers.map((c) => [c.customer, c.status]),
        [
          ['acme', 'pass'],
          ['globex', 'pass'],
        ],
      )
      for (const k of setOf(result, 'acme').checks) assert.equal(k.status, 'pass', `${k.check}: ${k.detail}`)
      assert.deepEqual(
        setOf(result, 'acme').checks.map((k) => k.check),
        ['fresh', 'complete', 'encrypted', 'resident', 'intact'],
      )
      assert.equal(result.status, 'pass')
      assert.equal(exitCodeOf(result.status), 0)
    })

    it("reads each backup's date from its path, not from Last-Modified (which Azurite sets to now)", () => {
      const s = setOf(result, 'acme')
      assert.equal(s.backups, 30)
      assert.equal(s.oldest?.slice(0, 10), isoDay(new Date(Date.now() - 29 * DAY)))
      assert.equal(s.newestFrom, 'path')
    })

    it("reports the backup account's region, the primary's and the replication", () => {
      const r = check(result, 'acme', 'resident')
      assert.match(r.detail, /contosobackup is in germanynorth \(allowed\)/)
      assert.match(r.detail, /primary: documents in germanywestcentral/)
      assert.match(r.detail, /replication Standard_ZRS, no secondary region/)
      assert.deepEqual([result.sets[0].region, result.sets[0].replication], ['germanynorth', 'Standard_ZRS'])
    })

    it('lists the shared container once for all customers', () => {
      assert.equal(result.sets[0].listings, 1)
      assert.equal(result.sets[0].listed, 60)
      assert.equal(result.sets[0].customersFrom, 'listing')
    })

    it('prints an OK Nagios line with performance data', () => {
      const {line, exitCode} = nagiosLine(result)
      assert.equal(exitCode, 0)
      assert.match(
        line,
        /^BACKUPS OK - 2 customers in 1 backup set: every check passed \| customers=2;;;0 critical=0;;;0 warning=0;;;0 unknown=0;;;0 backups=60;;;0 size=\d+B;;;0 missing_days=0;;;0 'nightly-db_newest_age'=\d+s;;93600;0$/,
      )
    })
  })

  describe('findings', () => {
    it('names the day a backup is missing (WARNING, exit 1)', async () => {
      const container = uniqueName('gap')
      const map = mapFor({container})
      const c = containerOf(map, container)
      await c.create()
      await seedDailyBackups(
        c,
        'globex/',
        range(0, 29).filter((d) => d !== 12),
      )
      const result = await verifyBackups(new AzureClients(map), map)
      const missingDay = isoDay(new Date(Date.now() - 12 * DAY))
      const complete = check(result, 'globex', 'complete')
      assert.equal(complete.status, 'warn')
      assert.match(complete.detail, new RegExp(`1 day without a backup in the last 30 days: ${missingDay}$`))
      assert.deepEqual(setOf(result, 'globex').missing, [missingDay])
      assert.equal(check(result, 'globex', 'fresh').status, 'pass')
      assert.equal(exitCodeOf(result.status), 1)
      const {line, exitCode} = nagiosLine(result)
      assert.equal(exitCode, 1)
      assert.ok(
        line.startsWith(
          `BACKUPS WARNING - 1 warning of 1 customers; globex nightly-db complete: 1 day without a backup in the last 30 days: ${missingDay} |`,
        ),
        line,
      )
      assert.match(line, / missing_days=1;;;0/)
    })

    it('says when every missing day lies before the oldest backup (a customer added recently)', async () => {
      const container = uniqueName('new')
      const map = mapFor({container})
      const c = containerOf(map, container)
      await c.create()
      await seedDailyBackups(c, 'hooli/', range(0, 26))
      const result = await verifyBackups(new AzureClients(map), map)
      const complete = check(result, 'hooli', 'complete')
      assert.equal(complete.status, 'warn')
      assert.match(
        complete.detail,
        new RegExp(
          `^3 days without a backup in the last 30 days: ${isoDay(new Date(Date.now() - 29 * DAY))}, .+; all before the oldest backup \\(${isoDay(new Date(Date.now() - 26 * DAY))}\\)`,
        ),
      )
    })

    it('fails a customer whose newest backup is older than maxAge (CRITICAL, exit 2)', async () => {
      const container = uniqueName('stale')
      const map = mapFor({container})
      const c = containerOf(map, container)
      await c.create()
      await seedDailyBackups(c, 'initech/', range(3, 29))
      const result = await verifyBackups(new AzureClients(map), map)
      const fresh = check(result, 'initech', 'fresh')
      assert.equal(fresh.status, 'fail')
      assert.match(
        fresh.detail,
        new RegExp(
          `^newest backup is 3d( \\d+[hms])? old, older than maxAge 26h: ${isoDay(new Date(Date.now() - 3 * DAY))}T00:00:00.000Z \\(from path\\)$`,
        ),
      )
      assert.equal(exitCodeOf(result.status), 1)
      const {line, exitCode} = nagiosLine(result)
      assert.equal(exitCode, 2)
      assert.match(line, /^BACKUPS CRITICAL - 1 critical of 1 customers; initech nightly-db fresh: newest backup is 3d/)
      const age = Number(/'nightly-db_newest_age'=(\d+)s;;93600;0/.exec(line)?.[1])
      assert.ok(age >= 3 * 86_400 && age < 4 * 86_400, line)
    })

    it('fails a backup account outside residency.allowedRegions and names the region', async () => {
      const container = uniqueName('weu')
      const map = mapFor({container, backupAccount: 'westeurope'})
      const c = containerOf(map, container)
      await c.create()
      await seedDailyBackups(c, 'acme/', range(0, 29))
      const result = await verifyBackups(new AzureClients(map), map)
      const resident = check(result, 'acme', 'resident')
      assert.equal(resident.status, 'fail')
      assert.match(
        resident.detail,
        /^backup account contosobackupweu is in westeurope, which is not in residency\.allowedRegions \(germanywestcentral, germanynorth\)/,
      )
      assert.deepEqual(
        setOf(result, 'acme')
          .checks.filter((k) => k.status !== 'pass')
          .map((k) => k.check),
        ['resident'],
      )
      const {line, exitCode} = nagiosLine(result)
      assert.equal(exitCode, 2)
      assert.match(
        line,
        /^BACKUPS CRITICAL - 1 critical of 1 customers; acme nightly-db resident: backup account contosobackupweu is in westeurope/,
      )
    })

    it('fails a backup account in the same region as the primary store and names the store', async () => {
      const container = uniqueName('same')
      const map = mapFor({container, backupAccount: 'sameSite'})
      const c = containerOf(map, container)
      await c.create()
      await seedDailyBackups(c, 'acme/', range(0, 29))
      const result = await verifyBackups(new AzureClients(map), map)
      const resident = check(result, 'acme', 'resident')
      assert.equal(resident.status, 'fail')
      assert.match(
        resident.detail,
        /^backup account contosobackupgwc is in the same region \(germanywestcentral\) as store documents \(contosoprod\)/,
      )
      assert.equal(nagiosLine(result).exitCode, 2)
      assert.equal(exitCodeOf(result.status), 1)
    })

    it('warns when the backup set has no resourceId, because separation cannot be shown', async () => {
      const container = uniqueName('noid')
      const map = mapFor({container, backupAccount: null})
      const c = containerOf(map, container)
      await c.create()
      await seedDailyBackups(c, 'acme/', range(0, 29))
      const result = await verifyBackups(new AzureClients(map), map)
      assert.equal(check(result, 'acme', 'resident').status, 'warn')
      assert.match(check(result, 'acme', 'resident').detail, /has no resourceId/)
    })

    it('fails a backup whose size or SHA-256 differs from the manifest, and one the manifest lists but is gone', async () => {
      const container = uniqueName('manifest')
      const map = mapFor({container, set: {manifest: 'manifest.json'}})
      const c = containerOf(map, container)
      await c.create()
      const seeded = await seedDailyBackups(c, 'acme/', range(0, 29))
      const entries = seeded.map((b) => ({name: b.name.slice('acme/'.length), size: b.body.length, sha256: b.sha256}))
      entries[3].sha256 = createHash('sha256').update('something else').digest('hex')
      entries[5].size += 1
      entries.push({name: '1999-01-01/db.bak', size: 1, sha256: entries[0].sha256})
      const manifest = JSON.stringify({backups: entries})
      await c.getBlockBlobClient('acme/manifest.json').upload(manifest, Buffer.byteLength(manifest))
      const result = await verifyBackups(new AzureClients(map), map)
      const intact = check(result, 'acme', 'intact')
      assert.equal(intact.status, 'fail')
      assert.match(
        intact.detail,
        new RegExp(
          `1 backups differ in size from the manifest: ${seeded[5].name} \\(${seeded[5].body.length} bytes, manifest says ${seeded[5].body.length + 1}\\)`,
        ),
      )
      assert.match(intact.detail, new RegExp(`1 backups have a SHA-256 other than the manifest's: ${seeded[3].name}`))
      assert.match(intact.detail, /1 backups listed in the manifest are missing: acme\/1999-01-01\/db\.bak/)
      assert.equal(setOf(result, 'acme').backups, 30, 'the manifest blob itself is not a backup')
      const {line, exitCode} = nagiosLine(result)
      assert.equal(exitCode, 2)
      assert.match(line, /acme nightly-db intact: 1 backups differ in size from the manifest/)
    })

    it('passes a manifest that matches and fails a customer whose manifest is missing', async () => {
      const container = uniqueName('manifest-ok')
      const map = mapFor({container, set: {manifest: 'manifest.json'}})
      const c = containerOf(map, container)
      await c.create()
      const seeded = await seedDailyBackups(c, 'acme/', range(0, 29))
      await seedDailyBackups(c, 'globex/', range(0, 29))
      const manifest = JSON.stringify(
        seeded.map((b) => ({name: b.name.slice('acme/'.length), size: b.body.length, sha256: b.sha256})),
      )
      await c.getBlockBlobClient('acme/manifest.json').upload(manifest, Buffer.byteLength(manifest))
      const result = await verifyBackups(new AzureClients(map), map)
      assert.deepEqual(
        [check(result, 'acme', 'intact').status, check(result, 'acme', 'intact').detail],
        ['pass', "30 backups match the manifest's sizes and SHA-256 (30 compared)"],
      )
      assert.deepEqual(
        [check(result, 'globex', 'intact').status, check(result, 'globex', 'intact').detail],
        ['fail', 'manifest globex/manifest.json not found'],
      )
    })
  })

  describe('--restore-sample', () => {
    it('downloads the newest backup and random others end to end, checks MD5 and SHA-256 and reports the throughput', async () => {
      const container = uniqueName('restore')
      const map = mapFor({container})
      const c = containerOf(map, container)
      await c.create()
      const seeded = await seedDailyBackups(c, 'acme/', range(0, 29))
      const result = await verifyBackups(new AzureClients(map), map, {restoreSample: 3, random: () => 0.5})
      const restore = check(result, 'acme', 'restore')
      assert.equal(restore.status, 'pass', restore.detail)
      assert.match(
        restore.detail,
        /^3 restored end to end, MD5 and SHA-256 match \(\d+(\.\d)? KiB in \d+(ms|s), .+\/s\)$/,
      )
      assert.equal(result.restore?.downloads, 3)
      assert.equal(result.restore?.bytes, seeded[0].body.length * 3)
      assert.ok((result.restore?.bytesPerSecond ?? 0) > 0)
      assert.match(nagiosLine(result).line, / restore_size=\d+B;;;0 restore_time=[\d.]+s;;;0 restore_failures=0;;;0$/)
    })

    it('fails a backup whose bytes do not match its Content-MD5, naming it', async () => {
      const container = uniqueName('corrupt')
      const map = mapFor({container})
      const c = containerOf(map, container)
      await c.create()
      const seeded = await seedDailyBackups(c, 'acme/', range(0, 29))
      // The newest backup is always restored; make its recorded MD5 disagree with its bytes.
      await c.getBlockBlobClient(seeded[0].name).setHTTPHeaders({
        blobContentType: 'application/octet-stream',
        blobContentMD5: createHash('md5').update('other bytes').digest(),
      })
      const result = await verifyBackups(new AzureClients(map), map, {restoreSample: 1})
      const restore = check(result, 'acme', 'restore')
      assert.equal(restore.status, 'fail')
      assert.match(
        restore.detail,
        new RegExp(`^1 of 1 restored backups are corrupt or unreadable: ${seeded[0].name} \\(MD5 mismatch\\)`),
      )
      assert.equal(result.restore?.failures, 1)
      assert.equal(nagiosLine(result).exitCode, 2)
    })
  })

  describe('customers', () => {
    it('never mixes acme-corp into acme in a shared container, in one listing', async () => {
      const container = uniqueName('neighbours')
      const map = mapFor({container})
      const c = containerOf(map, container)
      await c.create()
      await seedDailyBackups(c, 'acme/', range(0, 29))
      await seedDailyBackups(c, 'acme-corp/', range(4, 29))
      await seedDailyBackups(c, 'acme.x/', range(0, 1))
      await c.getBlockBlobClient('README.txt').upload('x', 1)
      await c.getBlockBlobClient('Not_A_Customer/2024-01-01/db.bak').upload('x', 1)
      const result = await verifyBackups(new AzureClients(map), map, {pageSize: 7})
      assert.deepEqual(
        result.customers.map((r) => [r.customer, r.status, r.sets[0].backups]),
        [
          ['acme', 'pass', 30],
          ['acme-corp', 'fail', 26],
        ],
      )
      assert.equal(result.sets[0].listings, 1)
      assert.equal(result.sets[0].ignored, 4, result.sets[0].ignoredExamples.join(', '))
      assert.ok(result.notes.some((n) => n.includes('4 names belong to no checked customer')))
    })

    it('checks the customers of customers.known and fails a known customer without any backup', async () => {
      const container = uniqueName('known')
      const map = mapFor({container, known: ['acme', 'hooli']})
      const c = containerOf(map, container)
      await c.create()
      await seedDailyBackups(c, 'acme/', range(0, 29))
      await seedDailyBackups(c, 'globex/', range(0, 29))
      const result = await verifyBackups(new AzureClients(map), map)
      assert.deepEqual(
        result.customers.map((r) => [r.customer, r.status]),
        [
          ['acme', 'pass'],
          ['hooli', 'fail'],
        ],
      )
      assert.match(check(result, 'hooli', 'fresh').detail, /^no backups in contosobackup\/.+\/hooli\/$/)
      assert.equal(result.sets[0].customersFrom, 'known')
    })

    it("with --customer lists only that customer's prefix", async () => {
      const container = uniqueName('one')
      const map = mapFor({container})
      const c = containerOf(map, container)
      await c.create()
      await seedDailyBackups(c, 'acme/', range(0, 29))
      await seedDailyBackups(c, 'acme-corp/', range(0, 2))
      const result = await verifyBackups(new AzureClients(map), map, {customer: 'acme'})
      assert.deepEqual(
        result.customers.map((r) => r.customer),
        ['acme'],
      )
      assert.equal(result.sets[0].listed, 30)
      assert.equal(result.status, 'pass')
    })

    it('finds the customers of a container-per-customer set from the container names', async () => {
      const base = uniqueName('bk').slice(0, 20)
      const map = mapFor({container: `${base}-{customer}`})
      for (const [customer, days] of [
        ['acme', range(0, 29)],
        ['globex', range(2, 29)],
      ] as const) {
        const c = containerOf(map, `${base}-${customer}`)
        await c.create()
        await seedDailyBackups(c, '', days)
      }

      const result = await verifyBackups(new AzureClients(map), map)
      assert.deepEqual(
        result.customers.map((r) => [r.customer, r.status]),
        [
          ['acme', 'pass'],
          ['globex', 'fail'],
        ],
      )
      assert.equal(result.sets[0].layout, 'container-per-customer')
      assert.equal(result.sets[0].listings, 2)
    })

    it("reads a backup's time from metadata when its path carries no date", async () => {
      const container = uniqueName('meta')
      const map = mapFor({
        container,
        set: {dateFrom: undefined, dateMetadata: 'backuptime', expect: {every: '24h', maxAge: '26h', keepDays: 3}},
      })
      const c = containerOf(map, container)
      await c.create()
      for (const d of [1, 2]) {
        const when = new Date(Date.now() - d * DAY)
        await c
          .getBlockBlobClient(`acme/db-${d}.bak`)
          .uploadData(Buffer.from('x'), {metadata: {BackupTime: when.toISOString()}})
      }

      const result = await verifyBackups(new AzureClients(map), map)
      const fresh = check(result, 'acme', 'fresh')
      assert.equal(fresh.status, 'pass')
      assert.match(fresh.detail, /^newest backup 1d( \d+s)? old: .+ \(from metadata\)$/)
      assert.equal(check(result, 'acme', 'complete').status, 'pass')
    })

    it('refuses a --customer that does not match customers.idPattern before listing anything', async () => {
      const map = mapFor({container: uniqueName('bad')})
      await assert.rejects(verifyBackups(new AzureClients(map), map, {customer: '../acme'}), {
        code: 'InvalidCustomerId',
        exitCode: 2,
      })
    })
  })
})
