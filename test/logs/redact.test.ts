import assert from 'node:assert/strict'

import {BundleRedactor, LOG_REDACTION_RULES} from '../../src/lib/logs/redact.js'
import {SECRET_RULES} from '../../src/lib/secrets.js'
import {realActivityEvent, realStorageRead, signIn} from './fixtures.js'

describe('logs: redaction of kept records', () => {
  it('lists every secret rule and the other-customer rule in one table', () => {
    assert.deepEqual(
      LOG_REDACTION_RULES.map((r) => r.name),
      [...SECRET_RULES.map((r) => r.name), 'other-customer-id'],
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
    assert.match(out.uri, /sig=REDACTED$/)
    assert.equal(out.properties.password, 'REDACTED')
    assert.equal(JSON.parse(out.properties.dynamic).clientSecret, 'REDACTED')
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
    assert.equal(out.httpRequest.authorization, 'REDACTED')
    const read = realStorageRead()
    assert.doesNotThrow(() => JSON.parse(r.redactRecordText(JSON.stringify(read))))
  })
})
