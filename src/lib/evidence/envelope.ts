/**
 * Every piece of evidence custos writes (export manifests, deletion certificates, log-bundle
 * manifests, incident evidence) is a sealed document: the body, the SHA-256 of its canonical JSON,
 * and — when a signing key is configured — a Key Vault signature over that hash. Documents without
 * a signing key say `"signed": false` instead of pretending.
 */
import {AuditTrail, type AuditReference} from '../audit/trail.js'
import type {AzureClients} from '../azure/clients.js'
import {canonicalJson, sha256Hex} from './canonical.js'
import {
  signatureShapeProblem,
  signingKeyMismatch,
  verifyDigestSignature,
  type Signature,
  type SignatureCheck,
  type Signer,
} from './signing.js'

export type EvidenceKind =
  | 'custos.export-manifest'
  | 'custos.deletion-certificate'
  | 'custos.logs-manifest'
  | 'custos.incident-evidence'
  | 'custos.erase-plan'

export type {AuditReference} from '../audit/trail.js'

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

/** The kinds of document custos writes; any other kind is refused. */
export const EVIDENCE_KINDS: ReadonlySet<string> = new Set<EvidenceKind>([
  'custos.export-manifest',
  'custos.deletion-certificate',
  'custos.logs-manifest',
  'custos.incident-evidence',
  'custos.erase-plan',
])

/**
 * What verification found about the document's own audit record: `present` (the trail holds it and
 * it verifies), `missing` (the trail no longer holds it: truncated or rewritten), `untrusted` (it is
 * there but does not verify), `unchecked` (no data map to read the trail with).
 */
export interface AuditReferenceCheck extends AuditReference {
  status: 'present' | 'missing' | 'untrusted' | 'unchecked'
  trail?: string
}

export interface DocumentVerification {
  kind: string
  hash: 'valid' | 'invalid'
  signature: SignatureCheck
  reason?: string
  /** present when the document names its own audit record */
  audit?: AuditReferenceCheck
  /**
   * true when the hash is valid, the kind known, the signature valid and made with the data map's
   * signing key (or the document unsigned where that is allowed), and its audit record still in
   * the trail
   */
  ok: boolean
}

export interface VerifyDocumentOptions {
  /**
   * Accept an unsigned document (default true for library callers; `certificate verify` accepts
   * unsigned documents only with --allow-unsigned). Never where the data map names a signing key:
   * custos signs every document with it, so an unsigned one is forged or stripped.
   */
  allowUnsigned?: boolean
}

/**
 * Checks the hash and the signature of a sealed document (parsed JSON of unknown shape), that the
 * signature was made with the data map's signing key, and that the audit trail still holds the
 * document's own audit record.
 */
export async function verifyDocument(
  doc: unknown,
  clients?: AzureClients,
  options: VerifyDocumentOptions = {},
): Promise<DocumentVerification> {
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
  const hash = sha256Hex(content) === d.sha256 ? 'valid' : 'invalid'
  if (!EVIDENCE_KINDS.has(d.kind))
    return {
      kind: d.kind,
      hash,
      signature: 'unverifiable',
      reason: `"${d.kind}" is not a kind of document custos writes (${[...EVIDENCE_KINDS].join(', ')})`,
      ok: false,
    }
  if (hash === 'invalid') {
    return {
      kind: d.kind,
      hash: 'invalid',
      signature: d.signature ? 'unverifiable' : 'unsigned',
      reason: 'the content does not match its SHA-256: the document was altered',
      ok: false,
    }
  }

  const signature = await checkSignature(d, content, clients, options)
  const audit = await checkAuditReference(d.body, clients)
  const auditProblem =
    audit?.status === 'missing'
      ? `its own audit record (seq ${audit.seq}) is no longer in the audit trail (${audit.trail}): the trail was truncated or rewritten`
      : audit?.status === 'untrusted'
        ? `its own audit record (seq ${audit.seq}) is in the audit trail but does not verify; run \`custos audit trail --verify\``
        : undefined
  const reason = signature.reason ?? auditProblem
  return {
    kind: d.kind,
    hash: 'valid',
    signature: signature.status,
    ...(reason ? {reason} : {}),
    ...(audit ? {audit} : {}),
    ok: signature.ok && !auditProblem,
  }
}

async function checkSignature(
  d: Partial<SealedDocument<unknown>>,
  content: Buffer,
  clients: AzureClients | undefined,
  options: VerifyDocumentOptions,
): Promise<{status: SignatureCheck; reason?: string; ok: boolean}> {
  const signingKey = clients?.map.keys?.signingKey
  if (d.signature === undefined) {
    if (d.signed)
      return {status: 'invalid', reason: 'the document claims to be signed but carries no signature', ok: false}
    if (signingKey)
      return {
        status: 'unsigned',
        reason: `the document is unsigned, but the data map names the signing key ${signingKey}, with which custos signs every document`,
        ok: false,
      }
    if (options.allowUnsigned === false)
      return {
        status: 'unsigned',
        reason:
          'the document is unsigned: anyone could have written it; pass --allow-unsigned to accept that (for a data map without keys.signingKey)',
        ok: false,
      }
    return {status: 'unsigned', ok: true}
  }

  const malformed = signatureShapeProblem(d.signature)
  if (malformed) return {status: 'invalid', reason: `the signature is malformed: ${malformed}`, ok: false}
  const s = d.signature as Signature
  const wrongKey = signingKeyMismatch(s.kid, clients?.map.keys)
  if (wrongKey) return {status: 'invalid', reason: `the document is ${wrongKey}`, ok: false}
  const check = await verifyDigestSignature(clients, content, s)
  return {status: check.status, ...(check.reason ? {reason: check.reason} : {}), ok: check.status === 'valid'}
}

/** Looks the document's own audit record up in the trail, when the body names one. */
async function checkAuditReference(body: unknown, clients?: AzureClients): Promise<AuditReferenceCheck | undefined> {
  const ref = (body as {audit?: Partial<AuditReference>} | null)?.audit
  if (!ref || typeof ref.seq !== 'number' || typeof ref.hash !== 'string') return undefined
  const reference = {seq: ref.seq, hash: ref.hash}
  if (!clients) return {...reference, status: 'unchecked'}
  const trail = new AuditTrail(clients, {signer: null})
  const found = await trail.holds(reference)
  return {
    ...reference,
    status: found.found ? (found.trusted ? 'present' : 'untrusted') : 'missing',
    trail: trail.location,
  }
}
