import {existsSync, readFileSync} from 'node:fs'
import {dirname, extname, resolve} from 'node:path'

import {Ajv, type ErrorObject} from 'ajv'
import {parse as parseYaml} from 'yaml'

import {parseAccount} from '../azure/account.js'
import {isLoopbackUrl} from '../azure/credential.js'
import {configError} from '../errors.js'
import {mappedTables} from '../stores/postgres/types.js'
import {TABLE_NAME, type TableDatabaseConfig} from '../stores/table/types.js'
import {defaultLockContainer} from './defaults.js'
import {describeScopeOverlap, findScopeOverlaps, scopeTemplatesOf} from './overlap.js'
import {allowedPlaceholders, expandCustomer, placeholdersIn} from './placeholders.js'
import {dataMapSchema} from './schema.js'
import type {DataMap, DatabaseConfig} from './types.js'
import {checkValues} from './values.js'

const CONFIG_ENV = 'CUSTOS_CONFIG'
const DEFAULT_FILES = ['custos.yaml', 'custos.yml', 'custos.json']

const ajv = new Ajv({allErrors: true, useDefaults: true, strict: false})
const validateSchema = ajv.compile(dataMapSchema)

/** Where the data map is read from: the flag, then CUSTOS_CONFIG, then ./custos.yaml|yml|json. */
export function resolveConfigPath(flag?: string, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  const chosen = flag ?? env[CONFIG_ENV]
  if (chosen) return resolve(cwd, chosen)
  for (const name of DEFAULT_FILES) {
    const candidate = resolve(cwd, name)
    if (existsSync(candidate)) return candidate
  }

  throw configError(
    'No data map was given.',
    [],
    `Pass --config custos.yaml or set ${CONFIG_ENV}; see "The data map" in the README.`,
  )
}

/** Reads, validates and completes the data map; throws one CustosError (exit 2) listing every problem. */
export function loadDataMap(path: string): DataMap {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw configError(
      `The data map ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}).`,
      [],
      'Check the path given with --config or CUSTOS_CONFIG.',
    )
  }

  let raw: unknown
  try {
    raw = extname(path).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text, {prettyErrors: true})
  } catch (error) {
    throw configError(
      `The data map ${path} is not valid ${extname(path).toLowerCase() === '.json' ? 'JSON' : 'YAML'}: ${(error as Error).message.split('\n')[0]}`,
    )
  }

  return validateDataMap(raw, path)
}

/** Validates an already parsed data map (see {@link loadDataMap}). */
export function validateDataMap(raw: unknown, source: string): DataMap {
  const problems: string[] = []
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw configError(`The data map ${source} is invalid: 1 problem.`, [
      '(root): must be a mapping with at least "stores" or "databases"',
    ])
  }

  // Placeholders are checked on the raw document first, so that one run names every problem at once.
  problems.push(...checkPlaceholders(raw as Record<string, unknown>))
  if (!validateSchema(raw)) {
    // `if` only says that a `then`/`else` branch failed; that branch's own errors name the fields
    const errors = (validateSchema.errors ?? []).filter((e) => e.keyword !== 'if')
    problems.push(...errors.map(describeSchemaError))
  }

  if (problems.length === 0)
    problems.push(...checkSemantics(raw as DataMap, dirname(source)), ...checkValues(raw as DataMap))
  if (problems.length > 0) {
    const unique = [...new Set(problems)]
    throw configError(
      `The data map ${source} is invalid: ${unique.length} problem${unique.length === 1 ? '' : 's'}.`,
      unique,
      'Fix the fields named above; the README documents every field.',
    )
  }

  const map = raw as DataMap
  map.source = source
  const container = map.audit?.container ?? 'custos-audit'
  map.audit = {
    account: map.audit?.account ?? map.stores[0].account,
    container,
    lockContainer: map.audit?.lockContainer ?? defaultLockContainer(container),
  }
  return map
}

function fieldPath(instancePath: string, extra?: string): string {
  const segments = instancePath.split('/').filter(Boolean)
  if (extra) segments.push(extra)
  let out = ''
  for (const s of segments) out += /^[0-9]+$/.test(s) ? `[${s}]` : out ? `.${s}` : s
  return out || '(root)'
}

