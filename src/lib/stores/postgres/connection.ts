/**
 * Connections to a PostgreSQL store: TLS always verify-full, the password from an environment
 * variable or an Entra ID token fetched for each new connection, and the one place where
 * PostgreSQL's errors become a CustosError with one clear sentence and an exit code.
 */
import {readFileSync} from 'node:fs'
import {isIP} from 'node:net'
import tls from 'node:tls'

import pg from 'pg'

import {CustosError, ExitCode, type ExitCodeValue} from '../../errors.js'
import type {PostgresDatabaseConfig} from './types.js'

/** The scope of an Entra ID token that Azure Database for PostgreSQL accepts as a password. */
export const ENTRA_SCOPE = 'https://ossrdbms-aad.database.windows.net/.default'

/** What `credential.getToken(ENTRA_SCOPE)` resolves to (an AccessToken), or a bare token. */
export type TokenProvider = () => Promise<{token: string} | string | null>

export interface ConnectOptions {
  /** auth `entra`: called for every new connection, so a long run always presents a fresh token */
  getToken?: TokenProvider
  /** another database on the same server (e.g. `postgres` to drop a tenant database) */
  database?: string
  /** where `passwordEnv` is looked up; default process.env */
  env?: NodeJS.ProcessEnv
  connectTimeoutInMs?: number
  /** pool size; default 4 */
  max?: number
}

/** The trust store: the system's roots, plus the data map's `ca` file when one is given. */
function trustedCas(config: PostgresDatabaseConfig): string[] | undefined {
  if (!config.ca) return undefined // Node's defaults (incl. NODE_EXTRA_CA_CERTS)
  let pem: string
  try {
    pem = readFileSync(config.ca, 'utf8')
  } catch (error) {
    throw new CustosError(`Database ${config.name}: the CA file ${config.ca} cannot be read.`, {
      code: 'ConfigInvalid',
      exitCode: ExitCode.usage,
      hint: 'Point `ca` at a readable PEM file, or remove it to trust the system store alone.',
      cause: error,
    })
  }

  // Giving `ca` replaces Node's store, so the default roots are added back.
  const system =
    (tls as unknown as {getCACertificates?: (type: string) => string[]}).getCACertificates?.('default') ??
    tls.rootCertificates
  return [...system, pem]
}

/** The client settings for one store, for pg.Client or pg.Pool. Reads no password yet. */
function clientConfig(config: PostgresDatabaseConfig, options: ConnectOptions = {}): pg.ClientConfig {
  const env = options.env ?? process.env
  let password: pg.ClientConfig['password']
  if (config.auth === 'password') {
    const variable = config.passwordEnv
    if (!variable) {
      throw new CustosError(`Database ${config.name}: auth "password" needs passwordEnv.`, {
        code: 'ConfigInvalid',
        exitCode: ExitCode.usage,
        hint: 'Name the environment variable that holds the password, e.g. passwordEnv: CUSTOS_PG_PASSWORD.',
      })
    }

    // A function, so that the value is read when a connection is made and never kept in the config.
    password = async () => {
      const value = env[variable]
      if (!value) {
        throw new CustosError(
          `Database ${config.name}: the environment variable ${variable} (passwordEnv) is not set.`,
          {
            code: 'PasswordMissing',
            exitCode: ExitCode.usage,
            hint: `Set ${variable} to the password of role ${config.user}.`,
          },
        )
      }

      return value
    }
  } else {
    const {getToken} = options
    if (!getToken) {
      throw new CustosError(`Database ${config.name}: auth "entra" needs a credential.`, {
        code: 'Bug',
        exitCode: ExitCode.usage,
      })
    }

    password = async () => {
      const token = await getToken()
      const value = typeof token === 'string' ? token : token?.token
      if (!value) {
        throw new CustosError(`Database ${config.name}: no Entra ID token was issued for ${ENTRA_SCOPE}.`, {
          code: 'SignInRequired',
          exitCode: ExitCode.azure,
          hint: 'Sign in with `az login` (or give the job a managed identity) and try again.',
        })
      }

      return value
    }
  }

  return {
    host: config.host,
    port: config.port ?? 5432,
    database: options.database ?? config.database,
    user: config.user,
    password,
    // verify-full: the chain must lead to a trusted root and the name must match the host. pg sets
    // SNI (servername) itself for a DNS name and leaves it out for an IP address, as RFC 6066 asks;
    // Node then checks the certificate against the host either way.
    ssl: {
      rejectUnauthorized: true,
      ca: trustedCas(config),
      ...(isIP(config.host) === 0 ? {servername: config.host} : {}),
    },
    application_name: 'custos',
    connectionTimeoutMillis: options.connectTimeoutInMs ?? 30_000,
  }
}

/** A pool for one store; errors of idle connections are swallowed (the next query reports them). */
export function createPool(config: PostgresDatabaseConfig, options: ConnectOptions = {}): pg.Pool {
  const pool = new pg.Pool({...clientConfig(config, options), max: options.max ?? 4})
  pool.on('error', () => {})
  return pool
}

