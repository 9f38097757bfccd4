/**
 * Benchmark of the incident commands (not a test), on a private Azurite:
 *
 * 1. `incident list` against a long audit trail: R records over several monthly blobs, of which
 *    every tenth belongs to an incident (open, updates, notices, close). Measures the fold (records/s)
 *    and the peak heap + Buffers while it runs; the fold keeps only incidents, so the heap follows
 *    the largest monthly blob that AuditTrail.read() downloads, not R.
 * 2. `incident evidence` against H hours of archived sign-in and storage-read logs of 4 customers:
 *    the time for 1 and for 2 affected customers, next to one `logs bundle` and one `access report`
 *    alone — the evidence is built from those two, so it costs about their sum per customer.
 *
 *   node --expose-gc --import tsx bench/incident.ts [records=20000] [hours=72]
 */
import {randomBytes} from 'node:crypto'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {createAccessReport} from '../src/lib/access/report.js'
import {GENESIS_HASH} from '../src/lib/audit/trail.js'
import {AzureClients} from '../src/lib/azure/clients.js'
import {validateDataMap} from '../src/lib/datamap/load.js'
import {canonicalJson, sha256Hex} from '../src/lib/evidence/canonical.js'
import {collectIncidentEvidence} from '../src/lib/incident/evidence.js'
import {IncidentLog} from '../src/lib/incident/log.js'
import {listIncidents} from '../src/lib/incident/status.js'
import {createLogsBundle} from '../src/lib/logs/bundle.js'
import {startAzurite} from '../src/lib/local/azurite.js'
import {
  demoPrincipals,
  signInBlobName,
  signInRecord,
  storageReadBlobName,
  storageReadRecord,
} from '../src/lib/local/demo-records.js'

const records = Number(process.argv[2] ?? 20_000)
const hours = Number(process.argv[3] ?? 72)
const HOUR = 3_600_000
const CUSTOMERS = ['acme', 'acme-corp', 'globex', 'initech']

const accounts = ['contosoprod', 'contosologs', 'contosoaudit'].map((name) => ({
  name,
  key: randomBytes(64).toString('base64'),
}))
const azurite = await startAzurite({accounts})
const dir = mkdtempSync(join(tmpdir(), 'custos-bench-incident-'))
/** JS heap plus Buffers (a downloaded trail blob is a Buffer), after a forced GC. */
const inUse = () => {
  const m = process.memoryUsage()
  return m.heapUsed + m.arrayBuffers
}

const live = () => {
  globalThis.gc?.()
  return inUse()
}

