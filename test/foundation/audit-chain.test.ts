/**
 * The audit trail as one chain whatever the writers' clocks, and tamper-evident for real: every
 * clock in here is injected, so the suite passes on any date (it failed on 1 December 2026 when a
 * fixed November date met the real clock).
 */
import assert from 'node:assert/strict'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import type {ContainerClient} from '@azure/storage-blob'

import {AuditTrail, GENESIS_HASH, ROLLOVER_ACTION, type AuditRecord} from '../../src/lib/audit/trail.js'
import {AzureClients} from '../../src/lib/azure/clients.js'
import {validateDataMap} from '../../src/lib/datamap/load.js'
import {checkExportGuard} from '../../src/lib/erase/guards.js'
import {CustosError} from '../../src/lib/errors.js'
import {canonicalJson, sha256Hex} from '../../src/lib/evidence/canonical.js'
import {startLocalAzureServer, type LocalAzureServer} from '../../src/lib/local/azure-server/index.js'
import {runCli} from '../support/cli.js'
import {getTestAzurite, uniqueName} from '../support/env.js'

interface Fixture {
  container: string
  clients: AzureClients
  trail: AuditTrail
  blobs: ContainerClient
  configPath: string
}

function fixture(container = uniqueName('audit'), extra: Record<string, unknown> = {}): Fixture {
  const azurite = getTestAzurite()
  const raw = {
    stores: [{name: 'documents', account: azurite.connectionString('contosoprod'), container: 'tenant-{customer}'}],
    audit: {account: azurite.connectionString('contosoaudit'), container},
    ...extra,
  }
  const configPath = join(mkdtempSync(join(tmpdir(), 'custos-audit-')), 'custos.json')
  writeFileSync(configPath, JSON.stringify(raw))
  const clients = new AzureClients(validateDataMap(JSON.parse(JSON.stringify(raw)), configPath))
  return {
    container,
    clients,
    trail: new AuditTrail(clients),
    blobs: clients.blobService(clients.map.audit.account).getContainerClient(container),
    configPath,
  }
}

const at = (iso: string) => () => new Date(iso)

async function blobLines(blobs: ContainerClient): Promise<Map<string, AuditRecord[]>> {
  const out = new Map<string, AuditRecord[]>()
  for await (const item of blobs.listBlobsFlat({prefix: 'trail/'})) {
    if (!item.name.endsWith('.jsonl')) continue
    const text = (await blobs.getBlobClient(item.name).downloadToBuffer()).toString('utf8')
    out.set(
      item.name,
      text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as AuditRecord),
    )
  }

  return out
}

/** Replaces one trail blob with `lines` (what an attacker with write access to the container can do). */
async function rewrite(blobs: ContainerClient, name: string, lines: string[]): Promise<void> {
  await blobs.createIfNotExists()
  await blobs.getBlobClient(name).deleteIfExists()
  const blob = blobs.getAppendBlobClient(name)
  await blob.create()
  if (lines.length === 0) return
  const body = `${lines.join('\n')}\n`
  await blob.appendBlock(body, Buffer.byteLength(body))
}

/** A record as an older custos (or an attacker who recomputes hashes) would write it, unsigned. */
function forged(body: Omit<AuditRecord, 'hash' | 'sig'>): AuditRecord {
  return {...body, hash: sha256Hex(canonicalJson(body))}
}

function recordBody(seq: number, prev: string, time: string, extra: Partial<AuditRecord> = {}) {
  return {
    seq,
    time,
    actor: 'ops@contoso.example',
    tool: 'custos 0.1.0',
    action: 'export',
    result: 'recorded' as const,
    prev,
    ...extra,
  }
}

