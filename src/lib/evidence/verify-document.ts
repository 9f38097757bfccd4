/**
 * The verdict on one sealed document (deletion certificate, export manifest, logs manifest, incident
 * evidence manifest): its hash, its signature (with clients, to fetch the public key), its own audit
 * record, and that it names what it claims (consistency.ts). verify-package.ts gives the same
 * verdict on the manifest inside a package before it compares the files.
 */
import {readFile} from 'node:fs/promises'

import type {AzureClients} from '../azure/clients.js'
import {CustosError, ExitCode} from '../errors.js'
import {checkConsistency, type ConsistencyCheck} from './consistency.js'
import type {ContentsCheck} from './contents.js'
import {
  EVIDENCE_KINDS,
  verifyDocument,
  type AuditReferenceCheck,
  type SealedDocument,
  type VerifyDocumentOptions,
} from './envelope.js'
import {signatureShapeProblem, type SignatureCheck} from './signing.js'

/** The plain result of verifying one sealed document. */
export interface CertificateVerifyReport {
  file: string
  kind: string
  valid: boolean
  status: 'valid' | 'unsigned' | 'altered' | 'inconsistent' | 'unverifiable'
  hash: 'valid' | 'invalid'
  signature: SignatureCheck
  sha256?: string
  signedBy?: string
  /** the document's own audit record, where it names one */
  audit?: AuditReferenceCheck
  reason?: string
  consistency: ConsistencyCheck
  /** for an export folder or archive, or a bundle: its files compared with the manifest inside */
  contents?: ContentsCheck
}

/**
 * Verifies any sealed document file (deletion certificate, export manifest, logs manifest): its
 * hash, its signature (with `clients`, to fetch the public key) and that it names what it claims.
 */
export async function verifyEvidenceFile(
  path: string,
  clients?: AzureClients,
  options: VerifyDocumentOptions = {},
): Promise<CertificateVerifyReport> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    throw new CustosError(`The file ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}).`, {
      code: 'FileUnreadable',
      exitCode: ExitCode.usage,
      hint: 'Pass the .json file of a certificate or manifest.',
    })
  }

  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (error) {
    return {
      file: path,
      ...unreadableDocument(
        `the file is not valid JSON (${(error as Error).message.split('\n')[0]}): it was altered or is not a custos document`,
      ),
    }
  }

  // A signature that is not what custos writes is named in one line (exit 1) before verification.
  const signature = (doc as {signature?: unknown} | null)?.signature
  const malformed = signature === undefined || signature === null ? undefined : signatureShapeProblem(signature)
  if (malformed)
    throw new CustosError(`${path} is malformed: ${malformed}; it was altered or is not a custos document.`, {
      code: 'MalformedDocument',
      exitCode: ExitCode.findings,
      hint: 'Verify the copy custos wrote; an altered document proves nothing.',
    })
  return {file: path, ...(await verifySealedDocument(doc, clients, options))}
}

/** Nothing to check against: the consistency part of a report on what could not be read. */
const CONSISTENCY_NOT_CHECKED: ConsistencyCheck = {checked: false, problems: [], checks: []}

/** The report on a document (or a package's manifest) that cannot be read as one: altered, nothing checked. */
export function unreadableDocument(reason: string): Omit<CertificateVerifyReport, 'file'> {
  return {
    kind: 'unknown',
    valid: false,
    status: 'altered',
    hash: 'invalid',
    signature: 'unverifiable',
    reason,
    consistency: CONSISTENCY_NOT_CHECKED,
  }
}

/**
 * The verdict on one sealed document (parsed JSON of unknown shape): hash, kind, signature and its
 * key, the document's own audit record, and that it names what it claims. Shared by document files
 * and the manifests inside export folders, archives and bundles.
 */
export async function verifySealedDocument(
  doc: unknown,
  clients?: AzureClients,
  options: VerifyDocumentOptions = {},
): Promise<Omit<CertificateVerifyReport, 'file'>> {
  const check = await verifyDocument(doc, clients, {allowUnsigned: options.allowUnsigned ?? true})
  const d = doc as Partial<SealedDocument<unknown>>
  const consistency = check.hash === 'valid' ? checkConsistency(doc) : CONSISTENCY_NOT_CHECKED
  const auditGone = check.audit?.status === 'missing' || check.audit?.status === 'untrusted'
  const status: CertificateVerifyReport['status'] =
    check.hash === 'invalid' || check.signature === 'invalid' || !EVIDENCE_KINDS.has(check.kind) || auditGone
      ? 'altered'
      : consistency.problems.length > 0
        ? 'inconsistent'
        : check.signature === 'unverifiable'
          ? 'unverifiable'
          : check.signature === 'unsigned'
            ? 'unsigned'
            : 'valid'
  const signedBy = d?.signature && typeof d.signature === 'object' ? d.signature.kid : undefined
  return {
    kind: check.kind,
    valid: status === 'valid' || (status === 'unsigned' && check.ok),
    status,
    hash: check.hash,
    signature: check.signature,
    ...(typeof d?.sha256 === 'string' ? {sha256: d.sha256} : {}),
    ...(typeof signedBy === 'string' ? {signedBy: `${String(d.signature!.alg)} ${signedBy}`} : {}),
    ...(check.reason ? {reason: check.reason} : {}),
    ...(check.audit ? {audit: check.audit} : {}),
    consistency,
  }
}
