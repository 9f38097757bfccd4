/** The rules of `backups verify` that need no service: dates, days, customer ids, manifests, Nagios text. */
import assert from 'node:assert/strict'

import {backupTimeReader} from '../../src/lib/backups/backup-time.js'
import {BackupCalendar} from '../../src/lib/backups/calendar.js'
import {CustomerIdFilter, customerTemplate} from '../../src/lib/backups/customers.js'
import {normalizeSha256, parseManifest} from '../../src/lib/backups/manifest.js'
import type {BackupsVerifyResult} from '../../src/lib/backups/model.js'
import {exitCodeOf, nagiosLine, nagiosUnknown} from '../../src/lib/backups/report.js'
import {RestoreSampler} from '../../src/lib/backups/restore.js'
import type {ScopedBlob} from '../../src/lib/inventory/listing.js'

const DAY = 86_400_000
const blob = (name: string, lastModified: string, metadata?: Record<string, string>): ScopedBlob => ({
  store: 'nightly-db',
  container: 'backups',
  name,
  kind: 'current',
  size: 1,
  lastModified,
  ...(metadata ? {metadata} : {}),
})

describe('backups verify rules', () => {
  describe("a backup's time", () => {
    const read = backupTimeReader({dateFrom: '{customer}/{yyyy}-{MM}-{dd}/', dateMetadata: 'backuptime'}, 'acme')

    it('comes from the path before metadata and Last-Modified', () => {
      assert.deepEqual(
        read(blob('acme/2024-05-01/db.bak', '2026-01-01T00:00:00Z', {backuptime: '2024-04-01T00:00:00Z'})),
        {time: new Date('2024-05-01T00:00:00Z'), source: 'path'},
      )
    })

    it("is refined within the path's day by the metadata time, then by Last-Modified", () => {
      assert.equal(
        read(
          blob('acme/2024-05-01/db.bak', '2024-05-01T03:00:00Z', {BackupTime: '2024-05-01T02:10:00Z'}),
        ).time.toISOString(),
        '2024-05-01T02:10:00.000Z',
      )
      assert.equal(
        read(blob('acme/2024-05-01/db.bak', '2024-05-01T03:00:00Z')).time.toISOString(),
        '2024-05-01T03:00:00.000Z',
      )
      assert.equal(
        read(blob('acme/2024-05-01/db.bak', '2024-05-02T00:00:00Z')).time.toISOString(),
        '2024-05-01T00:00:00.000Z',
      )
    })

    it('comes from metadata when the path has no date, and from Last-Modified last', () => {
      assert.deepEqual(read(blob('acme/db.bak', '2026-01-01T00:00:00Z', {backuptime: '2024-04-01T02:00:00Z'})), {
        time: new Date('2024-04-01T02:00:00Z'),
        source: 'metadata',
      })
      assert.deepEqual(read(blob('acme/db.bak', '2026-01-01T00:00:00Z', {backuptime: 'yesterday'})), {
        time: new Date('2026-01-01T00:00:00Z'),
        source: 'last-modified',
      })
    })

    it('reads a metadata time with a zone or an HTTP date, and never one without a zone (it would depend on the host TZ)', () => {
      const saved = process.env.TZ
      try {
        for (const zone of ['UTC', 'America/Los_Angeles', 'Asia/Kolkata']) {
          process.env.TZ = zone
          const at = (backuptime: string) => read(blob('acme/db.bak', '2026-01-01T00:00:00Z', {backuptime}))
          assert.deepEqual(at('2024-04-01T04:00:00+02:00'), {
            time: new Date('2024-04-01T02:00:00Z'),
            source: 'metadata',
          })
          assert.deepEqual(at('Mon, 01 Apr 2024 02:00:00 GMT'), {
            time: new Date('2024-04-01T02:00:00Z'),
            source: 'metadata',
          })
          for (const zoneless of ['2024-04-01T02:00:00', '2024-02-30T02:00:00Z', 'now', '-24h'])
            assert.equal(at(zoneless).source, 'last-modified', `${zoneless} under ${zone}`)
        }
      } finally {
        if (saved === undefined) delete process.env.TZ
        else process.env.TZ = saved
      }
    })

    it('a path that names an impossible date (2024-02-30) gives no date, instead of 1 March', () => {
      assert.deepEqual(read(blob('acme/2024-02-30/db.bak', '2024-03-02T00:00:00Z')), {
        time: new Date('2024-03-02T00:00:00Z'),
        source: 'last-modified',
      })
    })

    it("never reads acme-corp's date pattern as acme's", () => {
      assert.equal(read(blob('acme-corp/2024-05-01/db.bak', '2026-01-01T00:00:00Z')).source, 'last-modified')
    })
  })

  describe('the keepDays calendar', () => {
    const now = new Date('2024-05-31T09:00:00Z')

    it('lists the missing days oldest first and does not count today before it has ended', () => {
      const cal = new BackupCalendar({now, keepDays: 5, everyInMs: DAY})
      for (const d of ['2024-05-27', '2024-05-29', '2024-05-30']) cal.add(new Date(`${d}T02:00:00Z`))
      assert.deepEqual(cal.missing(), ['2024-05-28'])
      cal.add(new Date('2024-05-20T02:00:00Z'))
      assert.equal(cal.beforeWindow, 1)
      assert.equal(cal.newest?.toISOString(), '2024-05-30T02:00:00.000Z')
    })

    it('counts periods of expect.every when backups are rarer than daily', () => {
      const cal = new BackupCalendar({now, keepDays: 28, everyInMs: 7 * DAY})
      cal.add(new Date(now.getTime() - 2 * DAY))
      cal.add(new Date(now.getTime() - 9 * DAY))
      cal.add(new Date(now.getTime() - 25 * DAY))
      assert.deepEqual(cal.missing(), ['2024-05-10..2024-05-17'])
    })
  })

  describe('customer ids in names', () => {
    it('reads the customer from a prefix template and keeps acme apart from acme-corp', () => {
      const t = customerTemplate('backups/{customer}/db/')
      assert.equal(t.staticPrefix, 'backups/')
      assert.equal(t.customerOf('backups/acme/db/2024-05-01.bak'), 'acme')
      assert.equal(t.customerOf('backups/acme-corp/db/x'), 'acme-corp')
      assert.equal(t.customerOf('backups/acme/logs/x'), undefined)
      assert.equal(t.customerOf('other/acme/db/x'), undefined)
    })

    it('matches container names whole', () => {
      const t = customerTemplate('backup-{customer}', {whole: true})
      assert.equal(t.customerOf('backup-acme'), 'acme')
      assert.equal(t.customerOf('backups'), undefined)
    })

    it('accepts only ids that customers.idPattern and the safety rules allow', () => {
      const ids = new CustomerIdFilter('^[a-z0-9][a-z0-9-]{1,55}$')
      assert.deepEqual(
        ['acme', 'acme', 'Acme', '..', 'a'].map((id) => ids.accepts(id)),
        [true, true, false, false, false],
      )
    })
  })

  describe('manifests', () => {
    it('reads an array or {backups: [...]} and normalises base64 SHA-256 to hex', () => {
      const sha = 'a'.repeat(64)
      const b64 = Buffer.from(sha, 'hex').toString('base64')
      const a = parseManifest(`\uFEFF[{"name":"2024-05-01/db.bak","size":3,"sha256":"${b64}"}]`)
      assert.equal(a.state, 'found')
      assert.deepEqual(a.state === 'found' && a.entries.get('2024-05-01/db.bak'), {
        name: '2024-05-01/db.bak',
        size: 3,
        sha256: sha,
      })
      const b = parseManifest(`{"backups":[{"name":"x","sha256":"${sha.toUpperCase()}"}]}`)
      assert.equal(b.state === 'found' && b.entries.get('x')?.sha256, sha)
      assert.equal(normalizeSha256('nope'), undefined)
    })

    it('names what is wrong with an invalid manifest', () => {
      assert.deepEqual(parseManifest('{"files": 3}'), {
        state: 'invalid',
        reason: 'expected a JSON array (or {"backups": [...]}) of {name, size, sha256}',
      })
      assert.deepEqual(parseManifest('[{"name":"x","size":-1}]'), {
        state: 'invalid',
        reason: 'entry x: size must be a whole number of bytes',
      })
      assert.equal(parseManifest('not json').state, 'invalid')
    })
  })

  describe('restore samples', () => {
    it('always include the newest backup, plus N-1 others', () => {
      const sampler = new RestoreSampler(3, () => 0.99)
      for (let d = 0; d < 30; d++)
        sampler.offer({blob: blob(`acme/${d}`, '2024-01-01T00:00:00Z')}, new Date(Date.UTC(2024, 0, 1 + d)))
      const picked = sampler.pick().map((c) => c.blob.name)
      assert.equal(picked.length, 3)
      assert.equal(picked[0], 'acme/29')
      assert.equal(new Set(picked).size, 3)
    })
  })

  describe('exit codes and Nagios lines', () => {
    const empty: BackupsVerifyResult = {
      checkedAt: '2024-05-31T09:00:00.000Z',
      status: 'warn',
      totals: {
        customers: 0,
        pass: 0,
        retired: 0,
        warn: 0,
        fail: 0,
        unknown: 0,
        databases: 0,
        backups: 0,
        bytes: 0,
        missingDays: 0,
      },
      sets: [],
      customers: [],
      databases: [],
      notes: [
        'no customers were found in any backup set; list them in customers.known so that a customer without backups is noticed',
      ],
    }

    it('maps statuses to the documented exit codes', () => {
      assert.deepEqual(
        (['pass', 'warn', 'fail', 'unknown'] as const).map((s) => exitCodeOf(s)),
        [0, 1, 1, 4],
      )
    })

    it('warns when no customer was found at all', () => {
      assert.deepEqual(nagiosLine(empty), {
        line: 'BACKUPS WARNING - no customers were found in any backup set; list them in customers.known so that a customer without backups is noticed | customers=0;;;0 critical=0;;;0 warning=0;;;0 unknown=0;;;0 backups=0;;;0 size=0B;;;0 missing_days=0;;;0',
        exitCode: 1,
      })
    })

    it('says a set-level finding once, with the customers it concerns, and keeps "|" out of the text', () => {
      const report = (customer: string) => ({
        customer,
        status: 'fail' as const,
        sets: [
          {
            set: 'nightly-db',
            scope: 'x',
            status: 'fail' as const,
            backups: 1,
            bytes: 1,
            missing: [],
            checks: [{check: 'resident' as const, status: 'fail' as const, detail: 'in westeurope | not allowed'}],
          },
        ],
      })
      const result: BackupsVerifyResult = {
        ...empty,
        status: 'fail',
        totals: {...empty.totals, customers: 5, fail: 5},
        customers: ['a1', 'b2', 'c3', 'd4', 'e5'].map(report),
      }
      const {line, exitCode} = nagiosLine(result)
      assert.equal(exitCode, 2)
      assert.ok(
        line.startsWith(
          'BACKUPS CRITICAL - 5 critical of 5 customers; a1, b2, c3 and 2 more nightly-db resident: in westeurope / not allowed | customers=5',
        ),
        line,
      )
    })

    it('reports a run that could not check anything as UNKNOWN (exit 3)', () => {
      assert.deepEqual(nagiosUnknown('Access to container backups was denied (403).\nmore'), {
        line: 'BACKUPS UNKNOWN - Access to container backups was denied (403). more',
        exitCode: 3,
      })
    })
  })
})
