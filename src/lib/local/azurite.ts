/**
 * Starts Azurite (the blob emulator from the `azurite` npm package) as a child process on loopback,
 * for the tests and `custos demo`. Never in-memory (`--inMemoryPersistence` slows down badly under
 * many deletes); always `--disableTelemetry --silent --loose --skipApiVersionCheck`.
 *
 * What Azurite 3.35.0 does, measured with @azure/storage-blob 12.32 (shared key, HTTP, --loose):
 *
 * listBlobsFlat / listBlobsByHierarchy
 *   includeSnapshots      works (snapshots listed, `snapshot` set)
 *   includeMetadata       works
 *   includeTags           works (`tags` in items; without it only `tagCount`). findBlobsByTags works.
 *   includeVersions       IGNORED: 200, no versionId / isCurrentVersion; Azurite has no versioning
 *   includeDeleted(WithVersions)  IGNORED: 200, deleted blobs never listed. No soft delete at all:
 *                         setProperties({deleteRetentionPolicy}) is stored and echoed but has no
 *                         effect; undelete() -> 501 APINotImplemented; listContainers({includeDeleted})
 *                         ignored; undeleteContainer -> 501 APINotImplemented
 *   includeLegalHold / includeImmutabilityPolicy  IGNORED: 200, no fields
 * Blob Batch
 *   deleteBlobs(blobClients[, options])  works, sub-responses 202; 404 BlobNotFound / 412
 *                         ConditionNotMet per item; blob with snapshots and no option -> 409
 *                         SnapshotsPresent; {deleteSnapshots:'include'} removes blob + snapshots,
 *                         'only' keeps the base blob; 256 per batch fine (257: the SDK refuses).
 *                         NB: the overload is deleteBlobs(urls, credential, options) OR
 *                         deleteBlobs(clients, options): passing (clients, credential, options)
 *                         silently drops the options.
 *   batch delete of a snapshot URL (blobClient.withSnapshot(s))  FAILS in a batch: 404 BlobNotFound
 *                         (a direct snapshot delete works)
 * setLegalHold / setImmutabilityPolicy / deleteImmutabilityPolicy  FAIL: 501 APINotImplemented;
 *                         getProperties has no legalHold / immutability fields
 * Content-MD5 (block blobs)
 *   upload() / uploadData() single-shot, no blobContentMD5   Azurite computes and stores it
 *   with correct blobContentMD5                             stored
 *   single-shot with a WRONG blobContentMD5 (or transactional MD5)  400 InvalidOperation
 *                         "Provided contentMD5 doesn't match"
 *   uploadData() staged in blocks (> maxSingleShotSize), no blobContentMD5   NONE stored (as Azure)
 *   staged with blobContentMD5 / commitBlockList / setHTTPHeaders   stored as given, NOT validated
 *   returned by getProperties, download (contentMD5 and blobContentMD5) and listings;
 *   download(range, {rangeGetContentMD5}) works; server-side copy keeps it
 * Copy across two Azurite accounts
 *   syncCopyFromURL / beginCopyFromURL with a SAS source URL   work (copyStatus success)
 *   same without SAS (private source)   403 CannotVerifyCopySource
 * SAS: blob/container generateSasUrl work (tampered sig -> 403); account SAS works.
 *   getUserDelegationKey -> 403 AuthenticationFailed (needs OAuth; Azurite has it only with
 *   --oauth basic over HTTPS, which we do not use), so no user delegation SAS.
 * AppendBlobClient.appendBlock conditions work: appendPosition mismatch -> 412
 *   AppendPositionConditionNotMet, stale ifMatch -> 412 ConditionNotMet, maxSize -> 412
 *   MaxBlobSizeConditionNotMet; create({ifNoneMatch:'*'}) on existing -> 409 BlobAlreadyExists
 * Leases on blobs and containers work: acquire/renew/change/break/release; write or delete
 *   without the lease id -> 412 LeaseIdMissing; leaseState/leaseStatus/leaseDuration reported
 * Encryption: x-ms-server-encrypted is always true (isServerEncrypted / serverEncrypted on
 *   upload, getProperties, download, listings). encryptionScope (blob) and defaultEncryptionScope
 *   (container) are accepted but IGNORED: never reported back.
 * Also: versionId is never returned; setAccessTier works; getAccountInfo says Standard_RAGRS /
 *   StorageV2; HEAD errors (getProperties on a missing blob) carry no error code, only 404.
 */

