/**
 * `audit posture` for the PostgreSQL flexible servers the data map names (`databases[].resourceId`):
 * TLS only and at least TLS 1.2 (server parameters), not open to the whole internet (public access
 * or a 0.0.0.0–255.255.255.255 firewall rule), Entra-only sign-in where required, connection logging,
 * and the region. The logging-to-archive check is done by posture.ts with the shared monitoring code.
 */
import type {AzureClients} from '../azure/clients.js'
import {
  listEntraAdministrators,
  listServerFirewallRules,
  readFlexibleServer,
  readServerParameter,
  type EntraAdministrator,
  type ServerFirewallRule,
  type ServerParameter,
} from '../azure/postgres-server.js'
import type {PostgresDatabaseEntry} from '../datamap/types.js'
import {CustosError, isAbortError} from '../errors.js'
import type {FlexibleServerBody} from '../stores/postgres/residuals.js'
import {regionAllowed, result} from './result.js'
import type {CheckResult} from './types.js'

const POSTGRES_PARAMETERS = [
  'require_secure_transport',
  'ssl_min_protocol_version',
  'log_connections',
  'log_disconnections',
] as const
type ParameterName = (typeof POSTGRES_PARAMETERS)[number]

/** A read that worked, or the sentence saying why not. */
type Read<T> = {ok: true; value: T} | {ok: false; reason: string}

export interface PostgresPostureFacts {
  server: FlexibleServerBody
  parameters: Record<ParameterName, Read<ServerParameter | undefined>>
  firewallRules: Read<ServerFirewallRule[]>
  administrators: Read<EntraAdministrator[]>
}

async function attempt<T>(read: () => Promise<T>): Promise<Read<T>> {
  try {
    return {ok: true, value: await read()}
  } catch (error) {
    if (isAbortError(error) || !(error instanceof CustosError)) throw error
    return {ok: false, reason: error.message.replace(/\.$/, '')}
  }
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const item of items) out.push(item)
  return out
}

/** Reads the server and what the checks need; the server itself must be readable (else a CustosError). */
export async function readPostgresPosture(
  clients: AzureClients,
  resourceId: string,
  options: {abortSignal?: AbortSignal} = {},
): Promise<PostgresPostureFacts> {
  const server = await readFlexibleServer(clients, resourceId, options)
  const [parameters, firewallRules, administrators] = await Promise.all([
    Promise.all(
      POSTGRES_PARAMETERS.map(
        async (name) => [name, await attempt(() => readServerParameter(clients, resourceId, name, options))] as const,
      ),
    ),
    attempt(() => collect(listServerFirewallRules(clients, resourceId, options))),
    attempt(() => collect(listEntraAdministrators(clients, resourceId, options))),
  ])
  return {
    server,
    parameters: Object.fromEntries(parameters) as PostgresPostureFacts['parameters'],
    firewallRules,
    administrators,
  }
}

const on = (value: string | undefined) => value?.trim().toLowerCase() === 'on'

/** `TLSv1.2` → 1.2; undefined for an unreadable version. */
function tlsVersion(value: string | undefined): number | undefined {
  const m = /^tlsv?(\d+(?:\.\d+)?)$/i.exec(value?.trim() ?? '')
  return m ? Number(m[1]) : undefined
}

function ipNumber(ip: string): number | undefined {
  const parts = ip.trim().split('.')
  if (parts.length !== 4) return undefined
  let n = 0
  for (const p of parts) {
    const v = Number(p)
    if (!/^\d{1,3}$/.test(p) || v > 255) return undefined
    n = n * 256 + v
  }

  return n
}

