import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'

import {parseDurationInMs, parseTime} from '../../src/lib/duration.js'
import {REDACTION_VERSION, SECRET_RULES, redactSecrets} from '../../src/lib/secrets.js'

describe('secret redaction', () => {
  const cases: Array<[string, string, string]> = [
    [
      'SAS signature in a URL',
      'https://a.blob.core.windows.net/c/b?sv=2022-11-02&sp=r&sig=abc%2Bdef%3D&se=2026',
      'abc%2Bdef%3D',
    ],
    [
      'account key in a connection string',
      'DefaultEndpointsProtocol=https;AccountName=a;AccountKey=Eby8vdM02xNOcqFlqUwJPLlm==;EndpointSuffix=core.windows.net',
      'Eby8vdM02xNOcqFlqUwJPLlm==',
    ],
    [
      'bearer token',
      'Authorization: Bearer eyJ0eXAiOiJKV1QiLCJhbGciOi.eyJhdWQiOiJodHRwczovL3N0b3Jh.c2lnbmF0dXJl',
      'eyJ0eXAiOiJKV1QiLCJhbGciOi',
    ],
    ['password field', '{"password":"hunter2!","user":"x"}', 'hunter2!'],
    [
      'SAS in a connection string',
      'BlobEndpoint=https://a.blob.core.windows.net;SharedAccessSignature=sv=2022&sig=zzz',
      'sv=2022&sig=zzz',
    ],
  ]
  for (const [what, input, secret] of cases) {
    it(`masks a ${what}`, () => {
      const out = redactSecrets(input)
      assert.ok(!out.includes(secret), out)
      assert.ok(out.includes('REDACTED'), out)
    })
  }

  it('leaves ordinary text alone', () => {
    const text = 'container tenant-acme in account contosoprod was not found (ContainerNotFound)'
    assert.equal(redactSecrets(text), text)
    for (const prose of [
      'no bearer token was returned',
      'WWW-Authenticate: Bearer authorization="https://login.windows.net/t", resource="https://vault.azure.net"',
    ])
      assert.equal(redactSecrets(prose), prose)
  })

  // The same rules as the logs bundle (one table): the forms issue 19 found kept verbatim.
  const forms: Array<[string, string, string]> = [
    [
      'storage token hash',
      'request by key1(4C81DD1772CEA6215A976B5B9C0764F519518B179BA3C7257C7E745D337833E6),SasSignature(92D630456D3188B7F8F6F4AF99B4FBC8BD9434133587D96FB0FDDFBE12CF6349) was refused',
      'request by key1([REDACTED]),SasSignature([REDACTED]) was refused',
    ],
    [
      'URL-encoded sig in a URL',
      'GET https://portal.example/?url=https%3A%2F%2Fa.blob.core.windows.net%2Fc%2Fb%3Fsv%3D2022%26sig%3DabcDEF123%252B%253D failed',
      'GET https://portal.example/?url=https%3A%2F%2Fa.blob.core.windows.net%2Fc%2Fb%3Fsv%3D2022%26sig%3D%5BREDACTED%5D failed',
    ],
    [
      'lowercase bearer',
      'authorization failed for bearer 2YotnFZFEjr1zCsicMWpAA',
      'authorization failed for bearer [REDACTED]',
    ],
    ['"sig" JSON key', 'body {"sv": "2022", "sig": "abcDEF123+/="}', 'body {"sv": "2022", "sig": "[REDACTED]"}'],
    [
      'Authorization header with its scheme',
      'Authorization: SharedKey contosoprod:ctzMq410TV3wS7upTBcunJTDLEJwMAZuFPfr0mrrA08=',
      'Authorization: SharedKey [REDACTED]',
    ],
  ]
  for (const [what, input, output] of forms) {
    it(`masks a ${what}, keeping its kind`, () => {
      assert.equal(redactSecrets(input), output)
      assert.equal(redactSecrets(output), output, 'idempotent')
    })
  }

  it('names its version: a change to what a rule matches, keeps or writes needs a new REDACTION_VERSION', () => {
    // Logs-bundle manifests say which version of the rules ran; when this fails, bump
    // REDACTION_VERSION in src/lib/secrets.ts and put the new pair here.
    const table = JSON.stringify(
      SECRET_RULES.map((r) => [
        r.id,
        (r.patterns ?? []).map((p) => `${p.source}/${p.flags}`),
        r.keys ?? [],
        r.value ? `${r.value.source}/${r.value.flags}` : '',
      ]),
    )
    assert.deepEqual(
      [REDACTION_VERSION, createHash('sha256').update(table).digest('hex').slice(0, 16)],
      [2, 'fe0f5606d0ff5227'],
    )
  })

  it('keeps JSON text valid JSON (audit details are redacted as JSON text)', () => {
    const details = {error: 'connect failed: password="hunter2" sig=abc%2B', nested: '{"sig":"xyz"}'}
    const out = JSON.parse(redactSecrets(JSON.stringify(details)))
    assert.deepEqual(out, {
      error: 'connect failed: password="[REDACTED]" sig=[REDACTED]',
      nested: '{"sig":"[REDACTED]"}',
    })
  })
})

describe('durations and times', () => {
  it('parses durations in every unit', () => {
    assert.equal(parseDurationInMs('26h'), 26 * 3_600_000)
    assert.equal(parseDurationInMs('7d'), 7 * 86_400_000)
    assert.equal(parseDurationInMs('90s'), 90_000)
    assert.throws(() => parseDurationInMs('7 days'), /not a duration/)
  })

  it('parses absolute and relative times', () => {
    const now = new Date('2026-11-23T12:00:00Z')
    assert.equal(parseTime('-24h', now).toISOString(), '2026-11-22T12:00:00.000Z')
    assert.equal(parseTime('2026-11-01T00:00:00Z', now).toISOString(), '2026-11-01T00:00:00.000Z')
    assert.throws(() => parseTime('yesterday', now), /not a time/)
  })
})
