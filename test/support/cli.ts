/**
 * Runs the built CLI (`node bin/run.js …`) as a process, the way an operator or a scheduled job does.
 * `npm test` builds first; a bare `npx mocha <file>` builds once here when dist/ is missing or stale.
 */
import {spawn, spawnSync} from 'node:child_process'
import {existsSync, readdirSync, statSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const BIN = join(ROOT, 'bin', 'run.js')

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
    spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.json')], {cwd: ROOT, stdio: 'ignore'})
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

/** Runs `custos <args>` to completion (no stdin, NO_COLOR) and returns its exit code and output. */
export function runCli(args: string[], options: {env?: Record<string, string>; cwd?: string; timeoutInMs?: number} = {}): Promise<CliResult> {
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
  return new Promise((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({code, signal, stdout, stderr, json: <T>() => JSON.parse(stdout) as T})
    }),
  )
}