describe('audit trail: one chain whatever the clocks', () => {
  it('chains records whose times come in month order, in reverse order and across a year boundary', async () => {
    const {trail, blobs, clients} = fixture()
    const times = [
      '2026-11-30T23:59:00.000Z',
      '2026-12-01T00:00:01.000Z',
      '2026-11-20T08:00:00.000Z', // behind the head: goes after it, into the head's blob
      '2027-01-01T00:00:00.000Z', // a new year: rolls forward
      '2026-12-31T23:59:59.000Z',
      '2025-06-01T00:00:00.000Z',
      '2027-01-15T12:00:00.000Z',
    ]
    const written: AuditRecord[] = []
    for (const [i, time] of times.entries())
      written.push(await new AuditTrail(clients).append({action: 'export', result: 'recorded', details: {i}}, at(time)))

    // The trail rolls forward twice (November → December → January), each time through a
    // roll-over record that closes the blob it leaves; records behind the head go after it.
    const layout = await blobLines(blobs)
    assert.deepEqual(
      [...layout].map(
        ([name, records]) =>
          `${name}: ${records.map((r) => `${r.seq}${r.action === ROLLOVER_ACTION ? '→' : ''}`).join(',')}`,
      ),
      ['trail/2026-11.jsonl: 1,2→', 'trail/2026-12.jsonl: 3,4,5→', 'trail/2027-01.jsonl: 6,7,8,9'],
    )
    assert.deepEqual(
      [...layout.values()].map((records) => records.at(-1)!.details?.next),
      ['trail/2026-12.jsonl', 'trail/2027-01.jsonl', undefined],
    )
    assert.deepEqual(
      written.map((r) => r.seq),
      [1, 3, 4, 6, 7, 8, 9],
    )
    const all = [...layout.values()].flat()
    for (const [i, r] of all.entries()) assert.equal(r.prev, i === 0 ? GENESIS_HASH : all[i - 1].hash, `seq ${r.seq}`)
    assert.deepEqual(
      written.map((r) => r.time),
      times,
      'each record keeps its own write time, even when it is earlier than its predecessor',
    )
    const result = await trail.verify()
    assert.deepEqual([result.ok, result.records, result.breaks, result.forks], [true, 9, [], []])
    assert.deepEqual(result.head, {seq: 9, hash: written[6].hash, time: times[6], blob: 'trail/2027-01.jsonl'})
  })

  it('keeps one chain when two writers whose clocks differ by minutes append concurrently across a month boundary', async () => {
    const {container, trail, blobs} = fixture()
    const base = Date.parse('2026-11-30T23:55:00.000Z')
    // Writer A is seven minutes behind writer B; both step one minute per record, so A writes into
    // November while B is already in December, and each rolls over at a different moment.
    // The trail starts in November, so that the first writer to reach December must roll it over.
    await trail.append({action: 'export', result: 'recorded'}, () => new Date(base - 60_000))
    const writers = [
      {trail: fixture(container).trail, offset: 0},
      {trail: fixture(container).trail, offset: 7 * 60_000},
      {trail: fixture(container).trail, offset: 3 * 60_000},
    ]
    await Promise.all(
      writers.map(async (w, n) => {
        for (let i = 0; i < 8; i++)
          await w.trail.append(
            {action: 'export', result: 'recorded', details: {n, i}},
            () => new Date(base + w.offset + i * 60_000),
          )
      }),
    )
    const result = await trail.verify()
    assert.deepEqual([result.ok, result.breaks, result.forks], [true, [], []], JSON.stringify(result.breaks))
    const records = [...(await blobLines(blobs)).values()].flat()
    assert.equal(records.filter((r) => r.action !== ROLLOVER_ACTION).length, 25)
    assert.equal(
      records.filter((r) => r.action === ROLLOVER_ACTION).length,
      1,
      'November is closed once, by one writer',
    )
    assert.equal(result.head?.seq, records.length)
  })

  it('agrees on one first record when two writers start an empty trail in different months at once', async () => {
    const {container, trail, blobs} = fixture()
    const [a, b] = [fixture(container).trail, fixture(container).trail]
    await Promise.all([
      a.append({action: 'export', result: 'started'}, at('2026-11-30T23:59:59.000Z')),
      b.append({action: 'export', result: 'started'}, at('2026-12-01T00:00:00.000Z')),
    ])
    const result = await trail.verify()
    assert.deepEqual([result.ok, result.forks.length], [true, 0], JSON.stringify(result.breaks))
    const records = [...(await blobLines(blobs)).values()].flat()
    assert.equal(records.filter((r) => r.action !== ROLLOVER_ACTION).length, 2)
    assert.equal(records.length, result.records)
  })

  it('finds a removed, a reordered and an edited record in a trail that spans months', async () => {
    for (const attack of ['remove', 'reorder', 'edit'] as const) {
      const {trail, blobs} = fixture()
      for (const [i, time] of ['2026-12-30', '2026-12-31', '2027-01-01', '2027-01-02', '2027-01-03'].entries())
        await trail.append(
          {action: 'erase.apply', result: 'succeeded', customer: 'acme', details: {i}},
          at(`${time}T10:00:00Z`),
        )
      const text = (await blobs.getBlobClient('trail/2027-01.jsonl').downloadToBuffer()).toString('utf8')
      const lines = text.trimEnd().split('\n')
      if (attack === 'remove') lines.splice(1, 1)
      if (attack === 'reorder') lines.splice(0, 2, lines[1], lines[0])
      if (attack === 'edit') lines[1] = lines[1].replace('"i":3', '"i":9')
      await rewrite(blobs, 'trail/2027-01.jsonl', lines)
      const result = await trail.verify()
      assert.equal(result.ok, false, attack)
      assert.deepEqual(result.forks, [], `${attack} is not taken for a fork`)
      const kinds = new Set(result.breaks.map((b) => b.kind))
      if (attack === 'edit') assert.ok(kinds.has('altered'), JSON.stringify(result.breaks))
      else assert.ok(kinds.has('chain') && kinds.has('sequence'), `${attack}: ${JSON.stringify(result.breaks)}`)
    }
  })

  it('detects truncation against a kept head: the last two records deleted verify on their own, not against the head', async () => {
    const {trail, blobs, configPath} = fixture()
    for (let i = 0; i < 5; i++)
      await trail.append({action: 'export', result: 'recorded', operationId: `op-${i}`}, at('2026-12-05T10:00:00Z'))
    const before = await trail.verify()
    const kept = `${before.head!.seq}:${before.head!.hash}`
    const lines = (await blobs.getBlobClient('trail/2026-12.jsonl').downloadToBuffer())
      .toString('utf8')
      .trimEnd()
      .split('\n')
    await rewrite(blobs, 'trail/2026-12.jsonl', lines.slice(0, 3))

    const alone = await runCli(['audit', 'trail', '--verify', '--config', configPath, '--json'])
    assert.equal(alone.code, 0, 'a shorter chain is intact on its own: that is why the head must be kept elsewhere')
    const truncated = await runCli([
      'audit',
      'trail',
      '--verify',
      '--expect-head',
      kept,
      '--config',
      configPath,
      '--json',
    ])
    assert.equal(truncated.code, 1, truncated.stdout + truncated.stderr)
    const v = (truncated.json() as {verification: {breaks: Array<{kind: string; reason: string}>; head: {seq: number}}})
      .verification
    assert.equal(v.head.seq, 3)
    assert.deepEqual(
      v.breaks.map((b) => b.kind),
      ['head'],
    )
    assert.match(v.breaks[0].reason, /seq 5, hash .* is not in the trail/)

    const bad = await runCli(['audit', 'trail', '--verify', '--expect-head', '5:nothex', '--config', configPath])
    assert.equal(bad.code, 2, 'a malformed head is a usage error')
  })

  it('explains a fork written by the old code (a record in an earlier month after a later blob existed) apart from tampering', async () => {
    const {trail, blobs, configPath} = fixture()
    // What custos 0.1 wrote: seq 1 in November; seq 2 in December chained to seq 1; then a record
    // stamped with a November time went into the November blob, after seq 1, as another seq 2.
    const r1 = forged(recordBody(1, GENESIS_HASH, '2026-11-20T10:00:00.000Z', {action: 'incident.open'}))
    const r2 = forged(recordBody(2, r1.hash, '2026-12-06T09:00:00.000Z'))
    const r2b = forged(recordBody(2, r1.hash, '2026-11-20T10:05:00.000Z', {action: 'incident.update'}))
    const r3b = forged(recordBody(3, r2b.hash, '2026-11-20T10:06:00.000Z'))
    const r3 = forged(recordBody(3, r2.hash, '2026-12-06T09:01:00.000Z'))
    await rewrite(
      blobs,
      'trail/2026-11.jsonl',
      [r1, r2b, r3b].map((r) => JSON.stringify(r)),
    )
    await rewrite(
      blobs,
      'trail/2026-12.jsonl',
      [r2, r3].map((r) => JSON.stringify(r)),
    )

    const result = await trail.verify()
    assert.deepEqual([result.ok, result.breaks], [true, []], JSON.stringify(result.breaks))
    assert.deepEqual(result.forks, [
      {
        blob: 'trail/2026-12.jsonl',
        line: 1,
        seq: 2,
        predecessor: {seq: 1, hash: r1.hash, blob: 'trail/2026-11.jsonl'},
        sibling: {seq: 2, blob: 'trail/2026-11.jsonl', line: 2},
      },
    ])
    const cli = await runCli(['audit', 'trail', '--verify', '--config', configPath])
    assert.equal(cli.code, 0)
    assert.match(cli.stdout, /Fork \(not tampering\): trail\/2026-12\.jsonl line 1 \(seq 2\) continues from seq 1/)

    // The trail goes on after its real head (the newest blob's last record), and stays verifiable.
    const next = await trail.append({action: 'export', result: 'recorded'}, at('2026-11-25T00:00:00Z'))
    assert.deepEqual([next.seq, next.prev], [4, r3.hash])
    assert.equal((await trail.verify()).ok, true)

    // The same shape inside one blob, or with a wrong sequence number, is tampering, not a fork.
    const r3x = forged(recordBody(3, r1.hash, '2026-12-06T09:02:00.000Z'))
    await rewrite(
      blobs,
      'trail/2026-12.jsonl',
      [r2, r3x].map((r) => JSON.stringify(r)),
    )
    const tampered = await trail.verify()
    assert.equal(tampered.ok, false)
    assert.ok(
      tampered.breaks.some((b) => b.seq === 3 && b.kind === 'chain'),
      JSON.stringify(tampered.breaks),
    )
  })

  it('never trusts a hand-appended record: the export guard ignores it and no record is chained to it', async () => {
    const {trail, blobs, clients} = fixture()
    await trail.append({action: 'export', result: 'started', customer: 'initech'}, at('2026-12-05T10:00:00Z'))
    const head = (await trail.verify()).head!
    const garbage = {
      seq: head.seq + 1,
      time: '2026-12-05T10:01:00.000Z',
      actor: 'ops@contoso.example',
      tool: 'custos 0.1.0',
      action: 'export',
      result: 'succeeded',
      customer: 'initech',
      details: {verified: true},
      prev: head.hash,
      hash: 'not-a-hash',
    }
    const line = `${JSON.stringify(garbage)}\n`
    await blobs.getAppendBlobClient(head.blob).appendBlock(line, Buffer.byteLength(line))

    const verdict = await checkExportGuard(clients, clients.map, 'initech', {
      required: true,
      now: new Date('2026-12-05T12:00:00Z'),
    })
    assert.equal(verdict.ok, false, 'the forged "verified export" does not satisfy the guard')
    assert.match(verdict.message, /no verified export of initech/)

    await assert.rejects(
      new AuditTrail(clients).append({action: 'erase.plan', result: 'started', customer: 'initech'}),
      (error: unknown) =>
        error instanceof CustosError &&
        error.code === 'AuditTrailDamaged' &&
        error.exitCode === 3 &&
        /cannot be trusted/.test(error.message),
    )
    const v = await trail.verify()
    assert.deepEqual([v.ok, v.records, v.breaks.map((b) => b.kind)], [false, 2, ['altered']])
  })
})

