import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'

import {BundleRedactor, LOG_REDACTION_RULES} from '../../src/lib/logs/redact.js'
import {SECRET_RULES} from '../../src/lib/secrets.js'
import {CONTRACTS, realActivityEvent, realFileRecord, realKeyVaultRecord, realStorageRead, signIn} from './fixtures.js'

describe('logs: redaction of kept records', () => {
  it('lists every secret rule and the other-customer rule in one table', () => {
    assert.deepEqual(
      LOG_REDACTION_RULES.map((r) => r.id),
      [...SECRET_RULES.map((r) => r.id), 'other-customer-id'],
    )
  })

  it("has a row in the README's redaction table for every rule, and no row for a rule that does not exist", () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
    const section = readme.slice(
      readme.indexOf('**Redaction** of each kept record'),
      readme.indexOf('**IP addresses.**'),
    )
    const rows = [...section.matchAll(/^\| `([a-z-]+)` \|/gm)].map((m) => m[1])
    assert.deepEqual(
      rows,
      LOG_REDACTION_RULES.map((r) => r.id),
    )
  })

  it('masks SAS signatures, account keys, bearer tokens, passwords and connection strings, counting per rule', () => {
    const r = new BundleRedactor('acme', [])
    const record = {
      uri: 'https://a.blob.core.windows.net/c/b?sv=2021-06-08&sr=b&sig=abcDEF123%2B%2F%3D',
      properties: {
        connection: 'DefaultEndpointsProtocol=https;AccountName=a;AccountKey=bXlrZXk=;EndpointSuffix=core.windows.net',
        bus: 'Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=Root;SharedAccessKey=c2VjcmV0a2V5=',
        header: 'Bearer abc.def-ghi',
        password: 'hunter2',
        dynamic: JSON.stringify({clientSecret: 'shh', note: 'password=letmein'}),
      },
    }
    const out = JSON.parse(r.redactRecordText(JSON.stringify(record)))
    const text = JSON.stringify(out)
    for (const secret of ['abcDEF123', 'bXlrZXk', 'c2VjcmV0a2V5', 'abc.def-ghi', 'hunter2', 'shh', 'letmein'])
      assert.ok(!text.includes(secret), `${secret} leaked`)
    assert.match(out.uri, /sig=\[REDACTED\]$/)
    assert.equal(out.properties.password, '[REDACTED]')
    assert.equal(JSON.parse(out.properties.dynamic).clientSecret, '[REDACTED]')
    assert.ok(out.properties.bus.includes('SharedAccessKeyName=Root;'))
    assert.deepEqual(Object.fromEntries(Object.entries(r.counts).filter(([, n]) => n > 0)), {
      'sas-signature': 1,
      'account-key': 1,
      'bearer-token': 1,
      password: 3,
      'shared-access-key': 1,
    })
  })

  it("replaces other customers' ids by a stable placeholder and leaves the customer's own id", () => {
    const r = new BundleRedactor('acme', ['acme-corp', 'globex', 'ACME'], Buffer.alloc(32, 1))
    const record = {
      a: 'tenant-acme-corp/x.txt',
      b: 'tenant-acme/x.txt',
      c: 'user@globex.example read /contosoprod/TENANT-GLOBEX/y',
      d: 'acmeglobex and globex2 are other words',
      e: 'line\nglobex',
    }
    const raw = JSON.stringify(record)
    const out = JSON.parse(r.redactRecordText(raw))
    const p1 = r.placeholder('acme-corp')
    const p2 = r.placeholder('globex')
    assert.match(p1, /^customer-[0-9a-f]{8}$/)
    assert.notEqual(p1, p2)
    assert.equal(r.placeholder('GLOBEX'), p2)
    assert.equal(out.a, `tenant-${p1}/x.txt`)
    assert.equal(out.b, 'tenant-acme/x.txt')
    assert.equal(out.c, `user@${p2}.example read /contosoprod/TENANT-${p2}/y`)
    assert.equal(out.d, record.d)
    assert.equal(out.e, `line\n${p2}`)
    assert.equal(r.counts['other-customer-id'], 4)
    // same salt, same placeholder: stable within a bundle
    assert.equal(new BundleRedactor('acme', [], Buffer.alloc(32, 1)).placeholder('globex'), p2)
  })

  it('returns records without anything to redact byte for byte', () => {
    const r = new BundleRedactor('acme', ['globex'])
    const raw = JSON.stringify(signIn(new Date(), 'acme'))
    assert.equal(r.redactRecordText(raw), raw)
  })

  it('keeps the JSON valid where a text rule would reach over structure (activity log authorization)', () => {
    const r = new BundleRedactor('acme', [])
    const event = realActivityEvent()
    event.httpRequest = {
      clientIpAddress: '1.2.3.4',
      method: 'PUT',
      authorization: 'Bearer eyJhbGciOi.eyJzdWIiOiIx.c2lnbmF0dXJl',
    }
    const out = JSON.parse(r.redactRecordText(JSON.stringify(event)))
    assert.deepEqual(out.authorization, event.authorization)
    assert.equal(out.httpRequest.authorization, 'Bearer [REDACTED]')
    const read = realStorageRead()
    assert.doesNotThrow(() => JSON.parse(r.redactRecordText(JSON.stringify(read))))
  })
})

