/**
 * The two kinds of failure custos knows: errors an operator can act on (a CustosError, which
 * carries an exit code and a hint) and bugs (anything else). Azure's RestError is mapped to a
 * CustosError in exactly one place, {@link fromAzureError}.
 */

/** Exit codes, documented in the README and in `custos --help`. */
export const ExitCode = {
  /** done; all checks passed */
  ok: 0,
  /** checks found problems */
  findings: 1,
  /** usage or configuration error */
  usage: 2,
  /** refused for safety: hold, missing export, scope mismatch, lock held */
  refused: 3,
  /** Azure or network failure after retries (also a local file-system failure: disk full, permission denied) */
  azure: 4,
  /**
   * a bug in custos: an exception nobody anticipated. 70 is EX_SOFTWARE of sysexits.h ("internal
   * software error"), outside 0-4 so that a job can tell "report this" from "retry later" (4).
   */
  bug: 70,
  /** interrupted by SIGINT */
  interrupted: 130,
} as const
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode]

export interface CustosErrorOptions {
  /** a stable machine-readable code, e.g. `ConfigInvalid` */
  code: string
  exitCode: ExitCodeValue
  /** what the operator can do about it */
  hint?: string
  /** extra lines (e.g. one per schema problem) */
  details?: string[]
  cause?: unknown
}

/** An error the operator can act on: one sentence naming the thing, plus a hint. */
export class CustosError extends Error {
  readonly code: string
  readonly exitCode: ExitCodeValue
  readonly hint?: string
  readonly details: string[]

  constructor(message: string, options: CustosErrorOptions) {
    super(message, {cause: options.cause})
    this.name = 'CustosError'
    this.code = options.code
    this.exitCode = options.exitCode
    this.hint = options.hint
    this.details = options.details ?? []
  }
}

export function usageError(message: string, hint?: string, details?: string[]): CustosError {
  return new CustosError(message, {code: 'Usage', exitCode: ExitCode.usage, hint, details})
}

export function configError(message: string, details?: string[], hint?: string): CustosError {
  return new CustosError(message, {code: 'ConfigInvalid', exitCode: ExitCode.usage, hint, details})
}

export function refusedError(code: string, message: string, hint?: string, details?: string[]): CustosError {
  return new CustosError(message, {code, exitCode: ExitCode.refused, hint, details})
}

export function azureFailure(code: string, message: string, hint?: string, cause?: unknown): CustosError {
  return new CustosError(message, {code, exitCode: ExitCode.azure, hint, cause})
}

/**
 * The first line of the `<Message>` in an Azure Storage error body (the lines after it carry the
 * request id and time), or undefined when the body has none.
 */
export function serviceMessage(body: string | null | undefined): string | undefined {
  return /<Message>([^<]*)<\/Message>/.exec(body ?? '')?.[1]?.split('\n')[0]
}

interface RestErrorLike {
  name?: string
  statusCode?: number
  code?: string
  message?: string
  details?: {errorCode?: string}
}

function asRestError(err: unknown): RestErrorLike | undefined {
  if (typeof err !== 'object' || err === null) return undefined
  const e = err as RestErrorLike
  if (e.name === 'RestError' || typeof e.statusCode === 'number') return e
  return undefined
}

/** What @azure/identity throws when no credential can produce a token (not signed in, no managed identity). */
const credentialErrors = new Set([
  'CredentialUnavailableError',
  'AggregateAuthenticationError',
  'AuthenticationError',
  'AuthenticationRequiredError',
])

const networkCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
])

/**
 * Maps an error thrown by an `@azure/*` client (or by the network under it) to a CustosError
 * that names `what` (for example "container tenant-acme in account contosoprod").
 * Errors that are already CustosErrors pass through; anything else is returned unchanged (a bug).
 */
