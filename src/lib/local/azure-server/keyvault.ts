/**
 * Key Vault data plane (keys only), api-version 7.x / 2025-07-01, in the wire format of the samples in
 * ../shared/azure-contracts/keyvault/: the bearer challenge, key bundles with Unix-second attributes,
 * paged lists with `$skiptoken`, soft delete with the asynchronous deleted-key lag, purge refused under
 * purge protection, backup/restore, and sign/verify/encrypt/decrypt/wrap/unwrap with real keys.
 */
import {createPublicKey, randomBytes} from 'node:crypto'

import {LOCAL_DEVELOPMENT_TOKEN} from '../../azure/credential.js'
import {
  b64url,
  bearerToken,
  decodeSkipToken,
  encodeSkipToken,
  fromB64url,
  readJson,
  sendEmpty,
  sendJson,
  serviceHeaders,
  type RequestContext,
} from './http.js'
import {
  CryptoInputError,
  exportPrivateKey,
  generateKey,
  importPrivateKey,
  openBackup,
  rsaDecrypt,
  rsaEncrypt,
  sealBackup,
  sign,
  verify,
} from './kvcrypto.js'
import {
  isPlainObject,
  LocalAzureState,
  recoveryLevel,
  type KeyType,
  type KeyVault,
  type KeyVersion,
  type StoredKey,
} from './state.js'

export interface KeyVaultHandlerOptions {
  /** AES-256 key sealing this server's backup blobs */
  backupSecret: Buffer
}

const KEY_TYPES: KeyType[] = ['RSA', 'RSA-HSM', 'EC', 'EC-HSM']
const RSA_OPS = ['encrypt', 'decrypt', 'sign', 'verify', 'wrapKey', 'unwrapKey']
const EC_OPS = ['sign', 'verify']
const CRYPTO_OPS: Record<string, string> = {
  sign: 'sign',
  verify: 'verify',
  encrypt: 'encrypt',
  decrypt: 'decrypt',
  wrapkey: 'wrapKey',
  unwrapkey: 'unwrapKey',
}
const NAME_PATTERN = /^[0-9a-zA-Z-]{1,127}$/
const MAX_RESULTS = 25
const NOT_FOUND_HELP =
  'If you recently deleted this key you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182'

/** Answered by the challenge of a request without a token (keyvault/401-challenge.md). */
const MISSING_TOKEN_MESSAGE = 'AKV10000: Request is missing a Bearer or PoP token.'

class KeyVaultError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly innerCode?: string,
  ) {
    super(message)
  }
}

function kvHeaders(ctx: RequestContext): Record<string, string> {
  return {
    ...serviceHeaders(ctx),
    'x-ms-keyvault-region': ctx.state.keyVaultRegion,
    'x-ms-keyvault-service-version': '1.9.2179.1',
    'x-ms-keyvault-network-info': `conn_type=Ipv4;addr=${ctx.req.socket.remoteAddress ?? '127.0.0.1'};act_addr_fam=InterNetwork;`,
  }
}

function challengeHeader(ctx: RequestContext): string {
  return `Bearer authorization="https://login.windows.net/${ctx.state.tenantId}", resource="https://vault.azure.net"`
}

/**
 * Serves one request for `vault` (undefined: no such vault). `base` is the vault's own URL (kids and
 * recovery ids are built on it); `rest` the path segments after the vault part of the request path.
 */
