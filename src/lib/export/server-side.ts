/**
 * `--server-side`: the storage service copies each object into the configured exports container
 * under `<customer>/<start time>/`, so the bytes never pass through the machine running custos.
 * Up to 256 MiB an object is copied with Copy Blob From URL (synchronous; the service checks the
 * source's Content-MD5 in transit); larger ones with an asynchronous Copy Blob. After each copy the
 * copy's size and Content-MD5 are compared with the source's.
 *
 * What the customer gets is one read-only, HTTPS-only link that expires (at most 7 days): a link to
 * `download-links.tsv`, which lists every object of the export (and `manifest.json`) with its own
 * read-only link of the same expiry. Blob-level links only — see sas.ts for why never a container
 * link.
 *
 * Resume: a start marker (`.custos-export.json`) stays in the export folder until `manifest.json`
 * is written. A re-run with the same options finds the newest unfinished export of the customer
 * and skips every object whose copy is already there with the source's size and Content-MD5.
 */
import {createWriteStream, type WriteStream} from 'node:fs'
import {join} from 'node:path'
import {PassThrough} from 'node:stream'

import type {BlockBlobClient, ContainerClient} from '@azure/storage-blob'

import type {AzureClients} from '../azure/clients.js'
import type {DataMap} from '../datamap/types.js'
import type {ObjectReader} from '../stores/kind.js'
import {configError, fromAzureError} from '../errors.js'
import {PRIVATE_FILE_MODE} from '../output/files.js'
import {createScratchDir, type ScratchDir} from '../output/scratch.js'
import type {Annotated, ExportDestination, ExportHeader, OpenedDestination, TransferContext} from './destination.js'
import {entryOf} from './local-folder.js'
import type {ManifestDestination, ManifestObject} from './manifest.js'
import type {PlannedObject} from './plan.js'
import {ReadLinkSigner} from './sas.js'
import {integrityError} from './transfer.js'

/** Copy Blob From URL takes sources up to 256 MiB. */
const SYNC_COPY_MAX_BYTES = 256 * 1024 * 1024
/** Block size for uploading staged files (database tables) */
const UPLOAD_BLOCK_BYTES = 8 * 1024 * 1024
/** How long the copy source's own link lives (it is sent only to the storage service). */
const SOURCE_LINK_LIFETIME_MS = 24 * 60 * 60 * 1000
const MARKER = '.custos-export.json'
const LINKS_NAME = 'download-links.tsv'

interface Marker {
  customer: string
  includeVersions: boolean
  includeSnapshots: boolean
  startedAt: string
}

export interface ServerSideOptions {
  /** how long the handed-over link lives (already checked to be at most 7 days) */
  linkExpiryInMs: number
  /** links over plain HTTP too, for an Azurite (loopback) exports account only; tests and the demo */
  allowHttpOnLoopback?: boolean
}

interface ServerResult {
  entry: ManifestObject
  /** an earlier attempt's copy is already there */
  kept: boolean
}

/** `2026-11-23T19:15:14.123Z` → `2026-11-23T19-15-14.123Z` (no colons: the folder may be downloaded to Windows). */
function exportStamp(time: Date): string {
  return time.toISOString().replaceAll(':', '-')
}

export class ServerSideDestination implements ExportDestination<ServerResult> {
  readonly kind = 'server-side' as const
  private readonly container: ContainerClient
  private readonly exportsAccount: string
  private prefix = ''
  private resumed = false
  /** the manifest and links files until they are uploaded (swept by the next run if this one is killed) */
  private scratch?: ScratchDir
  private manifestOut?: WriteStream
  private linksOut?: WriteStream
  private linkSigner?: ReadLinkSigner
  private readonly sourceSigners = new Map<string, ReadLinkSigner>()

  constructor(
    private readonly clients: AzureClients,
    map: DataMap,
    private readonly customer: string,
    private readonly options: ServerSideOptions,
  ) {
    if (!map.exports) {
      throw configError(
        'Server-side export needs an exports container, and the data map has no "exports" section.',
        [],
        'Add exports: {account, container, linkExpiry} to the data map (see the README), or export with --to or --archive.',
      )
    }

    this.exportsAccount = map.exports.account
    this.container = clients.blobService(map.exports.account).getContainerClient(map.exports.container)
  }

  get location(): string {
    return `${this.container.accountName}/${this.container.containerName}/${this.prefix}`
  }

  /** Where the copies are, for the manifest. */
  get manifestDestination(): ManifestDestination {
    return {
      kind: 'server-side',
      account: this.container.accountName,
      container: this.container.containerName,
      prefix: this.prefix,
    }
  }

  window(concurrency: number): number {
    return Math.max(concurrency * 64, 1024)
  }