/** One connected client; map its errors with {@link fromPostgresError}. */
export async function connect(config: PostgresDatabaseConfig, options: ConnectOptions = {}): Promise<pg.Client> {
  const client = new pg.Client(clientConfig(config, options))
  client.on('error', () => {})
  try {
    await client.connect()
  } catch (error) {
    await client.end().catch(() => {})
    throw fromPostgresError(error, `database ${options.database ?? config.database} on ${config.host}`, config.user)
  }

  return client
}

interface PgErrorLike {
  code?: string
  message?: string
  table?: string
  constraint?: string
}

const networkCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH'])

/**
 * Maps an error of `pg` (or of the network or TLS under it) to a CustosError naming `what`
 * (e.g. "table public.documents in database app"). CustosErrors pass through; anything unknown is
 * returned unchanged (a bug, or a server error custos does not expect).
 */
export function fromPostgresError(err: unknown, what: string, role?: string): unknown {
  if (err instanceof CustosError) return err
  if (typeof err !== 'object' || err === null) return err
  const e = err as PgErrorLike
  const code = e.code ?? ''
  const fail = (c: string, exitCode: ExitCodeValue, message: string, hint?: string) =>
    new CustosError(message, {code: c, exitCode, hint, cause: err})
  const as = role ? ` as ${role}` : ''
  switch (code) {
    case '28P01':
    case '28000': {
      return fail(
        'AuthenticationFailed',
        ExitCode.usage,
        `PostgreSQL refused the sign-in${as} to ${what} (${code}).`,
        'Check the user and the password (passwordEnv) or Entra ID token; the role must be allowed to log in from here.',
      )
    }

    case '42501': {
      return fail(
        'PrivilegeMissing',
        ExitCode.usage,
        `PostgreSQL denied${as} the access to ${what} (42501 insufficient_privilege: ${e.message}).`,
        'Grant the role what custos needs (README: least privileges in PostgreSQL).',
      )
    }

    case '55P03': {
      return fail(
        'LockTimeout',
        ExitCode.azure,
        `Another session holds a lock on ${what}; custos gave up waiting (55P03 lock_not_available).`,
        'Run again when the application is not writing to these rows; everything deleted so far stays journaled.',
      )
    }

    case '25006': {
      return fail(
        'ReadOnly',
        ExitCode.usage,
        `${capitalize(what)} is read-only (25006 read_only_sql_transaction): nothing can be deleted there.`,
        'Connect to the primary server (not a replica) and check default_transaction_read_only for the role and database.',
      )
    }

    case '3D000': {
      return fail(
        'DatabaseMissing',
        ExitCode.usage,
        `${capitalize(what)} does not exist (3D000).`,
        'Check the data map.',
      )
    }

    case '57014': {
      return fail('Cancelled', ExitCode.azure, `The query on ${what} was cancelled (57014).`)
    }

    case '53300': {
      return fail(
        'TooManyConnections',
        ExitCode.azure,
        `The server of ${what} accepts no more connections (53300).`,
        'Run again later.',
      )
    }

    default: {
      break
    }
  }

  if (code.startsWith('08') || networkCodes.has(code)) {
    return fail(
      'Network',
      ExitCode.azure,
      `Could not reach ${what} (${code}${e.message ? `: ${e.message}` : ''}).`,
      'Check host and port in the data map, the firewall rules of the server and the network, then run again.',
    )
  }

  if (
    /certificate|self[- ]signed|Hostname\/IP does not match|unable to verify/i.test(e.message ?? '') ||
    code.startsWith('ERR_TLS') ||
    code.startsWith('UNABLE_TO') ||
    code.includes('CERT')
  ) {
    return fail(
      'TlsUntrusted',
      ExitCode.usage,
      `The TLS certificate of ${what} could not be verified (${e.message}).`,
      'custos always checks the certificate and host name (verify-full); give the issuing CA as `ca` in the data map.',
    )
  }

  if (/does not support SSL/i.test(e.message ?? '')) {
    return fail(
      'TlsUnavailable',
      ExitCode.usage,
      `${capitalize(what)} does not offer TLS; custos connects only over TLS.`,
      'Enable ssl on the server.',
    )
  }

  if (/timeout expired|Connection terminated/i.test(e.message ?? '')) {
    return fail(
      'Network',
      ExitCode.azure,
      `Could not reach ${what} (${e.message}).`,
      'Check the network, then run again.',
    )
  }

  return err
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1)
}

/** `"name"` quoted for SQL by the driver's own rule (doubles embedded quotes). */
export function ident(name: string): string {
  return pg.escapeIdentifier(name)
}

/** `"schema"."table"` */
export function qualified(t: {schema: string; table: string}): string {
  return `${ident(t.schema)}.${ident(t.table)}`
}
