/**
 * `--format sarif` validates against the SARIF 2.1.0 JSON schema. The schema comes from the npm
 * package @microsoft/jest-sarif (Microsoft's sarif-js-sdk), which ships the 2.1.0 schema
 * (rtm.5, draft-04) as lib/schemas/sarif-2.1.0-rtm.5.json; Ajv validates draft-04 through ajv-draft-04.
 */
import {strict as assert} from 'node:assert'
import {readFileSync} from 'node:fs'
import {createRequire} from 'node:module'

import ajvDraft04 from 'ajv-draft-04'

import {CHECKS} from '../../src/lib/posture/catalogue.js'
import {toSarif} from '../../src/lib/posture/sarif.js'
import type {PostureReport} from '../../src/lib/posture/types.js'
import {ACCOUNTS, PostureBed, accountId} from './setup.js'

const require = createRequire(import.meta.url)
// a CommonJS module: its default import is module.exports, whose `default` is the class
const Ajv04 = ajvDraft04.default

function sarifValidator() {
  const schema = JSON.parse(
    readFileSync(require.resolve('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json'), 'utf8'),
  )
  // The schema's `language` pattern has a stray "]", which is only legal without the u flag.
  const ajv = new Ajv04({allErrors: true, strict: false, unicodeRegExp: false})
  ajv.addFormat(
    'date-time',
    (s: string) =>
      /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(s) && !Number.isNaN(Date.parse(s)),
  )
  ajv.addFormat('uri', (s: string) => URL.canParse(s))
  ajv.addFormat('uri-reference', (s: string) => URL.canParse(s, 'https://base.invalid/'))
  return ajv.compile(schema)
}

describe('audit posture --format sarif', function () {
  this.timeout(30_000)
  const bed = new PostureBed()
  let report: PostureReport
  const validate = sarifValidator()

  before(async () => {
    await bed.start()
    // a mix of every status: fail (critical, high, low), unknown, skipped and pass
    bed.patchAccount(ACCOUNTS.exports, {
      properties: {allowBlobPublicAccess: true, allowSharedKeyAccess: true, minimumTlsVersion: 'TLS1_1'},
    })
    bed.state.storageAccounts.delete(accountId(ACCOUNTS.audit).toLowerCase())
    report = await bed.audit()
  })

  after(() => bed.stop())

  it('validates against the SARIF 2.1.0 schema', () => {
    const log = JSON.parse(JSON.stringify(toSarif(report)))
    const ok = validate(log)
    assert.equal(ok, true, JSON.stringify(validate.errors, null, 2))
  })

  it('the validator rejects what the schema forbids (a level SARIF does not know)', () => {
    const log = JSON.parse(JSON.stringify(toSarif(report)))
    log.runs[0].results[0].level = 'fatal'
    assert.equal(validate(log), false)
  })

  it('lists the check catalogue as rules with the fix as help text', () => {
    const run = toSarif(report).runs[0] as any
    assert.deepEqual(
      run.tool.driver.rules.map((r: any) => r.id),
      CHECKS.map((c) => c.id),
    )
    const tls = run.tool.driver.rules.find((r: any) => r.id === 'storage.minimum-tls')
    assert.match(tls.help.text, /^Fix: az storage account update .* --min-tls-version TLS1_2$/)
    assert.equal(tls.defaultConfiguration.level, 'error')
    assert.equal(tls.properties['security-severity'], '8.0')
  })

  it('gives failed results a level by severity and locates them by the resource id', () => {
    const results = (toSarif(report).runs[0] as any).results as any[]
    const find = (check: string, fqn: string) =>
      results.find((r) => r.ruleId === check && r.locations[0].logicalLocations[0].fullyQualifiedName === fqn)
    const exportsId = accountId(ACCOUNTS.exports)
    assert.deepEqual(
      [find('storage.public-blob-access', exportsId).kind, find('storage.public-blob-access', exportsId).level],
      ['fail', 'error'],
    )
    assert.deepEqual(
      [find('storage.shared-key-access', exportsId).kind, find('storage.shared-key-access', exportsId).level],
      ['fail', 'note'],
    )
    assert.match(
      find('storage.minimum-tls', exportsId).message.text,
      /^contosoexport: minimumTlsVersion is TLS1_1\. Fix: az storage account update .*--name contosoexport --min-tls-version TLS1_2$/,
    )
    assert.deepEqual(find('storage.https-only', exportsId).locations[0].logicalLocations[0], {
      name: 'contosoexport',
      fullyQualifiedName: exportsId,
      kind: 'resource',
    })
    assert.deepEqual(
      [find('storage.https-only', exportsId).kind, find('storage.https-only', exportsId).level],
      ['pass', 'none'],
    )
    // an account custos could not locate: "open", named by kind and name
    const unlocated = find('storage.https-only', 'storage-account:contosoaudit')
    assert.deepEqual([unlocated.kind, unlocated.level], ['open', 'none'])
    assert.equal(results.filter((r) => r.kind === 'notApplicable').length, 3)
    for (const r of results) assert.equal(CHECKS[r.ruleIndex].id, r.ruleId)
  })
})