export async function handleKeyVault(
  ctx: RequestContext,
  vault: KeyVault | undefined,
  base: string,
  rest: string[],
  options: KeyVaultHandlerOptions,
): Promise<void> {
  const token = bearerToken(ctx)
  if (token !== LOCAL_DEVELOPMENT_TOKEN) {
    const message =
      token === undefined ? MISSING_TOKEN_MESSAGE : "[BearerReadAccessTokenFailed] Error validating token: 'S2S12005'."
    sendJson(
      ctx,
      401,
      {error: {code: 'Unauthorized', message}},
      {...kvHeaders(ctx), 'WWW-Authenticate': challengeHeader(ctx)},
    )
    return
  }

  try {
    if (!ctx.url.searchParams.get('api-version'))
      throw new KeyVaultError(400, 'BadParameter', "The 'api-version' query parameter is missing.")
    if (!vault) throw new KeyVaultError(404, 'VaultNotFound', 'The vault was not found.')
    await route(ctx, vault, base, rest, options)
  } catch (error) {
    if (error instanceof KeyVaultError) {
      sendJson(
        ctx,
        error.status,
        {
          error: {
            code: error.code,
            message: error.message,
            ...(error.innerCode ? {innererror: {code: error.innerCode}} : {}),
          },
        },
        kvHeaders(ctx),
      )
    } else if (error instanceof CryptoInputError || error instanceof SyntaxError) {
      sendJson(ctx, 400, {error: {code: 'BadParameter', message: error.message}}, kvHeaders(ctx))
    } else {
      throw error
    }
  }
}

async function route(
  ctx: RequestContext,
  vault: KeyVault,
  base: string,
  rest: string[],
  options: KeyVaultHandlerOptions,
): Promise<void> {
  const [collection, name, third, fourth] = [rest[0]?.toLowerCase(), rest[1], rest[2], rest[3]]
  const m = ctx.method
  if (collection === 'keys') {
    if (rest.length === 1 && m === 'GET') return listKeys(ctx, vault, base)
    if (rest.length === 2 && name?.toLowerCase() === 'restore' && m === 'POST')
      return restoreKey(ctx, vault, base, options)
    if (!name) throw notFoundRoute()
    if (rest.length === 2) {
      if (m === 'GET') return sendBundle(ctx, vault, base, ...findVersion(vault, name, undefined))
      if (m === 'PATCH') return updateKey(ctx, vault, base, name, undefined)
      if (m === 'DELETE') return deleteKey(ctx, vault, base, name)
    }

    if (rest.length === 3 && third) {
      const op = third.toLowerCase()
      if (m === 'POST' && op === 'create') return createKey(ctx, vault, base, name)
      if (m === 'POST' && op === 'backup') return backupKey(ctx, vault, name, options)
      if (m === 'GET' && op === 'versions') return listVersions(ctx, vault, base, name)
      if (m === 'POST' && CRYPTO_OPS[op]) return cryptoOperation(ctx, vault, base, name, undefined, op)
      if (m === 'GET') return sendBundle(ctx, vault, base, ...findVersion(vault, name, third))
      if (m === 'PATCH') return updateKey(ctx, vault, base, name, third)
    }

    if (rest.length === 4 && third && fourth && m === 'POST' && CRYPTO_OPS[fourth.toLowerCase()]) {
      return cryptoOperation(ctx, vault, base, name, third, fourth.toLowerCase())
    }
  }

  if (collection === 'deletedkeys') {
    if (rest.length === 1 && m === 'GET') return listDeletedKeys(ctx, vault, base)
    if (rest.length === 2 && name) {
      if (m === 'GET') return getDeletedKey(ctx, vault, base, name)
      if (m === 'DELETE') return purgeDeletedKey(ctx, vault, name)
    }

    if (rest.length === 3 && name && third?.toLowerCase() === 'recover' && m === 'POST')
      return recoverDeletedKey(ctx, vault, base, name)
  }

  throw notFoundRoute()
}

function notFoundRoute(): KeyVaultError {
  return new KeyVaultError(404, 'NotFound', 'The requested resource was not found.')
}

// ---------------------------------------------------------------- shapes

function attributes(vault: KeyVault, v: KeyVersion) {
  const a = v.attributes
  return {
    enabled: a.enabled,
    ...(a.nbf === undefined ? {} : {nbf: a.nbf}),
    ...(a.exp === undefined ? {} : {exp: a.exp}),
    created: a.created,
    updated: a.updated,
    recoveryLevel: recoveryLevel(vault),
    recoverableDays: vault.softDeleteRetentionInDays,
    exportable: a.exportable,
  }
}

