import {strict as assert} from 'node:assert'

import {backoffInMs, retryDelayInMs, sleep} from '../../src/lib/azure/retry.js'

const headers = (h: Record<string, string>) => ({get: (name: string) => h[name.toLowerCase()]})

describe('the one retry policy (src/lib/azure/retry.ts)', () => {
  const options = {retryDelayInMs: 100, maxRetryDelayInMs: 1000}

  it('backs off exponentially with ±20 % jitter and never past the cap, jitter included', () => {
    assert.equal(
      backoffInMs(1, options, () => 0.5),
      100,
    )
    assert.equal(
      backoffInMs(3, options, () => 0.5),
      400,
    )
    assert.equal(
      backoffInMs(1, options, () => 0),
      80,
    )
    assert.equal(
      backoffInMs(1, options, () => 1),
      120,
    )
    // 100 * 2^4 * 1.2 = 1920: the cap is a true maximum (erase/batch.ts used to jitter after capping)
    assert.equal(
      backoffInMs(5, options, () => 1),
      1000,
    )
  })

  it('waits what Retry-After asks for, capped, else backs off', () => {
    assert.equal(retryDelayInMs(1, options, headers({'retry-after': '0.5'})), 500)
    assert.equal(retryDelayInMs(1, options, headers({'retry-after-ms': '250'})), 250)
    assert.equal(retryDelayInMs(1, options, headers({'retry-after': '30'})), 1000)
    const plain = retryDelayInMs(1, options, headers({}))
    assert.ok(plain >= 80 && plain <= 120, String(plain))
  })

  it('ends a wait at once when the signal fires, with the signal’s reason', async () => {
    const controller = new AbortController()
    const started = Date.now()
    const waiting = sleep(60_000, controller.signal)
    setTimeout(() => controller.abort(new Error('Ctrl-C')), 20)
    await assert.rejects(waiting, /Ctrl-C/)
    assert.ok(Date.now() - started < 5000)
  })

  it('does not start a wait on a signal that already fired', async () => {
    await assert.rejects(sleep(60_000, AbortSignal.abort(new Error('gone'))), /gone/)
  })

  it('resolves after the time when nobody aborts', async () => {
    await sleep(5, new AbortController().signal)
    await sleep(5)
  })
})
