/** Audit records of incidents, built the way AuditTrail.append writes them (for the pure tests), and bundle readers. */
import {createHash} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {gunzipSync} from 'node:zlib'

import tar from 'tar-stream'

import type {AuditRecord} from '../../src/lib/audit/trail.js'
import {foldIncidents} from '../../src/lib/incident/fold.js'
import type {Incident, IncidentFacts} from '../../src/lib/incident/types.js'

let seq = 0

export function record(action: string, time: string, details: Record<string, unknown>, customer?: string): AuditRecord {
  seq++
  return {
    seq,
    time,
    actor: 'ops@contoso.example',
    tool: 'custos test',
    action,
    result: 'recorded',
    ...(customer ? {customer} : {}),
    details,
    prev: '0'.repeat(64),
    hash: seq.toString(16).padStart(64, '0'),
  }
}

export const COMPLETE_FACTS: IncidentFacts = {
  nature: 'A support account was used from an unknown IP address to read stored documents',
  dataCategories: ['contact data', 'contracts'],
  subjectCategories: ['end users', 'employees'],
  subjects: 120,
  records: 4000,
  consequences: 'Contract terms and contact data may be known to an unauthorised party',
  measures: 'Account disabled, sessions revoked, storage keys rotated',
  contact: 'Data protection officer, dpo@contoso.example, +49 30 1234567',
}

/** One incident opened at `openedAt`, detected at `detectedAt`, affecting `customers`. */
export function incidentOf(
  detectedAt: string,
  customers: string[],
  options: {
    facts?: IncidentFacts
    openedAt?: string
    notices?: Array<{customer: string; at: string}>
    closedAt?: string
    id?: string
  } = {},
): Incident {
  const id = options.id ?? 'inc-20261024-abcdef'
  const records = [
    record('incident.open', options.openedAt ?? detectedAt, {
      incident: id,
      detectedAt,
      summary: 'Documents read by a compromised support account',
      customers,
      facts: options.facts ?? {},
    }),
  ]
  for (const n of options.notices ?? [])
    records.push(
      record(
        'incident.notify',
        n.at,
        {incident: id, lang: 'en', template: 'built-in', text: {sha256: 'x', bytes: 1}, html: {sha256: 'y', bytes: 1}},
        n.customer,
      ),
    )
  if (options.closedAt)
    records.push(record('incident.close', options.closedAt, {incident: id, resolution: 'done', unnotified: []}))
  return foldIncidents(records).incidents.get(id)!
}

/** The entries of a .tar.gz (file path or bytes), in memory (test bundles are small). */
export function untar(source: string | Buffer): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    const files = new Map<string, Buffer>()
    const ex = tar.extract()
    ex.on('entry', (header, stream, next) => {
      const parts: Buffer[] = []
      stream.on('data', (c: unknown) => parts.push(c as Buffer))
      stream.on('end', () => {
        files.set(header.name, Buffer.concat(parts))
        next()
      })
    })
    ex.on('finish', () => resolve(files))
    ex.on('error', reject)
    ex.end(gunzipSync(typeof source === 'string' ? readFileSync(source) : source))
  })
}

/** Records of every `.jsonl` file in a log bundle, parsed. */
export async function bundleRecords(bundle: Buffer): Promise<Array<Record<string, unknown>>> {
  const out: Array<Record<string, unknown>> = []
  for (const [name, body] of await untar(bundle)) {
    if (!name.endsWith('.jsonl')) continue
    for (const line of body.toString('utf8').split('\n'))
      if (line.trim()) out.push(JSON.parse(line) as Record<string, unknown>)
  }

  return out
}

/** `sha256sum -c` of a SHA256SUMS file against the entries it names. */
export function checkSums(files: Map<string, Buffer>): string[] {
  const problems: string[] = []
  for (const line of files.get('SHA256SUMS')!.toString('utf8').trim().split('\n')) {
    const [sum, path] = line.split(/\s+/)
    const body = files.get(path)
    if (!body) problems.push(`${path} missing`)
    else if (createHash('sha256').update(body).digest('hex') !== sum) problems.push(`${path} differs`)
  }

  return problems
}
