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

function algForCurve(crv?: string): string {
  if (crv === 'P-384') return 'ES384'
  if (crv === 'P-521') return 'ES512'
  return 'ES256'
}

export type SignatureCheck = 'valid' | 'invalid' | 'unsigned' | 'unverifiable'

/** Verifies a signature over `digest`; 'unverifiable' when the key cannot be fetched (with reason). */
export async function verifyDigestSignature(
  clients: AzureClients | undefined,
  digest: Buffer,
  signature: Signature | undefined,
  cache: Map<string, NodeJwk> = new Map(),
): Promise<{status: SignatureCheck; reason?: string}> {
  if (!signature) return {status: 'unsigned'}
  let jwk = cache.get(signature.kid)
  if (!jwk) {
    if (!clients?.map.keys?.vault) return {status: 'unverifiable', reason: 'no key vault is configured to fetch the signing key from'}
    try {
      const {name, version} = parseKeyId(signature.kid)
      const key = await clients.keyClient().getKey(name, {version})
      jwk = toNodeJwk(key.key as Record<string, unknown>)
      cache.set(signature.kid, jwk)
    } catch (error) {
      return {status: 'unverifiable', reason: `signing key ${signature.kid} could not be read: ${(error as Error).message.split('\n')[0]}`}
    }
  }
  const ok = verifyWithJwk(jwk, signature.alg, digest, Buffer.from(signature.value, 'base64'))
  return ok ? {status: 'valid'} : {status: 'invalid', reason: 'the signature does not match the content'}
}

export function parseKeyId(kid: string): {name: string; version?: string} {
  const parts = new URL(kid).pathname.split('/').filter(Boolean)
  const i = parts.lastIndexOf('keys')
  return {name: parts[i + 1], version: parts[i + 2]}
}

function toNodeJwk(key: Record<string, unknown>): NodeJwk {
  const b64u = (v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('base64url') : (v as string | undefined))
  const kty = String(key.kty ?? '').replace('-HSM', '')
  if (kty === 'EC') return {kty: 'EC', crv: key.crv as string, x: b64u(key.x), y: b64u(key.y)}
  return {kty: 'RSA', n: b64u(key.n), e: b64u(key.e)}
}

/** Checks a JWS-style signature over an already computed digest. */
export function verifyWithJwk(jwk: NodeJwk, alg: string, digest: Buffer, signature: Buffer): boolean {
  const publicKey = createPublicKey({key: jwk, format: 'jwk'})
  const hash = {256: 'sha256', 384: 'sha384', 512: 'sha512'}[alg.slice(2)] ?? 'sha256'
  if (alg.startsWith('RS')) return verifyPrehashed(publicKey, hash, digest, signature, 1 /* RSA_PKCS1_PADDING */)
  if (!alg.startsWith('ES')) return false
  // ES*: Key Vault returns the raw r||s form (IEEE P1363).
  return verifyPrehashed(publicKey, hash, digest, signature, undefined, 'ieee-p1363')
}

function verifyPrehashed(
  publicKey: ReturnType<typeof createPublicKey>,
  hash: string,
  digest: Buffer,
  signature: Buffer,
  padding?: number,
  dsaEncoding?: 'ieee-p1363' | 'der',
): boolean {
  // node:crypto verifies a signature over a digest computed elsewhere when the algorithm is null and
  // the input is the DigestInfo (RSA) or the digest (ECDSA); build the DigestInfo for RSA PKCS#1 v1.5.
  if (padding === 1) {
    const prefix = DIGEST_INFO[hash]
    return cryptoVerify(null, Buffer.concat([prefix, digest]), {key: publicKey, padding}, signature)
  }
  return cryptoVerify(null, digest, {key: publicKey, dsaEncoding}, signature)
}

const DIGEST_INFO: Record<string, Buffer> = {
  sha256: Buffer.from('3031300d060960864801650304020105000420', 'hex'),
  sha384: Buffer.from('3041300d060960864801650304020205000430', 'hex'),
  sha512: Buffer.from('3051300d060960864801650304020305000440', 'hex'),
}
