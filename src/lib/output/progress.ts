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
  /** what an item is, singular (`record`); default `object` */
  noun?: string
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
  // Rates and sizes are rounded for people: `67/s`, `1.2 MiB/s`, never `66.667/s`.
  const fmt = (n: number) => (options.unit === 'bytes' ? formatBytes(Math.round(n)) : formatCount(Math.round(n)))
  const noun = options.noun ?? 'object'
  let done = 0
  let items = 0
  let total = options.total
  const started = Date.now()
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream,
        format: `${options.label} [{bar}] {percentage}% | {doneText}/{totalText} | {items} | {rate}/s | ETA {eta_formatted}`,
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
        items: counted(items, noun),
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
  const {subject, verb} = wording(options.label)
  const line = (final?: 'done' | 'stopped') => {
    const seconds = Math.max((Date.now() - started) / 1000, 0.001)
    const pct = total ? `${Math.floor((done / total) * 100)}%, ` : ''
    const amount =
      options.unit === 'bytes'
        ? `${fmt(done)}${total === undefined ? '' : ` of ${fmt(total)}`}, ${counted(items, noun)}`
        : total === undefined
          ? counted(done, noun)
          : `${formatCount(done)} of ${counted(total, noun)}`
    const said = verb ? `${subject}: ${verb} ${amount}` : `${subject}: ${amount}`
    stream.write(`${said} (${pct}${fmt(done / seconds)}/s)${final ? `, ${final}` : ''}\n`)
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

/** `1 object`, `2 objects`, `1,024 records` */
function counted(n: number, noun: string): string {
  return `${formatCount(n)} ${n === 1 ? noun : `${noun}s`}`
}

const PAST: Record<string, string> = {
  Collecting: 'collected',
  Comparing: 'compared',
  Counting: 'counted',
  Erasing: 'erased',
  Exporting: 'exported',
  Listing: 'listed',
  Reading: 'read',
  Scanning: 'scanned',
  Verifying: 'verified',
}

/**
 * How a plain line says a label: `Listing acme` → `acme: listed 3 objects`; a label that is not a
 * known verb and one word (`Comparing with the plan`) stays as it is: `Comparing with the plan: 3 of 5 objects`.
 */
function wording(label: string): {subject: string; verb?: string} {
  const m = /^(\S+) (\S+)$/.exec(label)
  return m && PAST[m[1]] ? {subject: m[2], verb: PAST[m[1]]} : {subject: label}
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
