/**
 * Microsoft.DBforPostgreSQL/flexibleServers on ARM: the reads custos makes, in the wire format of
 * ../shared/azure-contracts/postgresql/*.json (api-version 2025-08-01): Servers Get and List,
 * Backups ListByServer, LongTermRetention operations list, Configurations Get and List,
 * FirewallRules ListByServer (paged like the service: a `nextLink` with a preview api-version, a
 * `$skiptoken` and a doubled slash), Administrators ListByServer. Diagnostic settings on a server go
 * through monitor.ts like those of any resource.
 */
import {ArmError, resourceNotFound, sendArm} from './arm-common.js'
import {decodeSkipToken, encodeSkipToken, type RequestContext} from './http.js'
import {LocalAzureState, type ConfigurationOverride, type JsonObject} from './state.js'

const TYPE = 'Microsoft.DBforPostgreSQL/flexibleServers'
/** the api-version the service puts in its list `nextLink`s (FirewallRulesListByServer.json) */
const NEXT_LINK_API_VERSION = '2025-06-01-preview'

interface ParameterDefinition {
  description: string
  allowedValues: string
  dataType: 'Boolean' | 'Enumeration' | 'Integer' | 'String'
  defaultValue: string
  /** path under https://www.postgresql.org/docs/{version}/ */
  doc: string
  isDynamicConfig: boolean
}

/** The server parameters custos reads, with the defaults of Azure Database for PostgreSQL flexible server. */
const PARAMETERS: Record<string, ParameterDefinition> = {
  array_nulls: {
    description:
      "Enables input of NULL (case insensitive) to be considered as NULL value rather than the literal String 'NULL'.",
    allowedValues: 'on,off',
    dataType: 'Boolean',
    defaultValue: 'on',
    doc: 'runtime-config-compatible.html#GUC-ARRAY-NULLS',
    isDynamicConfig: true,
  },
  require_secure_transport: {
    description: 'Whether client connections to the server are required to use some form of secure transport.',
    allowedValues: 'on,off',
    dataType: 'Boolean',
    defaultValue: 'on',
    doc: 'runtime-config-connection.html',
    isDynamicConfig: true,
  },
  ssl_min_protocol_version: {
    description: 'Sets the minimum SSL/TLS protocol version to use.',
    allowedValues: 'TLSv1.2,TLSv1.3',
    dataType: 'Enumeration',
    defaultValue: 'TLSv1.2',
    doc: 'runtime-config-connection.html#GUC-SSL-MIN-PROTOCOL-VERSION',
    isDynamicConfig: true,
  },
  ssl_max_protocol_version: {
    description: 'Sets the maximum SSL/TLS protocol version to use.',
    allowedValues: 'TLSv1.2,TLSv1.3',
    dataType: 'Enumeration',
    defaultValue: '',
    doc: 'runtime-config-connection.html#GUC-SSL-MAX-PROTOCOL-VERSION',
    isDynamicConfig: true,
  },
  log_connections: {
    description: 'Logs each successful connection.',
    allowedValues: 'on,off',
    dataType: 'Boolean',
    defaultValue: 'on',
    doc: 'runtime-config-logging.html#GUC-LOG-CONNECTIONS',
    isDynamicConfig: false,
  },
  log_disconnections: {
    description: 'Logs end of a session, including duration.',
    allowedValues: 'on,off',
    dataType: 'Boolean',
    defaultValue: 'off',
    doc: 'runtime-config-logging.html#GUC-LOG-DISCONNECTIONS',
    isDynamicConfig: true,
  },
  password_encryption: {
    description: 'Determines the algorithm to use to encrypt the password.',
    allowedValues: 'md5,scram-sha-256',
    dataType: 'Enumeration',
    defaultValue: 'scram-sha-256',
    doc: 'runtime-config-connection.html#GUC-PASSWORD-ENCRYPTION',
    isDynamicConfig: true,
  },
}

/**
 * Answers a request whose path (lower-case `lower`) is under Microsoft.DBforPostgreSQL; returns
 * false when it is not, so that arm.ts goes on routing.
 */
