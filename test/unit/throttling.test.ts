import assert from 'node:assert/strict'

import {retryAfterMs} from '../../src/lib/azure/retry.js'

const headers = (values: Record<string, string>) => ({get: (name: string) => values[name]})

describe('the wait a 429 asks for', () => {
  const now = Date.parse('2026-11-23T12:00:00Z')

  it('reads retry-after-ms and x-ms-retry-after-ms first, then Retry-After in seconds or as an HTTP date', () => {
    assert.equal(retryAfterMs(headers({'retry-after-ms': '250', 'retry-after': '9'}), now), 250)
    assert.equal(retryAfterMs(headers({'x-ms-retry-after-ms': '1200'}), now), 1200)
    assert.equal(retryAfterMs(headers({'retry-after': '3'}), now), 3000)
    assert.equal(retryAfterMs(headers({'retry-after': '0.5'}), now), 500)
    assert.equal(retryAfterMs(headers({'retry-after': 'Mon, 23 Nov 2026 12:00:07 GMT'}), now), 7000)
  })

  it('names no wait when there is none or it cannot be read, and never a negative one', () => {
    assert.equal(retryAfterMs(undefined, now), undefined)
    assert.equal(retryAfterMs(headers({}), now), undefined)
    assert.equal(retryAfterMs(headers({'retry-after': 'soon'}), now), undefined)
    assert.equal(retryAfterMs(headers({'retry-after-ms': '-5', 'retry-after': '2'}), now), 2000)
    assert.equal(retryAfterMs(headers({'retry-after': 'Mon, 23 Nov 2026 11:59:00 GMT'}), now), 0)
  })
})
