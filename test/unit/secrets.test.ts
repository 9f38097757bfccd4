import assert from 'node:assert/strict'

import {parseDurationInMs, parseTime} from '../../src/lib/duration.js'
import {redactSecrets} from '../../src/lib/secrets.js'

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
