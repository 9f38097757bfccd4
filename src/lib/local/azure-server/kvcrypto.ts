/**
 * Key Vault's cryptographic operations on real keys. Key Vault signs a *digest* the client computed,
 * which node:crypto cannot do directly for PSS and ECDSA (it always hashes), so RSASSA-PSS is encoded
 * here (RFC 8017 §9.1, salt length = hash length, as Key Vault does) and ECDSA is done in BigInt
 * arithmetic (FIPS 186-4). PKCS#1 v1.5 signatures use the DigestInfo prefix with privateEncrypt, and
 * RSA1_5 decryption strips the padding itself because Node 20 refuses RSA_PKCS1_PADDING for
 * privateDecrypt (CVE-2023-46809).
 */
import {
  constants,
  createCipheriv,
  createDecipheriv,
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  privateDecrypt,
  privateEncrypt,
  publicDecrypt,
  publicEncrypt,
  randomBytes,
  type KeyObject,
} from 'node:crypto'
import {promisify} from 'node:util'

import type {KeyType, PublicJwk} from './state.js'

const generateKeyPairAsync = promisify(generateKeyPair)

export class CryptoInputError extends Error {}

const RSA_KEY_SIZES = [2048, 3072, 4096]
const EC_CURVES: Record<string, string> = {'P-256': 'prime256v1', 'P-384': 'secp384r1', 'P-521': 'secp521r1'}

export async function generateKey(
  kty: KeyType,
  keySize?: number,
  crv?: string,
  publicExponent?: number,
): Promise<{privateKey: KeyObject; publicJwk: PublicJwk}> {
  if (kty === 'RSA' || kty === 'RSA-HSM') {
    const size = keySize ?? 2048
    if (!RSA_KEY_SIZES.includes(size))
      throw new CryptoInputError(`The key size ${size} is not supported. Supported sizes: ${RSA_KEY_SIZES.join(', ')}.`)
    const {privateKey, publicKey} = await generateKeyPairAsync('rsa', {
      modulusLength: size,
      publicExponent: publicExponent ?? 65_537,
    })
    const jwk = publicKey.export({format: 'jwk'})
    return {privateKey, publicJwk: {n: jwk.n, e: jwk.e}}
  }

  const curve = crv ?? 'P-256'
  const named = EC_CURVES[curve]
  if (!named)
    throw new CryptoInputError(
      `The curve ${curve} is not supported. Supported curves: ${Object.keys(EC_CURVES).join(', ')}.`,
    )
  const {privateKey, publicKey} = await generateKeyPairAsync('ec', {namedCurve: named})
  const jwk = publicKey.export({format: 'jwk'})
  return {privateKey, publicJwk: {crv: curve, x: jwk.x, y: jwk.y}}
}

// ---------------------------------------------------------------- signatures

const HASHES: Record<string, {hash: string; length: number; digestInfo: string}> = {
  sha256: {hash: 'sha256', length: 32, digestInfo: '3031300d060960864801650304020105000420'},
  sha384: {hash: 'sha384', length: 48, digestInfo: '3041300d060960864801650304020205000430'},
  sha512: {hash: 'sha512', length: 64, digestInfo: '3051300d060960864801650304020305000440'},
}

const SIGN_ALGORITHMS: Record<string, {family: 'RS' | 'PS' | 'ES'; hash: string; curve?: string}> = {
  RS256: {family: 'RS', hash: 'sha256'},
  RS384: {family: 'RS', hash: 'sha384'},
  RS512: {family: 'RS', hash: 'sha512'},
  PS256: {family: 'PS', hash: 'sha256'},
  PS384: {family: 'PS', hash: 'sha384'},
  PS512: {family: 'PS', hash: 'sha512'},
  ES256: {family: 'ES', hash: 'sha256', curve: 'P-256'},
  ES384: {family: 'ES', hash: 'sha384', curve: 'P-384'},
  ES512: {family: 'ES', hash: 'sha512', curve: 'P-521'},
}

