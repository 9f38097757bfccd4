/**
 * A share link carries a signature (`sig=`) for the customer: that is the product working. It must
 * appear exactly once, on the stdout of the command that made it, and nowhere else — not on stderr,
 * not in a file custos writes, not in the audit trail, which records the link's account, blob and
 * expiry without its signature.
 */
import assert from 'node:assert/strict'
import {join} from 'node:path'

import {runCli, signedUrls} from './cli.js'
import {SecretScan} from './secrets.js'
import {createWorld, reliabilityEnv, type ReliabilityEnv} from './world.js'

describe('reliability: share links', function () {
  this.timeout(120_000)
  let renv: ReliabilityEnv

  before(async function () {
    this.timeout(120_000)
    renv = await reliabilityEnv()
  })

  it('a share link appears once, on the stdout of the command that made it, and in no other output, file or audit record', async () => {
    const scan = new SecretScan(renv.secrets())
    const world = await createWorld(renv, {keys: false})
    const bundlePath = join(world.dir, 'acme-logs.tar.gz')
    const [exported, bundled] = await Promise.all([
      runCli(
        ['customer', 'export', 'acme', '--config', world.configPath, '--server-side', '--link-expiry', '1d', '--json'],
        {scan, shareLinks: true},
      ),
      runCli(
        [
          'logs',
          'bundle',
          'acme',
          '--config',
          renv.env.configPath,
          '--since',
          '-72h',
          '--output',
          bundlePath,
          '--share',
          '--link-expiry',
          '2h',
        ],
        {scan, shareLinks: true},
      ),
    ])
    assert.equal(exported.code, 0, exported.stdout + exported.stderr)
    assert.equal(bundled.code, 0, bundled.stdout + bundled.stderr)
    const exportLink = exported.json<{link: {url: string; expiresOn: string}}>().link
    assert.deepEqual(
      signedUrls(exported.stdout),
      [exportLink.url],
      'the export prints its link once, in its JSON result',
    )
    const bundleLinks = signedUrls(bundled.stdout)
    assert.equal(bundleLinks.length, 1, bundled.stdout)
    assert.match(bundled.stdout, /Read-only link \(expires [^)]+\):\n/)
    for (const link of [exportLink.url, bundleLinks[0]]) assert.match(link, /[?&]sp=r&/, 'read-only')

    // The audit trail holds where and until when, never the signed URL.
    const records = async (clients: typeof world.clients) => {
      const container = clients.blobService(clients.map.audit.account).getContainerClient(clients.map.audit.container)
      const out: Array<{action: string; details?: Record<string, unknown>}> = []
      for await (const item of container.listBlobsFlat({prefix: 'trail/'})) {
        for (const line of (await container.getBlobClient(item.name).downloadToBuffer()).toString('utf8').split('\n'))
          if (line.trim()) out.push(JSON.parse(line))
      }

      return out
    }

    const share = (await records(renv.clients)).findLast((r) => r.action === 'share-link')
    assert.ok(share?.details?.blob && share.details.expiresOn, JSON.stringify(share))
    assert.doesNotMatch(JSON.stringify(share), /sig=|sig%3D|"url"/i, 'the share-link record holds no signed URL')
    const exportRecord = (await records(world.clients)).find(
      (r) => r.action === 'export' && (r.details as {linkExpiresOn?: string} | undefined)?.linkExpiresOn,
    )
    assert.equal(exportRecord?.details?.linkExpiresOn, exportLink.expiresOn)

    // What custos wrote: the bundle, the world's folder, both audit trails, and the server-side
    // export's manifest — but not download-links.tsv, the handed-over index of per-object links
    // that only the link itself opens.
    await scan.file(bundlePath)
    await scan.dir(world.dir, [world.configPath])
    await scan.audit(world.clients)
    await scan.audit(renv.clients)
    const exports = world.clients
      .blobService(world.clients.map.exports!.account)
      .getContainerClient(world.containers.exports)
    let manifests = 0
    for await (const item of exports.listBlobsFlat()) {
      if (!item.name.endsWith('/manifest.json')) continue
      manifests++
      scan.text(`exports/${item.name}`, (await exports.getBlobClient(item.name).downloadToBuffer()).toString('utf8'))
    }

    assert.equal(manifests, 1)
    scan.assertClean()
  })
})