/**
 * Every form in which a credential or its fingerprint reached a kept record verbatim before
 * (issue 19, part 4), on the real records of ../shared/azure-contracts/logs/ with only the field
 * under test changed. Each case checks three things: the secret is gone, the kind it names is kept,
 * and the rest of the record's text is byte for byte what it was (redaction writes back in the
 * record's own form: JSON escapes, percent-encoding, spacing).
 */
describe('logs: redaction of credentials in every form they reach a kept record', () => {
  const R = '[REDACTED]'

  /** Redacts `raw` and checks that only `secrets` changed, each to its `replacement`. */
  function expectOnly(
    raw: string,
    changes: Array<[secret: string, replacement: string]>,
  ): {out: string; counts: Record<string, number>} {
    const r = new BundleRedactor('acme', [])
    const out = r.redactRecordText(raw)
    let expected = raw
    for (const [secret, replacement] of changes) {
      assert.ok(expected.includes(secret), `test setup: ${secret} not in the record`)
      expected = expected.replaceAll(secret, replacement)
    }

    assert.equal(out, expected)
    assert.doesNotThrow(() => JSON.parse(out))
    return {out, counts: r.counts}
  }

  it('keeps the kinds of a StorageRead tokenHash and redacts the key and SAS fingerprints (captured sample)', () => {
    const record = realStorageRead()
    const raw = JSON.stringify(record)
    const {out, counts} = expectOnly(raw, [
      ['4C81DD1772CEA6215A976B5B9C0764F519518B179BA3C7257C7E745D337833E6', R],
      ['92D630456D3188B7F8F6F4AF99B4FBC8BD9434133587D96FB0FDDFBE12CF6349', R],
      ['sig=XXXXX', `sig=${R}`],
    ])
    assert.equal(JSON.parse(out).identity.tokenHash, `key1(${R}),SasSignature(${R})`)
    assert.equal(counts['storage-token-hash'], 2)
  })

  it('does the same for StorageWrite (SAS) and StorageRead (account key) records of the file service', () => {
    for (const name of ['storage_write', 'storage_delete'] as const) {
      const out = JSON.parse(new BundleRedactor('acme', []).redactRecordText(JSON.stringify(realFileRecord(name))))
      assert.equal(out.identity.tokenHash, `key1(${R}),SasSignature(${R})`, name)
    }

    const read = realFileRecord('storage_read')
    assert.equal(read.identity.type, 'AccountKey')
    const out = JSON.parse(new BundleRedactor('acme', []).redactRecordText(JSON.stringify(read)))
    assert.equal(out.identity.tokenHash, `key1(${R})`)
  })

  it('redacts a bare OAuth token hash and the AuthenticationHash column of Log Analytics, whatever the case', () => {
    const oauth = realStorageRead()
    oauth.identity = {type: 'OAuth', tokenHash: 'B3CC9D5C64B3351573D806751312317FE4E910877E7CBAFA9D95E0BE923DD25C'}
    assert.equal(
      JSON.parse(new BundleRedactor('acme', []).redactRecordText(JSON.stringify(oauth))).identity.tokenHash,
      R,
    )
    const row = {
      TimeGenerated: '2022-07-05T11:47:39.6047124Z',
      AuthenticationType: 'SAS',
      AuthenticationHash: realStorageRead().identity.tokenHash.toLowerCase().replace('sassignature', 'SASSIGNATURE'),
    }
    assert.equal(
      JSON.parse(new BundleRedactor('acme', []).redactRecordText(JSON.stringify(row))).AuthenticationHash,
      `key1(${R}),SASSIGNATURE(${R})`,
    )
  })

  it('finds sig%3D inside a referrer URL (?sig%3D, %26sig%3D, twice encoded, any case) and writes the redaction back encoded', () => {
    const record = realFileRecord('storage_write')
    const once = 'Xy9%2BAbCdEfGhIjKlMnOpQrStUvWxYz0123456789%3D'
    const twice = 'Xy9%252BAbCdEfGhIjKlMnOpQrStUvWxYz0123456789%253D'
    record.properties.referrerHeader = `https://portal.azure.com/?feature.url=https%3A%2F%2Fexample.file.core.windows.net%2Fmystorage%2Fdocs%2Fmyimage.jpg%3Fsv%3D2022-11-02%26ss%3Dbqtf%26sig%3D${once}%26se%3D2023-12-02`
    record.properties.downloadLink = `https://app.example/download?sig%3D${once.replace('Xy9', 'Ab1')}`
    record.properties.nested = `https://a.example/?next=https%253A%252F%252Fb.example%252Ff%253Fsv%253D1%2526SIG%253d${twice}`
    const {out, counts} = expectOnly(JSON.stringify(record), [
      [once, '%5BREDACTED%5D'],
      [once.replace('Xy9', 'Ab1'), '%5BREDACTED%5D'],
      [twice, '%255BREDACTED%255D'],
      ['1111111111111111111111111111111111111111111111111111111111111111', R],
      ['2222222222222222222222222222222222222222222222222222222222222222', R],
      ['sig=XXXXX', `sig=${R}`],
    ])
    // the uri's sig=XXXXX was already masked by whoever published the sample; it counts as a SAS signature too
    assert.equal(counts['sas-signature'], 4)
    assert.match(decodeURIComponent(JSON.parse(out).properties.referrerHeader), /&sig=\[REDACTED\]&se=2023-12-02$/)
  })

  it('redacts a lowercase bearer token and keeps the word bearer', () => {
    const record = realKeyVaultRecord('secret_get')
    record.resultDescription = 'Token validation failed for bearer 2YotnFZFEjr1zCsicMWpAA: the token has expired.'
    const {out, counts} = expectOnly(JSON.stringify(record), [['2YotnFZFEjr1zCsicMWpAA', R]])
    assert.equal(counts['bearer-token'], 1)
    assert.match(JSON.parse(out).resultDescription, /for bearer \[REDACTED\]:/)
  })

  it('redacts a "sig" JSON key inside string-embedded JSON and as an object key of the record', () => {
    const event = realActivityEvent()
    event.properties = {
      ...event.properties,
      responseBody: '{"sv":"2022-11-02","sig":"AbCdEf0123456789+gHiJ/kLmN=","se":"2026-11-23"}',
      note: String.raw`response was {\"Sig\": \"ZyXw9876543210+VuTs=\"} (escaped twice)`,
      sig: 'QrSt0123456789+UvWx=',
    }
    const {out, counts} = expectOnly(JSON.stringify(event), [
      ['AbCdEf0123456789+gHiJ/kLmN=', R],
      ['ZyXw9876543210+VuTs=', R],
      ['QrSt0123456789+UvWx=', R],
    ])
    assert.equal(counts['sas-signature-key'], 3)
    const parsed = JSON.parse(out)
    assert.deepEqual(JSON.parse(parsed.properties.responseBody), {sv: '2022-11-02', sig: R, se: '2026-11-23'})
    assert.equal(parsed.properties.sig, R)
  })

  it('keeps the record in its own form: spacing, key order and JSON escapes outside the redacted spans', () => {
    // the captured sample as archived by the old {"records": [...]} layout: pretty-printed, newlines made spaces
    const raw = readFileSync(`${CONTRACTS}storagebloblogs-storageread-captured.json`, 'utf8').replaceAll(/\r?\n/g, ' ')
    const escaped = raw.replace('"Success"', String.raw`"Succ\u0065ss \/ key2(ABCDEF0123456789ABCDEF0123456789)"`)
    expectOnly(escaped, [
      ['4C81DD1772CEA6215A976B5B9C0764F519518B179BA3C7257C7E745D337833E6', R],
      ['92D630456D3188B7F8F6F4AF99B4FBC8BD9434133587D96FB0FDDFBE12CF6349', R],
      ['ABCDEF0123456789ABCDEF0123456789', R],
      ['sig=XXXXX', `sig=${R}`],
    ])
  })

  it("replaces another customer's id that only decoding shows (a quoted id in an OData filter)", () => {
    const record = realStorageRead()
    record.properties.referrerHeader = 'https://app.example/search?$filter=customerId%20eq%20%27globex%27&$top=5'
    const r = new BundleRedactor('acme', ['globex'], Buffer.alloc(32, 2))
    const out = JSON.parse(r.redactRecordText(JSON.stringify(record)))
    assert.equal(
      out.properties.referrerHeader,
      `https://app.example/search?$filter=customerId%20eq%20%27${r.placeholder('globex')}%27&$top=5`,
    )
  })

  it('is idempotent: a redacted record passes through unchanged and counts nothing', () => {
    const record = realFileRecord('storage_write')
    record.properties.referrerHeader = 'https://x.example/?u=%3Fsig%3DAbCdEf0123456789%252B%26a%3D1'
    const once = new BundleRedactor('acme', []).redactRecordText(JSON.stringify(record))
    const again = new BundleRedactor('acme', [])
    assert.equal(again.redactRecordText(once), once)
    assert.deepEqual(
      Object.values(again.counts).filter((n) => n > 0),
      [],
    )
  })
})