function keyBundle(vault: KeyVault, base: string, key: StoredKey, v: KeyVersion) {
  return {
    key: {kid: `${base}/keys/${key.name}/${v.version}`, kty: v.kty, key_ops: v.keyOps, ...v.publicJwk},
    attributes: attributes(vault, v),
    ...(v.tags ? {tags: v.tags} : {}),
  }
}

function deletedBundle(
  vault: KeyVault,
  base: string,
  entry: {key: StoredKey; deletedDate: number; scheduledPurgeDate: number},
) {
  return {
    recoveryId: `${base}/deletedkeys/${entry.key.name}`,
    deletedDate: entry.deletedDate,
    scheduledPurgeDate: entry.scheduledPurgeDate,
    ...keyBundle(vault, base, entry.key, current(entry.key)),
  }
}

function current(key: StoredKey): KeyVersion {
  const v = key.versions.at(-1)
  if (!v) throw new Error(`key ${key.name} has no versions`)
  return v
}

function sendBundle(ctx: RequestContext, vault: KeyVault, base: string, key: StoredKey, v: KeyVersion): void {
  sendJson(ctx, 200, keyBundle(vault, base, key, v), kvHeaders(ctx))
}

function keyNotFound(name: string): KeyVaultError {
  return new KeyVaultError(
    404,
    'KeyNotFound',
    `A key with (name/id) ${name} was not found in this key vault. ${NOT_FOUND_HELP}`,
  )
}

function findKey(vault: KeyVault, name: string): StoredKey {
  const key = vault.keys.get(name.toLowerCase())
  if (!key) throw keyNotFound(name)
  return key
}

function findVersion(vault: KeyVault, name: string, version: string | undefined): [StoredKey, KeyVersion] {
  const key = findKey(vault, name)
  if (!version) return [key, current(key)]
  const v = key.versions.find((candidate) => candidate.version === version.toLowerCase())
  if (!v) throw keyNotFound(`${name}/${version}`)
  return [key, v]
}

async function body(ctx: RequestContext): Promise<Record<string, unknown>> {
  const parsed = await readJson(ctx)
  if (parsed === undefined) return {}
  if (!isPlainObject(parsed)) throw new KeyVaultError(400, 'BadParameter', 'The request body must be a JSON object.')
  return parsed
}

function stringField(b: Record<string, unknown>, field: string): string {
  const value = b[field]
  if (typeof value !== 'string' || value === '')
    throw new KeyVaultError(400, 'BadParameter', `Property '${field}' is required.`)
  return value
}

function pageParams(ctx: RequestContext): {offset: number; max: number} {
  const rawMax = ctx.url.searchParams.get('maxresults')
  const max = rawMax === null ? MAX_RESULTS : Number(rawMax)
  if (!Number.isInteger(max) || max < 1 || max > MAX_RESULTS)
    throw new KeyVaultError(
      400,
      'BadParameter',
      `Invalid value for maxresults: ${rawMax}. It must be between 1 and ${MAX_RESULTS}.`,
    )
  const token = ctx.url.searchParams.get('$skiptoken')
  const offset = token === null ? 0 : decodeSkipToken(token)
  if (offset === undefined) throw new KeyVaultError(400, 'BadParameter', 'The $skiptoken is invalid.')
  return {offset, max}
}

/**
 * One page of a list; `path` is the list's path under the vault (`/keys`, `/keys/x/versions`). The
 * nextLink is built on the URL the client used (which may be a `/vaults/<name>` prefix on the main port).
 */