function describeSchemaError(error: ErrorObject): string {
  switch (error.keyword) {
    case 'required': {
      return `${fieldPath(error.instancePath, (error.params as {missingProperty: string}).missingProperty)}: is required`
    }

    case 'additionalProperties': {
      return `${fieldPath(error.instancePath, (error.params as {additionalProperty: string}).additionalProperty)}: is not a known field`
    }

    case 'type': {
      return `${fieldPath(error.instancePath)}: must be ${(error.params as {type: string}).type}`
    }

    case 'enum': {
      return `${fieldPath(error.instancePath)}: must be one of ${(error.params as {allowedValues: unknown[]}).allowedValues.join(', ')}`
    }

    case 'pattern': {
      return `${fieldPath(error.instancePath)}: has an invalid format (${describePattern((error.params as {pattern: string}).pattern)})`
    }

    default: {
      return `${fieldPath(error.instancePath)}: ${error.message ?? 'is invalid'}`
    }
  }
}

function describePattern(pattern: string): string {
  if (pattern.includes('(ms|s|m|h|d|w)')) return 'a duration like 26h or 7d'
  if (pattern === '^https://') return 'an https:// URL'
  if (pattern.includes(String.raw`Microsoft\.KeyVault`)) return 'an ARM key vault resource id'
  if (pattern.includes('DBforPostgreSQL')) return 'an ARM PostgreSQL flexible server resource id'
  if (pattern.startsWith('^/subscriptions/')) return 'an ARM storage account resource id'
  return `expected ${pattern}`
}

type Doc = Record<string, unknown>

function asArray(value: unknown): Doc[] {
  return Array.isArray(value) ? value.filter((v): v is Doc => typeof v === 'object' && v !== null) : []
}

function asDoc(value: unknown): Doc | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Doc) : undefined
}

function checkPlaceholders(raw: Doc): string[] {
  const problems: string[] = []
  const check = (path: string, value: unknown, allowed: readonly string[]) => {
    if (typeof value !== 'string') return
    for (const name of placeholdersIn(value)) {
      if (!allowed.includes(name)) {
        problems.push(
          `${path}: unknown placeholder {${name}}${allowed.length > 0 ? ` (allowed: ${allowed.map((a) => `{${a}}`).join(' ')})` : ' (no placeholders allowed here)'}`,
        )
      }
    }
  }

  for (const [listName, list] of [
    ['stores', raw.stores],
    ['backups', raw.backups],
  ] as const) {
    asArray(list).forEach((entry, i) => {
      check(`${listName}[${i}].container`, entry.container, allowedPlaceholders.customerOnly)
      check(`${listName}[${i}].prefix`, entry.prefix, allowedPlaceholders.customerOnly)
      check(`${listName}[${i}].account`, entry.account, allowedPlaceholders.none)
      check(`${listName}[${i}].name`, entry.name, allowedPlaceholders.none)
      if (listName === 'backups') {
        check(`backups[${i}].dateFrom`, entry.dateFrom, allowedPlaceholders.dateTemplate)
        check(`backups[${i}].manifest`, entry.manifest, allowedPlaceholders.customerOnly)
        check(`backups[${i}].encryptionScope`, entry.encryptionScope, allowedPlaceholders.customerOnly)
      }
    })
  }

  asArray(raw.databases).forEach((entry, i) => {
    if (entry.engine === 'table') {
      for (const field of ['name', 'account']) check(`databases[${i}].${field}`, entry[field], allowedPlaceholders.none)
      for (const field of ['table', 'partitionKey', 'rowKeyPrefix'])
        check(`databases[${i}].${field}`, entry[field], allowedPlaceholders.customerOnly)
      return
    }

    for (const field of ['name', 'host', 'user', 'passwordEnv', 'ca', 'tenantColumn', 'resourceId'])
      check(`databases[${i}].${field}`, entry[field], allowedPlaceholders.none)
    // `database` is a template only for isolation database; for the others the checks below name it
    for (const field of ['database', 'schema'])
      check(`databases[${i}].${field}`, entry[field], allowedPlaceholders.customerOnly)
    if (Array.isArray(entry.tables))
      entry.tables.forEach((table: unknown, j: number) =>
        check(
          `databases[${i}].tables[${j}]`,
          typeof table === 'string' ? table : asDoc(table)?.table,
          allowedPlaceholders.none,
        ),
      )
  })

  const keys = asDoc(raw.keys)
  if (keys) {
    check('keys.customerKey', keys.customerKey, allowedPlaceholders.customerOnly)
    check('keys.signingKey', keys.signingKey, allowedPlaceholders.none)
    check('keys.vault', keys.vault, allowedPlaceholders.none)
  }

  for (const section of ['exports', 'audit'] as const) {
    const doc = asDoc(raw[section])
    if (doc) {
      check(`${section}.container`, doc.container, allowedPlaceholders.none)
      check(`${section}.account`, doc.account, allowedPlaceholders.none)
    }
  }

  return problems
}

