/**
 * Bad input, as a table: unacceptable customer ids, broken data maps, wrong / expired / missing
 * credentials, an unreachable endpoint, and corrupted plans, journals, manifests and certificates.
 * Each is refused through the built CLI with exit 2, 3 or 4 (certificate verify: 1, "altered", or
 * "malformed" when its signature is not what custos writes) and one `Error:` line naming the
 * problem, no stack trace — and an inventory of every blob (SHA-256) and every key taken before and
 * after shows that nothing changed.
 */
import assert from 'node:assert/strict'
import {copyFileSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import type {TokenCredential} from '@azure/core-auth'

import {AzureClients} from '../../src/lib/azure/clients.js'
import {verifyBackups} from '../../src/lib/backups/verify.js'
import {eraseCustomer} from '../../src/lib/erase/erase.js'
import {CustosError} from '../../src/lib/errors.js'
import {sealDocument} from '../../src/lib/evidence/envelope.js'
import {keyVaultSigner} from '../../src/lib/evidence/signing.js'
import {exportCustomer} from '../../src/lib/export/export.js'
import {inventoryCustomer} from '../../src/lib/inventory/inventory.js'
import {createLogsBundle} from '../../src/lib/logs/bundle.js'
import type {CliResult} from '../support/cli.js'
import {describeFailure, runCli} from './cli.js'
import {SecretScan} from './secrets.js'
import {
  FAST_RETRY,
  createWorld,
  hashContainers,
  keyStates,
  reliabilityEnv,
  type ReliabilityEnv,
  type World,
} from './world.js'

const BAD_IDS: Array<[label: string, id: string]> = [
  ['empty', ''],
  ['wildcard', '*'],
  ['dot-dot', '..'],
  ['path escape', '../x'],
  ['trailing slash', 'acme/'],
  ['upper case', 'ACME'],
  ['percent-encoded slash', 'acme%2f'],
  ['Cyrillic а look-alike', '\u0430cme'],
  ['zero-width space', 'acme\u200B'],
  ['full-width letters', '\uFF41\uFF43\uFF4D\uFF45'],
  ['10,000 characters', 'a'.repeat(10_000)],
]

/** Runs `jobs` at most `n` at a time (each CLI process costs ~0.7 s of start-up). */
async function inParallel<T>(jobs: Array<() => Promise<T>>, n = 4): Promise<T[]> {
  const out: T[] = Array.from({length: jobs.length})
  let next = 0
  await Promise.all(
    Array.from({length: n}, async () => {
      while (next < jobs.length) {
        const i = next++
        out[i] = await jobs[i]()
      }
    }),
  )
  return out
}

/** The refusal an operator reads: exit code, first stderr line, a single `Error:` line, no stack trace. */
function assertRefused(label: string, result: CliResult, code: number, first: RegExp): void {
  const f = describeFailure(result)
  assert.equal(f.code, code, `${label}: exit ${f.code}\n${result.stdout}\n${result.stderr}`)
  assert.match(f.first, /^Error: /, `${label}: the first stderr line is the error: ${JSON.stringify(f.first)}`)
  assert.match(f.first, first, `${label}: ${f.first}`)
  assert.equal(f.errorLines, 1, `${label}: one Error: line`)
  assert.equal(f.stackTrace, false, `${label}: no stack trace`)
  assert.equal(result.stdout, '', `${label}: nothing on stdout`)
}

describe('reliability: bad input is refused, and nothing changes', function () {
  this.timeout(120_000)
  let renv: ReliabilityEnv
  let world: World
  let scan: SecretScan
  let initial: {blobs: Map<string, string>; keys: Map<string, string>}
  const watched = () => [
    ...world.dataContainers(),
    {account: 'contosoprod' as const, container: 'attachments'},
    ...['acme', 'acme-corp', 'globex', 'initech'].map((c) => ({
      account: 'contosoprod' as const,
      container: `tenant-${c}`,
    })),
    {account: 'contosobackup' as const, container: 'backups'},
  ]
  const inventory = async () => ({blobs: await hashContainers(renv, watched()), keys: await keyStates(renv)})
  /** data maps written by the tests: input, holding the keys they give custos (not scanned) */
  const inputs: string[] = []
  /** a data map derived from the world's, written for the CLI */
  const variant = (name: string, mutate: (raw: Record<string, any>) => void): string => {
    const raw = structuredClone(world.raw) as Record<string, any>
    mutate(raw)
    const path = join(world.dir, `${name}.json`)
    writeFileSync(path, JSON.stringify(raw, null, 2))
    inputs.push(path)
    return path
  }

  /** every account string of a raw data map, rewritten */
  const everyAccount = (raw: Record<string, any>, rewrite: (account: string, name: string) => string) => {
    for (const entry of [...raw.stores, ...raw.backups, raw.exports, raw.audit]) {
      const name = /AccountName=([^;]+)/.exec(entry.account)?.[1] ?? 'contosoprod'
      entry.account = rewrite(entry.account, name)
    }
  }

  before(async function () {
    this.timeout(120_000)
    renv = await reliabilityEnv()
    world = await createWorld(renv)
    scan = new SecretScan(renv.secrets())
    initial = await inventory()
    assert.ok(
      initial.blobs.size > 100 && initial.keys.size >= 8,
      `the inventory sees the data (${initial.blobs.size} blobs, ${initial.keys.size} keys)`,
    )
  })

  afterEach(async function () {
    this.timeout(60_000)
    const after = await inventory()
    assert.deepEqual(after.blobs, initial.blobs, 'every blob is byte-for-byte what it was')
    assert.deepEqual(after.keys, initial.keys, 'every key is still there and enabled')
  })

  after(async function () {
    this.timeout(60_000)
    await scan.dir(world.dir, [world.configPath, ...inputs])
    await scan.audit(world.clients)
    scan.assertClean()
  })

  it('refuses every unacceptable customer id with exit 2 and one line naming the id, in every command', async () => {
    const commands = [
      (id: string) => ['customer', 'erase', id, '--config', world.configPath, '--yes', '--no-export-required'],
      (id: string) => ['customer', 'export', id, '--config', world.configPath, '--to', join(world.dir, 'never')],
      (id: string) => [
        'logs',
        'bundle',
        id,
        '--config',
        renv.env.configPath,
        '--since',
        '-1h',
        '--output',
        join(world.dir, 'never.tar.gz'),
      ],
      (id: string) => ['customer', 'inventory', id, '--config', world.configPath],
    ]
    const results = await inParallel(
      BAD_IDS.map(
        ([, id], i) =>
          () =>
            runCli(commands[i % commands.length](id), {scan}),
      ),
    )
    for (const [i, [label, id]] of BAD_IDS.entries()) {
      const shown =
        id.length > 80 ? `${JSON.stringify(id.slice(0, 40))}… (${id.length} characters)` : JSON.stringify(id)
      assertRefused(
        `${label} (${commands[i % commands.length]('…').slice(0, 2).join(' ')})`,
        results[i],
        2,
        new RegExp(
          `^Error: Customer id ${shown.replaceAll(/[.*+?^${}()|[\]\\]/g, String.raw`\$&`)} is not acceptable: `,
        ),
      )
    }

    // Every command's library function, every id: the same refusal, before any request.
    const clients = new AzureClients(world.map, {retry: FAST_RETRY})
    const calls: Array<[string, (id: string) => Promise<unknown>]> = [
      [
        'export',
        (id) => exportCustomer(clients, world.map, id, {target: {kind: 'folder', path: join(world.dir, 'never')}}),
      ],
      [
        'erase plan',
        (id) =>
          eraseCustomer(clients, world.map, {
            customer: id,
            planOnly: true,
            yes: false,
            exportRequired: true,
            concurrency: 1,
            retries: 1,
          }),
      ],
      [
        'erase apply',
        (id) =>
          eraseCustomer(clients, world.map, {
            customer: id,
            planOnly: false,
            yes: true,
            exportRequired: false,
            concurrency: 1,
            retries: 1,
          }),
      ],
      [
        'logs bundle',
        (id) =>
          createLogsBundle(renv.clients, renv.map, {
            customer: id,
            since: new Date(Date.now() - 3_600_000),
            until: new Date(),
            output: join(world.dir, 'never.tar.gz'),
          }),
      ],
      ['backups verify', (id) => verifyBackups(clients, world.map, {customer: id})],
      ['inventory', (id) => inventoryCustomer(clients, world.map, id)],
    ]
    for (const [name, call] of calls) {
      for (const [label, id] of BAD_IDS) {
        await assert.rejects(
          call(id),
          (e: unknown) => e instanceof CustosError && e.code === 'InvalidCustomerId' && e.exitCode === 2,
          `${name}: ${label}`,
        )
      }
    }
  })

  it('refuses a data map with a missing field, a wrong type, an unknown placeholder, an unscoped prefix or overlapping stores (exit 2, naming the field)', async () => {
    const cases: Array<[string, (raw: Record<string, any>) => void, RegExp]> = [
      ['missing-field', (raw) => delete raw.stores[0].container, /stores\[0\]\.container: is required/],
      [
        'wrong-type',
        (raw) => (raw.backups[0].expect.keepDays = '30'),
        /backups\[0\]\.expect\.keepDays: must be integer/,
      ],
      [
        'unknown-placeholder',
        (raw) => (raw.stores[0].container = `${world.id}-{tenant}`),
        /stores\[0\]\.container: unknown placeholder \{tenant\}/,
      ],
      [
        'prefix-without-customer',
        (raw) => (raw.stores[1].prefix = 'files/'),
        /stores\[1\]\.prefix: must contain \{customer\}/,
      ],
      [
        'overlapping-stores',
        (raw) => raw.stores.push({...raw.stores[1], name: 'mail', prefix: '{customer}/mail/'}),
        /stores\[2\]: overlaps stores\[1\] \(attachments\)/,
      ],
    ]
    const results = await inParallel(
      cases.map(
        ([name, mutate]) =>
          () =>
            runCli(['customer', 'erase', 'acme', '--config', variant(name, mutate), '--yes', '--no-export-required'], {
              scan,
            }),
      ),
    )
    for (const [i, [name, , field]] of cases.entries()) {
      assertRefused(name, results[i], 2, new RegExp(`^Error: The data map .*${name}\\.json is invalid: 1 problem\\.$`))
      assert.match(results[i].stderr, field, `${name} names the field`)
    }
  })

  it('wrong, expired or missing credentials and an unreachable endpoint stop an erase before anything is deleted (exit 4 / 2, naming the account)', async () => {
    const wrongKey = Buffer.alloc(64, 7).toString('base64')
    const endpoint = (name: string) => renv.env.azurite.blobEndpoint(name)
    const cases: Array<[string, (raw: Record<string, any>) => void, number, RegExp]> = [
      [
        'wrong-key',
        (raw) => everyAccount(raw, (a) => a.replace(/AccountKey=[^;]+/, `AccountKey=${wrongKey}`)),
        4,
        /^Error: Access to the erase lock locks\/erase-acme in container \S+ of account contosoaudit was denied \(403 AuthorizationFailure\)\.$/,
      ],
      [
        'expired-sas',
        (raw) =>
          everyAccount(
            raw,
            (_a, name) =>
              `BlobEndpoint=${endpoint(name)};SharedAccessSignature=sv=2021-08-06&ss=b&srt=sco&sp=rwdlac&st=2019-01-01T00:00:00Z&se=2020-01-01T00:00:00Z&spr=https,http&sig=c2lnbmF0dXJlLW9mLWFuLWV4cGlyZWQtdG9rZW4%3D`,
          ),
        4,
        /^Error: Access to the erase lock .* of account contosoaudit was denied \(403 \w+\)\.$/,
      ],
      [
        'no-key',
        (raw) =>
          everyAccount(
            raw,
            (_a, name) => `DefaultEndpointsProtocol=http;AccountName=${name};BlobEndpoint=${endpoint(name)}`,
          ),
        2,
        /^Error: The erase lock .* is reached over plain http:\/\/, and custos sends Entra ID tokens only over HTTPS\.$/,
      ],
      [
        'unreachable',
        (raw) =>
          everyAccount(raw, (a) =>
            a.replace(/BlobEndpoint=http:\/\/127\.0\.0\.1:\d+/, 'BlobEndpoint=http://127.0.0.1:9'),
          ),
        4,
        /^Error: Could not reach the erase lock .* \(ECONNREFUSED\)\.$/,
      ],
    ]
    const results = await inParallel(
      cases.map(
        ([name, mutate]) =>
          () =>
            runCli(
              [
                'customer',
                'erase',
                'acme',
                '--config',
                variant(name, mutate),
                '--yes',
                '--no-export-required',
                '--retries',
                '1',
              ],
              {scan},
            ),
      ),
    )
    for (const [i, [name, , code, first]] of cases.entries()) assertRefused(name, results[i], code, first)

    // Key Vault with a wrong token (the local server answers 401), and no credential at all.
    const wrongToken: TokenCredential = {
      getToken: async () => ({token: 'not-the-development-token', expiresOnTimestamp: Date.now() + 3_600_000}),
    }
    const noCredential: TokenCredential = {
      getToken: async () => {
        throw Object.assign(
          new Error('DefaultAzureCredential failed to retrieve a token from the included credentials.'),
          {name: 'CredentialUnavailableError'},
        )
      },
    }
    for (const [name, credential, code, message] of [
      [
        'wrong Key Vault token',
        wrongToken,
        'AccessDenied',
        /^Access to signing key custos-evidence in vault https:\/\/127\.0\.0\.1:\d+ was denied \(401 Unauthorized\)\.$/,
      ],
      ['no credential', noCredential, 'SignInRequired', /^No Azure credential was available to reach /],
    ] as const) {
      const clients = new AzureClients(world.map, {retry: FAST_RETRY, credential})
      for (const call of [
        () =>
          eraseCustomer(clients, world.map, {
            customer: 'acme',
            planOnly: false,
            planOut: join(world.dir, 'kv.plan.json'),
            yes: true,
            exportRequired: false,
            concurrency: 1,
            retries: 1,
          }),
        () =>
          exportCustomer(clients, world.map, 'acme', {target: {kind: 'folder', path: join(world.dir, `kv-${code}`)}}),
      ]) {
        await assert.rejects(
          call(),
          (e: unknown) => e instanceof CustosError && e.code === code && e.exitCode === 4 && message.test(e.message),
          name,
        )
      }
    }
  })

  it('a corrupted plan or journal is refused before anything is deleted (exit 3 / 2); a corrupted manifest or certificate verifies as altered (exit 1)', async () => {
    const planOf = async (customer: string) => {
      const path = join(world.dir, `${customer}.plan.json`)
      await eraseCustomer(world.clients, world.clients.map, {
        customer,
        planOnly: true,
        planOut: path,
        yes: false,
        exportRequired: false,
        concurrency: 1,
        retries: 1,
      })
      return path
    }

    const [acme, corp, globex, initech] = await Promise.all(['acme', 'acme-corp', 'globex', 'initech'].map(planOf))
    const write = (name: string, content: string) => {
      const path = join(world.dir, name)
      writeFileSync(path, content)
      return path
    }

    /** the plan at `path` with the line that contains `marker` rewritten */
    const edited = (path: string, name: string, marker: string, edit: (line: string) => string) => {
      const lines = readFileSync(path, 'utf8').split('\n')
      const at = lines.findIndex((l) => l.includes(marker))
      assert.ok(at > 0, `${marker} is in ${path}`)
      return write(name, [...lines.slice(0, at), edit(lines[at]), ...lines.slice(at + 1)].join('\n'))
    }

    const foreignJournal = join(world.dir, 'journal.plan.json')
    copyFileSync(globex, foreignJournal)
    writeFileSync(
      `${foreignJournal}.journal.jsonl`,
      `${JSON.stringify({type: 'start', fingerprint: 'f'.repeat(64), operationId: 'x', time: new Date().toISOString(), pid: 1})}\n`,
    )

    // Each run takes its customer's erase lock before it reads the plan: one customer per case, so they can run at once.
    const erasePlan = (customer: string, path: string) => [
      'customer',
      'erase',
      customer,
      '--config',
      world.configPath,
      '--plan',
      path,
      '--yes',
      '--no-export-required',
    ]
    const planCases: Array<[string, string[], number, RegExp]> = [
      [
        'a plan line moved to another customer',
        erasePlan(
          'acme',
          edited(acme, 'scope.plan.json', '"name":"acme/files/0001.bin"', (l) =>
            l.replace('"acme/files/0001.bin"', '"acme-corp/files/0001.bin"'),
          ),
        ),
        3,
        /^Error: Refused: \S+\/acme-corp\/files\/0001\.bin is outside the scope of customer acme in store attachments/,
      ],
      [
        'a plan line edited',
        erasePlan(
          'acme-corp',
          edited(corp, 'size.plan.json', '"name":"acme-corp/files/0001.bin"', (l) =>
            l.replace(/"size":\d+/, '"size":1'),
          ),
        ),
        3,
        /^Error: The plan .*size\.plan\.json cannot be trusted: its items do not match its fingerprint/,
      ],
      [
        'a plan cut short',
        erasePlan('initech', write('cut.plan.json', `${readFileSync(initech, 'utf8').split('\n')[0]}\n`)),
        3,
        /^Error: The plan .*cut\.plan\.json cannot be trusted: it has no trailer/,
      ],
      [
        'a plan of another customer',
        erasePlan('umbrella', acme),
        3,
        /^Error: The plan .*acme\.plan\.json is for customer acme, not umbrella\.$/,
      ],
      [
        'not a plan',
        erasePlan('hooli', write('other.json', '{"type":"something else"}\n')),
        2,
        /^Error: .*other\.json is not a custos erase plan/,
      ],
      [
        'a journal of another plan',
        erasePlan('globex', foreignJournal),
        3,
        /^Error: The journal .*journal\.plan\.json\.journal\.jsonl belongs to another plan/,
      ],
    ]
    const refused = await inParallel(
      planCases.map(
        ([, args]) =>
          () =>
            runCli(args, {scan}),
      ),
    )
    for (const [i, [name, , code, first]] of planCases.entries()) assertRefused(name, refused[i], code, first)

    // An export and an erase certificate to corrupt (in a world of their own: the erase deletes).
    const exported = join(world.dir, 'export')
    await exportCustomer(world.clients, world.clients.map, 'acme', {target: {kind: 'folder', path: exported}})
    const tiny = {documents: 1, attachments: 1, backups: 1}
    const other = await createWorld(renv, {keys: false, content: {acme: tiny, 'acme-corp': tiny, globex: tiny}})
    const erased = await eraseCustomer(other.clients, other.clients.map, {
      customer: 'acme',
      planOnly: false,
      planOut: join(world.dir, 'other.plan.json'),
      yes: true,
      exportRequired: false,
      concurrency: 4,
      retries: 3,
    })
    const manifest = readFileSync(join(exported, 'manifest.json'), 'utf8')
    const certificate = () => JSON.parse(readFileSync(erased.certificate!.json, 'utf8'))
    const claimingMore = certificate()
    claimingMore.body.totals.deleted.items += 1
    const resigned = certificate()
    resigned.signature.value = `AAAAAAAA${resigned.signature.value.slice(8)}`
    const verifyCases: Array<[string, string]> = [
      [
        'a manifest with an object size changed',
        write(
          'edited.manifest.json',
          manifest.replace(/"size":(\d+)/, (_m, n: string) => `"size":${Number(n) + 1}`),
        ),
      ],
      ['a manifest cut short', write('cut.manifest.json', manifest.slice(0, manifest.length >> 1))],
      [
        'a certificate claiming one more deletion',
        write('edited.certificate.json', JSON.stringify(claimingMore, null, 2)),
      ],
      ['a certificate with a forged signature', write('resigned.certificate.json', JSON.stringify(resigned, null, 2))],
    ]
    const verified = await inParallel(
      verifyCases.map(
        ([, path]) =>
          () =>
            runCli(['certificate', 'verify', path, '--config', world.configPath, '--json'], {scan}),
      ),
    )
    for (const [i, [name]] of verifyCases.entries()) {
      assert.equal(verified[i].code, 1, `${name}: ${verified[i].stdout}${verified[i].stderr}`)
      assert.match(verified[i].json<{status: string}>().status, /^(altered|inconsistent)$/, name)
    }

    // Verified with the data map of the world that erased (the certificate's audit record is in its trail).
    const intact = await runCli(
      ['certificate', 'verify', erased.certificate!.json, '--config', other.configPath, '--json'],
      {scan},
    )
    assert.equal(intact.code, 0, 'the untouched certificate verifies (the check can pass)')
  })

  it('a certificate whose signature is not {alg, kid, value} strings is malformed: exit 1 with one line, not a crash', async () => {
    // A sealed document with a valid hash and a real signature, so that verification reaches the signature.
    const signed = await sealDocument('custos.deletion-certificate', {customer: 'acme'}, keyVaultSigner(world.clients))
    assert.ok(signed.signature, 'the world signs with its vault')
    const write = (name: string, signature: unknown) => {
      const path = join(world.dir, name)
      writeFileSync(path, JSON.stringify({...signed, signature}, null, 2))
      return path
    }

    const cases: Array<[string, string, RegExp]> = [
      [
        'signature.value a number',
        write('value-number.certificate.json', {...signed.signature, value: 123}),
        /^Error: \S+value-number\.certificate\.json is malformed: signature\.value must be a base64 string; it was altered or is not a custos document\.$/,
      ],
      [
        'signature a string',
        write('garbage.certificate.json', 'garbage'),
        /^Error: \S+garbage\.certificate\.json is malformed: signature must be an object with alg, kid and value;/,
      ],
      [
        'signature.kid not a URL',
        write('kid.certificate.json', {...signed.signature, kid: 'custos-evidence'}),
        /^Error: \S+kid\.certificate\.json is malformed: signature\.kid must be the URL of a Key Vault key;/,
      ],
    ]
    const results = await inParallel(
      cases.map(
        ([, path]) =>
          () =>
            runCli(['certificate', 'verify', path, '--config', world.configPath], {scan}),
      ),
    )
    for (const [i, [name, , first]] of cases.entries()) assertRefused(name, results[i], 1, first)

    const json = await runCli(['certificate', 'verify', cases[0][1], '--config', world.configPath, '--json'], {scan})
    assert.equal(json.code, 1)
    const {code, exitCode} = json.json<{error: {code: string; exitCode: number}}>().error
    assert.deepEqual({code, exitCode}, {code: 'MalformedDocument', exitCode: 1})
    // The same document with its signature untouched: the hash and the signature check out (its
    // made-up body is reported inconsistent, exit 1, which is not what is tested here).
    const intact = await runCli(
      [
        'certificate',
        'verify',
        write('intact.certificate.json', signed.signature),
        '--config',
        world.configPath,
        '--json',
      ],
      {scan},
    )
    const {hash, signature} = intact.json<{hash: string; signature: string}>()
    assert.deepEqual({hash, signature}, {hash: 'valid', signature: 'valid'})
  })
})
