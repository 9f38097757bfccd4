/**
 * The stages of multi-step work (customer erase: plan → guards → delete → shred → verify →
 * certificate) on stderr: listr2's task list on a terminal; nothing otherwise (the plain progress
 * lines stay) and nothing under --json. The work announces each stage as it starts (`begin`);
 * the stages before it are then finished.
 */
import {Listr, ListrLogger, ProcessOutput} from 'listr2'

export interface StagesOptions {
  titles: readonly string[]
  /** nothing at all (JSON mode) */
  silent?: boolean
  stream?: NodeJS.WriteStream
}

export interface Stages {
  /**
   * The stage named `title` starts; the ones before it are finished. Resolves once the list has
   * drawn that, so the notes the stage writes next come after its line.
   */
  begin(title: string): Promise<void>
  /** ends the list: every stage passed (`done`), or the current one failed (`failed`) */
  stop(outcome: 'done' | 'failed'): Promise<void>
}

export function createStages(options: StagesOptions): Stages {
  const stream = options.stream ?? process.stderr
  const {titles} = options
  // Off a terminal the plain progress lines and notes of each step already say what happens, and
  // a refusal's error stays the first line an operator (or a job's alert) reads.
  if (options.silent || !stream.isTTY) return {async begin() {}, async stop() {}}
  // Each task waits for its gate: the gate opens when the next stage begins, or at the end.
  const gates = titles.map(() => {
    let open!: () => void
    let fail!: (error: Error) => void
    const promise = new Promise<void>((resolve, reject) => {
      open = resolve
      fail = reject
    })
    return {fail, open, promise}
  })
  // The simple renderer prints a line per stage and never redraws or captures stderr, so the
  // progress bars and notes of each stage (src/lib/output/progress.ts) stay readable beside it.
  const list = new Listr(
    titles.map((title, i) => ({task: () => gates[i].promise, title})),
    {
      exitOnError: true,
      // custos's own SIGINT handling stops at a safe point and exits 130; listr2's would exit 127 at once.
      registerSignalListeners: false,
      renderer: 'simple',
      rendererOptions: {logger: new ListrLogger({processOutput: new ProcessOutput(stream, stream)})},
    },
  )
  const running = list.run().catch(() => {})
  let current = -1
  return {
    async begin(title) {
      const at = titles.indexOf(title)
      for (let i = Math.max(current, 0); i < at; i++) gates[i].open()
      current = Math.max(current, at)
      // listr2 reacts to a gate on later turns of the microtask queue; one macrotask later it has drawn.
      await new Promise<void>((resolve) => {
        setImmediate(resolve)
      })
    },
    async stop(outcome) {
      if (outcome === 'done') for (const gate of gates) gate.open()
      else gates[Math.max(current, 0)].fail(new Error(`${titles[Math.max(current, 0)]} failed`))
      await running
    },
  }
}