  async open(header: ExportHeader, now: Date): Promise<OpenedDestination> {
    let startedAt = now.toISOString()
    try {
      await this.container.createIfNotExists()
      const unfinished = await this.findUnfinished(header)
      if (unfinished) {
        this.prefix = unfinished.prefix
        startedAt = unfinished.marker.startedAt
        this.resumed = true
      } else {
        this.prefix = `${this.customer}/${exportStamp(now)}/`
        const marker: Marker = {
          customer: this.customer,
          includeVersions: header.includeVersions,
          includeSnapshots: header.includeSnapshots,
          startedAt,
        }
        const body = JSON.stringify(marker)
        await this.container
          .getBlockBlobClient(`${this.prefix}${MARKER}`)
          .upload(body, Buffer.byteLength(body), {blobHTTPHeaders: {blobContentType: 'application/json'}})
      }
    } catch (error) {
      throw fromAzureError(
        error,
        `exports container ${this.container.containerName} in account ${this.container.accountName}`,
      )
    }

    this.scratch = await createScratchDir('export-manifest')
    this.manifestOut = createWriteStream(join(this.scratch.path, 'manifest.json'), {mode: PRIVATE_FILE_MODE})
    this.linksOut = createWriteStream(join(this.scratch.path, LINKS_NAME), {mode: PRIVATE_FILE_MODE})
    this.linkSigner = new ReadLinkSigner(this.clients, this.exportsAccount, {
      expiresOn: new Date(Date.now() + this.options.linkExpiryInMs),
      allowHttpOnLoopback: this.options.allowHttpOnLoopback,
    })
    this.linksOut.write(`manifest.json\t${await this.linkSigner.url(this.target('manifest.json'))}\n`)
    const notes = this.resumed ? [`Resuming the server-side export into ${this.location}.`] : []
    return {startedAt, resumed: this.resumed, previousObjects: 0, notes}
  }

  /** The newest export folder of this customer that has a start marker but no manifest yet. */
  private async findUnfinished(header: ExportHeader): Promise<{prefix: string; marker: Marker} | undefined> {
    let newest: string | undefined
    for await (const item of this.container.listBlobsByHierarchy('/', {prefix: `${this.customer}/`})) {
      if (item.kind === 'prefix' && (newest === undefined || item.name > newest)) newest = item.name
    }

    if (!newest || !newest.startsWith(`${this.customer}/`)) return undefined
    if (await this.container.getBlobClient(`${newest}manifest.json`).exists()) return undefined
    const markerBlob = this.container.getBlobClient(`${newest}${MARKER}`)
    if (!(await markerBlob.exists())) return undefined
    const marker = JSON.parse((await markerBlob.downloadToBuffer()).toString('utf8')) as Marker
    const same =
      marker.customer === this.customer &&
      marker.includeVersions === header.includeVersions &&
      marker.includeSnapshots === header.includeSnapshots
    return same ? {prefix: newest, marker} : undefined
  }

  private target(path: string): BlockBlobClient {
    return this.container.getBlockBlobClient(`${this.prefix}${path}`)
  }

  private sourceSigner(account: string): ReadLinkSigner {
    let signer = this.sourceSigners.get(account)
    if (!signer) {
      // Sent only to the storage service as the copy source; plain HTTP is allowed only for Azurite on loopback.
      signer = new ReadLinkSigner(this.clients, account, {
        expiresOn: new Date(Date.now() + SOURCE_LINK_LIFETIME_MS),
        allowHttpOnLoopback: true,
      })
      this.sourceSigners.set(account, signer)
    }

    return signer
  }

  async *annotate(listing: AsyncIterable<PlannedObject>): AsyncGenerator<Annotated> {
    for await (const object of listing) yield {object}
  }

  async work(item: Annotated, context: TransferContext, signal: AbortSignal): Promise<ServerResult> {
    const {object} = item
    const target = this.target(object.path)
    const entry = entryOf(object, undefined)
    try {
      if (object.folderMarker) {
        await target.upload('', 0, {abortSignal: signal})
        return {entry, kept: false}
      }

      const reader = context.reader(object.store)
      // a staged file is read anew by every run (a new snapshot): a copy of the same size proves nothing
      if (this.resumed && reader.copySource && (await this.copied(target, object, signal))) {
        context.onBytes(object.size)
        return {entry, kept: true}
      }

      if (!reader.copySource) {
        await this.upload(target, object, reader, context, signal)
        return {entry, kept: false}
      }

      const source = reader.copySource(object)
      const sourceUrl = await this.sourceSigner(source.account).url(source.client)
      const sourceConditions = object.kind === 'current' && object.etag ? {ifMatch: object.etag} : undefined
      if (object.size <= SYNC_COPY_MAX_BYTES) {
        await target.syncCopyFromURL(sourceUrl, {
          abortSignal: signal,
          sourceConditions,
          ...(object.contentMD5 ? {sourceContentMD5: Buffer.from(object.contentMD5, 'base64')} : {}),
        })
      } else {
        const poller = await target.beginCopyFromURL(sourceUrl, {abortSignal: signal, sourceConditions})
        await poller.pollUntilDone()
      }

      const copy = await target.getProperties({abortSignal: signal})
      const copyMD5 = copy.contentMD5 ? Buffer.from(copy.contentMD5).toString('base64') : undefined
      if (copy.contentLength !== object.size)
        throw integrityError(
          this.customer,
          object,
          `the copy holds ${copy.contentLength} bytes where the source has ${object.size}`,
        )
      if (object.contentMD5 && copyMD5 !== object.contentMD5)
        throw integrityError(
          this.customer,
          object,
          `the copy's Content-MD5 is ${copyMD5 ?? 'missing'} but the source's is ${object.contentMD5}`,
        )
      context.onBytes(object.size)
      return {entry, kept: false}
    } catch (error) {
      throw fromAzureError(
        error,
        `the copy of blob ${JSON.stringify(object.name)} in store ${object.store} to ${this.location}`,
      )
    }
  }