const mib = (n: number) => `${(n / 1_048_576).toFixed(1)} MiB`
try {
  const map = validateDataMap(
    {
      customers: {known: CUSTOMERS},
      stores: [{name: 'documents', account: azurite.connectionString('contosoprod'), container: 'tenant-{customer}'}],
      logs: {
        archive: {
          account: azurite.connectionString('contosologs'),
          containers: ['insights-logs-signinlogs', 'insights-logs-storageread'],
        },
      },
      audit: {account: azurite.connectionString('contosoaudit'), container: 'custos-audit'},
      azure: {credential: 'local'},
    },
    join(dir, 'custos.yaml'),
  )
  const clients = new AzureClients(map)

  // 1. A long trail, written as AuditTrail writes it (hash chain, monthly append blobs), unsigned.
  const audit = clients.blobService(map.audit.account).getContainerClient('custos-audit')
  await audit.createIfNotExists()
  const start = Date.now() - records * 5 * 60_000
  let prev = GENESIS_HASH
  const byMonth = new Map<string, string[]>()
  let incidents = 0
  for (let seq = 1; seq <= records; seq++) {
    const time = new Date(start + seq * 5 * 60_000)
    let body: Record<string, unknown>
    if (seq % 10 === 0) {
      const n = Math.floor(seq / 50)
      const id = `inc-${time.toISOString().slice(0, 10).replaceAll('-', '')}-${n.toString(16).padStart(6, '0')}`
      const step = (seq / 10) % 5
      const action = ['incident.open', 'incident.update', 'incident.notify', 'incident.notify', 'incident.close'][step]
      if (step === 0) incidents++
      const details =
        step === 0
          ? {
              incident: id,
              detectedAt: new Date(time.getTime() - HOUR).toISOString(),
              summary: `incident ${n}`,
              customers: ['acme', 'globex'],
              facts: {},
            }
          : step === 1
            ? {incident: id, facts: {subjects: 10}}
            : step === 4
              ? {incident: id, resolution: 'done', unnotified: []}
              : {
                  incident: id,
                  lang: 'en',
                  template: 'built-in',
                  text: {sha256: 'x', bytes: 1},
                  html: {sha256: 'y', bytes: 1},
                }
      body = {
        seq,
        time: time.toISOString(),
        actor: 'bench',
        tool: 'custos bench',
        action,
        result: 'recorded',
        ...(step === 2 ? {customer: 'acme'} : step === 3 ? {customer: 'globex'} : {}),
        details,
        prev,
      }
    } else {
      body = {
        seq,
        time: time.toISOString(),
        actor: 'bench',
        tool: 'custos bench',
        action: 'export',
        result: 'succeeded',
        customer: CUSTOMERS[seq % 4],
        details: {files: seq % 1000, bytes: seq * 1024},
        prev,
      }
    }

    const hash = sha256Hex(canonicalJson(body))
    prev = hash
    const month = `trail/${time.toISOString().slice(0, 7)}.jsonl`
    byMonth.set(month, [...(byMonth.get(month) ?? []), JSON.stringify({...body, hash})])
  }

  for (const [name, lines] of byMonth) {
    const blob = audit.getAppendBlobClient(name)
    await blob.createIfNotExists()
    for (let i = 0; i < lines.length; i += 2000) {
      const chunk = `${lines.slice(i, i + 2000).join('\n')}\n`
      await blob.appendBlock(chunk, Buffer.byteLength(chunk))
    }
  }

  const base = live()
  let peak = base
  const sampler = setInterval(() => (peak = Math.max(peak, inUse())), 5)
  let t = performance.now()
  const list = await listIncidents(clients, map, {all: true})
  const listSeconds = (performance.now() - t) / 1000
  clearInterval(sampler)
  console.log(
    `incident list --all: ${records} trail records in ${byMonth.size} monthly blobs, ${incidents} incidents folded (${list.incidents.length} listed) in ${listSeconds.toFixed(2)} s = ${Math.round(records / listSeconds)} records/s; heap+buffers peak +${mib(peak - base)} over ${mib(base)} (largest monthly blob ${mib(Math.max(...[...byMonth.values()].map((l) => l.join('\n').length + l.length)))})`,
  )

  // 2. Archived logs: every 10 minutes one sign-in and one storage read per customer.
  const logs = clients.blobService(map.logs!.archive!.account)
  const detected = new Date(Math.floor(Date.now() / HOUR) * HOUR - 12 * HOUR)
  const principals = demoPrincipals(CUSTOMERS)
  const signIns = new Map<string, string[]>()
  const reads = new Map<string, string[]>()
  let logRecords = 0
  for (let at = detected.getTime() - hours * HOUR; at < Date.now(); at += 10 * 60_000) {
    const time = new Date(at)
    for (const [ci, customer] of CUSTOMERS.entries()) {
      const p = principals[ci * 3]
      const a = signInBlobName(time)
      signIns.set(a, [...(signIns.get(a) ?? []), JSON.stringify(signInRecord(p, time, {}))])
      const b = storageReadBlobName('contosoprod', time)
      reads.set(b, [
        ...(reads.get(b) ?? []),
        JSON.stringify(storageReadRecord('contosoprod', `tenant-${customer}`, 'contracts/a.pdf', customer, time, p)),
      ])
      logRecords += 2
    }
  }

  for (const [container, blobs] of [
    ['insights-logs-signinlogs', signIns],
    ['insights-logs-storageread', reads],
  ] as const) {
    const c = logs.getContainerClient(container)
    await c.createIfNotExists()
    for (const [name, lines] of blobs) {
      const blob = c.getAppendBlobClient(name)
      await blob.createIfNotExists()
      const text = `${lines.join('\n')}\n`
      await blob.appendBlock(text, Buffer.byteLength(text))
    }
  }

  const log = new IncidentLog(clients, map)
  const {incident} = await log.open({detectedAt: detected, summary: 'bench', customers: ['acme', 'globex']})
  const since = new Date(detected.getTime() - 24 * HOUR)
  const until = new Date()
  const window = `${((until.getTime() - since.getTime()) / HOUR).toFixed(0)} h window, ${logRecords} archived records of ${CUSTOMERS.length} customers`
  t = performance.now()
  await createLogsBundle(clients, map, {
    customer: 'acme',
    since,
    until,
    output: join(dir, 'logs.tar.gz'),
    signer: null,
    audit: log.trail,
  })
  const logsSeconds = (performance.now() - t) / 1000
  t = performance.now()
  await createAccessReport(clients, map, {
    since,
    until,
    customer: 'acme',
    burstFailures: 5,
    burstWindowInMs: 600_000,
    lookbackInMs: 0,
  })
  const accessSeconds = (performance.now() - t) / 1000
  const evidence = async (customers: string[]) => {
    const started = performance.now()
    await collectIncidentEvidence(clients, map, {
      incident: incident.id,
      customers,
      output: join(dir, `e-${customers.length}.tar.gz`),
      signer: null,
      knownIpWindowInMs: 0,
      until,
    })
    return (performance.now() - started) / 1000
  }

  const one = await evidence(['acme'])
  const two = await evidence(['acme', 'globex'])
  console.log(
    `${window}: logs bundle (1 customer) ${logsSeconds.toFixed(2)} s, access report (1 customer) ${accessSeconds.toFixed(2)} s, incident evidence 1 customer ${one.toFixed(2)} s, 2 customers ${two.toFixed(2)} s`,
  )
} finally {
  await azurite.stop()
  rmSync(dir, {recursive: true, force: true})
}