/** The checks of one server, except the logging-to-archive check. Pure. */
export function evaluatePostgresServer(
  db: PostgresDatabaseEntry,
  facts: PostgresPostureFacts,
  allowedRegions: string[],
  placeholders: Record<string, string | undefined>,
): CheckResult[] {
  const s = facts.server
  const name = s.name ?? db.name
  const param = (p: ParameterName, check: string): {value?: string; unknown?: CheckResult} => {
    const read = facts.parameters[p]
    if (!read.ok)
      return {
        unknown: result(
          check,
          'unknown',
          `${read.reason}.`,
          placeholders,
          'Grant the signed-in identity the Reader role on the server.',
        ),
      }
    if (!read.value?.value)
      return {
        unknown: result(check, 'unknown', `Server ${name} reports no value for the parameter ${p}.`, placeholders),
      }
    return {value: read.value.value}
  }

  const out: CheckResult[] = []

  const transport = param('require_secure_transport', 'postgresql.secure-transport')
  out.push(
    transport.unknown ??
      (on(transport.value)
        ? result('postgresql.secure-transport', 'pass', 'require_secure_transport is on.', placeholders)
        : result(
            'postgresql.secure-transport',
            'fail',
            `require_secure_transport is ${transport.value}: clients may connect without TLS.`,
            placeholders,
          )),
  )

  const tls = param('ssl_min_protocol_version', 'postgresql.minimum-tls')
  const version = tlsVersion(tls.value)
  out.push(
    tls.unknown ??
      (version === undefined
        ? result(
            'postgresql.minimum-tls',
            'unknown',
            `ssl_min_protocol_version is ${tls.value}, which custos cannot read as a TLS version.`,
            placeholders,
          )
        : version >= 1.2
          ? result('postgresql.minimum-tls', 'pass', `ssl_min_protocol_version is ${tls.value}.`, placeholders)
          : result(
              'postgresql.minimum-tls',
              'fail',
              `ssl_min_protocol_version is ${tls.value}, older than TLSv1.2.`,
              placeholders,
            )),
  )

  out.push(publicAccess(s, name, facts.firewallRules, placeholders))
  out.push(entraOnly(db, s, name, placeholders))

  const connections = param('log_connections', 'postgresql.connection-logging')
  const disconnections = param('log_disconnections', 'postgresql.connection-logging')
  const unknown = connections.unknown ?? disconnections.unknown
  if (unknown) out.push(unknown)
  else {
    const off = [
      on(connections.value) ? '' : 'log_connections',
      on(disconnections.value) ? '' : 'log_disconnections',
    ].filter(Boolean)
    out.push(
      off.length === 0
        ? result(
            'postgresql.connection-logging',
            'pass',
            'log_connections and log_disconnections are on.',
            placeholders,
          )
        : result(
            'postgresql.connection-logging',
            'fail',
            `${off.join(' and ')} ${off.length === 1 ? 'is' : 'are'} off.`,
            placeholders,
          ),
    )
  }

  out.push(
    s.location === undefined
      ? result('postgresql.region', 'unknown', `Server ${name} reports no location.`, placeholders)
      : regionAllowed(s.location, allowedRegions)
        ? result('postgresql.region', 'pass', `Server ${name} is in ${s.location} (allowed).`, placeholders)
        : result(
            'postgresql.region',
            'fail',
            `Server ${name} is in ${s.location}, which is not in residency.allowedRegions (${allowedRegions.join(', ')}).`,
            placeholders,
          ),
  )
  return out
}

function publicAccess(
  s: FlexibleServerBody,
  name: string,
  rules: Read<ServerFirewallRule[]>,
  placeholders: Record<string, string | undefined>,
): CheckResult {
  const id = 'postgresql.public-access'
  const access = s.properties?.network?.publicNetworkAccess
  if (access?.toLowerCase() === 'disabled')
    return result(id, 'pass', `Public network access is disabled on ${name}.`, placeholders)
  if (!rules.ok)
    return result(
      id,
      'unknown',
      `${rules.reason}.`,
      placeholders,
      'Grant the signed-in identity the Reader role on the server.',
    )
  const all = ipNumber('255.255.255.255')!
  const open = rules.value.filter((r) => ipNumber(r.startIpAddress) === 0 && ipNumber(r.endIpAddress) === all)
  if (open.length > 0)
    return result(
      id,
      'fail',
      `Firewall rule ${open.map((r) => r.name).join(', ')} opens ${name} to every address (0.0.0.0–255.255.255.255).`,
      {...placeholders, rule: open[0].name},
    )
  const how = access === undefined ? 'Public network access is not reported' : `Public network access is ${access}`
  return result(
    id,
    'pass',
    `${how}, and none of the ${rules.value.length} firewall rule${rules.value.length === 1 ? '' : 's'} opens ${name} to every address.`,
    placeholders,
  )
}

function entraOnly(
  db: PostgresDatabaseEntry,
  s: FlexibleServerBody,
  name: string,
  placeholders: Record<string, string | undefined>,
): CheckResult {
  const id = 'postgresql.entra-only'
  const auth = s.properties?.authConfig
  const entra = auth?.activeDirectoryAuth
  const password = auth?.passwordAuth
  const state = `Entra authentication ${entra ?? 'not reported'}, password authentication ${password ?? 'not reported'}`
  if (!db.requireEntraOnly)
    return result(id, 'skipped', `${state} (databases[].requireEntraOnly is not set for ${db.name}).`, placeholders)
  if (entra === undefined || password === undefined)
    return result(
      id,
      'unknown',
      `Server ${name} reports no properties.authConfig.${entra === undefined ? 'activeDirectoryAuth' : 'passwordAuth'}.`,
      placeholders,
    )
  const ok = entra.toLowerCase() === 'enabled' && password.toLowerCase() === 'disabled'
  return result(id, ok ? 'pass' : 'fail', `${state}.`, placeholders)
}
