/**
 * The built CLI as a process, for the reliability tests: started with a handle (to kill -9 it at a
 * chosen point), and every run's stdout and stderr handed to the test's SecretScan.
 */
import {startCli as startProcess, type CliOptions, type CliProcess, type CliResult} from '../support/cli.js'
import type {SecretScan} from './secrets.js'

export interface StartOptions extends Omit<CliOptions, 'onClose'> {
  /** the scan that receives stdout and stderr */
  scan?: SecretScan
  /** the command hands out share links: signed URLs on its stdout are accepted there (and only there) */
  shareLinks?: boolean
}

/** Starts `custos <args>`; its stdout and stderr go to `options.scan` when it ends. */
export function startCli(args: string[], options: StartOptions = {}): CliProcess {
  const label = `custos ${args.slice(0, 3).join(' ')}`
  return startProcess(args, {
    ...options,
    // Output shaped by injected faults is not what the snapshots freeze (test/support/json-shape.ts).
    recordShape: false,
    onClose: (result) => {
      options.scan?.text(`stdout of ${label}`, result.stdout, options.shareLinks ? signedUrls(result.stdout) : [])
      options.scan?.text(`stderr of ${label}`, result.stderr)
    },
  })
}

export function runCli(args: string[], options: StartOptions = {}): Promise<CliResult> {
  return startCli(args, options).done
}

/** The signed URLs (`…sig=…`) in a text, e.g. share links printed by a command. */
export function signedUrls(text: string): string[] {
  return [...text.matchAll(/https?:\/\/[^\s"']+[?&]sig=[^\s"'&]+[^\s"']*/g)].map((m) => m[0])
}

/** A progress line (plain progress on a non-terminal stderr), e.g. `acme: exported 0 B, 0 objects (0 B/s), done`. */
const PROGRESS_LINE = /^[^:]+: .*\b(objects?|records?)\b.*\/s\)(, done|, stopped)?$/

/**
 * What an operator reads when a command fails: the first line of stderr (`first`), the first line
 * after any progress lines (`message`), whether more than one `Error:` line appears, and whether a
 * stack trace was printed.
 */
export function describeFailure(result: CliResult): {
  code: number | null
  first: string
  message: string
  errorLines: number
  stackTrace: boolean
} {
  const lines = result.stderr.split('\n')
  return {
    code: result.code,
    first: lines[0] ?? '',
    message: lines.find((l) => !PROGRESS_LINE.test(l)) ?? '',
    errorLines: lines.filter((l) => l.startsWith('Error:')).length,
    stackTrace: /\n\s+at .+:\d+:\d+/.test(result.stderr),
  }
}

export {type CliProcess} from '../support/cli.js'
