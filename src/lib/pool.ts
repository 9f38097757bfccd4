/**
 * Bounded concurrency: at most `size` async tasks at a time, with back-pressure — `run` returns
 * once the task has started, after waiting for a free slot, so a producer reading a listing never
 * runs ahead of the work. The first failure stops new tasks (the next `run` throws it) and is what
 * `drain` throws after every running task has settled.
 */
export class TaskPool {
  private readonly running = new Set<Promise<void>>()
  private failure?: {error: unknown}

  constructor(private readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`a pool needs at least one slot, not ${size}`)
  }

  /** Starts `task` when a slot is free; throws the first earlier failure instead of starting it. */
  async run(task: () => Promise<void>): Promise<void> {
    while (this.running.size >= this.size) await Promise.race(this.running)
    // checked after the wait: a task that failed meanwhile stops this one from starting
    if (this.failure) throw this.failure.error
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
