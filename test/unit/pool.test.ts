import {strict as assert} from 'node:assert'

import {runOrdered, TaskPool} from '../../src/lib/pool.js'

const tick = (ms = 5) => new Promise((resolve) => setTimeout(resolve, ms))

describe('the bounded-concurrency pool (src/lib/pool.ts)', () => {
  it('never runs more than its size at once, and run() waits for a slot', async () => {
    const pool = new TaskPool(3)
    let running = 0
    let most = 0
    for (let i = 0; i < 20; i++) {
      await pool.run(async () => {
        running++
        most = Math.max(most, running)
        await tick()
        running--
      })
      assert.ok(running <= 3)
    }

    await pool.drain()
    assert.equal(most, 3)
    assert.equal(running, 0)
  })

  it('starts nothing after a failure, lets running tasks finish, and drain throws the first error', async () => {
    const pool = new TaskPool(2)
    const finished: number[] = []
    await pool.run(async () => {
      await tick(1)
      throw new Error('first')
    })
    await pool.run(async () => {
      await tick(20)
      finished.push(2)
    })
    await assert.rejects(
      pool.run(async () => {
        finished.push(3)
      }),
      /first/,
    )
    await assert.rejects(pool.drain(), /first/)
    assert.deepEqual(finished, [2])
  })

  it('starts nothing once its abort signal aborts, and throws the reason', async () => {
    const controller = new AbortController()
    const pool = new TaskPool(1, {abortSignal: controller.signal})
    const started: number[] = []
    await pool.run(async () => {
      started.push(1)
      await tick(20)
    })
    const waiting = pool.run(async () => {
      started.push(2)
    })
    controller.abort(new Error('Ctrl-C'))
    await assert.rejects(waiting, /Ctrl-C/)
    await pool.drain()
    assert.deepEqual(started, [1])
  })

  it('refuses a pool without a slot (it would wait for ever)', () => {
    assert.throws(() => new TaskPool(0), RangeError)
  })

  describe('the ordered variant (runOrdered)', () => {
    async function* slowly(n: number, gapInMs: number): AsyncGenerator<number> {
      for (let i = 0; i < n; i++) {
        if (i > 0) await tick(gapInMs)
        yield i
      }
    }

    /** work that ends after `ms`, or rejects when `signal` aborts */
    const abortable = (ms: number, signal: AbortSignal) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, ms)
        signal.addEventListener(
          'abort',
          () => {
            clearTimeout(timer)
            reject(signal.reason)
          },
          {once: true},
        )
      })

    it('commits a finished result while the stream is still slow to give the next item', async () => {
      const committedAt: number[] = []
      const started = Date.now()
      await runOrdered(
        slowly(3, 150),
        {concurrency: 4, window: 10},
        async (i) => i,
        async (i) => {
          committedAt[i] = Date.now() - started
        },
      )
      // item 0 is done at once; its commit must not wait for the stream to yield item 1 (150 ms later)
      assert.ok(committedAt[0] < 100, `item 0 committed after ${committedAt[0]} ms`)
      assert.equal(committedAt.length, 3)
    })

    it('an abort stops pulling items, aborts running work, and is what it throws; nothing commits after it', async () => {
      const controller = new AbortController()
      const committed: number[] = []
      let aborted = 0
      const run = runOrdered(
        slowly(1000, 1),
        {concurrency: 3, window: 10, abortSignal: controller.signal},
        async (i, signal) => {
          try {
            await abortable(i < 5 ? 1 : 10_000, signal)
          } catch (error) {
            aborted++
            throw error
          }

          return i
        },
        async (i) => {
          committed.push(i)
        },
      )
      await tick(100)
      controller.abort(new Error('Ctrl-C'))
      const at = committed.length
      await assert.rejects(run, /Ctrl-C/)
      assert.deepEqual(committed, [0, 1, 2, 3, 4])
      assert.equal(committed.length, at)
      assert.equal(aborted, 3)
    })

    it('a commit that fails stops the run, aborts the work still running and starts no more', async () => {
      const committed: number[] = []
      let aborted = 0
      let commitFailed = false
      let startedAfterFailure = 0
      await assert.rejects(
        runOrdered(
          slowly(50, 0),
          {concurrency: 4, window: 8},
          async (i, signal) => {
            if (commitFailed) startedAfterFailure++
            try {
              await abortable(i === 0 ? 30 : 300, signal)
            } catch (error) {
              aborted++
              throw error
            }

            return i
          },
          async (i) => {
            if (i === 0) {
              commitFailed = true
              throw new Error('disk full')
            }

            committed.push(i)
          },
        ),
        /disk full/,
      )
      assert.deepEqual(committed, [])
      assert.equal(aborted, 3) // items 1-3 were running (concurrency 4) and stopped at once
      assert.equal(startedAfterFailure, 0)
    })

    it('a stream that fails is thrown after the running work settles', async () => {
      let settled = 0
      async function* broken(): AsyncGenerator<number> {
        yield 0
        yield 1
        throw new Error('listing failed')
      }

      await assert.rejects(
        runOrdered(
          broken(),
          {concurrency: 2, window: 4},
          async (i) => {
            await tick(20)
            settled++
            return i
          },
          async () => {},
        ),
        /listing failed/,
      )
      assert.equal(settled, 2)
    })
  })
})
