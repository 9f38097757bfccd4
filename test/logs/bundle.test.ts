import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {gunzipSync} from 'node:zlib'

import type {ContainerClient} from '@azure/storage-blob'
import tar from 'tar-stream'

import {AuditTrail} from '../../src/lib/audit/trail.js'
import {AzureClients} from '../../src/lib/azure/clients.js'
import {validateDataMap} from '../../src/lib/datamap/load.js'
import type {DataMap} from '../../src/lib/datamap/types.js'
import {CustosError} from '../../src/lib/errors.js'
import {verifyDocument} from '../../src/lib/evidence/envelope.js'
import {
  startLocalAzureServer,
  LOCAL_SUBSCRIPTION_ID,
  type LocalAzureServer,
  type LogTable,
} from '../../src/lib/local/azure-server/index.js'
import {createLogsBundle, type LogsBundle} from '../../src/lib/logs/bundle.js'
import {LOG_REDACTION_RULES} from '../../src/lib/logs/redact.js'
import {REDACTION_VERSION} from '../../src/lib/secrets.js'
import {ReadLinkSigner} from '../../src/lib/export/sas.js'
import {getTestAzurite, uniqueName} from '../support/env.js'
import {archiveTime, hourPath, signIn, storageRead} from './fixtures.js'

const H = 3_600_000
const TENANT = '11111111-1111-1111-1111-222222222222'
const BASE = Date.UTC(2026, 10, 22, 10) // range 10:00 to 14:00 on 2026-11-22
const SINCE = new Date(BASE)
const UNTIL = new Date(BASE + 4 * H)
const WORKSPACE = '7f3c1a52-0000-4000-8000-00000000abcd'
const STORAGE_RESOURCE = `resourceId=/SUBSCRIPTIONS/${LOCAL_SUBSCRIPTION_ID.toUpperCase()}/RESOURCEGROUPS/CUSTOS-LOCAL/PROVIDERS/MICROSOFT.STORAGE/STORAGEACCOUNTS/CONTOSOPROD/BLOBSERVICES/DEFAULT`
const SECRET_VALUES = [
  'hunter2',
  'QUNDT1VOVEtFWQ',
  'eyJhbGciOiJSUzI1NiJ9',
  'Q'.repeat(43),
  'R'.repeat(43),
  '2YotnFZFEjr1zCsicMWpAA',
  // the captured StorageRead's fingerprints of the account key and the SAS token (identity.tokenHash)
  '4C81DD1772CEA6215A976B5B9C0764F519518B179BA3C7257C7E745D337833E6',
  '92D630456D3188B7F8F6F4AF99B4FBC8BD9434133587D96FB0FDDFBE12CF6349',
]
/** the callers of acme's reads, and of another customer's */
const ACME_CALLER = '203.0.113.7'
const OTHER_CALLER = '198.51.100.23'

type Json = Record<string, any>

function inRange(time: Date): boolean {
  return time.getTime() >= SINCE.getTime() && time.getTime() < UNTIL.getTime()
}

/** Ground truth kept by the test itself: the ids of acme's records in the range. */
const expected = new Set<string>()

async function writeBlob(container: ContainerClient, name: string, lines: string[]): Promise<void> {
  const blob = container.getAppendBlobClient(name)
  await blob.createIfNotExists({blobHTTPHeaders: {blobContentType: 'application/json'}})
  const body = lines.map((l) => `${l}\n`).join('')
  await blob.appendBlock(body, Buffer.byteLength(body))
}

function extract(file: string): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    const files = new Map<string, Buffer>()
    const ex = tar.extract()
    ex.on('entry', (header, stream, next) => {
      const parts: Buffer[] = []
      stream.on('data', (c: unknown) => parts.push(c as Buffer))
      stream.on('end', () => {
        files.set(header.name, Buffer.concat(parts))
        next()
      })
    })
    ex.on('finish', () => resolve(files))
    ex.on('error', reject)
    ex.end(gunzipSync(readFileSync(file)))
  })
}