import {spawn, type ChildProcess} from 'node:child_process'
import {mkdtemp, rm} from 'node:fs/promises'
import {rmSync} from 'node:fs'
import {createRequire} from 'node:module'
import {request} from 'node:http'
import {tmpdir} from 'node:os'
import {freeLoopbackPort, OutputTail, waitForExit} from './process.js'
import {dirname, join, resolve} from 'node:path'

export interface AzuriteAccount {
  name: string
  /** base64 */
  key: string
}

export interface StartAzuriteOptions {
  /** extra accounts; devstoreaccount1 ({@link DEV_ACCOUNT}) is always added */
  accounts?: AzuriteAccount[]
  /** workspace folder; default: a new temp dir, removed again by stop() */
  location?: string
  /** 0/undefined = pick a free loopback port */
  port?: number
  /** path of Azurite's debug log file (`--debug`) */
  debugLog?: string
}

/** One running Azurite service (blob or table): its own process and port. */
interface AzuriteServiceInstance {
  /** DefaultEndpointsProtocol=http;AccountName=..;AccountKey=..;BlobEndpoint|TableEndpoint=http://127.0.0.1:<port>/<account>; */
  connectionString(account?: string): string
  /** every account Azurite serves (the requested ones, plus devstoreaccount1) */
  accounts: AzuriteAccount[]
  port: number
  location: string
  pid: number
  /** kills the child, waits for exit, removes the temp location if we created it; idempotent */
  stop(): Promise<void>
}

export interface AzuriteInstance extends AzuriteServiceInstance {
  /** http://127.0.0.1:<port>/<account>; default account: devstoreaccount1 */
  blobEndpoint(account?: string): string
}

/** The well-known development account published in the Azurite / Azure Storage emulator docs. */
export const DEV_ACCOUNT: AzuriteAccount = Object.freeze({
  name: 'devstoreaccount1',
  key: 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==',
})

const HOST = '127.0.0.1'
const START_TIMEOUT_MS = 20_000
const STOP_GRACE_MS = 5000
const MAX_PORT_ATTEMPTS = 5
const TAIL_BYTES = 4096

/**
 * Runs in the child before Azurite: when the IPC channel to the parent goes away (the parent died,
 * even by SIGKILL, which no 'exit' handler sees), Azurite exits too. On SIGTERM Azurite closes its
 * server; the channel must then stop holding the event loop open so that the process can end.
 */
const WATCHDOG =
  'data:text/javascript,' +
  encodeURIComponent(
    'if (process.send) {' +
      ' process.on("disconnect", () => process.exit(0));' +
      ' process.on("SIGTERM", () => process.channel?.unref());' +
      ' }',
  )

/** The services of the azurite package custos starts: blob (stores, audit, exports) and table. */
type AzuriteService = 'blob' | 'table'

function azuriteBin(service: AzuriteService): string {
  const require = createRequire(import.meta.url)
  const pkgPath = require.resolve('azurite/package.json')
  const pkg = require(pkgPath) as {bin?: Record<string, string> | string}
  const bin = typeof pkg.bin === 'object' ? pkg.bin[`azurite-${service}`] : undefined
  if (!bin) throw new Error(`azurite at ${dirname(pkgPath)} has no "azurite-${service}" bin entry`)
  return resolve(dirname(pkgPath), bin)
}

