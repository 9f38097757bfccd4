/**
 * The export side shared by the kinds whose data is read into files first (databases, tables):
 * `list` writes each store's files below the export's staging folder and hands them on; the
 * reader reads a staged file back and checks it is still exactly what was written (size and
 * SHA-256) — nothing but custos should touch that private folder while the export runs.
 */
import {createReadStream} from 'node:fs'
import {readFile} from 'node:fs/promises'
import {join} from 'node:path'
import type {Writable} from 'node:stream'
import {pipeline} from 'node:stream/promises'

import {CustosError, ExitCode} from '../errors.js'
import {Digests, type VerifiedDigest} from '../evidence/digests.js'
import type {ExportStore, PlannedObject, StoreSummary} from '../export/plan.js'
import {HashingStream, type DownloadOptions} from '../export/transfer.js'
import type {ExportPart, KindExportOptions, ObjectReader} from './kind.js'

/** Reads a staged file back, checking it is still exactly what the snapshot wrote . */
class StagedFileReader implements ObjectReader {
  constructor(
    private readonly dir: string,
    private readonly customer: string,
  ) {}

  async toBuffer(object: PlannedObject, options: DownloadOptions): Promise<{data: Buffer; digest: VerifiedDigest}> {
    const data = await readFile(this.path(object), {signal: options.abortSignal})
    const digests = new Digests()
    digests.update(data)
    options.onBytes?.(data.length)
    const digest = digests.result()
    this.verify(object, digest)
    return {data, digest}
  }

  async toStream(object: PlannedObject, sink: Writable, options: DownloadOptions): Promise<VerifiedDigest> {
    const hashing = new HashingStream(options.onBytes)
    await pipeline(createReadStream(this.path(object)), hashing, sink, {signal: options.abortSignal})
    const digest = hashing.digests.result()
    this.verify(object, digest)
    return digest
  }

  private path(object: PlannedObject): string {
    return join(this.dir, object.store, object.name)
  }

  private verify(object: PlannedObject, digest: VerifiedDigest): void {
    if (digest.bytes === object.size && digest.sha256 === object.sha256) return
    throw new CustosError(
      `Integrity check failed for ${object.table ? `table ${object.table}` : object.name} of database store ${object.store} of customer ${this.customer}: the staged file changed after it was written (${digest.bytes} bytes, SHA-256 ${digest.sha256.slice(0, 12)}…; written: ${object.size} bytes, ${String(object.sha256).slice(0, 12)}…).`,
      {
        code: 'IntegrityMismatch',
        exitCode: ExitCode.azure,
        hint: 'Something altered the temporary folder while the export ran; no manifest was written. Run the export again.',
      },
    )
  }
}

/** An export part whose stores are listed (and staged) one by one by `list`. */
export function stagedExport<S>(
  stores: S[],
  describe: (store: S) => ExportStore,
  list: (store: S, options: KindExportOptions) => Promise<StoreSummary>,
  customer: string,
): ExportPart {
  let staging: string | undefined
  return {
    stores: () => stores.map((s) => describe(s)),
    async list(options) {
      staging = options.staging
      const summaries: StoreSummary[] = []
      for (const store of stores) summaries.push(await list(store, options))
      return summaries
    },
    reader() {
      if (!staging) throw new Error('the export was not staged')
      return new StagedFileReader(staging, customer)
    },
    async close() {},
  }
}
