/**
 * The reusable "no secret leaked" assertion of the reliability suite. A SecretScan collects what a
 * test produced — every CLI run's stdout and stderr, every file it wrote (plans, journals,
 * manifests, certificates, `.tar.gz` and `.zip` bundles unpacked entry by entry), every audit
 * record — and reports each occurrence of:
 *
 * - an account key of the environment (every Azurite account's key, as given and URL-encoded);
 * - the local development bearer token (LOCAL_DEVELOPMENT_TOKEN) and any `Bearer ey…` JWT;
 * - an unredacted SAS signature: `sig=` (or `sig%3D`) followed by anything but `[REDACTED]` (also
 *   percent-encoded, `%5BREDACTED%5D`, as secrets.ts writes it back into an encoded URL), the older
 *   bare `REDACTED`, or the sample publishers' `XXXXX`.
 *
 * A share link legitimately carries a `sig=` for the customer: a test names the links it expects on
 * the stdout of the command that created them (`allow`), and only there are they accepted.
 */
import {readFileSync, readdirSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {gunzipSync, inflateRawSync} from 'node:zlib'
import {Readable} from 'node:stream'

import tar from 'tar-stream'

import type {AzureClients} from '../../src/lib/azure/clients.js'
import {LOCAL_DEVELOPMENT_TOKEN} from '../../src/lib/azure/credential.js'

export interface SecretFinding {
  /** where: `stdout of …`, a file path, `audit …` */
  where: string
  kind: 'account-key' | 'bearer-token' | 'sas-signature'
  /** the text around it, with the secret itself shortened */
  excerpt: string
}

const SIG = /(?:[?&;\s"'(]|^)sig(?:=|%3D)(?!(?:\[|%5B|%255B)?REDACTED|XXXXX)([^&\s"'<>;)]+)/gi
const BEARER_JWT = /Bearer\s+ey[A-Za-z0-9_-]{4,}/g

/** Every secret occurrence in `text` (pure; the building block of SecretScan). */
export function findSecrets(text: string, where: string, literals: readonly string[]): SecretFinding[] {
  const found: SecretFinding[] = []
  const excerpt = (at: number, length: number) =>
    `${text.slice(Math.max(0, at - 40), at)}«${text.slice(at, at + Math.min(length, 12))}…»`.replaceAll('\n', '⏎')
  for (const literal of new Set([...literals, LOCAL_DEVELOPMENT_TOKEN])) {
    if (literal.length < 8) continue
    for (const form of new Set([literal, encodeURIComponent(literal)])) {
      for (let at = text.indexOf(form); at >= 0; at = text.indexOf(form, at + 1)) {
        found.push({
          where,
          kind: literal === LOCAL_DEVELOPMENT_TOKEN ? 'bearer-token' : 'account-key',
          excerpt: excerpt(at, form.length),
        })
      }
    }
  }

  for (const m of text.matchAll(BEARER_JWT))
    found.push({where, kind: 'bearer-token', excerpt: excerpt(m.index, m[0].length)})
  for (const m of text.matchAll(SIG)) found.push({where, kind: 'sas-signature', excerpt: excerpt(m.index, m[0].length)})
  return found
}

export class SecretScan {
  readonly findings: SecretFinding[] = []
  /** what was scanned, for the report (a scan that saw nothing proves nothing) */
  readonly scanned: string[] = []
  private readonly literals: string[]

  /** `accountKeys`: every account key of the environment. */
  constructor(accountKeys: readonly string[]) {
    this.literals = [...accountKeys]
  }

  /** Scans one text; occurrences of the `allow`ed strings (share links on their creator's stdout) are skipped. */
  text(where: string, text: string, allow: readonly string[] = []): void {
    let rest = text
    for (const a of allow) rest = rest.replaceAll(a, '[allowed share link]')
    this.scanned.push(where)
    this.findings.push(...findSecrets(rest, where, this.literals))
  }

  /** Scans a file: archives entry by entry, anything else as text. */
  async file(path: string): Promise<void> {
    const bytes = readFileSync(path)
    if (path.endsWith('.tar.gz') || path.endsWith('.tgz')) {
      for (const [name, content] of await untarGz(bytes)) this.text(`${path}!${name}`, content.toString('latin1'))
      return
    }

    if (path.endsWith('.zip')) {
      for (const [name, content] of unzip(bytes)) this.text(`${path}!${name}`, content.toString('latin1'))
      return
    }

    this.text(path, bytes.toString('latin1'))
  }

  /**
   * Scans every file below `dir` except `skip` (the test's own data map, which holds the keys it
   * gives custos: input, not output).
   */
  async dir(dir: string, skip: readonly string[] = []): Promise<void> {
    for (const entry of readdirSync(dir, {withFileTypes: true})) {
      const path = join(dir, entry.name)
      if (skip.includes(path)) continue
      if (entry.isDirectory()) await this.dir(path, skip)
      else if (entry.isFile() && statSync(path).size < 64 * 1024 * 1024) await this.file(path)
    }
  }

  /** Scans every blob of the audit container of `clients.map` (records, and lock blobs with their metadata). */
  async audit(clients: AzureClients): Promise<number> {
    const map = clients.map
    const container = clients.blobService(map.audit.account).getContainerClient(map.audit.container)
    if (!(await container.exists())) return 0
    let records = 0
    for await (const item of container.listBlobsFlat({includeMetadata: true})) {
      const text = (await container.getBlobClient(item.name).downloadToBuffer()).toString('utf8')
      records += text.split('\n').filter((l) => l.trim()).length
      this.text(`audit ${map.audit.container}/${item.name}`, `${text}\n${JSON.stringify(item.metadata ?? {})}`)
    }

    return records
  }

  /** Throws an assertion naming every finding (and refuses a scan that saw nothing). */
  assertClean(): void {
    if (this.scanned.length === 0) throw new Error('the secret scan saw nothing')
    if (this.findings.length === 0) return
    const lines = this.findings.slice(0, 20).map((f) => `  ${f.kind} in ${f.where}: ${f.excerpt}`)
    throw new Error(`${this.findings.length} secret(s) leaked:\n${lines.join('\n')}`)
  }
}

async function untarGz(bytes: Buffer): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>()
  const extract = tar.extract()
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = []
      stream.on('data', (c: unknown) => chunks.push(c as Buffer))
      stream.on('end', () => {
        out.set(header.name, Buffer.concat(chunks))
        next()
      })
    })
    extract.on('finish', resolve)
    extract.on('error', reject)
  })
  Readable.from([gunzipSync(bytes)]).pipe(extract)
  await done
  return out
}