function signAlgorithm(alg: string, kty: KeyType, crv: string | undefined, digest: Buffer) {
  const spec = SIGN_ALGORITHMS[alg]
  if (!spec) throw new CryptoInputError(`Invalid algorithm: ${alg}`)
  const isRsa = kty.startsWith('RSA')
  if ((spec.family === 'ES') === isRsa || (spec.curve && spec.curve !== crv))
    throw new CryptoInputError(`Algorithm ${alg} is not valid for this key`)
  const hash = HASHES[spec.hash]
  if (digest.length !== hash.length)
    throw new CryptoInputError(`Invalid digest length for ${alg}: expected ${hash.length} bytes, got ${digest.length}`)
  return {spec, hash}
}

export function sign(
  alg: string,
  kty: KeyType,
  crv: string | undefined,
  privateKey: KeyObject,
  digest: Buffer,
): Buffer {
  const {spec, hash} = signAlgorithm(alg, kty, crv, digest)
  if (spec.family === 'RS') {
    return privateEncrypt(
      {key: privateKey, padding: constants.RSA_PKCS1_PADDING},
      Buffer.concat([Buffer.from(hash.digestInfo, 'hex'), digest]),
    )
  }

  if (spec.family === 'PS') {
    const modBits = modulusBits(privateKey)
    const em = pssEncode(digest, modBits - 1, spec.hash)
    return privateEncrypt({key: privateKey, padding: constants.RSA_NO_PADDING}, leftPad(em, Math.ceil(modBits / 8)))
  }

  return ecdsaSign(curveOf(crv), privateKey, digest)
}

export function verify(
  alg: string,
  kty: KeyType,
  crv: string | undefined,
  publicKey: KeyObject,
  digest: Buffer,
  signature: Buffer,
): boolean {
  const {spec, hash} = signAlgorithm(alg, kty, crv, digest)
  try {
    if (spec.family === 'RS') {
      const decoded = publicDecrypt({key: publicKey, padding: constants.RSA_PKCS1_PADDING}, signature)
      return decoded.equals(Buffer.concat([Buffer.from(hash.digestInfo, 'hex'), digest]))
    }

    if (spec.family === 'PS') {
      const modBits = modulusBits(publicKey)
      const emLen = Math.ceil((modBits - 1) / 8)
      if (signature.length !== Math.ceil(modBits / 8)) return false
      const decoded = publicDecrypt({key: publicKey, padding: constants.RSA_NO_PADDING}, signature)
      return pssVerify(digest, decoded.subarray(decoded.length - emLen), modBits - 1, spec.hash)
    }

    return ecdsaVerify(curveOf(crv), publicKey, digest, signature)
  } catch {
    return false
  }
}

function modulusBits(key: KeyObject): number {
  const bits = key.asymmetricKeyDetails?.modulusLength
  if (!bits) throw new CryptoInputError('not an RSA key')
  return bits
}

function leftPad(buf: Buffer, length: number): Buffer {
  return buf.length >= length ? buf : Buffer.concat([Buffer.alloc(length - buf.length), buf])
}

function mgf1(seed: Buffer, length: number, hash: string): Buffer {
  const out: Buffer[] = []
  let total = 0
  for (let counter = 0; total < length; counter++) {
    const c = Buffer.alloc(4)
    c.writeUInt32BE(counter)
    const block = createHash(hash).update(seed).update(c).digest()
    out.push(block)
    total += block.length
  }

  return Buffer.concat(out).subarray(0, length)
}

function pssEncode(mHash: Buffer, emBits: number, hash: string): Buffer {
  const hLen = mHash.length
  const sLen = hLen
  const emLen = Math.ceil(emBits / 8)
  if (emLen < hLen + sLen + 2) throw new CryptoInputError('key too small for PSS')
  const salt = randomBytes(sLen)
  const h = createHash(hash).update(Buffer.alloc(8)).update(mHash).update(salt).digest()
  const db = Buffer.concat([Buffer.alloc(emLen - sLen - hLen - 2), Buffer.from([1]), salt])
  const mask = mgf1(h, emLen - hLen - 1, hash)
  for (let i = 0; i < db.length; i++) db[i] ^= mask[i]
  db[0] &= 0xff >> (8 * emLen - emBits)
  return Buffer.concat([db, h, Buffer.from([0xbc])])
}

