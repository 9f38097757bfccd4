import {strict as assert} from 'node:assert'
import {existsSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'

import {chromium, type BrowserContext} from 'playwright-core'

import {AccessAggregator} from '../../src/lib/access/aggregate.js'
import {consumeRecords} from '../../src/lib/access/consume.js'
import {WorkingHours} from '../../src/lib/access/hours.js'
import {fromArchivedRecord} from '../../src/lib/access/normalize.js'
import {renderAccessHtml} from '../../src/lib/access/render-html.js'
import {reportFromAggregator} from '../../src/lib/access/report.js'
import type {AccessReport} from '../../src/lib/access/types.js'
import {blobRead, signIn, type Doc} from './helpers.js'

const CHROMIUM = process.env.CUSTOS_CHROMIUM ?? '/usr/bin/chromium'
const DAY = 86_400_000

async function sampleReport(): Promise<AccessReport> {
  const since = Date.parse('2026-03-02T00:00:00Z')
  const until = since + 7 * DAY
  const hours = new WorkingHours({timeZone: 'Europe/Berlin', workingHours: '07:00-19:00', workingDays: [1, 2, 3, 4, 5]})
  const aggregator = new AccessAggregator({
    sinceInMs: since,
    untilInMs: until,
    lookbackInMs: 0,
    allowedCountries: ['DE'],
    burstFailures: 5,
    burstWindowInMs: 600_000,
    hours,
  })
  const records: Doc[] = []
  for (let d = 0; d < 7; d++) {
    for (let u = 0; u < 12; u++) {
      const t = since + d * DAY + (8 + u / 2) * 3_600_000
      records.push(
        signIn(`user${u}@contoso.com`, new Date(t), {ip: `198.51.100.${u}`, code: (u + d) % 5 === 0 ? 50_126 : 0}),
      )
      records.push(blobRead(`user${u}@contoso.com`, new Date(t + 60_000), '/contosoprod/tenant-acme/a.txt'))
    }
  }

  records.push(
    signIn('<script>alert(1)</script>@evil.example', new Date(since + DAY + 3_600_000), {
      country: 'RU',
      ip: '203.0.113.5',
    }),
  )
  await consumeRecords(records, aggregator, {toEvent: fromArchivedRecord})
  return reportFromAggregator(aggregator, {
    since: new Date(since),
    until: new Date(until),
    sources: [
      {
        name: 'archive',
        target: 'https://contosologs.blob.core.windows.net',
        events: aggregator.inRange,
        lookbackEvents: 0,
      },
    ],
  })
}

describe('access report HTML in a real headless Chromium', function () {
  this.timeout(60_000)
  let context: BrowserContext | undefined
  let dir: string

  before(async function () {
    if (!existsSync(CHROMIUM)) {
      console.log(
        `    NOTICE: ${CHROMIUM} is not installed, so the HTML report is not checked in a browser (apt-get install -y chromium)`,
      )
      this.skip()
    }

    dir = mkdtempSync(join(tmpdir(), 'custos-html-'))
    context = await chromium.launchPersistentContext(join(dir, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    })
  })

  after(async () => {
    await context?.close()
    if (dir) rmSync(dir, {recursive: true, force: true})
  })

  it('renders the three charts from one self-contained file, without fetching anything or logging errors', async () => {
    const report = await sampleReport()
    const file = join(dir, 'access.html')
    writeFileSync(file, renderAccessHtml(report))
    const page = await context!.newPage()
    const problems: string[] = []
    const requests: string[] = []
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`)
    })
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`))
    page.on('dialog', (d) => {
      problems.push(`dialog: ${d.message()}`)
      void d.dismiss()
    })
    page.on('request', (r) => requests.push(r.url()))
    await page.goto(pathToFileURL(file).href, {waitUntil: 'load'})

    assert.equal(await page.title(), `Access report ${report.range.since} – ${report.range.until}`)
    const charts = await page.$$eval('svg[data-chart]', (svgs) =>
      svgs.map((s) => {
        const box = s.getBoundingClientRect()
        return {
          id: s.dataset.chart,
          width: box.width,
          height: box.height,
          bars: s.querySelectorAll('rect.bar').length,
          failures: s.querySelectorAll('rect.bar.failure').length,
        }
      }),
    )
    assert.deepEqual(
      charts.map((c) => c.id),
      ['daily', 'principals', 'countries'],
    )
    for (const c of charts) assert.ok(c.width > 300 && c.height > 40, `${c.id} is laid out (${c.width}×${c.height})`)
    const [daily, principals, countries] = charts
    assert.equal(daily.failures, report.daily.filter((d) => d.failures > 0).length)
    assert.equal(daily.bars, report.daily.filter((d) => d.signIns > d.failures).length + daily.failures)
    assert.ok(principals.bars >= 10)
    assert.equal(countries.bars, 2)
    assert.ok((await page.textContent('svg[data-chart="countries"]'))!.includes('RU (not allowed)'))

    // a bar is really painted where it says: the topmost element at its centre is the bar itself
    const hit = await page.$eval('svg[data-chart="daily"] rect.bar.failure', (bar) => {
      const r = bar.getBoundingClientRect()
      bar.scrollIntoView()
      const again = bar.getBoundingClientRect()
      return (
        bar.ownerDocument.elementFromPoint(again.left + again.width / 2, again.top + again.height / 2) === bar &&
        r.height > 0
      )
    })
    assert.equal(hit, true)

    // the hostile principal name is text, not markup
    assert.equal(await page.$$eval('script', (s) => s.length), 0)
    assert.ok((await page.textContent('body'))!.includes('<script>alert(1)</script>@evil.example'))

    assert.deepEqual(problems, [])
    assert.deepEqual(requests, [pathToFileURL(file).href])
    await page.close()
  })
})
