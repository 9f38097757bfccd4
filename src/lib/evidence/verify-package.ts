/**
 * `certificate verify` on anything custos writes: a sealed JSON document (certificate, manifest),
 * or a package with a sealed `manifest.json` inside — an export folder, a `.tar.gz` (export archive,
 * logs bundle, incident evidence) or a `.zip` export. For a package, the manifest read from inside
 * is verified like a document (hash, signature, consistency), then every file is compared with it
 * (contents.ts): anything missing, extra or changed makes the package `altered`.
 *
 * The kind of input is told by what it is (a folder; gzip or zip magic bytes), not by its name.
 */
import {open, stat} from 'node:fs/promises'

import type {AzureClients} from '../azure/clients.js'
import {sha256Hex} from './canonical.js'
import {
  ContentsChecker,
  contentsDiffer,
  contentsNotChecked,
  contentsReason,
  expectedEntries,
  type PackageFormat,
} from './contents.js'
import type {VerifyDocumentOptions} from './envelope.js'
import {
  drain,
  linesOf,
  PackageProblem,
  readFolder,
  readTarGz,
  readZip,
  type PackageVisitor,
  type ReadPackageOptions,
} from './package-readers.js'
import {
  unreadableDocument,
  verifyEvidenceFile,
  verifySealedDocument,
  type CertificateVerifyReport,
} from './verify-document.js'

export type EvidenceInput = 'document' | PackageFormat

/** What `path` is: a folder, a gzip stream (read as .tar.gz), a zip, or else a JSON document. */
export async function detectEvidenceInput(path: string): Promise<EvidenceInput> {
  let isDirectory: boolean
  try {
    const s = await stat(path)
    if (!s.isDirectory() && !s.isFile()) return 'document'
    isDirectory = s.isDirectory()
  } catch {
    return 'document' // verifyEvidenceFile says why it cannot be read
  }

  if (isDirectory) return 'folder'
  const magic = Buffer.alloc(4)
  const handle = await open(path, 'r')
  try {
    await handle.read(magic, 0, 4, 0)
  } finally {
    await handle.close()
  }

  if (magic[0] === 0x1f && magic[1] === 0x8b) return 'tar.gz'
  // PK\x03\x04: a local file header; PK\x05\x06: the end record of an empty archive
  if (
    magic[0] === 0x50 &&
    magic[1] === 0x4b &&
    ((magic[2] === 3 && magic[3] === 4) || (magic[2] === 5 && magic[3] === 6))
  )
    return 'zip'
  return 'document'
}

export type VerifyEvidenceOptions = ReadPackageOptions & VerifyDocumentOptions

/** Verifies a sealed document, or a folder or archive against the sealed manifest inside it. */
export async function verifyEvidence(
  path: string,
  clients?: AzureClients,
  options: VerifyEvidenceOptions = {},
): Promise<CertificateVerifyReport> {
  const input = await detectEvidenceInput(path)
  if (input === 'document') return verifyEvidenceFile(path, clients, options)
  return verifyPackage(path, input, clients, options)
}

type ManifestReport = Omit<CertificateVerifyReport, 'file' | 'contents'>

function altered(report: ManifestReport, reason: string): ManifestReport {
  return {...report, valid: false, status: 'altered', reason: report.reason ? `${reason}; ${report.reason}` : reason}
}

/**
 * Verifies the sealed manifest inside an export folder or archive or a bundle, then compares every
 * file with it. Reads streams only and never writes; memory grows with the manifest, not the files.
 */
async function verifyPackage(
  path: string,
  format: PackageFormat,
  clients?: AzureClients,
  options: VerifyEvidenceOptions = {},
): Promise<CertificateVerifyReport> {
  const checker = new ContentsChecker(format)
  let manifest: ManifestReport | undefined
  let manifestSha256 = ''
  let notCompared: string | undefined
  let listsNoFiles = false
  const visit: PackageVisitor = {
    checker,
    async manifest(bytes) {
      manifestSha256 = sha256Hex(bytes)
      let doc: unknown
      try {
        doc = JSON.parse(bytes.toString('utf8'))
      } catch (error) {
        manifest = unreadableDocument(
          `its manifest.json is not valid JSON (${(error as Error).message.split('\n')[0]}): it was altered or is not a custos manifest`,
        )
        notCompared = 'the manifest cannot be read'
        return false
      }

      manifest = await verifySealedDocument(doc, clients, options)
      if (manifest.hash === 'invalid' || manifest.signature === 'invalid') {
        notCompared = 'the manifest itself was altered, so it cannot vouch for them'
        return false
      }

      const expected = expectedEntries(doc)
      if (typeof expected === 'string') {
        notCompared = expected
        listsNoFiles = true
        return false
      }

      checker.setExpected(expected)
      return true
    },
    async sums(stream) {
      if (!checker.ready) {
        // before the manifest (no custos package is written so): nothing to compare it with
        await drain(stream)
        return
      }

      for await (const line of linesOf(stream)) checker.addSumsLine(line, manifestSha256)
    },
  }
  const read = format === 'folder' ? readFolder : format === 'zip' ? readZip : readTarGz
  let problem: string | undefined
  try {
    await read(path, visit, options)
  } catch (error) {
    if (!(error instanceof PackageProblem)) throw error
    problem = error.message
  }

  if (!manifest) {
    const reason = problem ?? `${path} holds no manifest.json`
    return {file: path, ...unreadableDocument(reason), contents: contentsNotChecked(format, reason)}
  }

  if (problem) return {file: path, ...altered(manifest, problem), contents: checker.finish(problem)}
  if (notCompared) {
    const report = listsNoFiles
      ? altered(manifest, `its manifest.json is a ${manifest.kind}, which lists no files to check them against`)
      : manifest
    return {file: path, ...report, contents: contentsNotChecked(format, notCompared)}
  }

  const contents = checker.finish()
  const report = contentsDiffer(contents) ? altered(manifest, contentsReason(contents)) : manifest
  return {file: path, ...report, contents}
}