function pssVerify(mHash: Buffer, em: Buffer, emBits: number, hash: string): boolean {
  const hLen = mHash.length
  const sLen = hLen
  const emLen = Math.ceil(emBits / 8)
  if (em.length !== emLen || em[emLen - 1] !== 0xbc) return false
  const maskedDb = Buffer.from(em.subarray(0, emLen - hLen - 1))
  const h = em.subarray(emLen - hLen - 1, emLen - 1)
  const topMask = 0xff >> (8 * emLen - emBits)
  if ((maskedDb[0] & ~topMask) !== 0) return false
  const mask = mgf1(h, maskedDb.length, hash)
  for (let i = 0; i < maskedDb.length; i++) maskedDb[i] ^= mask[i]
  maskedDb[0] &= topMask
  const psLen = emLen - hLen - sLen - 2
  for (let i = 0; i < psLen; i++) if (maskedDb[i] !== 0) return false
  if (maskedDb[psLen] !== 1) return false
  const salt = maskedDb.subarray(maskedDb.length - sLen)
  const h2 = createHash(hash).update(Buffer.alloc(8)).update(mHash).update(salt).digest()
  return h2.equals(h)
}

// ---------------------------------------------------------------- ECDSA over a given digest

interface Curve {
  p: bigint
  a: bigint
  n: bigint
  gx: bigint
  gy: bigint
  bytes: number
  bits: number
}

const CURVES: Record<string, Curve> = {
  'P-256': curve(
    0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn,
    0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
    0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n,
    0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n,
    256,
  ),
  'P-384': curve(
    0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffffn,
    0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
    0xaa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e3872760ab7n,
    0x3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5fn,
    384,
  ),
  'P-521': curve(
    (1n << 521n) - 1n,
    0x01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n,
    0x00c6858e06b70404e9cd9e3ecb662395b4429c648139053fb521f828af606b4d3dbaa14b5e77efe75928fe1dc127a2ffa8de3348b3c1856a429bf97e7e31c2e5bd66n,
    0x011839296a789a3bc0045c8a5fb42c7d1bd998f54449579b446817afbd17273e662c97ee72995ef42640c550b9013fad0761353c7086a272c24088be94769fd16650n,
    521,
  ),
}

function curve(p: bigint, n: bigint, gx: bigint, gy: bigint, bits: number): Curve {
  return {p, a: p - 3n, n, gx, gy, bits, bytes: Math.ceil(bits / 8)}
}

function curveOf(crv: string | undefined): Curve {
  const c = crv ? CURVES[crv] : undefined
  if (!c) throw new CryptoInputError(`unsupported curve ${crv}`)
  return c
}

function mod(a: bigint, m: bigint): bigint {
  const r = a % m
  return r < 0n ? r + m : r
}

function inverse(a: bigint, m: bigint): bigint {
  let [oldR, r] = [mod(a, m), m]
  let [oldS, s] = [1n, 0n]
  while (r !== 0n) {
    const q = oldR / r
    ;[oldR, r] = [r, oldR - q * r]
    ;[oldS, s] = [s, oldS - q * s]
  }

  if (oldR !== 1n) throw new CryptoInputError('not invertible')
  return mod(oldS, m)
}

/** Jacobian point (X, Y, Z); Z = 0 is the point at infinity. */
type Jacobian = [bigint, bigint, bigint]

function double(c: Curve, [x, y, z]: Jacobian): Jacobian {
  if (z === 0n || y === 0n) return [0n, 1n, 0n]
  const {p} = c
  const yy = mod(y * y, p)
  const s = mod(4n * x * yy, p)
  const zz = mod(z * z, p)
  const m = mod(3n * x * x + c.a * zz * zz, p)
  const x3 = mod(m * m - 2n * s, p)
  const y3 = mod(m * (s - x3) - 8n * yy * yy, p)
  const z3 = mod(2n * y * z, p)
  return [x3, y3, z3]
}

