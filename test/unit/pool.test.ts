import {strict as assert} from 'node:assert'

import {TaskPool} from '../../src/lib/pool.js'

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

  it('refuses a pool without a slot (it would wait for ever)', () => {
    assert.throws(() => new TaskPool(0), RangeError)
  })
})
