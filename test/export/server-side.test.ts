import assert from 'node:assert/strict'

import type {CustosError} from '../../src/lib/errors.js'
import {verifyDocument} from '../../src/lib/evidence/envelope.js'
import {exportCustomer} from '../../src/lib/export/export.js'
import type {ExportManifest} from '../../src/lib/export/manifest.js'
import {checkLinkExpiry, MAX_LINK_EXPIRY_MS} from '../../src/lib/export/sas.js'
import {auditRecords, makeFixture, makeMap, type ExportFixture} from './fixtures.js'

const DAY = 24 * 60 * 60 * 1000

async function download(url: string): Promise<Buffer> {
  const response = await fetch(url)
  assert.equal(response.status, 200, `GET ${url.split('?')[0]} → ${response.status}`)
  return Buffer.from(await response.arrayBuffer())
}

describe('customer export --server-side', () => {
  let fixture: ExportFixture

  before(async () => {
    fixture = await makeFixture()
  })

  it('copies inside the service under <customer>/<time>/ and hands over an HTTPS-only, read-only link', async () => {
    const summary = await exportCustomer(fixture.clients, fixture.map, 'acme', {
      target: {kind: 'server-side', linkExpiryInMs: 2 * DAY},
    })
    assert.equal(summary.verified, true)
    assert.equal(summary.transferred.objects, fixture.expected.size)
    const link = new URL(summary.link!.url)
    assert.equal(link.searchParams.get('spr'), 'https', 'HTTPS only')
    assert.equal(link.searchParams.get('sp'), 'r', 'read only')
    assert.equal(link.searchParams.get('sr'), 'b', 'one blob, never the whole exports container')
    const expires = Date.parse(link.searchParams.get('se')!)
    assert.ok(Math.abs(expires - (Date.now() + 2 * DAY)) < 5 * 60 * 1000, 'expires after the requested 2 days')
    assert.match(
      link.pathname,
      new RegExp(
        `/${fixture.exportsContainer}/acme/\\d{4}-\\d\\d-\\d\\dT\\d\\d-\\d\\d-\\d\\d\\.\\d{3}Z/download-links\\.tsv$`,
      ),
    )
    // Azurite serves plain HTTP only, and it enforces spr=https: the link is refused over http.
    assert.equal((await fetch(link)).status, 403)
    // every copy is byte-identical, and nothing else of the customer's folder is there
    const exportsContainer = fixture.exportsClient()
    const prefix = summary.manifest!.location.split('/').slice(2, -1).join('/') + '/'
    const names: string[] = []
    for await (const item of exportsContainer.listBlobsFlat({prefix})) names.push(item.name.slice(prefix.length))
    assert.deepEqual(
      names.filter((n) => !['manifest.json', 'download-links.tsv', '.custos-export.json'].includes(n)).sort(),
      [...fixture.expected.keys()].sort(),
    )
    for (const [path, data] of fixture.expected)
      assert.ok((await exportsContainer.getBlobClient(prefix + path).downloadToBuffer()).equals(data), path)
    const manifest = JSON.parse(
      (await exportsContainer.getBlobClient(`${prefix}manifest.json`).downloadToBuffer()).toString('utf8'),
    ) as ExportManifest
    assert.equal((await verifyDocument(manifest)).ok, true)
    assert.deepEqual(manifest.body.destination, {
      kind: 'server-side',
      account: 'contosoexport',
      container: fixture.exportsContainer,
      prefix,
    })
    assert.equal(manifest.body.objects.length, fixture.expected.size)
    assert.ok(
      manifest.body.objects.every((o) => o.sha256 === undefined && o.contentMD5),
      'no SHA-256 claimed for bytes custos never saw',
    )
    const records = (await auditRecords(fixture)).filter((r) => r.customer === 'acme' && r.result === 'succeeded')
    assert.equal((records.at(-1)!.details as Record<string, unknown>).destination, 'server-side')
    assert.equal((records.at(-1)!.details as Record<string, unknown>).verified, true)
  })

  it('its links read the exported bytes and cannot write, delete or list (checked with an http-allowed link, since Azurite has no HTTPS)', async () => {
    const summary = await exportCustomer(fixture.clients, fixture.map, 'acme', {
      target: {kind: 'server-side', linkExpiryInMs: DAY, allowHttpOnLoopback: true},
    })
    const link = summary.link!.url
    assert.equal(new URL(link).searchParams.get('spr'), 'https,http')
    assert.equal(new URL(link).searchParams.get('sp'), 'r')
    const rows = (await download(link))
      .toString('utf8')
      .trimEnd()
      .split('\n')
      .map((l) => l.split('\t'))
    assert.equal(rows[0][0], 'manifest.json')
    const manifest = JSON.parse((await download(rows[0][1])).toString('utf8')) as ExportManifest
    assert.equal((await verifyDocument(manifest)).ok, true)
    assert.deepEqual(
      rows.slice(1).map((r) => r[0]),
      manifest.body.objects.map((o) => o.path),
    )
    for (const [path, url] of rows.slice(1)) {
      assert.ok((await download(url)).equals(fixture.expected.get(path)!), path)
      assert.equal(new URL(url).searchParams.get('sp'), 'r')
    }

    const sample = rows[1][1]
    assert.equal(
      (await fetch(sample, {method: 'PUT', headers: {'x-ms-blob-type': 'BlockBlob'}, body: 'overwrite'})).status,
      403,
      'write refused',
    )
    assert.equal((await fetch(sample, {method: 'DELETE'})).status, 403, 'delete refused')
    const list = new URL(link)
    list.pathname = list.pathname.split('/').slice(0, 3).join('/')
    list.searchParams.set('restype', 'container')
    list.searchParams.set('comp', 'list')
    assert.equal((await fetch(list)).status, 403, 'listing the exports container (other customers) refused')
    assert.ok((await download(sample)).equals(fixture.expected.get(rows[1][0])!), 'still intact')
  })

  it('resumes an unfinished export, skipping copies that are already there', async () => {
    const base = makeMap()
    const docs = base.container(base.tenantTemplate.replace('{customer}', 'resumeco'))
    await docs.createIfNotExists()
    for (let i = 0; i < 6; i++) await docs.getBlockBlobClient(`file-${i}.txt`).uploadData(Buffer.from(`content ${i}`))
    const first = await exportCustomer(base.clients, base.map, 'resumeco', {
      target: {kind: 'server-side', linkExpiryInMs: DAY},
    })
    const prefix = first.manifest!.location.split('/').slice(2, -1).join('/') + '/'
    const exportsContainer = base.exportsClient()
    // make it look interrupted: no manifest yet, one copy missing
    await exportsContainer.getBlobClient(`${prefix}manifest.json`).delete()
    await exportsContainer.getBlobClient(`${prefix}documents/file-3.txt`).delete()
    const second = await exportCustomer(base.clients, base.map, 'resumeco', {
      target: {kind: 'server-side', linkExpiryInMs: DAY},
    })
    assert.equal(second.resumed, true)
    assert.equal(second.startedAt, first.startedAt)
    assert.deepEqual([second.transferred.objects, second.kept.objects], [1, 5])
    assert.equal(second.manifest!.sha256, first.manifest!.sha256, 'the same manifest as the uninterrupted run')
    // a finished export is not resumed: the next run is a new export folder
    const third = await exportCustomer(base.clients, base.map, 'resumeco', {
      target: {kind: 'server-side', linkExpiryInMs: DAY},
    })
    assert.equal(third.resumed, false)
  })

  it('is refused without an exports section in the data map', async () => {
    const base = makeMap({exports: undefined})
    await assert.rejects(
      exportCustomer(base.clients, base.map, 'acme', {target: {kind: 'server-side', linkExpiryInMs: DAY}}),
      (error: CustosError) => {
        assert.equal(error.code, 'ConfigInvalid')
        assert.match(error.message, /no "exports" section/)
        return true
      },
    )
  })

  it('never lets a link live longer than 7 days', () => {
    assert.equal(checkLinkExpiry(MAX_LINK_EXPIRY_MS, '--link-expiry'), MAX_LINK_EXPIRY_MS)
    assert.throws(() => checkLinkExpiry(MAX_LINK_EXPIRY_MS + 1000, '--link-expiry'), /must expire within 7 days/)
    assert.throws(
      () => checkLinkExpiry(8 * DAY, 'exports.linkExpiry'),
      (error: CustosError) => error.code === 'ConfigInvalid',
    )
  })
})