function add(c: Curve, a: Jacobian, b: Jacobian): Jacobian {
  if (a[2] === 0n) return b
  if (b[2] === 0n) return a
  const {p} = c
  const z1z1 = mod(a[2] * a[2], p)
  const z2z2 = mod(b[2] * b[2], p)
  const u1 = mod(a[0] * z2z2, p)
  const u2 = mod(b[0] * z1z1, p)
  const s1 = mod(a[1] * b[2] * z2z2, p)
  const s2 = mod(b[1] * a[2] * z1z1, p)
  if (u1 === u2) return s1 === s2 ? double(c, a) : [0n, 1n, 0n]
  const h = mod(u2 - u1, p)
  const r = mod(s2 - s1, p)
  const hh = mod(h * h, p)
  const hhh = mod(h * hh, p)
  const v = mod(u1 * hh, p)
  const x3 = mod(r * r - hhh - 2n * v, p)
  const y3 = mod(r * (v - x3) - s1 * hhh, p)
  const z3 = mod(a[2] * b[2] * h, p)
  return [x3, y3, z3]
}

function multiply(c: Curve, point: Jacobian, k: bigint): Jacobian {
  let result: Jacobian = [0n, 1n, 0n]
  for (let i = BigInt(k.toString(2).length - 1); i >= 0n; i--) {
    result = double(c, result)
    if ((k >> i) & 1n) result = add(c, result, point)
  }

  return result
}

function affineX(c: Curve, [x, , z]: Jacobian): bigint | undefined {
  if (z === 0n) return undefined
  const zi = inverse(z, c.p)
  return mod(x * zi * zi, c.p)
}

function toBigInt(buf: Buffer): bigint {
  return buf.length === 0 ? 0n : BigInt('0x' + buf.toString('hex'))
}

function toBytes(value: bigint, length: number): Buffer {
  return Buffer.from(value.toString(16).padStart(length * 2, '0'), 'hex')
}

function digestToInt(c: Curve, digest: Buffer): bigint {
  const z = toBigInt(digest)
  const excess = digest.length * 8 - c.bits
  return excess > 0 ? z >> BigInt(excess) : z
}

/** ECDSA signature as JWS wants it: r ‖ s, each left-padded to the curve's byte length. */
function ecdsaSign(c: Curve, privateKey: KeyObject, digest: Buffer): Buffer {
  const d = toBigInt(Buffer.from(privateKey.export({format: 'jwk'}).d ?? '', 'base64url'))
  const z = digestToInt(c, digest)
  for (;;) {
    const k = mod(toBigInt(randomBytes(c.bytes + 8)), c.n - 1n) + 1n
    const r = mod(affineX(c, multiply(c, [c.gx, c.gy, 1n], k)) ?? 0n, c.n)
    if (r === 0n) continue
    const s = mod(inverse(k, c.n) * (z + r * d), c.n)
    if (s === 0n) continue
    return Buffer.concat([toBytes(r, c.bytes), toBytes(s, c.bytes)])
  }
}

function ecdsaVerify(c: Curve, publicKey: KeyObject, digest: Buffer, signature: Buffer): boolean {
  if (signature.length !== 2 * c.bytes) return false
  const r = toBigInt(signature.subarray(0, c.bytes))
  const s = toBigInt(signature.subarray(c.bytes))
  if (r <= 0n || r >= c.n || s <= 0n || s >= c.n) return false
  const jwk = publicKey.export({format: 'jwk'})
  const q: Jacobian = [
    toBigInt(Buffer.from(jwk.x ?? '', 'base64url')),
    toBigInt(Buffer.from(jwk.y ?? '', 'base64url')),
    1n,
  ]
  const w = inverse(s, c.n)
  const u1 = mod(digestToInt(c, digest) * w, c.n)
  const u2 = mod(r * w, c.n)
  const point = add(c, multiply(c, [c.gx, c.gy, 1n], u1), multiply(c, q, u2))
  const x = affineX(c, point)
  return x !== undefined && mod(x, c.n) === r
}

// ---------------------------------------------------------------- encryption / key wrapping

const RSA_ENCRYPTION = new Set(['RSA1_5', 'RSA-OAEP', 'RSA-OAEP-256'])