/** Rules a schema cannot say: scoping, prefixes, overlaps, accounts, the id pattern. */
function checkSemantics(map: DataMap, baseDir: string): string[] {
  const problems: string[] = []
  let idPatternCompiles = true
  try {
    // eslint-disable-next-line no-new -- compiling it is the check
    new RegExp(map.customers.idPattern)
  } catch {
    idPatternCompiles = false
    problems.push('customers.idPattern: is not a valid regular expression')
  }

  if (map.stores.length === 0 && map.databases.length === 0)
    problems.push('stores: at least one of stores and databases is required')
  if (map.stores.length === 0 && !map.audit?.account)
    problems.push(
      "audit.account: is required when the data map has no stores (the audit trail defaults to the first store's account)",
    )

  const scoped = [
    ...map.stores.map((s, i) => ({path: `stores[${i}]`, s})),
    ...map.backups.map((s, i) => ({path: `backups[${i}]`, s})),
  ]
  const names = new Map<string, string>()
  for (const {path, s} of scoped) {
    if (names.has(s.name)) problems.push(`${path}.name: "${s.name}" is already used by ${names.get(s.name)}`)
    names.set(s.name, path)
    try {
      parseAccount(s.account)
    } catch (error) {
      problems.push(`${path}.account: ${(error as Error).message}`)
    }

    const containerScoped = s.container.includes('{customer}')
    if (s.prefix !== undefined) {
      if (!s.prefix.endsWith('/'))
        problems.push(`${path}.prefix: must end with "/" so that a scope ends at a folder boundary`)
      if (s.prefix.startsWith('/')) problems.push(`${path}.prefix: must not start with "/"`)
      if (!containerScoped && !s.prefix.includes('{customer}'))
        problems.push(
          `${path}.prefix: must contain {customer} (the container "${s.container}" is shared by all customers)`,
        )
      const unbounded = [...s.prefix.matchAll(/\{customer\}/g)].find((m) => s.prefix![m.index + m[0].length] !== '/')
      if (unbounded) problems.push(`${path}.prefix: ${boundaryProblem(s.prefix, unbounded.index)}`)
    } else if (!containerScoped) {
      problems.push(
        `${path}: neither container nor prefix contains {customer}, so the store is not scoped to one customer`,
      )
    }

    if (containerScoped && !/^[a-z0-9{}-]+$/.test(s.container.replaceAll('{customer}', ''))) {
      problems.push(`${path}.container: may hold only lower-case letters, digits, hyphens and {customer}`)
    }
  }

  map.databases.forEach((d, i) => {
    const path = `databases[${i}]`
    if (names.has(d.name)) problems.push(`${path}.name: "${d.name}" is already used by ${names.get(d.name)}`)
    names.set(d.name, path)
  })
  problems.push(...map.databases.flatMap((d, i) => checkDatabase(d, `databases[${i}]`, baseDir)))
  problems.push(...mixedTableKeys(map))

  // Entries whose scopes can be the same or nested would let one customer's erase reach another's data
  // (or custos's own containers); overlap.ts decides it for every pair, for every id the pattern admits.
  if (idPatternCompiles && (map.stores.length > 0 || map.audit?.account)) {
    problems.push(...findScopeOverlaps(scopeTemplatesOf(map), map.customers.idPattern).map(describeScopeOverlap))
  }

  if (map.keys?.customerKey && !map.keys.customerKey.includes('{customer}')) {
    problems.push("keys.customerKey: must contain {customer} (crypto-shredding destroys one customer's key)")
  }

  // Crypto-shredding one customer's key must never reach the signing key (`custos-{customer}` with
  // a customer "evidence" would destroy custos-evidence) or another customer's key. Key names compare
  // case-insensitively, like container names, so the same reasoning applies.
  if (idPatternCompiles && map.keys?.customerKey?.includes('{customer}')) {
    const vault = `vault ${map.keys.vault}`
    const keyTemplates = [
      {path: 'keys.customerKey', account: vault, container: map.keys.customerKey.toLowerCase(), prefix: ''},
      ...(map.keys.signingKey
        ? [{path: 'keys.signingKey', account: vault, container: map.keys.signingKey.toLowerCase(), prefix: ''}]
        : []),
    ]
    problems.push(...findScopeOverlaps(keyTemplates, map.customers.idPattern).map(describeScopeOverlap))
  }

  const endpoints: Array<[string, string | undefined]> = [
    ['keys.vault', map.keys?.vault],
    ['azure.resourceManager', map.azure.resourceManager],
    ['azure.logAnalytics', map.azure.logAnalytics],
    ['azure.graph', map.azure.graph],
  ]
  if (map.azure.credential === 'local') {
    for (const [path, url] of endpoints) {
      if (url && !isLoopbackUrl(url))
        problems.push(`${path}: must be a loopback address when azure.credential is "local"`)
    }

    if (!map.azure.resourceManager && (map.activityLog || map.stores.some((s) => s.resourceId))) {
      problems.push(
        'azure.resourceManager: is required when azure.credential is "local" (the local environment\'s server)',
      )
    }
  }

  if (map.azure.caCertificate) {
    map.azure.caCertificate = resolve(baseDir, map.azure.caCertificate)
    if (!existsSync(map.azure.caCertificate))
      problems.push(`azure.caCertificate: file ${map.azure.caCertificate} does not exist`)
  }

  return problems
}

