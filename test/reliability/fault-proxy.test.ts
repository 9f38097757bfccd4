import assert from 'node:assert/strict'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {request} from 'node:http'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {BlobServiceClient, type ContainerClient} from '@azure/storage-blob'

import {LOCAL_DEVELOPMENT_TOKEN} from '../../src/lib/azure/credential.js'
import {writeTarGz} from '../../src/lib/evidence/pack.js'
import {startFaultProxy, type FaultProxy, type FaultProxyOptions} from '../support/fault-proxy.js'
import {getTestAzurite, uniqueName} from '../support/env.js'
import {SecretScan, findSecrets} from './secrets.js'

const ACCOUNT = 'devstoreaccount1'

describe('the fault proxy in front of Azurite', function () {
  this.timeout(60_000)
  const proxies: FaultProxy[] = []
  const start = async (options: Partial<FaultProxyOptions> = {}) => {
    const proxy = await startFaultProxy({upstream: new URL(getTestAzurite().blobEndpoint()).origin, ...options})
    proxies.push(proxy)
    return proxy
  }

  const service = (proxy: FaultProxy, maxTries = 8) => {
    const key = getTestAzurite().accounts.find((a) => a.name === ACCOUNT)!.key
    return BlobServiceClient.fromConnectionString(proxy.connectionString(ACCOUNT, key), {
      retryOptions: {maxTries, retryDelayInMs: 5, maxRetryDelayInMs: 20},
    })
  }

  const direct = () => BlobServiceClient.fromConnectionString(getTestAzurite().connectionString(ACCOUNT))
  const seeded = async (names: string[]): Promise<ContainerClient> => {
    const container = direct().getContainerClient(uniqueName('proxy'))
    await container.create()
    await Promise.all(names.map((n) => container.getBlockBlobClient(n).upload(`body of ${n}`, `body of ${n}`.length)))
    return container
  }

  after(async () => {
    await Promise.all(proxies.map((p) => p.close()))
  })

  it('forwards requests unchanged: Shared Key signatures made for the proxy are valid upstream', async () => {
    const proxy = await start()
    const container = service(proxy).getContainerClient(uniqueName('fwd'))
    await container.create()
    await container.getBlockBlobClient('a/b c.txt').upload('hello', 5)
    const text = (await container.getBlobClient('a/b c.txt').downloadToBuffer()).toString()
    assert.equal(text, 'hello')
    assert.ok(
      await direct().getContainerClient(container.containerName).getBlobClient('a/b c.txt').exists(),
      'the blob reached Azurite',
    )
    assert.deepEqual(
      Object.values(proxy.injected).reduce((a, b) => a + b, 0),
      0,
    )
    assert.ok(proxy.requests.some((r) => r.method === 'PUT' && r.path.endsWith('/a/b c.txt')))
  })

  it('a seed decides the faults: the same seed and requests inject the same faults, another seed others', async () => {
    const container = await seeded(['f.txt'])
    const run = async (seed: number) => {
      const proxy = await start({seed, faults: {serverBusy: 0.2, internalError: 0.1, reset: 0.1}})
      const blob = service(proxy, 20).getContainerClient(container.containerName).getBlobClient('f.txt')
      for (let i = 0; i < 30; i++) assert.equal((await blob.getProperties()).contentLength, 13)
      return {faults: proxy.requests.map((r) => r.fault ?? '-').join(','), injected: {...proxy.injected}}
    }

    const a = await run(42)
    const b = await run(42)
    const c = await run(43)
    assert.equal(a.faults, b.faults)
    assert.deepEqual(a.injected, b.injected)
    assert.notEqual(a.faults, c.faults)
    const total = a.injected.serverBusy + a.injected.internalError + a.injected.reset
    assert.ok(total >= 5 && total <= 25, `about 40% of ~40 requests were faulted (${total})`)
    assert.ok(
      a.injected.serverBusy > 0 && a.injected.internalError > 0 && a.injected.reset > 0,
      JSON.stringify(a.injected),
    )
  })

  it('answers 503 and 429 with Retry-After and an Azure error body; the storage client retries 503 itself', async () => {
    const container = await seeded(['r.txt'])
    const proxy = await start({faults: {serverBusy: 1}, retryAfterSeconds: 3})
    const raw = await new Promise<{status?: number; headers: Record<string, unknown>; body: string}>(
      (resolve, reject) => {
        const req = request(`${proxy.url}/${ACCOUNT}/${container.containerName}/r.txt`, (res) => {
          let body = ''
          res.on('data', (c: Buffer) => (body += c.toString()))
          res.on('end', () => resolve({status: res.statusCode, headers: res.headers, body}))
        })
        req.on('error', reject)
        req.end()
      },
    )
    assert.equal(raw.status, 503)
    assert.equal(raw.headers['retry-after'], '3')
    assert.equal(raw.headers['x-ms-error-code'], 'ServerBusy')
    assert.match(raw.body, /<Code>ServerBusy<\/Code>/)

    proxy.setFaults({tooManyRequests: 1})
    await assert.rejects(
      service(proxy, 3).getContainerClient(container.containerName).getBlobClient('r.txt').download(),
      (e: {statusCode?: number}) => e.statusCode === 429,
    )
    assert.equal(
      proxy.injected.tooManyRequests,
      1,
      'Blob storage throttles with 503, so the storage client does not retry a 429',
    )

    proxy.setFaults({})
    const before = proxy.injected.serverBusy
    proxy.setFaults({serverBusy: 0.5})
    const body = await service(proxy, 30)
      .getContainerClient(container.containerName)
      .getBlobClient('r.txt')
      .downloadToBuffer()
    assert.equal(body.toString(), 'body of r.txt')
    assert.ok(proxy.injected.serverBusy >= before, 'retried through 503s')
  })

  it('cuts a download off half-way; the storage client reports the dropped connection as an AbortError, not a retry', async () => {
    const container = direct().getContainerClient(uniqueName('cut'))
    await container.create()
    const data = Buffer.alloc(256 * 1024, 7)
    await container.getBlockBlobClient('big.bin').uploadData(data)
    const proxy = await start({faults: {truncate: 1}})
    const blob = service(proxy).getContainerClient(container.containerName).getBlobClient('big.bin')
    const response = await blob.download(0, undefined, {maxRetryRequests: 3})
    proxy.setFaults({})
    let received = 0
    // Node reports a connection closed mid-body as 'aborted'; @azure/storage-blob's body retry
    // (maxRetryRequests) does not cover that case and fails with an AbortError. Callers must
    // retry such a download themselves — the export, logs and backup tests check that they do.
    await assert.rejects(
      (async () => {
        for await (const c of response.readableStreamBody!) received += (c as Buffer).length
      })(),
      (e: Error) => e.name === 'AbortError',
    )
    assert.ok(received > 0 && received < data.length, `${received} of ${data.length} bytes arrived`)
    assert.equal(proxy.injected.truncate, 1)
  })

  it('throttles single Blob Batch sub-requests inside a 202 without letting Azurite execute them', async () => {
    const names = Array.from({length: 20}, (_, i) => `p/${i}.txt`)
    const container = await seeded(names)
    const proxy = await start({batchPartFaults: 0.4, seed: 5})
    const via = service(proxy).getContainerClient(container.containerName)
    const response = await via.getBlobBatchClient().deleteBlobs(names.map((n) => via.getBlobClient(n)))
    const throttled = names.filter((_, i) => response.subResponses[i].status === 503)
    assert.ok(throttled.length >= 3 && throttled.length <= 15, `some parts throttled (${throttled.length})`)
    assert.ok(
      response.subResponses.every((s) => s.status === 202 || (s.status === 503 && s.errorCode === 'ServerBusy')),
    )
    assert.equal(proxy.injected.batchParts, throttled.length)
    assert.equal(proxy.injected.batchPartsNotDisarmed, 0)
    const left: string[] = []
    for await (const b of container.listBlobsFlat()) left.push(b.name)
    assert.deepEqual(left.sort(), [...throttled].sort(), 'exactly the throttled parts were not executed')
    assert.deepEqual(
      proxy.requests.at(-1)!.subRequests!.map((s) => s.path),
      names.map((n) => `/${ACCOUNT}/${container.containerName}/${n}`),
    )
  })

  it('holds a chosen request before or after upstream answered, until released or dropped', async () => {
    const proxy = await start()
    const name = uniqueName('hold')
    const container = service(proxy, 1).getContainerClient(name)
    const heldCreate = proxy.hold((r) => r.method === 'PUT' && r.query.get('restype') === 'container', {
      stage: 'response',
    })
    const creating = container.create()
    const held = await heldCreate
    assert.ok(
      await direct().getContainerClient(name).exists(),
      'upstream executed the request; the client has no answer yet',
    )
    held.release()
    await creating

    const heldPut = proxy.hold((r) => r.method === 'PUT' && r.path.endsWith('/dropped.txt'))
    const putting = container.getBlockBlobClient('dropped.txt').upload('x', 1)
    ;(await heldPut).drop()
    await assert.rejects(putting)
    assert.equal(
      await direct().getContainerClient(name).getBlobClient('dropped.txt').exists(),
      false,
      'a dropped request never reached Azurite',
    )

    // stage 'body': the client has the headers and half the body, and waits for the rest.
    const body = Buffer.from('0123456789'.repeat(100))
    await container.getBlockBlobClient('half.txt').upload(body, body.length)
    const heldBody = proxy.hold((r) => r.method === 'GET' && r.path.endsWith('/half.txt'), {stage: 'body'})
    const download = await container.getBlobClient('half.txt').download()
    const stream = download.readableStreamBody!
    const received: Buffer[] = []
    stream.on('data', (chunk: Buffer) => received.push(chunk))
    const halfway = await heldBody
    await new Promise((resolve) => setTimeout(resolve, 100))
    assert.equal(Buffer.concat(received).length, 500, 'half the body arrived, then the answer stalled')
    halfway.release()
    await new Promise((resolve) => stream.on('end', resolve))
    assert.ok(Buffer.concat(received).equals(body))
  })
})

