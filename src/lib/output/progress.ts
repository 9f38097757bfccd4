/**
 * Progress on stderr: a bar with rate and ETA on a terminal, plain lines (at most one every few
 * seconds) when stderr is a file or pipe, and nothing at all under --json.
 */
import cliProgress from 'cli-progress'

import {formatBytes, formatCount} from './table.js'

export interface ProgressOptions {
  label: string
  /** total units when known (enables percentage and ETA) */
  total?: number
  unit: 'bytes' | 'items'
  /** silent (JSON mode) */
  silent?: boolean
  stream?: NodeJS.WriteStream
  /** minimum interval between plain lines */
  lineIntervalInMs?: number
}

export interface Progress {
  /** adds `units` done (bytes or items) and optionally `items` finished */
  increment(units: number, items?: number): void
  setTotal(total: number): void
  /** a one-off note (plain line on non-TTY, printed above the bar on a TTY) */
  note(text: string): void
  /** ends the progress: 'done' after success, 'stopped' when the work failed or was interrupted */
  stop(outcome?: 'done' | 'stopped'): void
}

export function createProgress(options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr
  if (options.silent) return {increment() {}, setTotal() {}, note() {}, stop() {}}
  const fmt = (n: number) => (options.unit === 'bytes' ? formatBytes(n) : formatCount(n))
  let done = 0
  let items = 0
  let total = options.total
  const started = Date.now()
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream,
        format: `${options.label} [{bar}] {percentage}% | {doneText}/{totalText} | {items} objects | {rate}/s | ETA {eta_formatted}`,
        hideCursor: true,
        clearOnComplete: false,
        etaBuffer: 50,
        fps: 5,
      },
      cliProgress.Presets.shades_classic,
    )
    const payload = () => {
      const seconds = Math.max((Date.now() - started) / 1000, 0.001)
      return {
        doneText: fmt(done),
        totalText: total === undefined ? '?' : fmt(total),
        items: formatCount(items),
        rate: fmt(done / seconds),
      }
    }

    bar.start(total ?? 0, 0, payload())
    return {
      increment(units, finished = 0) {
        done += units
        items += finished
        bar.update(done, payload())
      },
      setTotal(t) {
        total = t
        bar.setTotal(t)
      },
      note(text) {
        stream.write(`\r\u001B[K${text}\n`)
      },
      stop() {
        bar.update(done, payload())
        bar.stop()
      },
    }
  }

  const interval = options.lineIntervalInMs ?? 5000
  let lastLine = 0
  const line = (final?: 'done' | 'stopped') => {
    const seconds = Math.max((Date.now() - started) / 1000, 0.001)
    const pct = total ? ` (${Math.floor((done / total) * 100)}%)` : ''
    stream.write(
      `${options.label}: ${fmt(done)}${total === undefined ? '' : ` of ${fmt(total)}`}${pct}, ${formatCount(items)} objects, ${fmt(done / seconds)}/s${final ? `, ${final}` : ''}\n`,
    )
  }

  return {
    increment(units, finished = 0) {
      done += units
      items += finished
      if (Date.now() - lastLine >= interval) {
        lastLine = Date.now()
        line()
      }
    },
    setTotal(t) {
      total = t
    },
    note(text) {
      stream.write(`${text}\n`)
    },
    stop(outcome = 'done') {
      // Nothing reported and nothing done (say, a refusal before any work): no "0 objects, done"
      // line, so that the error is the first thing an operator reads.
      if (lastLine === 0 && done === 0 && items === 0) return
      line(outcome)
    },
  }
}

/** Runs `work` and stops `progress` after it: `done` when it succeeds, `stopped` when it throws. */
export async function tracked<T>(progress: Progress, work: () => Promise<T>): Promise<T> {
  let result: T
  try {
    result = await work()
  } catch (error) {
    progress.stop('stopped')
    throw error
  }

  progress.stop('done')
  return result
}
