/** Runs async tasks with at most `size` at a time; `run` waits for a free slot (back-pressure). */
export class TaskPool {
  private readonly running = new Set<Promise<void>>()
  private failure?: {error: unknown}

  constructor(private readonly size: number) {}

  async run(task: () => Promise<void>): Promise<void> {
    if (this.failure) throw this.failure.error
    while (this.running.size >= this.size) await Promise.race(this.running)
    const p: Promise<void> = task()
      .catch((error: unknown) => {
        this.failure ??= {error}
      })
      .finally(() => this.running.delete(p))
    this.running.add(p)
  }

  /** Waits for every task; throws the first task error. */
  async drain(): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running)
    if (this.failure) throw this.failure.error
  }
}