describe('audit trail: signatures where a signing key is configured (local Key Vault)', function () {
  this.timeout(120_000)
  let azure: LocalAzureServer
  let extra: Record<string, unknown>

  before(async () => {
    azure = await startLocalAzureServer({port: 0})
    const vault = await azure.addVault({name: 'kv-audit-chain', purgeProtection: false})
    const ca = join(mkdtempSync(join(tmpdir(), 'custos-audit-ca-')), 'ca.pem')
    writeFileSync(ca, azure.caCertificatePem)
    extra = {
      azure: {credential: 'local', caCertificate: ca, resourceManager: azure.url},
      keys: {vault, signingKey: 'custos-evidence'},
    }
    const {clients} = fixture(uniqueName('audit'), extra)
    await clients.keyClient().createRsaKey('custos-evidence', {keySize: 2048})
    await clients.keyClient().createRsaKey('attacker-key', {keySize: 2048})
  })

  after(async () => {
    await azure.close()
  })

  async function signedTrail(): Promise<Fixture> {
    const f = fixture(uniqueName('audit'), extra)
    await f.trail.append({action: 'export', result: 'started', customer: 'acme'}, at('2026-12-05T10:00:00Z'))
    await f.trail.append(
      {action: 'export', result: 'succeeded', customer: 'acme', details: {verified: true}},
      at('2026-12-05T10:05:00Z'),
    )
    await f.trail.append({action: 'erase.apply', result: 'succeeded', customer: 'acme'}, at('2026-12-05T11:00:00Z'))
    return f
  }

  /** The attack: drop records, edit a customer id, strip or replace signatures, recompute every hash and link. */
  async function rechain(f: Fixture, resign?: (hash: string) => Promise<AuditRecord['sig']>): Promise<void> {
    const records = (await blobLines(f.blobs)).get('trail/2026-12.jsonl')!
    const kept = records.filter((r) => r.action !== 'erase.apply')
    let prev = GENESIS_HASH
    const lines: string[] = []
    for (const [i, r] of kept.entries()) {
      const {hash: _hash, sig: _sig, ...body} = r
      const rebuilt = forged({...body, seq: i + 1, prev, customer: 'globex'})
      if (resign) rebuilt.sig = await resign(rebuilt.hash)
      prev = rebuilt.hash
      lines.push(JSON.stringify(rebuilt))
    }

    await rewrite(f.blobs, 'trail/2026-12.jsonl', lines)
  }

  it('verifies a signed trail and names the key', async () => {
    const f = await signedTrail()
    const v = await f.trail.verify()
    assert.deepEqual([v.ok, v.records, v.signed, v.signingKey], [true, 3, 3, 'custos-evidence'])
  })

  it('fails a re-hashed chain whose signatures were removed, and the guard trusts none of it', async () => {
    const f = await signedTrail()
    await rechain(f)
    const v = await f.trail.verify()
    assert.equal(v.ok, false)
    assert.deepEqual(
      v.breaks.map((b) => [b.seq, b.kind]),
      [
        [1, 'unsigned'],
        [2, 'unsigned'],
      ],
    )
    const cli = await runCli(['audit', 'trail', '--verify', '--config', f.configPath])
    assert.equal(cli.code, 1)
    assert.match(cli.stdout, /not signed, but the data map names the signing key custos-evidence/)
    const verdict = await checkExportGuard(f.clients, f.clients.map, 'globex', {
      required: true,
      now: new Date('2026-12-05T12:00:00Z'),
    })
    assert.equal(verdict.ok, false)
  })

  it('fails a chain re-signed with another key of the same vault', async () => {
    const f = await signedTrail()
    const attacker = await f.clients.keyClient().getKey('attacker-key')
    await rechain(f, async (hash) => {
      const signed = await f.clients.cryptographyClient(attacker.id!).sign('RS256', Buffer.from(hash, 'hex'))
      return {alg: 'RS256', kid: attacker.id!, value: Buffer.from(signed.result).toString('base64')}
    })
    const v = await f.trail.verify()
    assert.equal(v.ok, false)
    assert.deepEqual(
      v.breaks.map((b) => b.kind),
      ['signature', 'signature'],
    )
    assert.match(v.breaks[0].reason, /not with the configured signing key custos-evidence/)
  })
})
