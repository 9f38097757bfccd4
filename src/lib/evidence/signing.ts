/**
 * Signatures over evidence (certificates, manifests, audit records) with the Key Vault signing key.
 * The private key never leaves the vault: custos sends a SHA-256 digest and gets a signature.
 * Verification fetches the public key (by the versioned key id recorded with the signature) and
 * checks locally with node:crypto, so a verifier needs only read access to the key.
 */
import {createPublicKey, verify as cryptoVerify, type JsonWebKey as NodeJwk} from 'node:crypto'

import type {AzureClients} from '../azure/clients.js'
import {fromAzureError} from '../errors.js'

export interface Signature {
  /** JWS algorithm, e.g. RS256 or ES256 */
  alg: string
  /** versioned Key Vault key id */
  kid: string
  /** base64 signature over the SHA-256 digest named in `digest` */
  value: string
}

export interface Signer {
  /** signs a SHA-256 digest (32 bytes) */
  signDigest(digest: Buffer): Promise<Signature>
}

/** A signer backed by the configured Key Vault signing key, or undefined when none is configured. */
export function keyVaultSigner(clients: AzureClients): Signer | undefined {
  const name = clients.map.keys?.signingKey
  if (!name) return undefined
  let cached: {kid: string; alg: string} | undefined
  return {
    async signDigest(digest) {
      try {
        if (!cached) {
          const key = await clients.keyClient().getKey(name)
          const kty = key.key?.kty ?? 'RSA'
          cached = {kid: key.id!, alg: kty.startsWith('EC') ? algForCurve(key.key?.crv) : 'RS256'}
        }

        const result = await clients.cryptographyClient(cached.kid).sign(cached.alg, digest)
        return {alg: cached.alg, kid: cached.kid, value: Buffer.from(result.result).toString('base64')}
      } catch (error) {
        throw fromAzureError(error, `signing key ${name} in vault ${clients.map.keys?.vault}`)
      }
    },
  }
}

/** Evidence digests are SHA-256, so only RS256 (any RSA size) and ES256 (P-256) fit. */
function algForCurve(crv?: string): string {
  if (crv && crv !== 'P-256')
    throw new Error(`signing key curve ${crv} does not fit SHA-256 evidence digests; use an RSA or P-256 key`)
  return 'ES256'
}

/**
 * Why a document's or record's `signature` is not the `{alg, kid, value}` custos writes (a kid that
 * is a URL, a base64 value), or undefined when it has that shape. Such a signature was altered.
 */
export function signatureShapeProblem(signature: unknown): string | undefined {
  if (typeof signature !== 'object' || signature === null || Array.isArray(signature))
    return 'signature must be an object with alg, kid and value'
  const s = signature as Record<string, unknown>
  if (typeof s.alg !== 'string') return 'signature.alg must be a string'
  if (typeof s.kid !== 'string' || !URL.canParse(s.kid)) return 'signature.kid must be the URL of a Key Vault key'
  if (typeof s.value !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(s.value))
    return 'signature.value must be a base64 string'
  return undefined
}

export type SignatureCheck = 'valid' | 'invalid' | 'unsigned' | 'unverifiable'

/** Verifies a signature over SHA-256(`content`); 'unverifiable' when the key cannot be fetched (with reason). */
export async function verifyDigestSignature(
  clients: AzureClients | undefined,
  content: Buffer,
  signature: Signature | undefined,
  cache: Map<string, NodeJwk> = new Map(),
): Promise<{status: SignatureCheck; reason?: string}> {
  if (!signature) return {status: 'unsigned'}
  let jwk = cache.get(signature.kid)
  if (!jwk) {
    if (!clients?.map.keys?.vault)
      return {status: 'unverifiable', reason: 'no key vault is configured to fetch the signing key from'}
    try {
      const {name, version} = parseKeyId(signature.kid)
      const key = await clients.keyClient().getKey(name, {version})
      jwk = toNodeJwk(key.key as Record<string, unknown>)
      cache.set(signature.kid, jwk)
    } catch (error) {
      return {
        status: 'unverifiable',
        reason: `signing key ${signature.kid} could not be read: ${(error as Error).message.split('\n')[0]}`,
      }
    }
  }

  const ok = verifyWithJwk(jwk, signature.alg, content, Buffer.from(signature.value, 'base64'))
  return ok ? {status: 'valid'} : {status: 'invalid', reason: 'the signature does not match the content'}
}

function parseKeyId(kid: string): {name: string; version?: string} {
  const parts = new URL(kid).pathname.split('/').filter(Boolean)
  const i = parts.lastIndexOf('keys')
  return {name: parts[i + 1], version: parts[i + 2]}
}

/**
 * Why a signature's key id is not the data map's signing key (undefined when it is): the vault
 * (host) and the key name must both match `keys.vault` and `keys.signingKey`. Any version of that
 * key is accepted, so records and documents signed before a key rotation stay valid. Without this
 * check anyone who can create a key in the vault could re-sign a forged document.
 */
export function signingKeyMismatch(
  kid: unknown,
  keys: {vault: string; signingKey?: string} | undefined,
): string | undefined {
  if (!keys?.signingKey) return undefined
  if (typeof kid !== 'string') return 'the signature names no key'
  let host: string
  let name: string | undefined
  try {
    host = new URL(kid).host.toLowerCase()
    name = parseKeyId(kid).name
  } catch {
    return `the signature's key id ${JSON.stringify(kid)} is not a Key Vault key URL`
  }

  const vaultHost = new URL(keys.vault).host.toLowerCase()
  if (host !== vaultHost || name?.toLowerCase() !== keys.signingKey.toLowerCase())
    return `signed with ${kid}, not with the configured signing key ${keys.signingKey} in ${keys.vault}`
  return undefined
}

function toNodeJwk(key: Record<string, unknown>): NodeJwk {
  const b64u = (v: unknown) =>
    v instanceof Uint8Array ? Buffer.from(v).toString('base64url') : (v as string | undefined)
  const kty = String(key.kty ?? '').replace('-HSM', '')
  if (kty === 'EC') return {kty: 'EC', crv: key.crv as string, x: b64u(key.x), y: b64u(key.y)}
  return {kty: 'RSA', n: b64u(key.n), e: b64u(key.e)}
}

/**
 * Checks a signature made by Key Vault over SHA-256(`content`): node:crypto hashes `content` itself
 * and verifies, which is exactly the check of a signature over the digest.
 */
export function verifyWithJwk(jwk: NodeJwk, alg: string, content: Buffer, signature: Buffer): boolean {
  const publicKey = createPublicKey({key: jwk, format: 'jwk'})
  if (alg === 'RS256')
    return cryptoVerify('sha256', content, {key: publicKey, padding: 1 /* RSA_PKCS1_PADDING */}, signature)
  // ES256: Key Vault returns the raw r||s form (IEEE P1363).
  if (alg === 'ES256') return cryptoVerify('sha256', content, {key: publicKey, dsaEncoding: 'ieee-p1363'}, signature)
  return false
}
