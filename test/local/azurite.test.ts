import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {request} from 'node:http'
import {connect, createServer, type AddressInfo, type Server} from 'node:net'
import {networkInterfaces, tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {BlobServiceClient, RestError, StorageSharedKeyCredential} from '@azure/storage-blob'

import {DEV_ACCOUNT, startAzurite, type AzuriteInstance} from '../../src/lib/local/azurite.js'
import {getTestAzurite, TEST_ACCOUNTS, uniqueName} from '../support/env.js'

const azuriteModule = fileURLToPath(new URL('../../src/lib/local/azurite.ts', import.meta.url))

/** Alive and not a zombie (an orphan's zombie may linger where PID 1 does not reap). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false
    throw error
  }

  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z'
  } catch {
    return !existsSync('/proc/self/stat') // no procfs: trust kill(0)
  }
}

async function waitUntil(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

function canListen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, host, () => server.close(() => resolve(true)))
  })
}

function tcpConnects(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({host, port, timeout: 2000})
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
    socket.once('timeout', () => {
      socket.destroy()
      resolve(false)
    })
  })
}

function serverHeader(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    request(url, {agent: false}, (res) => {
      res.resume()
      resolve(String(res.headers.server ?? ''))
    })
      .once('error', reject)
      .end()
  })
}

async function containerNames(service: BlobServiceClient, prefix: string): Promise<string[]> {
  const names: string[] = []
  for await (const c of service.listContainers({prefix})) names.push(c.name)
  return names
}

describe('local Azurite launcher', () => {
  describe('the shared instance (test/support/hooks.ts)', () => {
    it('serves every test account on 127.0.0.1, answered by Azurite itself', async () => {
      const azurite = getTestAzurite()
      assert.deepEqual(azurite.accounts.map((a) => a.name).sort(), [...TEST_ACCOUNTS].sort())
      for (const {name} of azurite.accounts) {
        const url = new URL(azurite.blobEndpoint(name))
        assert.equal(url.protocol, 'http:')
        assert.equal(url.hostname, '127.0.0.1')
        assert.equal(url.port, String(azurite.port))
        assert.equal(url.pathname, `/${name}`)
      }

      assert.match(await serverHeader(azurite.blobEndpoint()), /^Azurite-Blob\/3\.35\./)
    })

    it('does not listen on non-loopback interfaces', async function () {
      const azurite = getTestAzurite()
      const external = Object.values(networkInterfaces())
        .flat()
        .find((i) => i && !i.internal && i.family === 'IPv4')
      if (!external) this.skip()
      assert.equal(await tcpConnects(external!.address, azurite.port), false, `Azurite answers on ${external!.address}`)
    })

    it('builds connection strings the SDK accepts, devstoreaccount1 by default with its published key', async () => {
      const azurite = getTestAzurite()
      assert.equal(
        azurite.connectionString(),
        `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${DEV_ACCOUNT.key};` +
          `BlobEndpoint=http://127.0.0.1:${azurite.port}/devstoreaccount1;`,
      )
      assert.equal(
        DEV_ACCOUNT.key,
        'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==',
      )
      const service = BlobServiceClient.fromConnectionString(azurite.connectionString())
      const name = uniqueName('dev')
      await service.getContainerClient(name).create()
      assert.deepEqual(await containerNames(service, name), [name])
      assert.throws(() => azurite.blobEndpoint('nosuchaccount'), /does not serve account "nosuchaccount"/)
      assert.throws(() => azurite.connectionString('nosuchaccount'), /does not serve account "nosuchaccount"/)
    })

    it('keeps accounts apart: a container made in one is not visible in another', async () => {
      const azurite = getTestAzurite()
      const prod = BlobServiceClient.fromConnectionString(azurite.connectionString('contosoprod'))
      const backup = BlobServiceClient.fromConnectionString(azurite.connectionString('contosobackup'))
      const name = uniqueName('tenant-acme')
      await prod.getContainerClient(name).create()
      await prod.getContainerClient(name).getBlockBlobClient('a.txt').upload('x', 1)

      assert.deepEqual(await containerNames(prod, name), [name])
      assert.deepEqual(await containerNames(backup, name), [])
      assert.equal(await backup.getContainerClient(name).exists(), false)
      assert.equal(await prod.getContainerClient(name).exists(), true)
    })

    it('checks each account against its own key', async () => {
      const azurite = getTestAzurite()
      const prod = azurite.accounts.find((a) => a.name === 'contosoprod')!
      const backup = azurite.accounts.find((a) => a.name === 'contosobackup')!
      assert.notEqual(prod.key, backup.key)
      assert.equal(Buffer.from(prod.key, 'base64').length, 64)
      // contosoprod's name signed with contosobackup's key
      const forged = new BlobServiceClient(
        azurite.blobEndpoint('contosoprod'),
        new StorageSharedKeyCredential('contosoprod', backup.key),
      )
      await assert.rejects(
        containerNames(forged, 'x'),
        (err: unknown) => err instanceof RestError && err.statusCode === 403,
      )
    })
  })

  describe('startAzurite / stop', () => {
    let own: AzuriteInstance | undefined
    let blocker: Server | undefined
    const dirs: string[] = []

    afterEach(async () => {
      await own?.stop()
      own = undefined
      blocker?.close()
      blocker = undefined
      for (const dir of dirs.splice(0)) rmSync(dir, {recursive: true, force: true})
    })

    it('stop() kills the process, frees the port and removes the temp location', async () => {
      own = await startAzurite({accounts: [{name: 'contosoprod', key: randomBytes(64).toString('base64')}]})
      const {pid, port, location} = own
      assert.ok(isAlive(pid), 'Azurite is not running after start')
      assert.ok(existsSync(location), 'no location')
      assert.ok(location.startsWith(tmpdir()), `${location} is not under ${tmpdir()}`)
      assert.equal(await canListen(port), false, 'the port is free although Azurite should hold it')
      const service = BlobServiceClient.fromConnectionString(own.connectionString('contosoprod'))
      await service.getContainerClient('c01').create()
      assert.ok(
        existsSync(join(location, '__azurite_db_blob__.json')),
        'Azurite does not persist to its location (in-memory?)',
      )

      await own.stop()
      assert.equal(isAlive(pid), false, `Azurite (pid ${pid}) still runs after stop()`)
      assert.equal(await canListen(port), true, `port ${port} is still taken after stop()`)
      assert.equal(existsSync(location), false, `${location} still exists after stop()`)
      await own.stop() // idempotent
    })

    it('keeps a location it was given, and its data survives a restart', async () => {
      const location = mkdtempSync(join(tmpdir(), 'custos-azurite-test-'))
      dirs.push(location)
      own = await startAzurite({location})
      assert.equal(own.location, location)
      await BlobServiceClient.fromConnectionString(own.connectionString()).getContainerClient('kept').create()
      await own.stop()
      assert.ok(existsSync(join(location, '__azurite_db_blob__.json')), 'the given location was removed')

      own = await startAzurite({location})
      assert.deepEqual(await containerNames(BlobServiceClient.fromConnectionString(own.connectionString()), 'kept'), [
        'kept',
      ])
    })

    it("fails clearly, with Azurite's own words, when the requested port is taken", async () => {
      blocker = createServer()
      await new Promise<void>((resolve) => blocker!.listen(0, '127.0.0.1', resolve))
      const {port} = blocker.address() as AddressInfo
      await assert.rejects(startAzurite({port}), (err: Error) => {
        assert.match(err.message, new RegExp(`Azurite did not start on 127\\.0\\.0\\.1:${port}`))
        assert.match(err.message, /EADDRINUSE/)
        return true
      })
    })

    it('refuses account names and keys Azurite would silently ignore', async () => {
      await assert.rejects(
        startAzurite({accounts: [{name: 'Bad_Name', key: DEV_ACCOUNT.key}]}),
        /account name "Bad_Name" is invalid/,
      )
      await assert.rejects(startAzurite({accounts: [{name: 'good', key: 'not base64!'}]}), /not base64/)
      await assert.rejects(
        startAzurite({accounts: [{name: 'devstoreaccount1', key: randomBytes(64).toString('base64')}]}),
        /twice with different keys/,
      )
    })

    for (const how of ['exits', 'is killed with SIGKILL'] as const) {
      it(`does not leave Azurite running when the parent process ${how}`, async () => {
        const script = [
          `const {startAzurite} = await import(${JSON.stringify(azuriteModule)})`,
          `const az = await startAzurite()`,
          `console.log(JSON.stringify({pid: az.pid, port: az.port, location: az.location}))`,
          how === 'exits' ? `process.exit(0)` : `setInterval(() => {}, 1000)`,
        ].join('\n')
        const parent = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
          stdio: ['ignore', 'pipe', 'pipe'],
        })
        let out = ''
        let errOut = ''
        parent.stdout.on('data', (c: Buffer) => (out += c.toString()))
        parent.stderr.on('data', (c: Buffer) => (errOut += c.toString()))
        await waitUntil('the parent reports Azurite', () => out.includes('\n') || parent.exitCode !== null, 30_000)
        assert.ok(out.includes('\n'), `the parent did not start Azurite: ${errOut}`)
        const started = JSON.parse(out.split('\n')[0]) as {pid: number; port: number; location: string}
        try {
          if (how === 'is killed with SIGKILL') {
            assert.ok(isAlive(started.pid), 'Azurite was not running while its parent lived')
            parent.kill('SIGKILL')
          }

          await waitUntil('the parent is gone', () => parent.exitCode !== null || parent.signalCode !== null)
          await waitUntil(`Azurite (pid ${started.pid}) is gone`, () => !isAlive(started.pid))
          // The socket can outlive the process by a moment on a loaded machine: poll before judging.
          let free = false
          for (let i = 0; i < 50 && !free; i++) {
            free = await canListen(started.port)
            if (!free) await new Promise((r) => setTimeout(r, 100))
          }

          assert.equal(free, true, `port ${started.port} is still taken`)
          if (how === 'exits') assert.equal(existsSync(started.location), false, `${started.location} was left behind`)
        } finally {
          if (isAlive(started.pid)) process.kill(started.pid, 'SIGKILL')
          rmSync(started.location, {recursive: true, force: true})
        }
      })
    }
  })
})