/** The entries of a zip file, read through its central directory (stored or deflated entries). */
function unzip(bytes: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>()
  let eocd = bytes.length - 22
  while (eocd >= 0 && bytes.readUInt32LE(eocd) !== 0x06054b50) eocd--
  if (eocd < 0) throw new Error('not a zip file (no end of central directory)')
  const count = bytes.readUInt16LE(eocd + 10)
  let at = bytes.readUInt32LE(eocd + 16)
  for (let i = 0; i < count; i++) {
    if (bytes.readUInt32LE(at) !== 0x02014b50) throw new Error('broken zip central directory')
    const method = bytes.readUInt16LE(at + 10)
    const compressed = bytes.readUInt32LE(at + 20)
    const nameLength = bytes.readUInt16LE(at + 28)
    const extraLength = bytes.readUInt16LE(at + 30)
    const commentLength = bytes.readUInt16LE(at + 32)
    const local = bytes.readUInt32LE(at + 42)
    const name = bytes.subarray(at + 46, at + 46 + nameLength).toString('utf8')
    const dataStart = local + 30 + bytes.readUInt16LE(local + 26) + bytes.readUInt16LE(local + 28)
    const data = bytes.subarray(dataStart, dataStart + compressed)
    out.set(name, method === 8 ? inflateRawSync(data) : Buffer.from(data))
    at += 46 + nameLength + extraLength + commentLength
  }

  return out
}
