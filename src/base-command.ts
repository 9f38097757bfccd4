/**
 * What every custos command shares: --config/--debug/--json, loading the data map, the Azure
 * client factory, SIGINT → AbortController → exit 130, and one error-to-exit-code mapping that is
 * the same in text and JSON mode.
 */
import {setMaxListeners} from 'node:events'

import {Command, type Interfaces, ux} from '@oclif/core'

import {configFlag, debugFlag} from './flags.js'
import {AzureClients, type AzureClientsOptions} from './lib/azure/clients.js'
import {loadDataMap, resolveConfigPath} from './lib/datamap/load.js'
import type {DataMap} from './lib/datamap/types.js'
import {CustosError, ExitCode, fromUnexpectedError, isAbortError} from './lib/errors.js'
import {errColor} from './lib/output/color.js'
import type {NagiosOutput} from './lib/output/nagios.js'
import {PRIVATE_UMASK} from './lib/output/files.js'
import {createProgress, type Progress, type ProgressOptions} from './lib/output/progress.js'
import {createStages, type Stages} from './lib/output/stages.js'
import {type Cell, renderTable} from './lib/output/table.js'
import {redactSecrets} from './lib/secrets.js'

/**
 * Listeners the run's abort signal may have at once: every request in flight holds one, and
 * --concurrency goes up to 256 (erase and export raise their own signals' limits the same way).
 */
const SIGNAL_LISTENERS = 1024

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<
  (typeof BaseCommand)['baseFlags'] & T['flags']
>
export type BaseArgs<T extends typeof Command> = Interfaces.InferredArgs<T['args']>

/** The JSON document printed on stdout when a command fails under --json. */
export interface ErrorResult {
  error: {code: string; message: string; hint?: string; details?: string[]; exitCode: number}
}

export abstract class BaseCommand<T extends typeof Command> extends Command {
  static override enableJsonFlag = true
  static override baseFlags = {config: configFlag, debug: debugFlag}
  /**
   * Hidden flags kept from before custos 0.3 that are not plain aliases (they differ in meaning from
   * their replacement, like `customer export --archive`): old name → the flag that replaces it.
   * Plain renames are `aliases` on the new flag (see `outputFlag` in src/flags.ts).
   */
  static renamedFlags: Record<string, string> = {}
  protected flags!: BaseFlags<T>
  protected args!: BaseArgs<T>
  /** aborted on the first SIGINT; long work stops at the next safe point */
  protected readonly abortController = new AbortController()
  private sigintHandler?: () => void
  /** old spellings this run used: `--out` → `output` */
  private oldSpellings = new Map<string, string>()

  public override async init(): Promise<void> {
    await super.init()
    // Everything custos writes is customer data or evidence about it: whatever this process creates
    // without an explicit mode (or through a library) is private to its owner (files 0600, folders 0700).
    process.umask(PRIVATE_UMASK)
    const {args, flags} = await this.parse({
      flags: this.ctor.flags,
      baseFlags: (super.ctor as typeof BaseCommand).baseFlags,
      enableJsonFlag: this.ctor.enableJsonFlag,
      args: this.ctor.args,
      strict: this.ctor.strict,
    })
    this.flags = flags as BaseFlags<T>
    this.args = args as BaseArgs<T>
    this.oldSpellings = oldSpellingsIn(this.argv, this.ctor.flags ?? {}, (this.ctor as typeof BaseCommand).renamedFlags)
    let interrupts = 0
    this.sigintHandler = () => {
      interrupts++
      // eslint-disable-next-line n/no-process-exit, unicorn/no-process-exit -- a second Ctrl-C means now, not at the next safe point
      if (interrupts > 1) process.exit(ExitCode.interrupted)
      process.stderr.write('\nInterrupted: stopping at the next safe point (press Ctrl-C again to quit at once).\n')
      this.abortController.abort(Object.assign(new Error('interrupted by the operator'), {name: 'AbortError'}))
    }

    process.on('SIGINT', this.sigintHandler)
    process.on('SIGTERM', this.sigintHandler)
    // Every request of the run listens on this one signal while it is in flight (the SDKs remove the
    // listener when it ends): a command reading a dozen resources at once is no leak, and Node's
    // default of 10 would print a MaxListenersExceededWarning into its output (audit posture did).
    setMaxListeners(SIGNAL_LISTENERS, this.abortController.signal)
  }

  protected get abortSignal(): AbortSignal {
    return this.abortController.signal
  }

  /**
   * How the operator spelled flag `name` in this run: `--out` when a job still uses the old name of
   * `--output`, else `--name`. Errors name the flag as it was typed, so the operator finds it.
   */
  protected spelling(name: string): string {
    for (const [old, current] of this.oldSpellings) if (current === name) return old
    return `--${name}`
  }

  /** Loads and validates the data map named by --config / CUSTOS_CONFIG. */
  protected loadMap(): DataMap {
    return loadDataMap(resolveConfigPath(this.flags.config))
  }

  protected makeClients(map: DataMap, options?: AzureClientsOptions): AzureClients {
    return new AzureClients(map, options)
  }

