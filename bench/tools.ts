/**
 * What the benchmarks that run peers (AzCopy, the Azure CLI) share: finding them, timing a process
 * under GNU time (wall time, peak RSS, CPU), and reading how much CPU Azurite spent meanwhile.
 */
import {execFileSync, spawn} from 'node:child_process'
import {chmodSync, readFileSync, statSync} from 'node:fs'
import {createRequire} from 'node:module'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {redactSecrets} from '../src/lib/secrets.js'

const args = process.argv.slice(2)

/** The value after `--name` on the command line, if given. */
export function option(name: string): string | undefined {
  const i = args.indexOf(`--${name}`)
  return i !== -1 ? args[i + 1] : undefined
}

export const numberOption = (name: string, fallback: number): number => Number(option(name) ?? fallback)

export const hasFlag = (name: string): boolean => args.includes(`--${name}`)

/** The built CLI to measure: `--cli path/to/bin/run.js` for a build made elsewhere, else this checkout's. */
export const CLI = option('cli') ?? join(fileURLToPath(new URL('..', import.meta.url)), 'bin/run.js')

export function which(command: string): string | undefined {
  try {
    return execFileSync('which', [command], {encoding: 'utf8'}).trim() || undefined
  } catch {
    return undefined
  }
}

/** AzCopy from the @azure-tools/azcopy-linux dev dependency (Debian needs libsecret-1-0 for it). */
export function azcopyPath(): string | undefined {
  try {
    const require = createRequire(import.meta.url)
    const {AzCopyExe} = require('@azure-tools/azcopy-linux') as {AzCopyExe: string}
    // npm does not keep the executable bit of the binary inside the package
    if ((statSync(AzCopyExe).mode & 0o111) === 0) chmodSync(AzCopyExe, 0o755)
    return AzCopyExe
  } catch {
    return undefined
  }
}

/** The environment that keeps AzCopy's logs and job plans in `work` and off syslog. */
export function azcopyEnv(work: string): NodeJS.ProcessEnv {
  return {
    AZCOPY_LOG_LOCATION: `${work}/azcopy-logs`,
    AZCOPY_JOB_PLAN_LOCATION: `${work}/azcopy-plans`,
    AZCOPY_DISABLE_SYSLOG: 'true',
  }
}

/** user + system CPU seconds a process has used so far (Linux /proc); NaN when it cannot be read. */
export function cpuOf(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return Number.NaN
  }
}

export interface Timed {
  seconds: number
  peakRssMiB: number
  /** user + system CPU of the process */
  cpuSeconds: number
  /** the last 200,000 characters of its stdout */
  stdout: string
}

/** Runs a command under GNU time; throws (secrets redacted) when it fails. */
export async function timed(
  command: string,
  commandArgs: string[],
  options: {env?: NodeJS.ProcessEnv; cwd?: string} = {},
): Promise<Timed> {
  const started = process.hrtime.bigint()
  const child = spawn('/usr/bin/time', ['-f', 'custos-bench-rss-kib=%M cpu=%U+%S', command, ...commandArgs], {
    cwd: options.cwd,
    env: {...process.env, ...options.env},
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  let stdout = ''
  child.stdout.on('data', (c: Buffer) => (stdout = (stdout + c.toString()).slice(-200_000)))
  child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-8000)))
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  if (code !== 0)
    throw new Error(
      redactSecrets(`${command} ${commandArgs.join(' ')} exited with ${code}:\n${stdout.slice(-4000)}\n${stderr}`),
    )
  const match = /custos-bench-rss-kib=(\d+) cpu=([\d.]+)\+([\d.]+)/.exec(stderr)
  return {
    seconds,
    peakRssMiB: Number(match?.[1] ?? 0) / 1024,
    cpuSeconds: Number(match?.[2] ?? 0) + Number(match?.[3] ?? 0),
    stdout,
  }
}
