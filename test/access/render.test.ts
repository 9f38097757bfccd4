import {strict as assert} from 'node:assert'

import {AccessAggregator} from '../../src/lib/access/aggregate.js'
import {consumeRecords} from '../../src/lib/access/consume.js'
import {WorkingHours} from '../../src/lib/access/hours.js'
import {fromArchivedRecord} from '../../src/lib/access/normalize.js'
import {csvCell, renderAccessCsv} from '../../src/lib/access/render-csv.js'
import {renderAccessText} from '../../src/lib/access/render-text.js'
import {reportFromAggregator} from '../../src/lib/access/report.js'
import type {AccessReport} from '../../src/lib/access/types.js'
import {signIn} from './helpers.js'

async function report(): Promise<AccessReport> {
  const since = Date.parse('2026-03-23T00:00:00Z')
  const aggregator = new AccessAggregator({
    sinceInMs: since,
    untilInMs: since + 86_400_000,
    lookbackInMs: 0,
    allowedCountries: ['DE'],
    burstFailures: 5,
    burstWindowInMs: 600_000,
    hours: new WorkingHours({timeZone: 'Europe/Berlin', workingHours: '07:00-19:00', workingDays: [1, 2, 3, 4, 5]}),
  })
  await consumeRecords(
    [
      signIn('anna@contoso.com', '2026-03-23T09:00:00Z', {ip: '198.51.100.1'}),
      signIn('=HYPERLINK("http://x")@contoso.com', '2026-03-23T09:30:00Z', {
        ip: '198.51.100.2',
        country: 'FR',
        code: 50_126,
      }),
    ],
    aggregator,
    {toEvent: fromArchivedRecord},
  )
  return reportFromAggregator(aggregator, {since: new Date(since), until: new Date(since + 86_400_000), sources: []})
}

describe('access report renderers', () => {
  it('CSV quotes cells and defuses what a spreadsheet would run as a formula', async () => {
    assert.equal(csvCell('a,b'), '"a,b"')
    assert.equal(csvCell('say "hi"'), '"say ""hi"""')
    assert.equal(csvCell(-1), '-1')
    const lines = renderAccessCsv(await report()).split('\r\n')
    assert.equal(lines.length, 4) // header, two principals, final line end
    assert.ok(
      lines.some((l) => l.startsWith(`"'=hyperlink(""http://x"")@contoso.com",1,1,50126:1,`)),
      lines.join('\n'),
    )
    assert.ok(lines.some((l) => l.endsWith(',country-not-allowed:1,0')))
  })

  it('the table names every principal and every finding', async () => {
    const text = renderAccessText(await report())
    assert.match(text, /anna@contoso\.com/)
    assert.match(text, /2 principals, 2 sign-ins \(1 failed\), 0 operations\./)
    assert.match(
      text,
      /1 finding:\n {2}country-not-allowed +=hyperlink\("http:\/\/x"\)@contoso\.com signed in 1 time from FR/,
    )
  })
})