function page<T>(ctx: RequestContext, path: string, items: T[]): {value: T[]; nextLink: string | null} {
  const prefix = ctx.segments.slice(0, ctx.segments.length - path.split('/').filter(Boolean).length)
  const base = ctx.origin + prefix.map((s) => `/${encodeURIComponent(s)}`).join('')
  const {offset, max} = pageParams(ctx)
  const value = items.slice(offset, offset + max)
  const next = offset + max
  const apiVersion = ctx.url.searchParams.get('api-version') ?? ''
  const nextLink =
    next < items.length
      ? `${base}${path}?api-version=${encodeURIComponent(apiVersion)}&$skiptoken=${encodeSkipToken(next)}&maxresults=${max}`
      : null
  return {value, nextLink}
}

function byName<T extends {key: StoredKey} | StoredKey>(entries: Iterable<T>, nameOf: (entry: T) => string): T[] {
  return [...entries].sort((a, b) => nameOf(a).toLowerCase().localeCompare(nameOf(b).toLowerCase()))
}

// ---------------------------------------------------------------- keys

async function createKey(ctx: RequestContext, vault: KeyVault, base: string, name: string): Promise<void> {
  if (!NAME_PATTERN.test(name))
    throw new KeyVaultError(400, 'BadParameter', `The request URI contains an invalid name: ${name}`)
  if (vault.deletedKeys.has(name.toLowerCase())) {
    throw new KeyVaultError(
      409,
      'Conflict',
      `Key ${name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the key can only be recovered or purged.`,
      'ObjectIsDeletedButRecoverable',
    )
  }

  const b = await body(ctx)
  const kty = stringField(b, 'kty') as KeyType
  if (!KEY_TYPES.includes(kty))
    throw new KeyVaultError(400, 'BadParameter', `Invalid key type: ${kty}. Supported: ${KEY_TYPES.join(', ')}.`)
  const isRsa = kty.startsWith('RSA')
  const keySize = typeof b.key_size === 'number' ? b.key_size : undefined
  const crv = typeof b.crv === 'string' ? b.crv : undefined
  const exponent = typeof b.public_exponent === 'number' ? b.public_exponent : undefined
  const {privateKey, publicJwk} = await generateKey(kty, keySize, crv, exponent)
  const ops = Array.isArray(b.key_ops)
    ? b.key_ops.filter((op): op is string => typeof op === 'string')
    : isRsa
      ? RSA_OPS
      : EC_OPS
  const attrs = isPlainObject(b.attributes) ? b.attributes : {}
  const now = LocalAzureState.now()
  const version: KeyVersion = {
    version: randomBytes(16).toString('hex'),
    kty,
    keyOps: ops,
    privateKey,
    publicJwk,
    attributes: {
      enabled: attrs.enabled !== false,
      ...(typeof attrs.nbf === 'number' ? {nbf: attrs.nbf} : {}),
      ...(typeof attrs.exp === 'number' ? {exp: attrs.exp} : {}),
      created: now,
      updated: now,
      exportable: attrs.exportable === true,
    },
    ...(isPlainObject(b.tags) ? {tags: b.tags as Record<string, string>} : {}),
  }
  let key = vault.keys.get(name.toLowerCase())
  if (!key) vault.keys.set(name.toLowerCase(), (key = {name, versions: []}))
  key.versions.push(version)
  sendBundle(ctx, vault, base, key, version)
}

async function updateKey(
  ctx: RequestContext,
  vault: KeyVault,
  base: string,
  name: string,
  version: string | undefined,
): Promise<void> {
  const [key, v] = findVersion(vault, name, version)
  const b = await body(ctx)
  if (isPlainObject(b.attributes)) {
    const a = b.attributes
    if (typeof a.enabled === 'boolean') v.attributes.enabled = a.enabled
    if (typeof a.nbf === 'number') v.attributes.nbf = a.nbf
    if (typeof a.exp === 'number') v.attributes.exp = a.exp
  }

  if (Array.isArray(b.key_ops)) v.keyOps = b.key_ops.filter((op): op is string => typeof op === 'string')
  if (isPlainObject(b.tags)) v.tags = b.tags as Record<string, string>
  v.attributes.updated = LocalAzureState.now()
  sendBundle(ctx, vault, base, key, v)
}