function validateAccounts(requested: AzuriteAccount[]): AzuriteAccount[] {
  const byName = new Map<string, AzuriteAccount>()
  for (const account of [...requested, DEV_ACCOUNT]) {
    // Azure's rule; also keeps ':' and ';' out of AZURITE_ACCOUNTS (Azurite silently falls back to
    // devstoreaccount1 alone when it cannot parse the variable).
    if (!/^[a-z0-9]{3,24}$/.test(account.name)) {
      throw new Error(`Azurite account name "${account.name}" is invalid: 3-24 lower-case letters and digits`)
    }

    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(account.key) || account.key.length % 4 !== 0) {
      throw new Error(`Azurite account "${account.name}": the key is not base64`)
    }

    const seen = byName.get(account.name)
    if (seen && seen.key !== account.key) {
      throw new Error(`Azurite account "${account.name}" is given twice with different keys`)
    }

    if (!seen) byName.set(account.name, {name: account.name, key: account.key})
  }

  return [...byName.values()]
}

/** Resolves with the Server header of any HTTP answer on the endpoint; rejects if nothing answers. */
function probe(port: number, account: string): Promise<string> {
  return new Promise((resolveProbe, reject) => {
    const req = request(
      {host: HOST, port, path: `/${account}?comp=list`, method: 'GET', timeout: 1000, agent: false},
      (res) => {
        res.resume()
        resolveProbe(String(res.headers.server ?? ''))
      },
    )
    req.once('timeout', () => req.destroy(new Error('probe timed out')))
    req.once('error', reject)
    req.end()
  })
}

const live = new Set<ChildProcess>()
const createdLocations = new Set<string>()
let exitHookInstalled = false

function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.on('exit', () => {
    for (const child of live) {
      try {
        child.kill('SIGKILL')
      } catch {
        // already gone
      }
    }

    for (const dir of createdLocations) {
      try {
        rmSync(dir, {recursive: true, force: true})
      } catch {
        // best effort
      }
    }
  })
}

interface Launched {
  child: ChildProcess
  stderr: OutputTail
  stdout: OutputTail
}

class StartFailure extends Error {
  constructor(
    message: string,
    readonly portInUse: boolean,
  ) {
    super(message)
  }
}

async function launch(
  bin: string,
  port: number,
  location: string,
  accounts: AzuriteAccount[],
  debugLog?: string,
  service: AzuriteService = 'blob',
): Promise<Launched> {
  const args = [
    '--import',
    WATCHDOG,
    bin,
    `--${service}Host`,
    HOST,
    `--${service}Port`,
    String(port),
    '--location',
    location,
    '--silent',
    '--disableTelemetry',
    '--skipApiVersionCheck',
    '--loose',
  ]
  if (debugLog) args.push('--debug', resolve(debugLog))
  const child = spawn(process.execPath, args, {
    cwd: location,
    env: {...process.env, AZURITE_ACCOUNTS: accounts.map((a) => `${a.name}:${a.key}`).join(';')},
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    windowsHide: true,
  })
  live.add(child)
  child.once('exit', () => live.delete(child))
  const stderr = new OutputTail(TAIL_BYTES)
  const stdout = new OutputTail(TAIL_BYTES)
  child.stderr!.on('data', (c: Buffer) => stderr.push(c))
  child.stdout!.on('data', (c: Buffer) => stdout.push(c))
  // Do not keep the parent alive for Azurite's sake: the 'exit' hook kills it.
  child.unref()
  child.channel?.unref()
  ;(child.stdout as unknown as {unref?: () => void}).unref?.()
  ;(child.stderr as unknown as {unref?: () => void}).unref?.()

  let spawnError: Error | undefined
  child.once('error', (err) => {
    spawnError = err
  })

  const describe = (why: string): string => {
    const tail = stderr.toString() || stdout.toString()
    return `Azurite did not start on ${HOST}:${port} (${why})` + (tail ? `; Azurite said:\n${tail}` : '')
  }

  const deadline = Date.now() + START_TIMEOUT_MS
  for (;;) {
    if (spawnError) throw new StartFailure(describe(`spawn failed: ${spawnError.message}`), false)
    if (child.exitCode !== null || child.signalCode !== null) {
      // give the pipes a moment to deliver the last words
      await new Promise((r) => setTimeout(r, 50))
      const inUse = /EADDRINUSE/.test(stderr.toString() + stdout.toString())
      throw new StartFailure(describe(`exited with ${child.exitCode ?? child.signalCode}`), inUse)
    }

    try {
      const server = await probe(port, accounts[0].name)
      if (server.startsWith(service === 'blob' ? 'Azurite-Blob' : 'Azurite-Table')) return {child, stderr, stdout}
      // Something else answers on that port (lost a race for it): not ours.
      child.kill('SIGKILL')
      await waitForExit(child)
      throw new StartFailure(describe(`another server ("${server || 'no Server header'}") answers on the port`), true)
    } catch (error) {
      if (error instanceof StartFailure) throw error
    }

    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      await waitForExit(child)
      throw new StartFailure(describe(`no answer within ${START_TIMEOUT_MS / 1000} s`), false)
    }

    await new Promise((r) => setTimeout(r, 100))
  }
}

