/**
 * `certificate verify` beyond hash and signature: a document re-sealed after an edit has a valid
 * hash, so only the kind-specific checks (it names what it claims) can catch it.
 */
import assert from 'node:assert/strict'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {checkConsistency} from '../../src/lib/evidence/consistency.js'
import {verifyEvidenceFile} from '../../src/lib/evidence/verify-document.js'
import {sealDocument, type EvidenceKind} from '../../src/lib/evidence/envelope.js'
import {runCli} from './helpers.js'

const dir = mkdtempSync(join(tmpdir(), 'custos-verify-'))

async function sealed(name: string, kind: EvidenceKind, body: unknown): Promise<string> {
  const path = join(dir, name)
  writeFileSync(path, JSON.stringify(await sealDocument(kind, body), null, 2))
  return path
}

function manifest(overrides: Record<string, unknown> = {}) {
  return {
    customer: 'acme',
    destination: {kind: 'folder'},
    objects: [
      {
        store: 'documents',
        name: 'reports/1.txt',
        kind: 'current',
        path: 'documents/reports/1.txt',
        size: 10,
        lastModified: '2026-11-01T00:00:00.000Z',
        contentMD5: 'AAAA',
      },
      {
        store: 'attachments',
        name: 'acme/files/1.bin',
        kind: 'snapshot',
        snapshot: '2026-11-02T00:00:00.0000000Z',
        path: 'attachments/acme/files/1.bin',
        size: 5,
        lastModified: '2026-11-01T00:00:00.000Z',
      },
    ],
    options: {includeVersions: true, includeSnapshots: true},
    startedAt: '2026-11-23T00:00:00.000Z',
    stores: [
      {
        name: 'documents',
        account: 'contosoprod',
        container: 'tenant-acme',
        prefix: '',
        layout: 'container-per-customer',
      },
      {
        name: 'attachments',
        account: 'contosoprod',
        container: 'attachments',
        prefix: 'acme/',
        layout: 'prefix-per-customer',
      },
    ],
    tool: 'custos 0.1.0',
    totals: {objects: 2, bytes: 15, current: 1, versions: 0, snapshots: 1, withContentMD5: 1},
    verification: 'every byte checked against Content-MD5 where present',
    ...overrides,
  }
}

describe('certificate verify: does the document name what it claims', () => {
  it('accepts a consistent export manifest and rejects one whose totals or objects contradict it (exit 1, "inconsistent")', async () => {
    const good = await verifyEvidenceFile(await sealed('good.json', 'custos.export-manifest', manifest()))
    assert.deepEqual([good.status, good.consistency.problems], ['unsigned', []])

    const wrongTotals = await sealed(
      'totals.json',
      'custos.export-manifest',
      manifest({totals: {objects: 3, bytes: 15, current: 1, versions: 0, snapshots: 1, withContentMD5: 1}}),
    )
    const run = await runCli(['certificate', 'verify', wrongTotals, '--json'])
    assert.equal(run.code, 1, run.stdout)
    const report = run.json() as {status: string; hash: string; consistency: {problems: string[]}}
    assert.deepEqual([report.status, report.hash], ['inconsistent', 'valid'])
    assert.deepEqual(report.consistency.problems, ['totals.objects is 3 but the objects add up to 2'])

    const foreign = manifest()
    ;(foreign.objects[1] as {name: string}).name = 'acme-corp/files/1.bin'
    const outside = await verifyEvidenceFile(await sealed('outside.json', 'custos.export-manifest', foreign))
    assert.equal(outside.status, 'inconsistent')
    assert.match(
      outside.consistency.problems[0],
      /attachments:acme-corp\/files\/1\.bin is not inside a store of the manifest/,
    )
  })

  it('rejects a re-sealed deletion certificate whose totals are not the sum of its stores', () => {
    const store = (name: string, deleted: number) => ({
      store: name,
      container: 'tenant-acme',
      prefix: '',
      planned: {items: 10, bytes: 100},
      deleted: {items: deleted, bytes: deleted * 10},
      alreadyGone: {items: 10 - deleted, bytes: (10 - deleted) * 10},
      retained: {items: 0, bytes: 0},
      failed: {items: 0, bytes: 0},
      softDeletedBeforeErase: 0,
      verification: {result: 'empty', live: 0},
    })
    const body = {
      customer: 'acme',
      stores: [store('a', 10), store('b', 7)],
      totals: {
        planned: {items: 20, bytes: 200},
        deleted: {items: 20, bytes: 200},
        alreadyGone: {items: 3, bytes: 30},
        retained: {items: 0, bytes: 0},
        failed: {items: 0, bytes: 0},
      },
      plan: {items: 20, bytes: 200},
      verification: {result: 'empty', live: 0},
      key: {name: 'tenant-acme', state: 'purged', unrecoverableFrom: '2026-11-23T00:00:00.000Z'},
      startedAt: '2026-11-23T00:00:00.000Z',
      finishedAt: '2026-11-23T00:01:00.000Z',
    }
    const check = checkConsistency({kind: 'custos.deletion-certificate', body})
    assert.deepEqual(check.problems, [
      'totals.deleted (20 items, 200 bytes) is not the sum over the stores (17 items, 170 bytes)',
    ])
    body.totals.deleted = {items: 17, bytes: 170}
    assert.deepEqual(checkConsistency({kind: 'custos.deletion-certificate', body}).problems, [])
    body.key.name = 'tenant-globex'
    assert.deepEqual(checkConsistency({kind: 'custos.deletion-certificate', body}).problems, [
      'the key tenant-globex does not name customer acme',
    ])
  })

  it('reports a file that is not JSON as altered (exit 1) and a missing file as a usage error (exit 2)', async () => {
    const path = join(dir, 'broken.json')
    writeFileSync(path, '{"kind": "custos.deletion-certificate", "body": {')
    const broken = await runCli(['certificate', 'verify', path, '--json'])
    assert.equal(broken.code, 1)
    assert.equal((broken.json() as {status: string}).status, 'altered')
    const missing = await runCli(['certificate', 'verify', join(dir, 'nope.json'), '--json'])
    assert.equal(missing.code, 2)
  })
})