export function fromAzureError(err: unknown, what: string): unknown {
  if (err instanceof CustosError) return err
  if (isAbortError(err)) return err
  const name = (err as {name?: string} | undefined)?.name ?? ''
  if (credentialErrors.has(name)) {
    // The identity library's message lists every credential it tried; --debug shows it.
    return azureFailure(
      'SignInRequired',
      `No Azure credential was available to reach ${what}.`,
      'Sign in with `az login` (or give the job a managed identity) and try again; --debug shows why each credential failed.',
      err,
    )
  }

  if (err instanceof Error && /not permitted for non-TLS protected/.test(err.message)) {
    // core-rest-pipeline refuses to send an Entra ID token over plain HTTP.
    return new CustosError(
      `${capitalize(what)} is reached over plain http://, and custos sends Entra ID tokens only over HTTPS.`,
      {
        code: 'InsecureEndpoint',
        exitCode: ExitCode.usage,
        hint: 'Use the https:// endpoint, or give the account as a connection string with an account key (the local emulator).',
        cause: err,
      },
    )
  }

  const rest = asRestError(err)
  const code = rest?.code ?? (err as {code?: string} | undefined)?.code
  const status = rest?.statusCode
  if (status === 401 || status === 403) {
    return azureFailure(
      'AccessDenied',
      `Access to ${what} was denied (${status}${code ? ` ${code}` : ''}).`,
      status === 401
        ? 'Sign in with `az login` (or check the managed identity) and try again.'
        : 'Grant the signed-in identity a role that allows this (for blobs: Storage Blob Data Contributor; for keys: Key Vault Crypto Officer).',
      err,
    )
  }

  if (status === 404) {
    return azureFailure(
      'NotFound',
      `${capitalize(what)} was not found (${code ?? '404'}).`,
      'Check the name in the data map.',
      err,
    )
  }

  if (status === 409 && code && /Hold|Immutab|Lease/i.test(code)) {
    return refusedError(
      code,
      `${capitalize(what)} is protected (${code}).`,
      'A legal hold, immutability policy or lease prevents the change; release it first if that is lawful.',
    )
  }

  if (code && networkCodes.has(code)) {
    return azureFailure(
      'Network',
      `Could not reach ${what} (${code}).`,
      'Check the endpoint in the data map and the network, then run again.',
      err,
    )
  }

  if (status !== undefined) {
    return azureFailure(
      code ?? `Http${status}`,
      `Azure refused the request for ${what} (${status}${code ? ` ${code}` : ''}) after retries.`,
      'Run again later; add --debug for the full response.',
      err,
    )
  }

  if (rest) {
    // A RestError without a status never got an answer (REQUEST_SEND_ERROR) or could not read it.
    return azureFailure(
      code ?? 'RequestFailed',
      `The request for ${what} failed (${code ?? firstLine(rest.message) ?? 'no answer'}).`,
      'Check the endpoint in the data map and the network, then run again; add --debug for details.',
      err,
    )
  }

  const causeCode = (err as {cause?: {code?: unknown}} | undefined)?.cause?.code
  if (typeof causeCode === 'string' && networkCodes.has(causeCode)) {
    // fetch (undici) reports a refused or reset connection as TypeError("fetch failed") with the code on its cause.
    return azureFailure(
      'Network',
      `Could not reach ${what} (${causeCode}).`,
      'Check the endpoint in the data map and the network, then run again.',
      err,
    )
  }

  return err
}

/**
 * What an error that reached the command without being mapped means: an Azure or network failure
 * (a RestError, a network error code: exit 4), a local file-system failure (a Node system error
 * such as ENOSPC or EACCES: exit 4, naming the path), or — anything else — a bug (undefined).
 */
export function fromUnexpectedError(err: unknown): CustosError | undefined {
  if (err instanceof CustosError) return err
  const mapped = fromAzureError(err, 'Azure')
  if (mapped instanceof CustosError) return mapped
  const e = err as {code?: unknown; syscall?: unknown; path?: unknown; message?: string} | undefined
  if (typeof e?.code === 'string' && typeof e.syscall === 'string' && /^E[A-Z]+$/.test(e.code)) {
    return new CustosError(
      `A file operation failed: ${e.syscall}${typeof e.path === 'string' ? ` ${e.path}` : ''} (${e.code}).`,
      {
        code: 'FileSystem',
        exitCode: ExitCode.azure,
        hint: 'Check the path, its permissions and the free disk space, then run the same command again.',
        cause: err,
      },
    )
  }

  return undefined
}

function firstLine(text: string | undefined): string | undefined {
  return text?.split('\n')[0] || undefined
}

export function isAbortError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as {name?: string}).name === 'AbortError'
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1)
}