/** What an isolation needs, which the schema cannot say per field in one line. */
function checkDatabase(entry: DatabaseConfig, path: string, baseDir: string): string[] {
  if (entry.engine === 'table') return checkTableDatabase(entry, path)
  const d = entry
  const problems: string[] = []
  if (d.auth === 'password' && !d.passwordEnv)
    problems.push(`${path}.passwordEnv: is required when auth is "password" (the variable holding the password)`)
  if (d.auth === 'entra' && d.passwordEnv)
    problems.push(`${path}.passwordEnv: is used only with auth "password"; remove it or set auth: password`)
  const hasCustomer = (v?: string) => v?.includes('{customer}') ?? false
  switch (d.isolation) {
    case 'shared': {
      if (!d.tenantColumn) problems.push(`${path}.tenantColumn: is required for isolation "shared"`)
      if (!d.tables)
        problems.push(`${path}.tables: is required for isolation "shared" (every table with customer rows)`)
      if (d.schema !== undefined) problems.push(`${path}.schema: is used only with isolation "schema"`)
      if (hasCustomer(d.database))
        problems.push(`${path}.database: may contain {customer} only with isolation "database"`)
      break
    }

    case 'schema': {
      if (!d.schema) problems.push(`${path}.schema: is required for isolation "schema" (e.g. "tenant_{customer}")`)
      else if (!hasCustomer(d.schema))
        problems.push(`${path}.schema: must contain {customer} (one schema per customer)`)
      if (hasCustomer(d.database))
        problems.push(`${path}.database: may contain {customer} only with isolation "database"`)
      break
    }

    case 'database': {
      if (!hasCustomer(d.database))
        problems.push(`${path}.database: must contain {customer} for isolation "database" (e.g. "tenant_{customer}")`)
      if (d.schema !== undefined) problems.push(`${path}.schema: is used only with isolation "schema"`)
      break
    }
  }

  if (d.isolation !== 'shared') {
    if (d.tenantColumn !== undefined) problems.push(`${path}.tenantColumn: is used only with isolation "shared"`)
    if (d.tables !== undefined) problems.push(`${path}.tables: is used only with isolation "shared"`)
  }

  if (d.isolation === 'shared' && d.tenantColumn && d.tables) {
    try {
      mappedTables(d)
    } catch (error) {
      problems.push((error as Error).message.replace(/\.$/, '').replace(`databases[${d.name}]`, path))
    }
  }

  if (d.ca) {
    d.ca = resolve(baseDir, d.ca)
    if (!existsSync(d.ca)) problems.push(`${path}.ca: file ${d.ca} does not exist`)
  }

  return problems
}

/**
 * Two entries on one shared table that choose entities by different keys (one by PartitionKey, one
 * by RowKey prefix) can both select an entity such as PartitionKey "acme", RowKey "globex|…": the
 * scope check cannot keep such entries apart, so they are refused.
 */
function mixedTableKeys(map: DataMap): string[] {
  const seen = new Map<string, {path: string; key: string}>()
  const problems: string[] = []
  map.databases.forEach((d, i) => {
    if (d.engine !== 'table' || d.table.includes('{customer}')) return
    let endpoint: string
    try {
      endpoint = parseAccount(d.account, 'table').endpoint.toLowerCase()
    } catch {
      return
    }

    const id = `${endpoint}/${d.table.toLowerCase()}`
    const key = d.partitionKey === undefined ? 'rowKeyPrefix' : 'partitionKey'
    const other = seen.get(id)
    if (other && other.key !== key)
      problems.push(
        `databases[${i}].${key}: the table ${d.table} is also mapped by ${other.path} through its ${other.key}; one table must choose a customer's entities one way`,
      )
    if (!other) seen.set(id, {path: `databases[${i}]`, key})
  })
  return problems
}