function listKeys(ctx: RequestContext, vault: KeyVault, base: string): void {
  const items = byName(vault.keys.values(), (k) => k.name).map((key) => {
    const v = current(key)
    return {kid: `${base}/keys/${key.name}`, attributes: attributes(vault, v), ...(v.tags ? {tags: v.tags} : {})}
  })
  sendJson(ctx, 200, page(ctx, '/keys', items), kvHeaders(ctx))
}

function listVersions(ctx: RequestContext, vault: KeyVault, base: string, name: string): void {
  const key = vault.keys.get(name.toLowerCase())
  const items = (key?.versions ?? []).map((v) => ({
    kid: `${base}/keys/${key?.name}/${v.version}`,
    attributes: attributes(vault, v),
    ...(v.tags ? {tags: v.tags} : {}),
  }))
  sendJson(ctx, 200, page(ctx, `/keys/${encodeURIComponent(name)}/versions`, items), kvHeaders(ctx))
}

function deleteKey(ctx: RequestContext, vault: KeyVault, base: string, name: string): void {
  const key = findKey(vault, name)
  const deletedDate = LocalAzureState.now()
  const entry = {
    key,
    deletedDate,
    scheduledPurgeDate: deletedDate + vault.softDeleteRetentionInDays * 86_400,
    notFoundGetsLeft: ctx.state.deletedKeyNotFoundGets,
  }
  vault.keys.delete(name.toLowerCase())
  vault.deletedKeys.set(name.toLowerCase(), entry)
  sendJson(ctx, 200, deletedBundle(vault, base, entry), kvHeaders(ctx))
}

function deletedNotFound(name: string): KeyVaultError {
  return new KeyVaultError(404, 'KeyNotFound', `Deleted Key not found: ${name}`)
}

function getDeletedKey(ctx: RequestContext, vault: KeyVault, base: string, name: string): void {
  const entry = vault.deletedKeys.get(name.toLowerCase())
  if (!entry) throw deletedNotFound(name)
  if (entry.notFoundGetsLeft > 0) {
    // Azure finishes a delete asynchronously: the deleted key is not readable at once (see SOURCES.md).
    entry.notFoundGetsLeft--
    throw deletedNotFound(name)
  }

  sendJson(ctx, 200, deletedBundle(vault, base, entry), kvHeaders(ctx))
}

function listDeletedKeys(ctx: RequestContext, vault: KeyVault, base: string): void {
  const items = byName(vault.deletedKeys.values(), (e) => e.key.name).map((entry) => {
    const v = current(entry.key)
    return {
      recoveryId: `${base}/deletedkeys/${entry.key.name}`,
      deletedDate: entry.deletedDate,
      scheduledPurgeDate: entry.scheduledPurgeDate,
      kid: `${base}/keys/${entry.key.name}`,
      attributes: attributes(vault, v),
      ...(v.tags ? {tags: v.tags} : {}),
    }
  })
  sendJson(ctx, 200, page(ctx, '/deletedkeys', items), kvHeaders(ctx))
}

function purgeDeletedKey(ctx: RequestContext, vault: KeyVault, name: string): void {
  if (!vault.deletedKeys.has(name.toLowerCase())) throw deletedNotFound(name)
  if (vault.purgeProtection) {
    // The real text, as Azure returns it (quoted in public Terraform / autorest error reports).
    throw new KeyVaultError(
      403,
      'Forbidden',
      `Operation "purge" is not allowed because purge protection is enabled for this vault. Key Vault service will automatically purge it after the retention period has passed. Vault: ${vault.name};location=${vault.location}`,
    )
  }

  vault.deletedKeys.delete(name.toLowerCase())
  sendEmpty(ctx, 204, kvHeaders(ctx))
}

