import {setMaxListeners} from 'node:events'

/**
 * Bounded concurrency: at most `size` async tasks at a time, with back-pressure — `run` returns
 * once the task has started, after waiting for a free slot, so a producer reading a listing never
 * runs ahead of the work. The first failure stops new tasks (the next `run` throws it) and is what
 * `drain` throws after every running task has settled.
 */
export class TaskPool {
  private readonly running = new Set<Promise<void>>()
  private failure?: {error: unknown}

  constructor(
    private readonly size: number,
    private readonly options: {
      /** once it aborts, `run` starts nothing more (it throws the signal's reason) */
      abortSignal?: AbortSignal
    } = {},
  ) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`a pool needs at least one slot, not ${size}`)
  }

  /** Starts `task` when a slot is free; throws the first earlier failure (or the abort) instead of starting it. */
  async run(task: () => Promise<void>): Promise<void> {
    while (this.running.size >= this.size) await Promise.race(this.running)
    // checked after the wait: a task that failed meanwhile, or an abort, stops this one from starting
    if (this.failure) throw this.failure.error
    this.options.abortSignal?.throwIfAborted()
    const p: Promise<void> = task()
      .catch((error: unknown) => {
        this.failure ??= {error}
      })
      .finally(() => this.running.delete(p))
    this.running.add(p)
  }

  /** Waits for every task; throws the first task error. */
  async drain(): Promise<void> {
    await this.settle()
    if (this.failure) throw this.failure.error
  }

  /** Waits for every task without throwing (for a `finally` after a producer failed). */
  async settle(): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running)
  }
}

export interface OrderedOptions {
  concurrency: number
  /** at most this many items between the oldest uncommitted one and the newest started one */
  window: number
  abortSignal?: AbortSignal
}

/**
 * The ordered variant: parallel work, committed in order. Items are pulled from a stream one at a
 * time, worked on by up to `concurrency` tasks (a `TaskPool`), and each result is `commit`ted as
 * soon as it and every result before it are done — so a journal and a manifest can be written as
 * the work finishes without sorting anything. `window` bounds how far the work may run ahead of the
 * oldest uncommitted item, which bounds memory however long the stream is (and however slow one
 * large object is).
 *
 * The first failure (of work, of a commit, of the stream, or an abort) stops pulling new items,
 * aborts the signal given to running work, waits for it to settle, and is thrown; nothing is
 * committed after it.
 */
export async function runOrdered<I, R>(
  items: AsyncIterable<I>,
  options: OrderedOptions,
  work: (item: I, signal: AbortSignal) => Promise<R>,
  commit: (item: I, result: R, signal: AbortSignal) => Promise<void>,
): Promise<void> {
  const controller = new AbortController()
  // every running task listens on it (an SDK call's retry policy too)
  setMaxListeners(options.concurrency * 4 + 16, controller.signal)
  let failure: {error: unknown} | undefined
  const fail = (error: unknown): void => {
    if (failure) return
    failure = {error}
    controller.abort(error)
  }

  const onAbort = () => fail(options.abortSignal?.reason ?? Object.assign(new Error('aborted'), {name: 'AbortError'}))
  options.abortSignal?.addEventListener('abort', onAbort, {once: true})
  const pool = new TaskPool(options.concurrency, {abortSignal: controller.signal})
  /** one promise per started item not yet known to be committed, oldest first; none of them rejects */
  const uncommitted: Array<Promise<void>> = []
  let committed: Promise<void> = Promise.resolve()
  try {
    if (options.abortSignal?.aborted) onAbort()
    for await (const item of items) {
      // the window: wait for the oldest commits before starting more work
      // eslint-disable-next-line no-unmodified-loop-condition -- a failing task sets it while we wait
      while (!failure && uncommitted.length >= options.window) await uncommitted.shift()
      if (failure) break
      let settle!: {resolve: (result: R) => void; reject: (error: unknown) => void}
      const result = new Promise<R>((resolve, reject) => {
        settle = {resolve, reject}
      })
      result.catch(() => {}) // its failure is recorded by the task, and thrown at the end
      await pool.run(async () => {
        try {
          settle.resolve(await work(item, controller.signal))
        } catch (error) {
          fail(error)
          settle.reject(error)
          throw error
        }
      })
      // chained: commits run one at a time, in input order, as soon as their result is there
      committed = committed.then(async () => {
        const value = await result
        if (failure) return
        await commit(item, value, controller.signal)
      })
      committed = committed.catch(fail)
      uncommitted.push(committed)
    }
  } catch (error) {
    // the stream failed, or the pool refused to start work after a failure (already recorded)
    fail(error)
  } finally {
    options.abortSignal?.removeEventListener('abort', onAbort)
    await pool.settle()
    await committed
  }

  if (failure) throw failure.error
}
