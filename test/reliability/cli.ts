/**
 * The built CLI as a process, for the reliability tests: started with a handle (to kill -9 it at a
 * chosen point), and every run's stdout and stderr handed to the test's SecretScan.
 */
import {spawn} from 'node:child_process'

import {BIN, ROOT, ensureBuilt, type CliResult} from '../support/cli.js'
import type {SecretScan} from './secrets.js'

export interface CliProcess {
  pid: number
  /** SIGKILL: no handler runs, nothing is flushed — a crash */
  kill9(): void
  done: Promise<CliResult>
}

export interface StartOptions {
  env?: Record<string, string>
  cwd?: string
  /** the scan that receives stdout and stderr */
  scan?: SecretScan
  /** the command hands out share links: signed URLs on its stdout are accepted there (and only there) */
  shareLinks?: boolean
  timeoutInMs?: number
}

/** Starts `custos <args>` (no stdin, NO_COLOR). */
export function startCli(args: string[], options: StartOptions = {}): CliProcess {
  ensureBuilt()
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? ROOT,
    env: {...process.env, NO_COLOR: '1', ...options.env},
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutInMs ?? 120_000)
  const label = `custos ${args.slice(0, 3).join(' ')}`
  const done = new Promise<CliResult>((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      options.scan?.text(`stdout of ${label}`, stdout, options.shareLinks ? signedUrls(stdout) : [])
      options.scan?.text(`stderr of ${label}`, stderr)
      resolve({code, signal, stdout, stderr, json: <T>() => JSON.parse(stdout) as T})
    }),
  )
  return {pid: child.pid!, kill9: () => child.kill('SIGKILL'), done}
}

export function runCli(args: string[], options: StartOptions = {}): Promise<CliResult> {
  return startCli(args, options).done
}

/** The signed URLs (`…sig=…`) in a text, e.g. share links printed by a command. */
export function signedUrls(text: string): string[] {
  return [...text.matchAll(/https?:\/\/[^\s"']+[?&]sig=[^\s"'&]+[^\s"']*/g)].map((m) => m[0])
}

/** The first line of stderr: what an operator reads. */
export function firstLine(text: string): string {
  return text.split('\n')[0] ?? ''
}

/** A progress line (plain progress on a non-terminal stderr), e.g. `Exporting acme: 0 B, 0 objects, 0 B/s, done`. */
const PROGRESS_LINE = /^[A-Z][^:]*: .*\b(objects|items)\b.*\/s(, done|, stopped)?$/

/**
 * What an operator reads when a command fails: the first line of stderr (`first`), the first line
 * after any progress lines (`message`), whether more than one `Error:` line appears, and whether a
 * stack trace was printed.
 */
export function describeFailure(result: CliResult): {code: number | null; first: string; message: string; errorLines: number; stackTrace: boolean} {
  const lines = result.stderr.split('\n')
  return {
    code: result.code,
    first: lines[0] ?? '',
    message: lines.find((l) => !PROGRESS_LINE.test(l)) ?? '',
    errorLines: lines.filter((l) => l.startsWith('Error:')).length,
    stackTrace: /\n\s+at .+:\d+:\d+/.test(result.stderr),
  }
}