export function rsaEncrypt(alg: string, kty: KeyType, privateKey: KeyObject, plaintext: Buffer): Buffer {
  checkRsaEncryption(alg, kty)
  const publicKey = createPublicKey(privateKey)
  if (alg === 'RSA1_5') return publicEncrypt({key: publicKey, padding: constants.RSA_PKCS1_PADDING}, plaintext)
  return publicEncrypt(
    {key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: alg === 'RSA-OAEP-256' ? 'sha256' : 'sha1'},
    plaintext,
  )
}

export function rsaDecrypt(alg: string, kty: KeyType, privateKey: KeyObject, ciphertext: Buffer): Buffer {
  checkRsaEncryption(alg, kty)
  if (alg !== 'RSA1_5') {
    return privateDecrypt(
      {
        key: privateKey,
        padding: constants.RSA_PKCS1_OAEP_PADDING,
        oaepHash: alg === 'RSA-OAEP-256' ? 'sha256' : 'sha1',
      },
      ciphertext,
    )
  }

  const size = Math.ceil(modulusBits(privateKey) / 8)
  if (ciphertext.length !== size) throw new CryptoInputError('The ciphertext length does not match the key size')
  const em = leftPad(privateDecrypt({key: privateKey, padding: constants.RSA_NO_PADDING}, ciphertext), size)
  // EME-PKCS1-v1_5: 0x00 0x02 PS(≥8 non-zero bytes) 0x00 M
  const separator = em.indexOf(0, 2)
  if (em[0] !== 0 || em[1] !== 2 || separator < 10) throw new CryptoInputError('Decryption failed')
  return em.subarray(separator + 1)
}

function checkRsaEncryption(alg: string, kty: KeyType): void {
  if (!RSA_ENCRYPTION.has(alg)) throw new CryptoInputError(`Invalid algorithm: ${alg}`)
  if (!kty.startsWith('RSA')) throw new CryptoInputError(`Algorithm ${alg} is not valid for this key`)
}

// ---------------------------------------------------------------- backup blobs

const BACKUP_PREFIX = '&AzureKeyVaultKeyBackupV1.microsoft.com'

/** The opaque backup blob: the real prefix, then a compact JWE (dir + A256GCM) under a per-server key. */
export function sealBackup(secret: Buffer, payload: unknown): string {
  const iv = randomBytes(12)
  const header = Buffer.from(JSON.stringify({alg: 'dir', enc: 'A256GCM', kid: 'custos-local'})).toString('base64url')
  const cipher = createCipheriv('aes-256-gcm', secret, iv)
  cipher.setAAD(Buffer.from(header))
  const body = Buffer.concat([cipher.update(JSON.stringify(payload), 'utf8'), cipher.final()])
  const jwe = [
    header,
    '',
    iv.toString('base64url'),
    body.toString('base64url'),
    cipher.getAuthTag().toString('base64url'),
  ].join('.')
  return Buffer.from(BACKUP_PREFIX + jwe).toString('base64url')
}

export function openBackup(secret: Buffer, value: string): unknown {
  const text = Buffer.from(value, 'base64url').toString('utf8')
  if (!text.startsWith(BACKUP_PREFIX)) throw new CryptoInputError('Backup blob could not be decrypted')
  const [header, , iv, body, tag] = text.slice(BACKUP_PREFIX.length).split('.')
  try {
    const decipher = createDecipheriv('aes-256-gcm', secret, Buffer.from(iv ?? '', 'base64url'))
    decipher.setAAD(Buffer.from(header ?? ''))
    decipher.setAuthTag(Buffer.from(tag ?? '', 'base64url'))
    const plain = Buffer.concat([decipher.update(Buffer.from(body ?? '', 'base64url')), decipher.final()])
    return JSON.parse(plain.toString('utf8'))
  } catch {
    throw new CryptoInputError('Backup blob could not be decrypted')
  }
}

export function exportPrivateKey(key: KeyObject): string {
  return key.export({format: 'pem', type: 'pkcs8'}).toString()
}

export function importPrivateKey(pem: string): KeyObject {
  return createPrivateKey(pem)
}