/**
 * An `engine: table` entry: a usable account, a table name Azure accepts, and exactly one way of
 * choosing the customer's entities (see stores/table/types.ts): a table per customer, or a
 * partitionKey equal to a `{customer}` template, or a rowKeyPrefix whose `{customer}` is followed
 * directly by `|` — so that `acme|` never selects `acme-corp|…`.
 */
function checkTableDatabase(d: TableDatabaseConfig, path: string): string[] {
  const problems: string[] = []
  try {
    parseAccount(d.account, 'table')
  } catch (error) {
    problems.push(`${path}.account: ${(error as Error).message}`)
  }

  const perCustomer = d.table.includes('{customer}')
  const literal = d.table.replaceAll('{customer}', '')
  if (
    !/^[A-Za-z]?[A-Za-z0-9]*$/.test(literal) ||
    !/^[A-Za-z{]/.test(d.table) ||
    (!perCustomer && !TABLE_NAME.test(d.table))
  )
    problems.push(
      `${path}.table: must be a table name (3–63 letters and digits, starting with a letter)${perCustomer ? ' around {customer}' : ''}`,
    )
  if (perCustomer) {
    for (const field of ['partitionKey', 'rowKeyPrefix'] as const)
      if (d[field] !== undefined)
        problems.push(
          `${path}.${field}: is not used with a table per customer (the whole table "${d.table}" is the customer's and is deleted whole)`,
        )
    return problems
  }

  if (d.partitionKey === undefined && d.rowKeyPrefix === undefined)
    problems.push(
      `${path}: needs exactly one of partitionKey ("{customer}") and rowKeyPrefix ("{customer}|"), or a table name with {customer}`,
    )
  if (d.partitionKey !== undefined && d.rowKeyPrefix !== undefined)
    problems.push(`${path}: has both partitionKey and rowKeyPrefix; give exactly one`)
  if (d.partitionKey !== undefined && !d.partitionKey.includes('{customer}'))
    problems.push(`${path}.partitionKey: must contain {customer} (the table "${d.table}" is shared by all customers)`)
  if (d.rowKeyPrefix !== undefined) {
    if (!d.rowKeyPrefix.includes('{customer}'))
      problems.push(`${path}.rowKeyPrefix: must contain {customer} (the table "${d.table}" is shared by all customers)`)
    else if (!d.rowKeyPrefix.endsWith('{customer}|'))
      problems.push(
        `${path}.rowKeyPrefix: must end with "{customer}|", so that a customer's row keys end where its id ends ("{customer}" alone gives customer "acme" the row keys of "acme-corp")`,
      )
  }

  for (const field of ['partitionKey', 'rowKeyPrefix'] as const)
    if (d[field] !== undefined && /[/\\#?]/.test(d[field].replaceAll('{customer}', '')))
      problems.push(`${path}.${field}: may not hold / \\ # or ? (Azure refuses them in keys)`)
  return problems
}

/**
 * Why `{customer}` (at `index` in `prefix`) must be followed directly by `/`: otherwise an id does
 * not end at a folder boundary, and one customer's folder is another one's (`{customer}-old/` gives
 * customer acme the folder `acme-old/`, which `{customer}/` gives customer acme-old).
 */
function boundaryProblem(prefix: string, index: number): string {
  const before = prefix.slice(0, index)
  const after = /^[^/]*/.exec(prefix.slice(index + '{customer}'.length))![0]
  const rest = after.replace(/^[-_.]+/, '')
  const tail = prefix.slice(index + '{customer}'.length + after.length)
  const fixed = `${before}{customer}/${rest}${rest ? tail : tail.replace(/^\//, '')}`
  if (after === '') return `{customer} must be followed directly by "/"; write "${fixed}"`
  return (
    `{customer} must be followed directly by "/", so that a customer's folder ends where its id ends ` +
    `("${prefix}" gives customer "acme" the folder "${expandCustomer(`${before}{customer}${after}/`, 'acme')}", ` +
    `which "${before}{customer}/" would give customer "acme${after}"); write "${fixed}" instead`
  )
}