describe('the secret scan (test/reliability/secrets.ts)', () => {
  const key = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

  it('finds account keys (also URL-encoded), unredacted SAS signatures and bearer tokens, and nothing in redacted text', () => {
    const leaks = [
      `AccountKey=${key};`,
      `key=${encodeURIComponent(key)}`,
      'https://a.blob.core.windows.net/c/b?sv=2024&sig=abcDEF%2B123&se=x',
      'copy source ...&sig%3Dabc123',
      `Authorization: Bearer ${LOCAL_DEVELOPMENT_TOKEN}`,
      'Authorization: Bearer eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJ1cG4iOiJ4In0.c2ln',
    ]
    const kinds = leaks.map((text) => findSecrets(text, 't', [key]).map((f) => f.kind))
    assert.deepEqual(kinds, [
      ['account-key'],
      ['account-key'],
      ['sas-signature'],
      ['sas-signature'],
      ['bearer-token'],
      ['bearer-token'],
    ])
    const clean = [
      'https://a/c/b?sv=2024&sig=REDACTED&se=x',
      'https://a/c/b?sv=2024&sig=[REDACTED]&se=x',
      'https://p/?u=https%3A%2F%2Fa%2Fc%3Fsv%3D1%26sig%3D%5BREDACTED%5D',
      'sig=XXXXX',
      '{"sig":{"kid":"https://v/keys/k/1","value":"AbCd"}}',
      'AccountKey=REDACTED',
      'AccountKey=[REDACTED]',
      'Bearer REDACTED',
      'Bearer [REDACTED]',
      'signature=abc',
    ]
    for (const text of clean) assert.deepEqual(findSecrets(text, 't', [key]), [], text)
  })

  it('accepts a share link only where it is allowed, and looks inside .tar.gz archives', async () => {
    const link = 'https://x.blob.core.windows.net/exports/b.tar.gz?sv=1&sp=r&sig=s3cr3t'
    const scan = new SecretScan([key])
    scan.text('stdout', `Link:\n${link}\n`, [link])
    assert.deepEqual(scan.findings, [])
    scan.text('stderr', `oops ${link}`)
    assert.equal(scan.findings.length, 1)

    const dir = mkdtempSync(join(tmpdir(), 'custos-scan-'))
    writeFileSync(join(dir, 'inner.json'), JSON.stringify({account: `AccountKey=${key}`}))
    const archived = new SecretScan([key])
    await writeTarGz(join(dir, 'b.tar.gz'), [{name: 'records/a.jsonl', content: `{"url":"${link}"}`}])
    await archived.file(join(dir, 'b.tar.gz'))
    assert.deepEqual(
      archived.findings.map((f) => [f.kind, f.where.split('!')[1]]),
      [['sas-signature', 'records/a.jsonl']],
    )
    await archived.dir(dir)
    assert.ok(archived.findings.some((f) => f.kind === 'account-key' && f.where.endsWith('inner.json')))
    assert.throws(() => archived.assertClean(), /secret\(s\) leaked/)
    rmSync(dir, {recursive: true, force: true})
  })
})