export function handlePostgresql(ctx: RequestContext, lower: string[]): boolean {
  const p = lower.indexOf('microsoft.dbforpostgresql')
  if (p < 1 || lower[p - 1] !== 'providers' || lower[p + 1] !== 'flexibleservers') return false
  const seg = ctx.segments
  // /subscriptions/{s}/providers/... and /subscriptions/{s}/resourceGroups/{rg}/providers/...
  const listScope =
    lower.length === 5 && lower[0] === 'subscriptions' && lower[2] === 'providers'
      ? `/subscriptions/${seg[1]}/`
      : lower.length === 7 && lower[0] === 'subscriptions' && lower[2] === 'resourcegroups' && lower[4] === 'providers'
        ? `/subscriptions/${seg[1]}/resourcegroups/${seg[3]}/`
        : undefined
  if (listScope !== undefined) {
    const prefix = listScope.toLowerCase()
    const value = [...ctx.state.flexibleServers.keys()]
      .filter((id) => id.startsWith(prefix))
      .map((id) => ctx.state.flexibleServer(id)!)
    sendArm(ctx, 200, {value})
    return true
  }

  if (lower.length < 8 || lower[0] !== 'subscriptions' || lower[2] !== 'resourcegroups' || p !== 5) {
    throw new ArmError(400, 'InvalidResourceId', `The resource id '/${seg.join('/')}' is not valid.`)
  }

  const [subscription, resourceGroup, name] = [seg[1], seg[3], seg[7]]
  const id = LocalAzureState.flexibleServerId(subscription, resourceGroup, name)
  const server = ctx.state.flexibleServer(id)
  if (!server) throw resourceNotFound(TYPE, name, resourceGroup)
  const key = id.toLowerCase()
  const rest = lower.slice(8)
  if (rest.length === 0) {
    sendArm(ctx, 200, server)
    return true
  }

  const [collection, item] = rest
  if (rest.length > 2) throw notFound(ctx)
  switch (collection) {
    case 'backups': {
      const backups = ctx.state.flexibleServerBackups.get(key) ?? []
      if (item === undefined) sendArm(ctx, 200, {value: backups})
      else {
        const backup = backups.find((b) => String(b.name).toLowerCase() === item)
        if (!backup) throw resourceNotFound(`${TYPE}/backups`, `${name}/${seg[9]}`, resourceGroup)
        sendArm(ctx, 200, backup)
      }

      return true
    }

    case 'ltrbackupoperations': {
      const operations = ctx.state.flexibleServerLtrOperations.get(key) ?? []
      if (item === undefined) sendArm(ctx, 200, {value: operations})
      else {
        const operation = operations.find((o) => String(o.name).toLowerCase() === item)
        if (!operation) throw resourceNotFound(`${TYPE}/ltrBackupOperations`, `${name}/${seg[9]}`, resourceGroup)
        sendArm(ctx, 200, operation)
      }

      return true
    }

    case 'configurations': {
      const overrides = ctx.state.flexibleServerConfigurations.get(key) ?? new Map<string, ConfigurationOverride>()
      const version = String((server.properties as JsonObject).version ?? '17')
      if (item === undefined) {
        const names = [...new Set([...Object.keys(PARAMETERS), ...overrides.keys()])].sort()
        sendArm(ctx, 200, {value: names.map((n) => configuration(server, n, version, overrides.get(n))!)})
      } else {
        const body = configuration(server, seg[9], version, overrides.get(item))
        if (!body) throw resourceNotFound(`${TYPE}/configurations`, `${name}/${seg[9]}`, resourceGroup)
        sendArm(ctx, 200, body)
      }

      return true
    }

    case 'firewallrules': {
      const rules = [...(ctx.state.flexibleServerFirewallRules.get(key)?.values() ?? [])]
      if (item === undefined) sendArm(ctx, 200, firewallPage(ctx, rules))
      else {
        const rule = ctx.state.flexibleServerFirewallRules.get(key)?.get(item)
        if (!rule) throw resourceNotFound(`${TYPE}/firewallRules`, `${name}/${seg[9]}`, resourceGroup)
        sendArm(ctx, 200, rule)
      }

      return true
    }

    case 'administrators': {
      const admins = ctx.state.flexibleServerAdministrators.get(key) ?? []
      if (item === undefined) sendArm(ctx, 200, {value: admins})
      else {
        const admin = admins.find((a) => String((a.properties as JsonObject).objectId).toLowerCase() === item)
        if (!admin) throw resourceNotFound(`${TYPE}/administrators`, `${name}/${seg[9]}`, resourceGroup)
        sendArm(ctx, 200, admin)
      }

      return true
    }

    default: {
      throw notFound(ctx)
    }
  }
}

function notFound(ctx: RequestContext): ArmError {
  return new ArmError(
    404,
    'ResourceNotFound',
    `The Resource '/${ctx.segments.join('/')}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
  )
}

/** A Configurations Get body (ConfigurationsGet.json); undefined for a parameter the server does not have. */
function configuration(
  server: JsonObject,
  requested: string,
  version: string,
  override: ConfigurationOverride | undefined,
): JsonObject | undefined {
  const name = requested.toLowerCase()
  const def = PARAMETERS[name]
  if (!def && !override) return undefined
  const properties: JsonObject = def
    ? {
        description: def.description,
        allowedValues: def.allowedValues,
        dataType: def.dataType,
        defaultValue: def.defaultValue,
        documentationLink: `https://www.postgresql.org/docs/${version}/${def.doc}`,
        isConfigPendingRestart: false,
        isDynamicConfig: def.isDynamicConfig,
        isReadOnly: false,
        source: override ? 'user-override' : 'system-default',
        value: override?.value ?? def.defaultValue,
      }
    : {source: 'user-override', value: override!.value}
  return {
    name,
    type: `${TYPE}/configurations`,
    id: `${server.id as string}/configurations/${name}`,
    properties: {...properties, ...override?.properties, value: properties.value},
  }
}

/** One page of firewall rules; further pages are linked the way the service links them. */
function firewallPage(ctx: RequestContext, rules: JsonObject[]): JsonObject {
  const token = ctx.url.searchParams.get('$skiptoken')
  const offset = token === null ? 0 : decodeSkipToken(token)
  if (offset === undefined) throw new ArmError(400, 'InvalidSkipToken', 'The $skiptoken is invalid.')
  const size = Math.max(1, ctx.state.firewallRulePageSize)
  const body: JsonObject = {value: rules.slice(offset, offset + size)}
  if (offset + size < rules.length) {
    // FirewallRulesListByServer.json: `…/{subscription}//resourceGroups/…?api-version=<preview>&$skiptoken=…`
    const path = ctx.url.pathname.replace(/^\/subscriptions\/([^/]+)\//i, '/subscriptions/$1//')
    body.nextLink = `${ctx.origin}${path}?api-version=${NEXT_LINK_API_VERSION}&$skiptoken=${encodeSkipToken(offset + size)}`
  }

  return body
}
