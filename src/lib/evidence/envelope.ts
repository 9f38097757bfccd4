/**
 * Every piece of evidence custos writes (export manifests, deletion certificates, log-bundle
 * manifests, incident evidence) is a sealed document: the body, the SHA-256 of its canonical JSON,
 * and — when a signing key is configured — a Key Vault signature over that hash. Documents without
 * a signing key say `"signed": false` instead of pretending.
 */
import type {AzureClients} from '../azure/clients.js'
import {canonicalJson, sha256Hex} from './canonical.js'
import {verifyDigestSignature, type Signature, type SignatureCheck, type Signer} from './signing.js'

export type EvidenceKind =
  | 'custos.export-manifest'
  | 'custos.deletion-certificate'
  | 'custos.logs-manifest'
  | 'custos.incident-evidence'
  | 'custos.erase-plan'

export interface SealedDocument<T> {
  kind: EvidenceKind
  formatVersion: 1
  body: T
  /** hex SHA-256 of canonicalJson(body) */
  sha256: string
  signed: boolean
  signature?: Signature
}

export async function sealDocument<T>(kind: EvidenceKind, body: T, signer?: Signer): Promise<SealedDocument<T>> {
  const sha256 = sha256Hex(canonicalJson(body))
  const doc: SealedDocument<T> = {kind, formatVersion: 1, body, sha256, signed: Boolean(signer)}
  if (signer) doc.signature = await signer.signDigest(Buffer.from(sha256, 'hex'))
  return doc
}

export interface DocumentVerification {
  kind: string
  hash: 'valid' | 'invalid'
  signature: SignatureCheck
  reason?: string
  /** true when the hash is valid and the signature valid (or the document honestly unsigned) */
  ok: boolean
}

/** Checks the hash and the signature of a sealed document (parsed JSON of unknown shape). */
export async function verifyDocument(doc: unknown, clients?: AzureClients): Promise<DocumentVerification> {
  const d = doc as Partial<SealedDocument<unknown>>
  if (!d || typeof d !== 'object' || typeof d.kind !== 'string' || typeof d.sha256 !== 'string' || !('body' in d)) {
    return {
      kind: 'unknown',
      hash: 'invalid',
      signature: 'unverifiable',
      reason: 'not a custos evidence document (kind, body and sha256 are required)',
      ok: false,
    }
  }

  const content = Buffer.from(canonicalJson(d.body))
  const recomputed = sha256Hex(content)
  if (recomputed !== d.sha256) {
    return {
      kind: d.kind,
      hash: 'invalid',
      signature: d.signature ? 'unverifiable' : 'unsigned',
      reason: 'the content does not match its SHA-256: the document was altered',
      ok: false,
    }
  }

  if (d.signed && !d.signature)
    return {
      kind: d.kind,
      hash: 'valid',
      signature: 'invalid',
      reason: 'the document claims to be signed but carries no signature',
      ok: false,
    }
  const check = await verifyDigestSignature(clients, content, d.signature)
  return {
    kind: d.kind,
    hash: 'valid',
    signature: check.status,
    ...(check.reason ? {reason: check.reason} : {}),
    ok: check.status === 'valid' || check.status === 'unsigned',
  }
}