  /** Sets the exit code for a finished run (1 when checks found problems) without throwing. */
  protected setExitCode(code: number): void {
    process.exitCode = code
  }

  // The output layer. Under --json stdout holds the one JSON document and stderr stays quiet, so a
  // command never asks jsonEnabled() before writing: it calls one of these, which know.
  // stdout: print() and table() (the human result). stderr: info(), artefact(), progress(), stage(), stages().

  /** Writes a line to stderr (not stdout, which belongs to the result); nothing under --json. */
  protected info(text: string): void {
    if (!this.jsonEnabled()) process.stderr.write(`${text}\n`)
  }

  /** Whether a person can answer a question: stdin is a terminal and nobody asked for --json. */
  protected canPrompt(): boolean {
    return Boolean(process.stdin.isTTY) && !this.jsonEnabled()
  }

  /** Writes the human-readable result to stdout; nothing under --json (the returned object is the result). */
  protected print(text: string): void {
    if (!this.jsonEnabled()) this.log(text)
  }

  /** Prints a table (src/lib/output/table.ts) to stdout; nothing under --json. */
  protected table(head: string[], rows: Cell[][], options?: Parameters<typeof renderTable>[2]): void {
    if (!this.jsonEnabled()) this.log(renderTable(head, rows, options))
  }

  /**
   * Announces a file the command wrote (`Wrote acme.tar.gz (…)`): on stderr, like progress, so that
   * stdout holds only the result; nothing under --json, whose result names the file.
   */
  protected artefact(text: string): void {
    this.info(text)
  }

  /**
   * Progress of long work on stderr (src/lib/output/progress.ts): a bar on a terminal, a plain line
   * every few seconds otherwise, nothing under --json — nor when `quiet` (a format such as Nagios or
   * SARIF that owns the output, or a dry run).
   */
  protected progress(options: Omit<ProgressOptions, 'silent'>, quiet = false): Progress {
    return createProgress({...options, silent: quiet || this.jsonEnabled()})
  }

  /**
   * The stages of multi-step work (src/lib/output/stages.ts): listr2's list on stderr when it is a
   * terminal; nothing otherwise (the plain progress lines stay), under --json or when `quiet`.
   */
  protected stages(titles: readonly string[], quiet = false): Stages {
    return createStages({titles, silent: quiet || this.jsonEnabled()})
  }

  /**
   * One stage of work that is a single call (a spinner on stderr: `title... done`); nothing under
   * --json or when `quiet`. `done` words the end of the stage from its result.
   */
  protected async stage<R>(
    title: string,
    work: () => Promise<R>,
    done: (result: R) => string,
    quiet = false,
  ): Promise<R> {
    const shown = !quiet && !this.jsonEnabled()
    if (shown) ux.action.start(title, undefined, {stdout: false})
    let result: R
    try {
      result = await work()
    } catch (error) {
      if (shown) ux.action.stop('failed')
      throw error
    }

    if (shown) ux.action.stop(done(result))
    return result
  }

  /**
   * A command with `--format nagios` sets its UNKNOWN line here (`BACKUPS UNKNOWN - message`): in
   * that format a failure is that one line on stdout and exit 3, as monitoring expects, instead of
   * the error on stderr.
   */
  protected nagiosUnknown?: (message: string) => NagiosOutput

  /** Whether this run asked for Nagios output (also when parsing the flags failed). */
  private nagiosRequested(): boolean {
    return this.flags?.format === 'nagios' || /(^|\s)--format(=|\s+)nagios(\s|$)/.test(this.argv.join(' '))
  }

  public override async catch(error: Interfaces.CommandError): Promise<void> {
    const err: unknown = error
    if (isOclifExit(err)) throw err
    if (this.nagiosUnknown && this.nagiosRequested()) {
      const message = (err as {message?: string}).message?.split('\n')[0] ?? String(err)
      const {line, exitCode} = this.nagiosUnknown(redactSecrets(message))
      process.stdout.write(`${line}\n`)
      process.exitCode = exitCode
      return
    }

    const result = this.errorResult(err)
    result.error.message = redactSecrets(result.error.message)
    if (result.error.details) result.error.details = result.error.details.map(redactSecrets)
    if (this.jsonEnabled()) {
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
    } else {
      const lines = [errColor.red(`Error: ${result.error.message}`)]
      for (const d of result.error.details ?? []) lines.push(`  ${d}`)
      if (result.error.hint) lines.push(errColor.dim(`Hint: ${result.error.hint}`))
      process.stderr.write(`${lines.join('\n')}\n`)
    }

    // this.flags is unset when parsing the flags failed; --debug still asks for the stack then.
    if (this.flags?.debug ?? this.argv.includes('--debug')) {
      const chain: unknown[] = [err]
      while (chain.length < 5) {
        const cause = (chain.at(-1) as {cause?: unknown})?.cause
        if (!cause) break
        chain.push(cause)
      }

      for (const e of chain) process.stderr.write(`${redactSecrets((e as Error)?.stack ?? String(e))}\n`)
    }

    process.exitCode = result.error.exitCode
  }

