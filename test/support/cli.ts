/**
 * Runs the built CLI (`node bin/run.js …`) as a process, the way an operator or a scheduled job does.
 * `npm test` builds first; a bare `npx mocha <file>` builds once here when dist/ is missing or stale.
 */
import {spawn, spawnSync} from 'node:child_process'
import {existsSync, readdirSync, statSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {recordJsonShape} from './json-shape.js'

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const BIN = join(ROOT, 'bin', 'run.js')
/** bin/run.js with a hook that pauses `customer erase` after N journaled batches (see the file) */
export const ERASE_TEST_CLI = join(ROOT, 'test', 'support', 'erase-cli.js')

function newestMtime(dir: string): number {
  let newest = 0
  for (const entry of readdirSync(dir, {withFileTypes: true})) {
    const path = join(dir, entry.name)
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs)
  }

  return newest
}

let built = false

/** Compiles src/ to dist/ once per run when dist/ is missing or older than the sources. */
export function ensureBuilt(): void {
  if (built) return
  const marker = join(ROOT, 'dist', 'commands')
  if (!existsSync(marker) || newestMtime(join(ROOT, 'dist')) < newestMtime(join(ROOT, 'src'))) {
    spawnSync(
      process.execPath,
      [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.json')],
      {cwd: ROOT, stdio: 'ignore'},
    )
    // A stale command manifest would hide new commands: write it again with the build.
    spawnSync(process.execPath, [join(ROOT, 'scripts', 'manifest.js')], {cwd: ROOT, stdio: 'ignore'})
  }

  if (!existsSync(marker)) throw new Error('the build did not produce dist/commands; run npm run build')
  built = true
}

export interface CliResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  json<T = Record<string, unknown>>(): T
}

export interface CliOptions {
  env?: Record<string, string>
  /** the script to run instead of bin/run.js (a test entry such as ./erase-cli.js that wraps it) */
  entry?: string
  cwd?: string
  /** the process is killed (SIGKILL) after this long; default 120 s */
  timeoutInMs?: number
  /** called with the result before `done` resolves (the reliability tests scan the output there) */
  onClose?: (result: CliResult) => void
  /** false: leave this run's --json output out of the shape check (runs with injected faults) */
  recordShape?: boolean
}

export interface CliProcess {
  pid: number
  /** whether the process has ended */
  readonly exited: boolean
  kill(signal: NodeJS.Signals): void
  /** SIGKILL: no handler runs, nothing is flushed — a crash */
  kill9(): void
  /** resolves when stderr contains `text`; rejects when the process ends first or after `ms` */
  waitForStderr(text: string, ms?: number): Promise<void>
  done: Promise<CliResult>
}

/** Starts `custos <args>` (no stdin, NO_COLOR) as a process, the way an operator or a job does. */
export function startCli(args: string[], options: CliOptions = {}): CliProcess {
  ensureBuilt()
  const child = spawn(process.execPath, [options.entry ?? BIN, ...args], {
    cwd: options.cwd ?? ROOT,
    env: {...process.env, NO_COLOR: '1', ...options.env},
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  let exited = false
  const waiters: Array<{text: string; resolve: () => void}> = []
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString()
    for (const w of waiters) if (stderr.includes(w.text)) w.resolve()
  })
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutInMs ?? 120_000)
  const done = new Promise<CliResult>((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      exited = true
      const result: CliResult = {code, signal, stdout, stderr, json: <T>() => JSON.parse(stdout) as T}
      if (options.recordShape !== false) recordJsonShape(args, stdout)
      options.onClose?.(result)
      resolve(result)
    }),
  )
  return {
    pid: child.pid!,
    get exited() {
      return exited
    },
    kill: (signal) => child.kill(signal),
    kill9: () => child.kill('SIGKILL'),
    done,
    waitForStderr(text, ms = 60_000) {
      if (stderr.includes(text)) return Promise.resolve()
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`timed out waiting for "${text}" on stderr; stderr so far:\n${stderr}`)),
          ms,
        )
        waiters.push({
          text,
          resolve: () => {
            clearTimeout(timer)
            resolve()
          },
        })
        void done.then(() => {
          clearTimeout(timer)
          if (!stderr.includes(text))
            reject(new Error(`the process ended before "${text}" appeared on stderr:\n${stderr}\n${stdout}`))
        })
      })
    },
  }
}

/** Runs `custos <args>` to completion and returns its exit code and output. */
export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return startCli(args, options).done
}
