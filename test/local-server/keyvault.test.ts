import {strict as assert} from 'node:assert'
import {constants, createHash, createPublicKey, publicEncrypt, verify as nodeVerify, type KeyObject} from 'node:crypto'

import type {JsonWebKey} from '@azure/keyvault-keys'

import {startLocalAzureServer, type LocalAzureServer} from '../../src/lib/local/azure-server/index.js'
import {all, assertShape, cryptographyClient, exampleBody, keyClient, rawRequest, recording, sample} from './helpers.js'

const API = 'api-version=7.5'
const session = recording('keyvault/recorded-session-ec-key-challenge-sign-delete-purge.json')

function publicKeyOf(jwk: JsonWebKey): KeyObject {
  const b = (bytes: Uint8Array | undefined) => Buffer.from(bytes ?? new Uint8Array()).toString('base64url')
  if (jwk.kty?.startsWith('RSA')) return createPublicKey({key: {kty: 'RSA', n: b(jwk.n), e: b(jwk.e)}, format: 'jwk'})
  return createPublicKey({key: {kty: 'EC', crv: jwk.crv, x: b(jwk.x), y: b(jwk.y)}, format: 'jwk'})
}

describe('local Azure server: Key Vault keys', function () {
  this.timeout(60_000)
  let server: LocalAzureServer
  let vaultUrl: string
  let lockedUrl: string

  before(async () => {
    server = await startLocalAzureServer()
    vaultUrl = await server.addVault({name: 'custos-kv'})
    lockedUrl = await server.addVault({name: 'locked-kv', purgeProtection: true, softDeleteRetentionInDays: 90})
  })

  after(() => server.close())

  describe('authentication', () => {
    it('answers a token-less, body-less request with the recorded 401 bearer challenge and AKV10000 body', async () => {
      const recorded = session[0]
      const res = await rawRequest(server, 'POST', `${vaultUrl}/keys/challenge-key/create?api-version=7.4-preview.1`, {
        token: null,
      })
      assert.equal(res.status, recorded.StatusCode)
      assert.equal(
        res.headers['www-authenticate'],
        `Bearer authorization="https://login.windows.net/${server.state.tenantId}", resource="https://vault.azure.net"`,
      )
      assert.equal(
        res.headers['www-authenticate'],
        recorded.ResponseHeaders['WWW-Authenticate'].replace(
          '12345678-1234-1234-1234-123456789012',
          server.state.tenantId,
        ),
      )
      assert.deepEqual(res.json, recorded.ResponseBody)
      assert.equal(res.headers['content-length'], recorded.ResponseHeaders['Content-Length'])
      assert.equal(res.headers['content-type'], recorded.ResponseHeaders['Content-Type'])
      assert.equal(
        server.state.keyVault('custos-kv')?.keys.has('challenge-key'),
        false,
        'a challenged request must not create anything',
      )
    })

    it('rejects a bearer token other than the development token with 401 and a new challenge', async () => {
      const res = await rawRequest(server, 'GET', `${vaultUrl}/keys?${API}`, {token: 'not-the-local-token'})
      assert.equal(res.status, 401)
      assert.match(
        String(res.headers['www-authenticate']),
        /^Bearer authorization="https:\/\/login\.windows\.net\/[^"]+", resource="https:\/\/vault\.azure\.net"$/,
      )
      assert.equal(res.json.error.code, 'Unauthorized')
    })

    it('sends the response headers of the real service', async () => {
      const res = await rawRequest(server, 'GET', `${vaultUrl}/keys?${API}`)
      assert.equal(res.status, 200)
      for (const name of [
        'x-ms-keyvault-region',
        'x-ms-keyvault-service-version',
        'x-ms-request-id',
        'x-ms-keyvault-network-info',
        'cache-control',
        'strict-transport-security',
      ]) {
        assert.ok(res.headers[name], `missing header ${name}`)
        assert.ok(
          Object.keys(session[1].ResponseHeaders).some((h) => h.toLowerCase() === name),
          `${name} is not a recorded header`,
        )
      }

      assert.equal(res.headers['x-ms-keyvault-region'], 'germanywestcentral')
    })

    it('answers an unknown key with 404 KeyNotFound in the Key Vault error shape', async () => {
      const res = await rawRequest(server, 'GET', `${vaultUrl}/keys/no-such-key?${API}`)
      assert.equal(res.status, 404)
      assertShape(res.json, session[8].ResponseBody, [])
      assert.equal(res.json.error.code, 'KeyNotFound')
      assert.match(res.json.error.message, /no-such-key was not found in this key vault/)
    })
  })

  describe('key bundles', () => {
    it('creates an RSA key whose bundle has the fields of CreateKey-example (plus the real recoverableDays/exportable)', async () => {
      const example = sample('keyvault/CreateKey-example.json')
      const res = await rawRequest(server, 'POST', `${vaultUrl}/keys/rsa-shape/create?${API}`, {
        body: example.parameters.parameters,
      })
      assert.equal(res.status, 200)
      assertShape(res.json, example.responses['200'].body, [
        'extra $.attributes.recoverableDays',
        'extra $.attributes.exportable',
      ])
      assert.match(res.json.key.kid, new RegExp(`^${vaultUrl}/keys/rsa-shape/[0-9a-f]{32}$`))
      assert.equal(Buffer.from(res.json.key.n, 'base64url').length, 256)
      assert.equal(res.json.key.e, 'AQAB')
      assert.equal(res.json.attributes.recoveryLevel, 'CustomizedRecoverable+Purgeable')
      assert.equal(res.json.attributes.recoverableDays, 7)
      assert.equal(res.json.attributes.created, res.json.attributes.updated)
      assert.ok(Math.abs(res.json.attributes.created - Date.now() / 1000) < 60, 'created is Unix seconds')
      assert.deepEqual(res.json.tags, example.parameters.parameters.tags)
      assert.deepEqual(res.json.key.key_ops, example.parameters.parameters.key_ops)
    })

    it('creates an EC P-256 key with exactly the fields of the recorded session', async () => {
      const recorded = session[1]
      const res = await rawRequest(server, 'POST', `${vaultUrl}/keys/ec-shape/create?${API}`, {
        body: {kty: 'EC', attributes: {}, crv: 'P-256'},
      })
      assert.equal(res.status, recorded.StatusCode)
      assertShape(res.json, recorded.ResponseBody, [])
      assert.deepEqual(res.json.key.key_ops, recorded.ResponseBody.key.key_ops)
      assert.equal(Buffer.from(res.json.key.x, 'base64url').length, 32)
    })

    it('creates RSA 2048/3072/4096 and EC P-256/P-384 keys through KeyClient with usable public parts', async () => {
      const client = keyClient(server, vaultUrl)
      for (const size of [2048, 3072, 4096]) {
        const key = await client.createRsaKey(`rsa-${size}`, {keySize: size})
        assert.equal(key.key?.n?.length, size / 8)
        assert.equal(publicKeyOf(key.key!).asymmetricKeyDetails?.modulusLength, size)
      }

      for (const [curve, bytes] of [
        ['P-256', 32],
        ['P-384', 48],
      ] as const) {
        const key = await client.createEcKey(`ec-${curve}`, {curve})
        assert.equal(key.key?.crv, curve)
        assert.equal(key.key?.x?.length, bytes)
        assert.equal(publicKeyOf(key.key!).asymmetricKeyType, 'ec')
      }
    })

    it('gets the latest version by name and an older one by version, shaped like GetKey-example', async () => {
      const client = keyClient(server, vaultUrl)
      const first = await client.createRsaKey('versioned')
      const second = await client.createRsaKey('versioned')
      assert.notEqual(first.properties.version, second.properties.version)
      assert.equal((await client.getKey('versioned')).properties.version, second.properties.version)
      assert.equal(
        (await client.getKey('versioned', {version: first.properties.version})).key?.n?.toString(),
        first.key?.n?.toString(),
      )
      const res = await rawRequest(server, 'GET', `${vaultUrl}/keys/versioned/${first.properties.version}?${API}`)
      assertShape(res.json, exampleBody('keyvault/GetKey-example.json'), [
        'extra $.attributes.recoverableDays',
        'extra $.attributes.exportable',
        'missing $.tags',
      ])
    })

    it('lists keys page by page with nextLink, $skiptoken and maxresults, shaped like GetKeys-example', async () => {
      const res = await rawRequest(server, 'GET', `${vaultUrl}/keys?${API}&maxresults=1`)
      const expected = exampleBody('keyvault/GetKeys-example.json')
      assertShape(res.json, expected, [
        'extra $.value[0].attributes.recoverableDays',
        'extra $.value[0].attributes.exportable',
      ])
      assert.equal(res.json.value.length, 1)
      assert.doesNotMatch(res.json.value[0].kid, /\/[0-9a-f]{32}$/, 'list items carry the kid without version')
      const names: string[] = []
      let next: string | null = `${vaultUrl}/keys?${API}&maxresults=1`
      while (next) {
        assert.ok(next.startsWith(`${vaultUrl}/keys?`))
        const page = await rawRequest(server, 'GET', next)
        names.push(...page.json.value.map((item: {kid: string}) => item.kid.split('/').pop()))
        next = page.json.nextLink
        if (next) assert.match(next, /[?&]\$skiptoken=[\w-]+.*&maxresults=1$/)
      }

      const viaSdk = (await all(keyClient(server, vaultUrl).listPropertiesOfKeys())).map((p) => p.name)
      assert.deepEqual(names, viaSdk)
      assert.ok(names.length >= 5)
      assert.deepEqual(
        [...names].sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase())),
        names,
      )
    })

    it('lists the versions of a key with versioned kids, shaped like GetKeyVersions-example', async () => {
      const res = await rawRequest(server, 'GET', `${vaultUrl}/keys/versioned/versions?${API}&maxresults=1`)
      assertShape(res.json, exampleBody('keyvault/GetKeyVersions-example.json'), [
        'extra $.value[0].attributes.recoverableDays',
        'extra $.value[0].attributes.exportable',
      ])
      assert.match(res.json.value[0].kid, /\/keys\/versioned\/[0-9a-f]{32}$/)
      assert.equal(typeof res.json.nextLink, 'string')
      const versions = await all(keyClient(server, vaultUrl).listPropertiesOfKeyVersions('versioned'))
      assert.equal(versions.length, 2)
    })
  })

  describe('cryptography with the real private key', () => {
    const digestOf = (hash: string) => createHash(hash).update('custos deletion certificate').digest()

    it('signs and verifies RS256/RS384/RS512/PS256: the service and node:crypto (from the JWK) both accept the signature', async () => {
      const key = await keyClient(server, vaultUrl).createRsaKey('signer-rsa', {keySize: 2048})
      const crypto = cryptographyClient(server, key.id!)
      const publicKey = publicKeyOf(key.key!)
      for (const [alg, hash] of [
        ['RS256', 'sha256'],
        ['RS384', 'sha384'],
        ['RS512', 'sha512'],
        ['PS256', 'sha256'],
      ] as const) {
        const digest = digestOf(hash)
        const signed = await crypto.sign(alg, digest)
        assert.equal((await crypto.verify(alg, digest, signed.result)).result, true, `${alg} verify`)
        assert.equal(
          (await crypto.verify(alg, digestOf(hash).fill(1, 0, 1), signed.result)).result,
          false,
          `${alg} verify of another digest`,
        )
        const options = alg.startsWith('PS')
          ? {key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: digest.length}
          : publicKey
        assert.equal(
          nodeVerify(hash, Buffer.from('custos deletion certificate'), options, signed.result),
          true,
          `${alg} independent verify`,
        )
      }
    })

    it('signs ES256/ES384 with an EC key; the signature verifies independently as IEEE P1363 r||s', async () => {
      for (const [curve, alg, hash] of [
        ['P-256', 'ES256', 'sha256'],
        ['P-384', 'ES384', 'sha384'],
      ] as const) {
        const key = await keyClient(server, vaultUrl).createEcKey(`signer-${curve}`, {curve})
        const crypto = cryptographyClient(server, key.id!)
        const signed = await crypto.sign(alg, digestOf(hash))
        assert.equal(signed.result.length, curve === 'P-256' ? 64 : 96)
        assert.equal(
          nodeVerify(
            hash,
            Buffer.from('custos deletion certificate'),
            {key: publicKeyOf(key.key!), dsaEncoding: 'ieee-p1363'},
            signed.result,
          ),
          true,
        )
        assert.equal((await crypto.verify(alg, digestOf(hash), signed.result)).result, true)
        assert.equal((await crypto.verify(alg, digestOf(hash), Buffer.from(signed.result).fill(7, 0, 4))).result, false)
      }
    })

    it('answers sign and verify with the fields of the recorded session', async () => {
      const created = await rawRequest(server, 'POST', `${vaultUrl}/keys/raw-signer/create?${API}`, {
        body: {kty: 'EC', crv: 'P-256'},
      })
      const kid: string = created.json.key.kid
      const digest = digestOf('sha256').toString('base64url')
      const signed = await rawRequest(server, 'POST', `${kid}/sign?${API}`, {body: {alg: 'ES256', value: digest}})
      assertShape(signed.json, session[3].ResponseBody, [])
      assert.equal(signed.json.kid, kid)
      const verified = await rawRequest(server, 'POST', `${kid}/verify?${API}`, {
        body: {alg: 'ES256', digest, value: signed.json.value},
      })
      assert.deepEqual(verified.json, session[4].ResponseBody)
    })

    it('wraps/unwraps and encrypts/decrypts with RSA-OAEP, RSA-OAEP-256 and RSA1_5', async () => {
      const key = await keyClient(server, vaultUrl).createRsaKey('wrapper', {keySize: 2048})
      const crypto = cryptographyClient(server, key.id!)
      const secret = Buffer.from('0123456789abcdef0123456789abcdef')
      for (const alg of ['RSA-OAEP', 'RSA-OAEP-256', 'RSA1_5'] as const) {
        const wrapped = await crypto.wrapKey(alg, secret)
        assert.deepEqual(Buffer.from((await crypto.unwrapKey(alg, wrapped.result)).result), secret, `${alg} unwrap`)
        const encrypted = await crypto.encrypt({algorithm: alg, plaintext: secret})
        assert.deepEqual(
          Buffer.from((await crypto.decrypt({algorithm: alg, ciphertext: encrypted.result})).result),
          secret,
          `${alg} decrypt`,
        )
      }

      // Ciphertext made outside the vault with the published public key: only the real private key can open it.
      const outside = publicEncrypt(
        {key: publicKeyOf(key.key!), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256'},
        secret,
      )
      const unwrapped = await rawRequest(server, 'POST', `${key.id}/unwrapkey?${API}`, {
        body: {alg: 'RSA-OAEP-256', value: outside.toString('base64url')},
      })
      assertShape(unwrapped.json, exampleBody('keyvault/unwrapKey-example.json'), [])
      assert.deepEqual(Buffer.from(unwrapped.json.value, 'base64url'), secret)
      const wrapped = await rawRequest(server, 'POST', `${key.id}/wrapkey?${API}`, {
        body: {alg: 'RSA1_5', value: secret.toString('base64url')},
      })
      assertShape(wrapped.json, exampleBody('keyvault/wrapKey-example.json'), [])
    })

    it('refuses a disabled key with 403 Forbidden', async () => {
      const client = keyClient(server, vaultUrl)
      const key = await client.createRsaKey('disabled-key')
      await client.updateKeyProperties('disabled-key', key.properties.version!, {enabled: false})
      await assert.rejects(
        cryptographyClient(server, key.id!).sign('RS256', digestOf('sha256')),
        (error: {statusCode?: number}) => error.statusCode === 403,
      )
    })
  })

  describe('soft delete, purge, recover, backup', () => {
    it('deletes a key: GET deletedkeys answers 404 KeyNotFound first (asynchronous delete), then the deleted bundle; purge answers 204', async () => {
      await rawRequest(server, 'POST', `${vaultUrl}/keys/doomed/create?${API}`, {body: {kty: 'EC', crv: 'P-256'}})
      const deleted = await rawRequest(server, 'DELETE', `${vaultUrl}/keys/doomed?${API}`)
      assert.equal(deleted.status, 200)
      assertShape(deleted.json, session[7].ResponseBody, [])
      assertShape(deleted.json, exampleBody('keyvault/DeleteKey-example.json'), [
        'missing $.tags',
        'extra $.key.crv',
        'extra $.key.x',
        'extra $.key.y',
        'missing $.key.n',
        'missing $.key.e',
        'extra $.attributes.recoverableDays',
        'extra $.attributes.exportable',
      ])
      assert.equal(deleted.json.recoveryId, `${vaultUrl}/deletedkeys/doomed`)
      assert.equal(deleted.json.scheduledPurgeDate - deleted.json.deletedDate, 7 * 86_400)

      const early = await rawRequest(server, 'GET', `${vaultUrl}/deletedkeys/doomed?${API}`)
      assert.equal(early.status, 404)
      assert.deepEqual(early.json, {error: {code: 'KeyNotFound', message: 'Deleted Key not found: doomed'}})
      assertShape(early.json, session[8].ResponseBody, [])

      const ready = await rawRequest(server, 'GET', `${vaultUrl}/deletedkeys/doomed?${API}`)
      assert.equal(ready.status, 200)
      assertShape(ready.json, session[10].ResponseBody, [])

      const purged = await rawRequest(server, 'DELETE', `${vaultUrl}/deletedkeys/doomed?${API}`)
      assert.equal(purged.status, 204)
      assert.equal(purged.text, '')
      assert.equal((await rawRequest(server, 'GET', `${vaultUrl}/deletedkeys/doomed?${API}`)).status, 404)
    })

    it('runs delete → get deleted → purge through KeyClient, the poller riding out the 404s', async () => {
      server.state.deletedKeyNotFoundGets = 2
      try {
        const client = keyClient(server, vaultUrl)
        await client.createRsaKey('sdk-doomed')
        const before = server.requests.length
        const poller = await client.beginDeleteKey('sdk-doomed', {intervalInMs: 5})
        const deletedKey = await poller.pollUntilDone()
        assert.equal(deletedKey.properties.recoveryId, `${vaultUrl}/deletedkeys/sdk-doomed`)
        const polls = server.requests
          .slice(before)
          .filter((r) => r.path === '/deletedkeys/sdk-doomed' && r.method === 'GET')
          .map((r) => r.status)
        assert.deepEqual(polls, [404, 404, 200])
        assert.equal((await client.getDeletedKey('sdk-doomed')).name, 'sdk-doomed')
        await client.purgeDeletedKey('sdk-doomed')
        await assert.rejects(
          client.getDeletedKey('sdk-doomed'),
          (error: {statusCode?: number}) => error.statusCode === 404,
        )
      } finally {
        server.state.deletedKeyNotFoundGets = 1
      }
    })

    it('refuses to purge in a purge-protected vault with 403 Forbidden, which KeyClient surfaces', async () => {
      const client = keyClient(server, lockedUrl)
      const key = await client.createRsaKey('protected')
      assert.equal(key.properties.recoveryLevel, 'Recoverable')
      assert.equal(key.properties.recoverableDays, 90)
      await (await client.beginDeleteKey('protected', {intervalInMs: 5})).pollUntilDone()
      await assert.rejects(
        client.purgeDeletedKey('protected'),
        (error: {statusCode?: number; code?: string; message: string}) => {
          assert.equal(error.statusCode, 403)
          assert.equal(error.code, 'Forbidden')
          assert.match(
            error.message,
            /Operation "purge" is not allowed because purge protection is enabled for this vault/,
          )
          return true
        },
      )
      assert.deepEqual(
        (await all(client.listDeletedKeys())).map((k) => k.name),
        ['protected'],
      )
    })

    it('lists deleted keys paged like GetDeletedKeys-example', async () => {
      const client = keyClient(server, vaultUrl)
      for (const name of ['gone-1', 'gone-2']) {
        await client.createRsaKey(name)
        await (await client.beginDeleteKey(name, {intervalInMs: 5})).pollUntilDone()
      }

      const res = await rawRequest(server, 'GET', `${vaultUrl}/deletedkeys?${API}&maxresults=1`)
      assertShape(res.json, exampleBody('keyvault/GetDeletedKeys-example.json'), [
        'extra $.value[0].attributes.recoverableDays',
        'extra $.value[0].attributes.exportable',
      ])
      assert.equal(res.json.value[0].kid, `${vaultUrl}/keys/gone-1`)
      const names = (await all(client.listDeletedKeys())).map((k) => k.name)
      assert.deepEqual(names, ['gone-1', 'gone-2'])
    })

    it('refuses to reuse the name of a deleted key with 409 Conflict, and recovers it', async () => {
      const client = keyClient(server, vaultUrl)
      const conflict = await rawRequest(server, 'POST', `${vaultUrl}/keys/gone-1/create?${API}`, {body: {kty: 'RSA'}})
      assert.equal(conflict.status, 409)
      assert.equal(conflict.json.error.innererror.code, 'ObjectIsDeletedButRecoverable')
      const recovered = await rawRequest(server, 'POST', `${vaultUrl}/deletedkeys/gone-1/recover?${API}`)
      assert.equal(recovered.status, 200)
      assertShape(recovered.json, exampleBody('keyvault/RecoverDeletedKey-example.json'), [
        'extra $.attributes.recoverableDays',
        'extra $.attributes.exportable',
        'missing $.tags',
      ])
      assert.equal((await client.getKey('gone-1')).name, 'gone-1')
      const poller = await client.beginRecoverDeletedKey('gone-2', {intervalInMs: 5})
      assert.equal((await poller.pollUntilDone()).name, 'gone-2')
    })

    it('backs up a key as an opaque blob with the real prefix and restores it after a purge', async () => {
      const client = keyClient(server, vaultUrl)
      const key = await client.createRsaKey('backed-up')
      const raw = await rawRequest(server, 'POST', `${vaultUrl}/keys/backed-up/backup?${API}`)
      assertShape(raw.json, exampleBody('keyvault/BackupKey-example.json'), [])
      const expectedPrefix = Buffer.from(exampleBody('keyvault/BackupKey-example.json').value, 'base64url')
        .subarray(0, 39)
        .toString()
      assert.equal(Buffer.from(raw.json.value, 'base64url').subarray(0, 39).toString(), expectedPrefix)
      assert.doesNotMatch(Buffer.from(raw.json.value, 'base64url').toString(), /PRIVATE KEY/)
      const backup = await client.backupKey('backed-up')
      await (await client.beginDeleteKey('backed-up', {intervalInMs: 5})).pollUntilDone()
      await client.purgeDeletedKey('backed-up')
      const restored = await client.restoreKeyBackup(backup!)
      assert.equal(restored.id, key.id)
      const signed = await cryptographyClient(server, key.id!).sign('RS256', createHash('sha256').update('x').digest())
      assert.equal(nodeVerify('sha256', Buffer.from('x'), publicKeyOf(key.key!), signed.result), true)
    })
  })

  it('serves a vault under /vaults/<name>/ on the main port too, with key ids on the vault port so KeyClient accepts them', async () => {
    await keyClient(server, vaultUrl).createEcKey('prefix-served')
    await keyClient(server, vaultUrl).createEcKey('prefix-served-2')
    const res = await rawRequest(server, 'GET', `${server.url}/vaults/custos-kv/keys?${API}&maxresults=1`)
    assert.equal(res.status, 200, res.text)
    assert.ok(res.json.value[0].kid.startsWith(`${vaultUrl}/keys/`))
    assert.ok(
      res.json.nextLink.startsWith(`${server.url}/vaults/custos-kv/keys?`),
      'paging stays on the URL the client used',
    )
    assert.equal(
      (await rawRequest(server, 'GET', `${server.url}/vaults/custos-kv/keys?${API}`, {token: null})).status,
      401,
    )

    const viaPrefix = keyClient(server, `${server.url}/vaults/custos-kv`)
    const key = await viaPrefix.createRsaKey('via-prefix')
    assert.equal(key.properties.vaultUrl, vaultUrl)
    assert.ok((await all(viaPrefix.listPropertiesOfKeys())).some((k) => k.name === 'via-prefix'))
    const signed = await cryptographyClient(server, key.id!).sign('RS256', createHash('sha256').update('x').digest())
    assert.equal(nodeVerify('sha256', Buffer.from('x'), publicKeyOf(key.key!), signed.result), true)
  })

  it('gives a vault added with state.addKeyVault its own port as well', async () => {
    server.state.addKeyVault({name: 'late-kv'})
    const key = await keyClient(server, `${server.url}/vaults/late-kv`).createEcKey('late')
    assert.equal(key.properties.vaultUrl, server.vaultUrl('late-kv'))
    assert.notEqual(new URL(server.vaultUrl('late-kv')).port, new URL(vaultUrl).port)
  })
})
