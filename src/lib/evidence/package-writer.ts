/**
 * Writes a sealed evidence package (a log bundle, an incident evidence package): `manifest.json`
 * (the sealed, optionally signed body), `SHA256SUMS` over the manifest and every listed file, then
 * the files, as one `.tar.gz`. package-readers.ts and contents.ts read such packages back.
 */
import {sha256Hex} from './canonical.js'
import {sealDocument, type EvidenceKind, type SealedDocument} from './envelope.js'
import {writeTarGz, type PackEntry, type PackResult} from './pack.js'
import type {Signer} from './signing.js'
import {sha256sums, type SumsEntry} from './sums.js'

export interface WriteSealedPackageOptions<T> {
  kind: EvidenceKind
  body: T
  /** signs the manifest's digest; unsigned without */
  signer?: Signer
  /** every file of the package with its SHA-256, as the manifest lists them (SHA256SUMS follows this order) */
  files: readonly SumsEntry[]
  /** the files' contents, packed after manifest.json and SHA256SUMS */
  entries: readonly PackEntry[]
  /** modification time of every entry */
  mtime?: Date
  abortSignal?: AbortSignal
}

export interface SealedPackage<T> {
  manifest: SealedDocument<T>
  packed: PackResult
}

/** Seals `body`, writes SHA256SUMS and packs everything into `output`. */
export async function writeSealedPackage<T>(
  output: string,
  options: WriteSealedPackageOptions<T>,
): Promise<SealedPackage<T>> {
  const manifest = await sealDocument(options.kind, options.body, options.signer)
  const manifestText = `${JSON.stringify(manifest, null, 2)}\n`
  const sums = sha256sums([{path: 'manifest.json', sha256: sha256Hex(manifestText)}, ...options.files])
  const packed = await writeTarGz(
    output,
    [{name: 'manifest.json', content: manifestText}, {name: 'SHA256SUMS', content: sums}, ...options.entries],
    {mtime: options.mtime, abortSignal: options.abortSignal},
  )
  return {manifest, packed}
}
