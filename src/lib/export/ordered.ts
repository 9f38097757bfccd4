/**
 * Parallel work, committed in order. Items are pulled from a stream one at a time, worked on by up
 * to `concurrency` tasks, and committed strictly in the order they came — so a journal and a
 * manifest can be written as the work finishes without sorting anything. `window` bounds how far
 * the work may run ahead of the oldest unfinished item, which bounds memory however long the
 * stream is (and however slow one large object is).
 */
import {setMaxListeners} from 'node:events'

export interface OrderedOptions {
  concurrency: number
  /** at most this many items between the oldest uncommitted one and the newest started one */
  window: number
  abortSignal?: AbortSignal
}

/**
 * Runs `work` on every item with bounded parallelism and `commit`s the results in input order.
 * The first failure (or an abort) stops pulling new items, aborts the signal given to running
 * work, waits for it to settle, and is thrown; nothing after the failure is committed.
 */
export async function runOrdered<I, R>(
  items: AsyncIterable<I>,
  options: OrderedOptions,
  work: (item: I, signal: AbortSignal) => Promise<R>,
  commit: (item: I, result: R, signal: AbortSignal) => Promise<void>,
): Promise<void> {
  const controller = new AbortController()
  // every running download listens on it (and the SDK's retry policy too)
  setMaxListeners(options.concurrency * 4 + 16, controller.signal)
  const onAbort = () => fail(options.abortSignal?.reason ?? Object.assign(new Error('aborted'), {name: 'AbortError'}))
  options.abortSignal?.addEventListener('abort', onAbort, {once: true})

  const iterator = items[Symbol.asyncIterator]()
  const ready = new Map<number, {item: I; result: R}>()
  const running = new Set<Promise<void>>()
  let nextSeq = 0
  let commitSeq = 0
  let exhausted = false
  let failed = false
  let failure: unknown
  let pumping = false
  let committing: Promise<void> = Promise.resolve()
  let wake: (() => void) | undefined

  function notify(): void {
    const w = wake
    wake = undefined
    w?.()
  }

  function fail(error: unknown): void {
    if (!failed) {
      failed = true
      failure = error
      controller.abort(error)
    }

    notify()
  }

  /** Commits every ready result in order; one pump at a time (a second call while one runs is a no-op). */
  async function pump(): Promise<void> {
    pumping = true
    try {
      // eslint-disable-next-line no-unmodified-loop-condition -- a failing transfer sets it while commit() awaits
      while (!failed && ready.has(commitSeq)) {
        const {item, result} = ready.get(commitSeq)!
        ready.delete(commitSeq)
        await commit(item, result, controller.signal)
        commitSeq++
        notify()
      }
    } catch (error) {
      fail(error)
    } finally {
      pumping = false
      notify()
    }
  }

  function schedulePump(): void {
    if (!pumping) committing = pump()
  }

  try {
    if (options.abortSignal?.aborted) onAbort()
    for (;;) {
      while (!failed && !exhausted && running.size < options.concurrency && nextSeq - commitSeq < options.window) {
        let next: IteratorResult<I>
        try {
          next = await iterator.next()
        } catch (error) {
          fail(error)
          break
        }

        if (next.done) {
          exhausted = true
          break
        }

        const seq = nextSeq++
        const item = next.value
        const task: Promise<void> = work(item, controller.signal).then(
          (result) => {
            ready.set(seq, {item, result})
            schedulePump()
          },
          (error: unknown) => fail(error),
        )
        const tracked = task.finally(() => {
          running.delete(tracked)
          notify()
        })
        running.add(tracked)
      }

      if (failed && running.size === 0) break
      if (exhausted && running.size === 0 && !pumping && (commitSeq === nextSeq || failed)) break
      if (!failed && !pumping && ready.has(commitSeq)) {
        schedulePump()
        continue
      }

      await new Promise<void>((resolve) => {
        wake = resolve
      })
    }

    await committing
  } finally {
    options.abortSignal?.removeEventListener('abort', onAbort)
    if (failed) await iterator.return?.(undefined)?.catch(() => {})
  }

  if (failed) throw failure
}
