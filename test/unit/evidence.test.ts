import assert from 'node:assert/strict'
import {createHash, generateKeyPairSync, privateEncrypt, sign, type KeyObject} from 'node:crypto'

import {canonicalJson, sha256Hex} from '../../src/lib/evidence/canonical.js'
import {sealDocument, verifyDocument} from '../../src/lib/evidence/envelope.js'
import {verifyWithJwk, type Signer} from '../../src/lib/evidence/signing.js'

/** RSA PKCS#1 v1.5 signing of an already computed SHA-256 digest, as Key Vault does it. */
function privateSign(key: KeyObject, digest: Buffer): Buffer {
  const digestInfo = Buffer.concat([Buffer.from('3031300d060960864801650304020105000420', 'hex'), digest])
  return privateEncrypt({key, padding: 1}, digestInfo)
}

describe('evidence', () => {
  it('canonical JSON does not depend on key order or white space', () => {
    assert.equal(canonicalJson({b: 1, a: {d: [1, {y: 2, x: 1}], c: undefined}}), '{"a":{"d":[1,{"x":1,"y":2}]},"b":1}')
    assert.equal(sha256Hex(canonicalJson({a: 1, b: 2})), sha256Hex(canonicalJson({b: 2, a: 1})))
  })

  it('verifies an RS256 signature made over a SHA-256 digest (the Key Vault way)', () => {
    const {publicKey, privateKey} = generateKeyPairSync('rsa', {modulusLength: 2048})
    const digest = createHash('sha256').update('evidence').digest()
    // What Key Vault returns for RS256 over a digest: PKCS#1 v1.5 with the SHA-256 DigestInfo.
    const signature = privateSign(privateKey, digest)
    const jwk = publicKey.export({format: 'jwk'})
    assert.equal(verifyWithJwk(jwk, 'RS256', Buffer.from('evidence'), signature), true)
    assert.equal(verifyWithJwk(jwk, 'RS256', Buffer.from('evidencE'), signature), false)
  })

  it('verifies an ES256 signature in the raw r||s form', () => {
    const {publicKey, privateKey} = generateKeyPairSync('ec', {namedCurve: 'P-256'})
    const signature = sign('sha256', Buffer.from('evidence'), {key: privateKey, dsaEncoding: 'ieee-p1363'})
    assert.equal(signature.length, 64)
    const jwk = publicKey.export({format: 'jwk'})
    assert.equal(verifyWithJwk(jwk, 'ES256', Buffer.from('evidence'), signature), true)
    signature[5] ^= 1
    assert.equal(verifyWithJwk(jwk, 'ES256', Buffer.from('evidence'), signature), false)
  })

  it('an unsigned sealed document verifies as "unsigned" and fails after one changed character', async () => {
    const doc = await sealDocument('custos.export-manifest', {customer: 'acme', objects: 3})
    assert.equal(doc.signed, false)
    const ok = await verifyDocument(JSON.parse(JSON.stringify(doc)))
    assert.deepEqual([ok.ok, ok.hash, ok.signature], [true, 'valid', 'unsigned'])
    const altered = JSON.parse(JSON.stringify(doc).replace('"acme"', '"acmf"'))
    const bad = await verifyDocument(altered)
    assert.deepEqual([bad.ok, bad.hash], [false, 'invalid'])
  })

  it('a document that claims a signature it lacks is rejected', async () => {
    const signer: Signer = {signDigest: async () => ({alg: 'RS256', kid: 'https://127.0.0.1/keys/k/1', value: 'AA=='})}
    const doc = await sealDocument('custos.deletion-certificate', {customer: 'acme'}, signer)
    delete (doc as {signature?: unknown}).signature
    const result = await verifyDocument(doc)
    assert.equal(result.ok, false)
    assert.equal(result.signature, 'invalid')
  })
})
