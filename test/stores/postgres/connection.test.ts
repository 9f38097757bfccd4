import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {createServer, type AddressInfo} from 'node:net'

import {CustosError, ExitCode} from '../../../src/lib/errors.js'
import {connect, createPool} from '../../../src/lib/stores/postgres/connection.js'
import type {PostgresDatabaseConfig} from '../../../src/lib/stores/postgres/types.js'
import {usePostgres, type DemoDatabase} from '../../support/postgres.js'

async function failure(promise: Promise<unknown>): Promise<CustosError> {
  const error = await promise.then(
    () => undefined,
    (error: unknown) => error,
  )
  assert.ok(error instanceof CustosError, `expected a CustosError, got ${String(error)}`)
  return error
}

describe('postgres store: connections', function () {
  this.timeout(60_000)
  const pg = usePostgres()
  let demo: DemoDatabase

  before(async () => {
    demo = await pg.demoDatabase()
  })

  it('connects over TLS with verify-full against the given CA, by IP and by host name', async () => {
    for (const host of ['127.0.0.1', 'localhost']) {
      const client = await connect({...demo.config, host})
      const r = await client.query<{ssl: boolean}>('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')
      assert.equal(r.rows[0].ssl, true)
      await client.end()
    }
  })

  it('refuses a server whose certificate it cannot verify (exit 2)', async () => {
    const {ca: _ca, ...withoutCa} = demo.config
    const error = await failure(connect(withoutCa))
    assert.equal(error.code, 'TlsUntrusted')
    assert.equal(error.exitCode, ExitCode.usage)
    assert.match(error.message, /could not be verified/)
  })

  it('reads the password from passwordEnv when connecting, and says which variable is missing', async () => {
    const env = {[demo.config.passwordEnv!]: 'wrong-password'}
    const wrong = await failure(connect(demo.config, {env}))
    assert.equal(wrong.code, 'AuthenticationFailed')
    assert.equal(wrong.exitCode, ExitCode.usage)
    assert.match(
      wrong.message,
      new RegExp(`refused the sign-in as ${demo.role} to database ${demo.database} on 127\\.0\\.0\\.1 \\(28P01\\)`),
    )
    assert.ok(!wrong.message.includes('wrong-password'))

    const missing = await failure(connect(demo.config, {env: {}}))
    assert.equal(missing.code, 'PasswordMissing')
    assert.match(missing.message, new RegExp(`${demo.config.passwordEnv} \\(passwordEnv\\) is not set`))
  })

  it('auth entra: asks the token function for every new connection (a long run gets fresh tokens)', async () => {
    let calls = 0
    const password = process.env[demo.config.passwordEnv!]!
    const config: PostgresDatabaseConfig = {...demo.config, auth: 'entra', passwordEnv: undefined}
    const pool = createPool(config, {
      max: 2,
      async getToken() {
        calls++
        return {token: password} // the local server takes the password where Azure takes the token
      },
    })
    const [a, b] = await Promise.all([pool.connect(), pool.connect()])
    await a.query('SELECT 1')
    a.release()
    b.release()
    await pool.end()
    assert.equal(calls, 2)

    const none = await failure(connect(config, {getToken: async () => null}))
    assert.equal(none.code, 'SignInRequired')
    assert.equal(none.exitCode, ExitCode.azure)
  })

  it('names a missing database (3D000) and an unreachable server (exit 4)', async () => {
    const missing = await failure(connect({...demo.config, database: 'no_such_db'}))
    assert.equal(missing.code, 'DatabaseMissing')
    assert.match(missing.message, /database no_such_db on 127\.0\.0\.1 does not exist/i)

    const port = await new Promise<number>((resolve) => {
      const s = createServer()
      s.listen(0, '127.0.0.1', () => {
        const {port: p} = s.address() as AddressInfo
        s.close(() => resolve(p))
      })
    })
    const refused = await failure(connect({...demo.config, port}))
    assert.equal(refused.code, 'Network')
    assert.equal(refused.exitCode, ExitCode.azure)
    assert.match(refused.message, /Could not reach database .* \(ECONNREFUSED/)
  })

  it('the CA file is readable PEM (what a data map points ca: at)', () => {
    assert.match(readFileSync(pg.server.caFile, 'utf8'), /BEGIN CERTIFICATE/)
  })
})