  /**
   * Uploads an object whose source the service cannot copy from (a staged database file): its
   * bytes go through custos, verified as they are read, with their MD5 as the blob's Content-MD5.
   */
  private async upload(
    target: BlockBlobClient,
    object: PlannedObject,
    reader: ObjectReader,
    context: TransferContext,
    signal: AbortSignal,
  ): Promise<void> {
    const body = new PassThrough()
    const uploading = target.uploadStream(body, UPLOAD_BLOCK_BYTES, 2, {
      abortSignal: signal,
      blobHTTPHeaders: object.contentType ? {blobContentType: object.contentType} : undefined,
    })
    let digest
    try {
      digest = await reader.toStream(object, body, {
        customer: context.customer,
        abortSignal: signal,
        maxRetryRequests: context.maxRetryRequests,
        onBytes: context.onBytes,
      })
    } catch (error) {
      body.destroy(error as Error)
      await uploading.catch(() => {})
      throw error
    }

    await uploading
    // the MD5 of the verified bytes, set after the upload (Put Block List does not check it)
    await target.setHTTPHeaders(
      {
        ...(object.contentType ? {blobContentType: object.contentType} : {}),
        blobContentMD5: Buffer.from(digest.md5, 'base64'),
      },
      {abortSignal: signal},
    )
    const props = await target.getProperties({abortSignal: signal})
    if (props.contentLength !== object.size)
      throw integrityError(
        this.customer,
        object,
        `the upload holds ${props.contentLength} bytes where ${object.size} were sent`,
      )
  }

  /** Whether an earlier attempt already copied the object (same size and Content-MD5). */
  private async copied(target: BlockBlobClient, object: PlannedObject, signal: AbortSignal): Promise<boolean> {
    try {
      const props = await target.getProperties({abortSignal: signal})
      const md5 = props.contentMD5 ? Buffer.from(props.contentMD5).toString('base64') : undefined
      return props.contentLength === object.size && (object.contentMD5 === undefined || md5 === object.contentMD5)
    } catch (error) {
      if ((error as {statusCode?: number}).statusCode === 404) return false
      throw error
    }
  }

  async commit(item: Annotated, result: ServerResult): Promise<ManifestObject> {
    if (!item.object.folderMarker) {
      const line = `${item.object.path.replaceAll('\t', ' ').replaceAll('\n', ' ')}\t${await this.linkSigner!.url(this.target(item.object.path))}\n`
      if (!this.linksOut!.write(line))
        await new Promise<void>((resolve) => this.linksOut!.once('drain', () => resolve()))
    }

    return result.entry
  }

  manifestSink(): WriteStream {
    return this.manifestOut!
  }

  sumsSink(): undefined {
    return undefined
  }

  async finish(): Promise<{manifestLocation: string; link: {url: string; expiresOn: string}}> {
    await new Promise<void>((resolve, reject) => {
      this.linksOut!.once('error', reject)
      this.linksOut!.end(() => resolve())
    })
    try {
      await this.target(LINKS_NAME).uploadFile(join(this.scratch!.path, LINKS_NAME), {
        blobHTTPHeaders: {blobContentType: 'text/tab-separated-values; charset=utf-8'},
      })
      // The manifest last: its presence marks the export finished.
      await this.target('manifest.json').uploadFile(join(this.scratch!.path, 'manifest.json'), {
        blobHTTPHeaders: {blobContentType: 'application/json'},
      })
    } catch (error) {
      throw fromAzureError(error, `the manifest upload to ${this.location}`)
    }

    await this.scratch!.remove()
    const url = await this.linkSigner!.url(this.target(LINKS_NAME))
    return {
      manifestLocation: `${this.location}manifest.json`,
      link: {url, expiresOn: this.linkSigner!.expiresOn.toISOString()},
    }
  }

  async abort(): Promise<void> {
    this.manifestOut?.on('error', () => {}).destroy()
    this.linksOut?.on('error', () => {}).destroy()
    await this.scratch?.remove()
  }
}