  /**
   * One error, one exit code: a CustosError carries its own; bad flags are usage errors (2); an
   * Azure, network or file-system failure that was not mapped where it happened is 4; anything
   * else is a bug (70, {@link ExitCode.bug}).
   */
  private errorResult(err: unknown): ErrorResult {
    const usageHint = `See: custos ${this.id?.replaceAll(':', ' ') ?? ''} --help`
    const flag = flagParseError(err)
    if (flag) {
      // A flag parser's own usage error keeps its hint; oclif's (integer bounds, options) get the help.
      const hint = err instanceof CustosError && err.hint ? err.hint : usageHint
      return {error: {code: 'Usage', message: flag, hint, exitCode: ExitCode.usage}}
    }

    if (err instanceof CustosError) {
      return {
        error: {
          code: err.code,
          message: err.message,
          ...(err.hint ? {hint: err.hint} : {}),
          ...(err.details.length > 0 ? {details: err.details} : {}),
          exitCode: err.exitCode,
        },
      }
    }

    if (isAbortError(err) && this.abortController.signal.aborted) {
      return {
        error: {
          code: 'Interrupted',
          message: 'Interrupted by the operator; nothing further was changed.',
          hint: 'Run the same command again to resume.',
          exitCode: ExitCode.interrupted,
        },
      }
    }

    if (isAbortError(err)) {
      // Nobody pressed Ctrl-C: a request was aborted underneath us (a timeout or a dropped connection).
      return {
        error: {
          code: 'RequestAborted',
          message: `A request to Azure was aborted (${(err as Error).message || 'timeout or dropped connection'}).`,
          hint: 'Run the same command again; finished work is kept.',
          exitCode: ExitCode.azure,
        },
      }
    }

    if (isOclifParseError(err)) {
      const [first, ...rest] = (err as Error).message.split('\n')
      const details = rest.filter(Boolean)
      return {
        error: {
          code: 'Usage',
          message: first,
          hint: usageHint,
          ...(details.length > 0 ? {details} : {}),
          exitCode: ExitCode.usage,
        },
      }
    }

    const mapped = fromUnexpectedError(err)
    if (mapped) return this.errorResult(mapped)
    const message = ((err as Error)?.message ?? String(err)).split('\n')[0]
    return {
      error: {
        code: 'InternalError',
        message: `custos failed unexpectedly (a bug): ${message}`,
        hint: 'Please report it, with the output of the same command run again with --debug.',
        exitCode: ExitCode.bug,
      },
    }
  }

  public override async finally(error: Error | undefined): Promise<void> {
    // After the result or the error, so that the first line an operator (or a test) reads is still
    // the one it was before the rename; one line per old spelling; nothing under --json.
    for (const [old, current] of this.oldSpellings) {
      const flag = this.ctor.flags?.[current]
      const spelled = flag?.char ? `-${flag.char}, --${current}` : `--${current}`
      this.info(`Warning: ${old} is deprecated and will be removed in a later release; use ${spelled}.`)
    }

    if (this.sigintHandler) {
      process.off('SIGINT', this.sigintHandler)
      process.off('SIGTERM', this.sigintHandler)
    }

    await super.finally(error)
  }
}

/**
 * `--flag <what is wrong>` when `err` is what oclif throws for a flag value its parser refused:
 * the parser's error with its message rewritten to "Parsing --flag \n\t<message>\nSee more help with --help".
 */
function flagParseError(err: unknown): string | undefined {
  const message = (err as Error | undefined)?.message
  const m =
    typeof message === 'string' ? /^Parsing --([\w-]+) \n\t([\s\S]*?)\nSee more help with --help$/.exec(message) : null
  if (!m) return undefined
  const inner = m[2].split('\n')[0]
  return inner.startsWith(`--${m[1]} `) ? inner : `--${m[1]}: ${inner}`
}

/** The old flag spellings used in `argv` (up to a `--`), each mapped to the flag that replaces it. */
function oldSpellingsIn(
  argv: readonly string[],
  flags: Record<string, {aliases?: string[]}>,
  renamed: Record<string, string>,
): Map<string, string> {
  const old = new Map<string, string>(Object.entries(renamed))
  for (const [name, flag] of Object.entries(flags)) for (const alias of flag.aliases ?? []) old.set(alias, name)
  const used = new Map<string, string>()
  for (const token of argv) {
    if (token === '--') break
    const m = /^--([^=]+)/.exec(token)
    const current = m ? old.get(m[1]) : undefined
    if (m && current) used.set(`--${m[1]}`, current)
  }

  return used
}

function isOclifParseError(err: unknown): boolean {
  const e = err as {name?: string; parse?: unknown; oclif?: {exit?: number}} | undefined
  return Boolean(
    e &&
    (e.parse !== undefined ||
      /Parse|Flag|Arg|Validation/i.test(e.name ?? '') ||
      (e.oclif?.exit === 2 && !(err instanceof CustosError))),
  )
}

function isOclifExit(err: unknown): boolean {
  const e = err as {oclif?: {exit?: number}; code?: string} | undefined
  return e?.code === 'EEXIT'
}