function recoverDeletedKey(ctx: RequestContext, vault: KeyVault, base: string, name: string): void {
  const entry = vault.deletedKeys.get(name.toLowerCase())
  if (!entry) throw deletedNotFound(name)
  vault.deletedKeys.delete(name.toLowerCase())
  vault.keys.set(name.toLowerCase(), entry.key)
  sendBundle(ctx, vault, base, entry.key, current(entry.key))
}

interface BackupPayload {
  name: string
  versions: Array<Omit<KeyVersion, 'privateKey'> & {privateKey: string}>
}

function backupKey(ctx: RequestContext, vault: KeyVault, name: string, options: KeyVaultHandlerOptions): void {
  const key = findKey(vault, name)
  const payload: BackupPayload = {
    name: key.name,
    versions: key.versions.map((v) => ({...v, privateKey: exportPrivateKey(v.privateKey)})),
  }
  sendJson(ctx, 200, {value: sealBackup(options.backupSecret, payload)}, kvHeaders(ctx))
}

async function restoreKey(
  ctx: RequestContext,
  vault: KeyVault,
  base: string,
  options: KeyVaultHandlerOptions,
): Promise<void> {
  const b = await body(ctx)
  const payload = openBackup(options.backupSecret, stringField(b, 'value')) as BackupPayload
  const lower = payload.name.toLowerCase()
  if (vault.keys.has(lower) || vault.deletedKeys.has(lower))
    throw new KeyVaultError(
      409,
      'Conflict',
      `There is another object with the same name (${payload.name}) in the vault.`,
    )
  const key: StoredKey = {
    name: payload.name,
    versions: payload.versions.map((v) => ({...v, privateKey: importPrivateKey(v.privateKey)})),
  }
  vault.keys.set(lower, key)
  sendBundle(ctx, vault, base, key, current(key))
}

// ---------------------------------------------------------------- cryptography

async function cryptoOperation(
  ctx: RequestContext,
  vault: KeyVault,
  base: string,
  name: string,
  version: string | undefined,
  op: string,
): Promise<void> {
  const [key, v] = findVersion(vault, name, version)
  const operation = CRYPTO_OPS[op]
  if (!v.attributes.enabled)
    throw new KeyVaultError(403, 'Forbidden', `Operation ${operation} is not allowed on a disabled key.`)
  if (!v.keyOps.includes(operation))
    throw new KeyVaultError(403, 'Forbidden', `Operation ${operation} is not allowed on this key.`)
  const b = await body(ctx)
  const alg = stringField(b, 'alg')
  const kid = `${base}/keys/${key.name}/${v.version}`
  const headers = kvHeaders(ctx)
  switch (op) {
    case 'sign': {
      const signature = sign(alg, v.kty, v.publicJwk.crv, v.privateKey, fromB64url(stringField(b, 'value')))
      sendJson(ctx, 200, {kid, value: b64url(signature)}, headers)
      return
    }

    case 'verify': {
      const publicKey = createPublicKey(v.privateKey)
      const ok = verify(
        alg,
        v.kty,
        v.publicJwk.crv,
        publicKey,
        fromB64url(stringField(b, 'digest')),
        fromB64url(stringField(b, 'value')),
      )
      sendJson(ctx, 200, {value: ok}, headers)
      return
    }

    case 'encrypt':
    case 'wrapkey': {
      sendJson(
        ctx,
        200,
        {kid, value: b64url(rsaEncrypt(alg, v.kty, v.privateKey, fromB64url(stringField(b, 'value'))))},
        headers,
      )
      return
    }

    default: {
      let plain: Buffer
      try {
        plain = rsaDecrypt(alg, v.kty, v.privateKey, fromB64url(stringField(b, 'value')))
      } catch (error) {
        if (error instanceof CryptoInputError || error instanceof KeyVaultError) throw error
        throw new CryptoInputError('Decryption failed')
      }

      sendJson(ctx, 200, {kid, value: b64url(plain)}, headers)
    }
  }
}