export async function startAzurite(options: StartAzuriteOptions = {}): Promise<AzuriteInstance> {
  const started = await startService('blob', options)
  return {...started, blobEndpoint: started.endpoint}
}

/** Azurite's table service (`azurite-table`), started like the blob service: its own process and port. */
export interface AzuriteTableInstance extends AzuriteServiceInstance {
  /** http://127.0.0.1:<port>/<account>; default account: devstoreaccount1 */
  tableEndpoint(account?: string): string
}

/**
 * Starts Azurite's table service on loopback (same options as {@link startAzurite}; on disk, never
 * in memory). Measured with @azure/data-tables 13.3 (shared key, HTTP): entity group transactions
 * of 100 deletes work; query pages carry the continuation headers; minimal metadata carries
 * `@odata.type` for Int64, DateTime, Guid and Binary properties.
 */
export async function startAzuriteTable(options: StartAzuriteOptions = {}): Promise<AzuriteTableInstance> {
  const started = await startService('table', options)
  return {...started, tableEndpoint: started.endpoint}
}

async function startService(
  service: AzuriteService,
  options: StartAzuriteOptions,
): Promise<AzuriteServiceInstance & {endpoint(account?: string): string}> {
  const accounts = validateAccounts(options.accounts ?? [])
  const bin = azuriteBin(service)
  const ownLocation = !options.location
  const location = options.location ? resolve(options.location) : await mkdtemp(join(tmpdir(), 'custos-azurite-'))
  installExitHook()
  if (ownLocation) createdLocations.add(location)

  let launched: Launched | undefined
  let port = 0
  try {
    for (let attempt = 1; ; attempt++) {
      port = options.port || (await freeLoopbackPort())
      try {
        launched = await launch(bin, port, location, accounts, options.debugLog, service)
        break
      } catch (error) {
        const retry = error instanceof StartFailure && error.portInUse && !options.port && attempt < MAX_PORT_ATTEMPTS
        if (!retry) throw error
      }
    }
  } catch (error) {
    if (ownLocation) {
      await rm(location, {recursive: true, force: true})
      createdLocations.delete(location)
    }

    throw error
  }

  const {child} = launched
  const find = (name = DEV_ACCOUNT.name): AzuriteAccount => {
    const account = accounts.find((a) => a.name === name)
    if (!account)
      throw new Error(`Azurite does not serve account "${name}" (it serves ${accounts.map((a) => a.name).join(', ')})`)
    return account
  }

  const endpoint = (name?: string): string => `http://${HOST}:${port}/${find(name).name}`
  const endpointField = service === 'blob' ? 'BlobEndpoint' : 'TableEndpoint'
  let stopping: Promise<void> | undefined

  return {
    accounts,
    port,
    location,
    pid: child.pid!,
    endpoint,
    connectionString(name?: string): string {
      const account = find(name)
      return `DefaultEndpointsProtocol=http;AccountName=${account.name};AccountKey=${account.key};${endpointField}=${endpoint(account.name)};`
    },
    stop(): Promise<void> {
      stopping ??= (async () => {
        const exited = waitForExit(child)
        if (child.exitCode === null && child.signalCode === null) {
          child.ref() // keep the parent alive until the child's exit is seen
          child.kill('SIGTERM') // Azurite closes its server and flushes its database
          const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS)
          await exited
          clearTimeout(timer)
        }

        if (ownLocation) {
          await rm(location, {recursive: true, force: true, maxRetries: 3})
          createdLocations.delete(location)
        }
      })()
      return stopping
    },
  }
}