describe('logs bundle', function () {
  this.timeout(60_000)
  const signIns = uniqueName('insights-logs-signinlogs')
  const reads = uniqueName('insights-logs-storageread')
  const exportsName = uniqueName('exports')
  const auditName = uniqueName('audit')
  const shared = 'attachments'
  let server: LocalAzureServer
  let dir: string
  let map: DataMap
  let clients: AzureClients
  let bundle: LogsBundle
  let files: Map<string, Buffer>
  let malformedWritten = 0
  const workspaceQueries: string[] = []

  before(async () => {
    const azurite = getTestAzurite()
    server = await startLocalAzureServer({port: 0})
    dir = mkdtempSync(join(tmpdir(), 'custos-logs-test-'))
    const caPath = join(dir, 'ca.pem')
    writeFileSync(caPath, server.caCertificatePem)
    const vault = await server.addVault({name: 'kv-logs'})
    map = validateDataMap(
      {
        customers: {known: ['acme', 'acme-corp', 'initech']},
        stores: [
          {name: 'documents', account: azurite.connectionString('contosoprod'), container: 'tenant-{customer}'},
          {
            name: 'attachments',
            account: azurite.connectionString('contosoprod'),
            container: shared,
            prefix: '{customer}/',
          },
        ],
        keys: {vault, signingKey: 'custos-evidence'},
        logs: {
          archive: {account: azurite.connectionString('contosologs'), containers: [signIns, reads]},
          workspace: WORKSPACE,
          customerFields: ['properties.customerId', 'properties.tenantId'],
        },
        activityLog: {subscription: LOCAL_SUBSCRIPTION_ID},
        exports: {account: azurite.connectionString('contosoexport'), container: exportsName, linkExpiry: '7d'},
        audit: {account: azurite.connectionString('contosoaudit'), container: auditName},
        azure: {
          credential: 'local',
          caCertificate: caPath,
          resourceManager: server.url,
          logAnalytics: `${server.url}/v1`,
          subscription: LOCAL_SUBSCRIPTION_ID,
        },
      },
      join(dir, 'custos.yaml'),
    )
    clients = new AzureClients(map, {retry: {maxTries: 2, retryDelayInMs: 50}})
    await clients.keyClient().createRsaKey('custos-evidence', {keySize: 2048, keyOps: ['sign', 'verify']})

    // ---- archived sign-ins, hours 08..15, in both Entra ID path forms ----
    const logs = clients.blobService(map.logs!.archive!.account)
    const signInContainer = logs.getContainerClient(signIns)
    await signInContainer.create()
    const owners = ['acme', 'acme-corp', 'globex', 'initech', 'acme', undefined, 'ACME', 'acme ']
    let k = 0
    for (let h = -2; h <= 5; h++) {
      const hour = new Date(BASE + h * H)
      const lines: string[] = []
      const tenantLines: string[] = []
      for (const minute of [5, 25, 45]) {
        const owner = owners[k++ % owners.length]
        const time = new Date(hour.getTime() + minute * 60_000)
        const record = signIn(time, owner)
        if (owner === 'acme' && inRange(time)) expected.add(record.properties.id)
        ;(minute === 25 ? tenantLines : lines).push(JSON.stringify(record))
      }

      // A record that happened before the hour but arrived late (appended to this hour's blob).
      if (h === 4) {
        const late = signIn(
          new Date(BASE + 4 * H - 90_000),
          'acme',
          (r) => (r.properties.userDisplayName = 'Support engineer (acme-corp)'),
        )
        expected.add(late.properties.id)
        lines.push(JSON.stringify(late))
      }

      if (h === 1) {
        const withToken = signIn(new Date(BASE + H + 50 * 60_000), 'acme', (r) => {
          r.properties.userAgent =
            'python-requests/2.31 Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhY21lIn0.c2lnbmF0dXJlc2lnbmF0dXJl'
          r.properties.userPrincipalName = 'partner@globex.example'
        })
        expected.add(withToken.properties.id)
        lines.push(JSON.stringify(withToken))
      }

      if (h === 1 || h === -1 || h === -2) {
        lines.push(JSON.stringify(signIn(new Date(hour.getTime() + 50 * 60_000), 'acme')).slice(0, 300)) // truncated by a crash
        if (h !== -2) malformedWritten++ // the 08:00 blob lies outside the window and is never read
      }

      if (h === 2) {
        tenantLines.push('this is not json')
        // broken but naming acme, so it is parsed; V8's error message would quote globex and the IP
        tenantLines.push(`{"properties": {"customerId": "acme", "note": globex calling from ${OTHER_CALLER}}}`)
        malformedWritten += 2
      }

      await writeBlob(
        signInContainer,
        `resourceId=/tenants/${TENANT}/providers/Microsoft.aadiam/${hourPath(hour)}`,
        lines,
      )
      await writeBlob(signInContainer, `tenantId=${TENANT}/${hourPath(hour)}`, tenantLines)
    }

    // ---- archived blob reads (StorageRead), selected by scope, hours 09..14 ----
    const readContainer = logs.getContainerClient(reads)
    await readContainer.create()
    for (let h = -1; h <= 4; h++) {
      const hour = new Date(BASE + h * H)
      const t = (m: number) => new Date(hour.getTime() + m * 60_000)
      const mine = (r: Json, time: Date) => {
        if (inRange(time)) expected.add(r.correlationId)
        return r
      }

      const records: Json[] = [
        mine(
          storageRead(t(1), 'contosoprod', 'tenant-acme', 'contracts/Rahmenvertrag Nr. 1.pdf', (r) => {
            r.callerIpAddress = `${ACME_CALLER}:50001`
            // opened from a page whose address carries a SAS link, percent-encoded once and twice
            r.properties.referrerHeader = `https://portal.example/open?u=https%3A%2F%2Fcontosoprod.blob.core.windows.net%2Ftenant-acme%2Fx%3Fsv%3D2021-06-08%26sig%3D${'R'.repeat(43)}%253D&next=%253Fsig%253D${'R'.repeat(43)}`
          }),
          t(1),
        ),
        storageRead(
          t(2),
          'contosoprod',
          'tenant-acme-corp',
          'contracts/x.pdf',
          (r) => (r.callerIpAddress = `${OTHER_CALLER}:50002`),
        ),
        mine(storageRead(t(3), 'contosoprod', shared, 'acme/mail/inbox/2026-11-01 Angebot.eml'), t(3)),
        storageRead(t(4), 'contosoprod', shared, 'acme-corp/mail/a.eml'),
        storageRead(t(5), 'contosoprod', shared, 'acmex.txt'),
        storageRead(t(6), 'contosobackup', 'tenant-acme', 'other-account.bin'),
        storageRead(t(7), 'contosoprod', 'tenant-acme', 'share-file.txt', (r) => (r.properties.serviceType = 'file')),
        // acme's application reading globex's data: kept (customer field), globex must not show
        mine(
          storageRead(t(8), 'contosoprod', 'tenant-globex', 'secret.pdf', (r) => {
            r.properties.customerId = 'acme'
            r.properties.userAgentHeader =
              'AzCopy/10.21 conn=DefaultEndpointsProtocol=https;AccountName=contosoprod;AccountKey=QUNDT1VOVEtFWQ==;password=hunter2'
          }),
          t(8),
        ),
        // a copy into acme's container from another customer's, which customers.known does not name:
        // kept (acme's blob was written), and umbrella is read back from the source path and replaced
        mine(
          storageRead(t(10), 'contosoprod', 'tenant-acme', 'imported/q.pdf', (r) => {
            r.operationName = 'CopyBlob'
            r.category = 'StorageWrite'
            r.properties.sourceUri = 'https://contosoprod.blob.core.windows.net/tenant-umbrella/q.pdf'
          }),
          t(10),
        ),
        // a listing of acme's folder in the shared container
        mine(
          storageRead(t(9), 'contosoprod', shared, '', (r) => {
            r.operationName = 'ListBlobs'
            r.properties.objectKey = `/contosoprod/${shared}`
            r.uri = `https://contosoprod.blob.core.windows.net:443/${shared}?restype=container&comp=list&prefix=acme%2F`
          }),
          t(9),
        ),
      ]
      const name = `${STORAGE_RESOURCE}/${hourPath(hour)}`
      if (h === 2) {
        // this hour was archived in the old format: one {"records": [...]} document
        const blob = readContainer.getBlockBlobClient(name)
        const body = JSON.stringify({records}, null, 2)
        await blob.upload(body, Buffer.byteLength(body))
      } else {
        await writeBlob(
          readContainer,
          name,
          records.map((r) => JSON.stringify(r)),
        )
      }
    }

    // ---- activity log (REST shape, served by the local Resource Manager, 2 events a page) ----
    server.state.activityLogPageSize = 2
    const containerId = (c: string) =>
      `/subscriptions/${LOCAL_SUBSCRIPTION_ID}/resourceGroups/custos-local/providers/Microsoft.Storage/storageAccounts/contosoprod/blobServices/default/containers/${c}`
    const events = server.state.addActivityEvents(LOCAL_SUBSCRIPTION_ID, [
      {
        eventTimestamp: new Date(BASE + 30 * 60_000),
        operationName: 'Microsoft.Storage/storageAccounts/blobServices/containers/write',
        resourceId: containerId('tenant-acme'),
      },
      {
        eventTimestamp: new Date(BASE + 40 * 60_000),
        operationName: 'Microsoft.Storage/storageAccounts/blobServices/containers/write',
        resourceId: containerId('tenant-acme-corp'),
      },
      {
        eventTimestamp: new Date(BASE + 50 * 60_000),
        operationName: 'Microsoft.Resources/tags/write',
        properties: {customerId: 'acme', statusCode: 'OK'},
      },
      {
        eventTimestamp: new Date(BASE - 50 * 60_000),
        operationName: 'Microsoft.Resources/tags/write',
        properties: {customerId: 'acme', statusCode: 'OK'},
      },
      {
        eventTimestamp: new Date(BASE + 70 * 60_000),
        operationName: 'Microsoft.Storage/storageAccounts/listKeys/action',
      },
    ])
    expected.add(events[0].eventDataId as string)
    expected.add(events[2].eventDataId as string)

    // ---- Log Analytics workspace (PascalCase columns, one union table) ----
    const columns: LogTable['columns'] = [
      {name: 'TimeGenerated', type: 'datetime'},
      {name: 'SourceTable', type: 'string'},
      {name: 'CorrelationId', type: 'string'},
      {name: 'AccountName', type: 'string'},
      {name: 'ObjectKey', type: 'string'},
      {name: 'UserPrincipalName', type: 'string'},
      {name: 'CustomerId', type: 'string'},
      {name: 'Properties', type: 'dynamic'},
    ]
    const rows = [
      [
        archiveTime(new Date(BASE + 20 * 60_000)),
        'StorageBlobLogs',
        'ws-1',
        'contosoprod',
        '/contosoprod/tenant-acme/w.txt',
        null,
        null,
        null,
      ],
      [
        archiveTime(new Date(BASE + 21 * 60_000)),
        'StorageBlobLogs',
        'ws-2',
        'contosoprod',
        '/contosoprod/tenant-acme-corp/w.txt',
        null,
        null,
        null,
      ],
      [
        archiveTime(new Date(BASE + 22 * 60_000)),
        'SigninLogs',
        'ws-3',
        null,
        null,
        'anna@acme.example',
        'acme',
        {authMethod: 'password', password: 'hunter2', note: 'retried with bearer 2YotnFZFEjr1zCsicMWpAA'},
      ],
      [
        archiveTime(new Date(BASE + 23 * 60_000)),
        'SigninLogs',
        'ws-4',
        null,
        null,
        'bob@acme-corp.example',
        null,
        {customerId: 'acme-corp'},
      ],
    ]
    expected.add('ws-1')
    expected.add('ws-3')
    server.state.setLogQueryHandler((workspace, query, timespan) => {
      if (workspace !== WORKSPACE) return undefined
      workspaceQueries.push(query)
      const [from, to] = (timespan ?? '').split('/').map((s) => Date.parse(s))
      return [
        {columns, rows: rows.filter((r) => Date.parse(r[0] as string) >= from && Date.parse(r[0] as string) < to)},
      ]
    })

    bundle = await createLogsBundle(clients, map, {
      customer: 'acme',
      since: SINCE,
      until: UNTIL,
      output: join(dir, 'acme.tar.gz'),
      share: true,
    })
    files = await extract(bundle.file)
  })

  after(async () => {
    await server?.close()
    if (dir) rmSync(dir, {recursive: true, force: true})
  })

  const idOf = (r: Json): string => r.properties?.id ?? r.eventDataId ?? r.CorrelationId ?? r.correlationId

  it("holds exactly acme's records in the range, from every source (checked against the test's own count)", () => {
    const kept: string[] = []
    for (const [name, body] of files) {
      if (!name.endsWith('.jsonl')) continue
      for (const line of body.toString('utf8').split('\n').filter(Boolean)) kept.push(idOf(JSON.parse(line)))
    }

    assert.equal(new Set(kept).size, kept.length, 'no record twice')
    assert.deepEqual(new Set(kept), expected)
    assert.equal(bundle.records, expected.size)
    // one file per source and category, holding only that category
    const names = [...files.keys()].sort()
    assert.ok(names.includes('manifest.json') && names.includes('SHA256SUMS'))
    assert.ok(
      [
        'activity-log/Administrative.jsonl',
        'archive/SignInLogs.jsonl',
        'archive/StorageRead.jsonl',
        'workspace/SigninLogs.jsonl',
        'workspace/StorageBlobLogs.jsonl',
      ].every((n) => names.includes(n)),
      names.join(', '),
    )
    for (const name of names.filter((n) => n.endsWith('.jsonl'))) {
      const [source, file] = name.split('/')
      for (const line of files.get(name)!.toString('utf8').split('\n').filter(Boolean)) {
        const r = JSON.parse(line)
        const category =
          source === 'workspace' ? r.SourceTable : source === 'activity-log' ? r.category.value : r.category
        assert.equal(`${category}.jsonl`, file)
      }
    }

    assert.ok(workspaceQueries.length > 0 && workspaceQueries.every((q) => q.includes('contains "acme"')))
  })

  it('contains no identifier of another customer and no secret', () => {
    for (const [name, body] of files) {
      const text = body.toString('utf8')
      for (const other of ['acme-corp', 'globex', 'initech', 'umbrella'])
        assert.ok(!text.toLowerCase().includes(other), `${other} in ${name}`)
      for (const secret of SECRET_VALUES) assert.ok(!text.includes(secret), `secret ${secret.slice(0, 8)}… in ${name}`)
      if (!name.endsWith('.jsonl')) continue
      for (const pattern of [
        /[?&]sig=(?!\[REDACTED\])/i,
        /sig%3D(?!%5BREDACTED%5D)/i,
        /AccountKey=(?!\[REDACTED\])/i,
        /Bearer\s+(?!\[REDACTED\])/i,
        /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\./,
        /password\\?["']?\s*[:=]\s*\\?["']?(?!\[REDACTED\])\w/i,
        /(?:key[12]|SasSignature)\((?!\[REDACTED\])/i,
      ]) {
        assert.ok(!pattern.test(text), `${pattern} in ${name}`)
      }
    }

    const storage = files.get('archive/StorageRead.jsonl')!.toString('utf8')
    assert.match(storage, /tenant-customer-[0-9a-f]{8}\/secret\.pdf/)
    assert.ok(bundle.redactions['sas-signature'] >= 5)
    assert.ok(bundle.redactions['other-customer-id'] >= 3)
    assert.equal(bundle.redactions['bearer-token'], 2)
    assert.ok(bundle.redactions['storage-token-hash'] >= 2)
    assert.match(storage, /"tokenHash":"key1\(\[REDACTED\]\),SasSignature\(\[REDACTED\]\)"/)
    assert.match(storage, /%26sig%3D%5BREDACTED%5D&next=%253Fsig%253D%255BREDACTED%255D/)
  })

  it("keeps the caller IP of acme's own requests and never shows another customer's", () => {
    const text = [...files.values()].map((b) => b.toString('utf8')).join('\n')
    assert.ok(text.includes(`"callerIpAddress":"${ACME_CALLER}:50001"`))
    assert.ok(!text.includes(OTHER_CALLER))
  })

  it('names the redaction rules that ran, with their version, and counts every rule', () => {
    const manifest = JSON.parse(files.get('manifest.json')!.toString('utf8'))
    const summary = {version: REDACTION_VERSION, rules: LOG_REDACTION_RULES.map((r) => r.id)}
    assert.deepEqual(manifest.body.redaction, summary)
    assert.deepEqual(bundle.redaction, summary)
    assert.deepEqual(Object.keys(manifest.body.redactions), summary.rules)
  })

  it('writes a manifest that verifies with its Key Vault signature, and SHA256SUMS that match', async () => {
    const manifest = JSON.parse(files.get('manifest.json')!.toString('utf8'))
    const check = await verifyDocument(manifest, clients)
    assert.equal(check.ok, true, check.reason)
    assert.equal(check.signature, 'valid')
    assert.equal(manifest.kind, 'custos.logs-manifest')
    assert.deepEqual(manifest.body.timeRange, {since: SINCE.toISOString(), until: UNTIL.toISOString(), edgeHours: 1})
    for (const f of manifest.body.files) {
      assert.equal(createHash('sha256').update(files.get(f.path)!).digest('hex'), f.sha256)
      assert.equal(files.get(f.path)!.toString('utf8').split('\n').filter(Boolean).length, f.records)
    }

    const sums = files.get('SHA256SUMS')!.toString('utf8').trim().split('\n')
    assert.equal(sums.length, manifest.body.files.length + 1)
    for (const line of sums) {
      const [hash, name] = line.split(/\s+/)
      assert.equal(createHash('sha256').update(files.get(name)!).digest('hex'), hash, name)
    }

    const tampered = structuredClone(manifest)
    tampered.body.records++
    assert.equal((await verifyDocument(tampered, clients)).ok, false)
    assert.equal(createHash('sha256').update(readFileSync(bundle.file)).digest('hex'), bundle.sha256)
  })

  it('counts malformed lines in the blobs it read and reports them', () => {
    assert.equal(bundle.malformedLines, malformedWritten)
    assert.equal(malformedWritten, 4)
    const manifest = JSON.parse(files.get('manifest.json')!.toString('utf8'))
    assert.equal(manifest.body.malformedLines, 4)
    assert.ok(bundle.malformedSamples.every((m) => m.source.startsWith(`${signIns}/`)))
    // the reason never quotes the line (V8's JSON.parse message would)
    assert.ok(bundle.malformedSamples.some((m) => m.reason.startsWith('not valid JSON (')))
    assert.ok(bundle.malformedSamples.every((m) => !/this is not|globex|198\.51/.test(m.reason)))
  })

  it('reads only the hour blobs of the range and its neighbours', () => {
    const archive = bundle.sources.filter((s) => s.kind === 'archive')
    // sign-ins: hours 09..14 in two path forms; reads: hours 09..14
    assert.deepEqual(
      archive.map((s) => (s.kind === 'archive' ? s.blobsRead : 0)),
      [12, 6],
    )
  })

  it('shares a read-only HTTPS link that expires within 7 days and cannot write', async () => {
    const link = bundle.link!
    const url = new URL(link.url)
    assert.equal(url.searchParams.get('sp'), 'r')
    assert.equal(url.searchParams.get('spr'), 'https')
    const expires = Date.parse(url.searchParams.get('se')!)
    assert.ok(
      expires > Date.now() + 6.9 * 86_400_000 && expires <= Date.now() + 7 * 86_400_000,
      url.searchParams.get('se')!,
    )
    // Azurite serves plain HTTP only; the service refuses an https-only SAS over it.
    const overHttp = await fetch(link.url)
    assert.equal(overHttp.status, 403)
    assert.match(await overHttp.text(), /AuthorizationProtocolMismatch/)
    // The same signer with HTTP allowed (loopback only) shows what sp=r grants: reading, not writing.
    const blob = clients.blobService(map.exports!.account).getContainerClient(exportsName).getBlockBlobClient(link.blob)
    const local = {
      url: await new ReadLinkSigner(clients, map.exports!.account, {
        expiresOn: new Date(Date.now() + 3_600_000),
        allowHttpOnLoopback: true,
      }).url(blob),
    }
    assert.equal(new URL(local.url).searchParams.get('sp'), 'r')
    const read = await fetch(local.url)
    assert.equal(read.status, 200)
    assert.equal(
      createHash('sha256')
        .update(Buffer.from(await read.arrayBuffer()))
        .digest('hex'),
      bundle.sha256,
    )
    const write = await fetch(local.url, {method: 'PUT', headers: {'x-ms-blob-type': 'BlockBlob'}, body: 'overwritten'})
    assert.equal(write.status, 403)
    assert.match(await write.text(), /AuthorizationPermissionMismatch/)
    const del = await fetch(local.url, {method: 'DELETE'})
    assert.equal(del.status, 403)
  })

  it('records the bundle and the share link in the audit trail', async () => {
    const trail = new AuditTrail(clients)
    const records = []
    for await (const {record} of trail.read()) if (record?.operationId === bundle.operationId) records.push(record)
    assert.deepEqual(
      records.map((r) => `${r.action}:${r.result}`),
      ['logs.bundle:started', 'share-link:recorded', 'logs.bundle:succeeded'],
    )
    assert.equal(records[2].details?.sha256, bundle.sha256)
    assert.ok(!JSON.stringify(records).includes('sig='), 'no SAS in the audit trail')
    assert.equal((await trail.verify()).ok, true)
  })

  it('never gives acme-corp a record of acme, or the other way round', async () => {
    const other = await createLogsBundle(clients, map, {
      customer: 'acme-corp',
      since: SINCE,
      until: UNTIL,
      output: join(dir, 'acme-corp.tar.gz'),
      signer: null,
    })
    const otherFiles = await extract(other.file)
    const ids = new Set<string>()
    for (const [name, body] of otherFiles)
      if (name.endsWith('.jsonl'))
        for (const line of body.toString('utf8').split('\n').filter(Boolean)) ids.add(idOf(JSON.parse(line)))
    for (const id of ids) assert.ok(!expected.has(id), `acme's ${id} in acme-corp's bundle`)
    // acme-corp: sign-ins of owner acme-corp in range, reads of tenant-acme-corp and attachments/acme-corp/, 1 activity event, 1 workspace row
    assert.ok(ids.has('ws-2') && ids.has('ws-4'))
    assert.equal(JSON.parse(otherFiles.get('manifest.json')!.toString('utf8')).signed, false)
  })

  it('refuses --share without an exports section and a link longer than 7 days, before any work', async () => {
    const noExports = {...map, exports: undefined}
    await assert.rejects(
      createLogsBundle(clients, noExports, {
        customer: 'acme',
        since: SINCE,
        until: UNTIL,
        output: join(dir, 'x.tar.gz'),
        share: true,
      }),
      (e: unknown) => e instanceof CustosError && e.exitCode === 2 && /exports/.test(e.message),
    )
    await assert.rejects(
      createLogsBundle(clients, map, {
        customer: 'acme',
        since: SINCE,
        until: UNTIL,
        output: join(dir, 'x.tar.gz'),
        share: true,
        linkExpiryInMs: 8 * 86_400_000,
      }),
      (e: unknown) => e instanceof CustosError && e.exitCode === 2 && /within 7 days/.test(e.message),
    )
    await assert.rejects(
      createLogsBundle(clients, map, {customer: 'acme', since: UNTIL, until: SINCE, output: join(dir, 'x.tar.gz')}),
      (e: unknown) => e instanceof CustosError && e.exitCode === 2,
    )
    await assert.rejects(
      createLogsBundle(clients, map, {customer: 'acme/..', since: SINCE, until: UNTIL, output: join(dir, 'x.tar.gz')}),
      (e: unknown) => e instanceof CustosError && e.code === 'InvalidCustomerId',
    )
  })
})
