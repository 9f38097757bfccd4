import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'
import {join} from 'node:path'

import {AzureNamedKeyCredential, TableClient} from '@azure/data-tables'

import {DEVELOPMENT_ACCOUNT} from '../../../src/lib/azure/account.js'
import {
  deleteEntityBatch,
  listEntityPages,
  normalizeTimestamp,
  type RawEntity,
} from '../../../src/lib/stores/table/entities.js'
import {tableTargetOf} from '../../../src/lib/stores/table/types.js'

const SAMPLES = join(process.cwd(), '..', 'shared', 'azure-contracts', 'tables')

interface Recorded {
  RequestUri: string
  StatusCode: number
  ResponseHeaders: Record<string, string | string[]>
  ResponseBody: unknown
}

function recording(name: string): Recorded[] {
  return (JSON.parse(readFileSync(join(SAMPLES, name), 'utf8')) as {Entries: Recorded[]}).Entries
}

/** Serves the recorded answers in order, exactly as recorded, and keeps the requests it got. */
async function replay(entries: Recorded[]): Promise<{url: string; requests: string[]; close(): Promise<void>}> {
  const requests: string[] = []
  let next = 0
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume()
    req.on('end', () => {
      requests.push(req.url ?? '')
      const entry = entries[next++]
      const headers: Record<string, string> = {}
      for (const [k, v] of Object.entries(entry.ResponseHeaders))
        if (!/^(transfer-encoding|content-length)$/i.test(k)) headers[k] = Array.isArray(v) ? v.join(', ') : v
      const body =
        typeof entry.ResponseBody === 'string'
          ? Buffer.from(entry.ResponseBody, 'base64')
          : Buffer.from(JSON.stringify(entry.ResponseBody))
      res.writeHead(entry.StatusCode, headers)
      res.end(body)
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const {port} = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/fakeaccountname`,
    requests,
    close: () => new Promise((r) => server.close(() => r())),
  }
}

function client(url: string, table: string): TableClient {
  return new TableClient(url, table, new AzureNamedKeyCredential('fakeaccountname', DEVELOPMENT_ACCOUNT.key), {
    allowInsecureConnection: true,
    retryOptions: {maxRetries: 0},
  })
}

describe('Table storage against the recorded service answers (azure-contracts/tables)', () => {
  it('a listing follows x-ms-continuation-NextPartitionKey/NextRowKey back as NextPartitionKey/NextRowKey and ends on the page without them', async () => {
    const entries = recording('recorded-query-entities-paging.json')
    const server = await replay(entries)
    try {
      const target = tableTargetOf(
        {name: 's', engine: 'table', account: server.url, table: 'tableClientTestnode', partitionKey: '{customer}'},
        'listEntitiesTest',
      )
      const pages: RawEntity[][] = []
      const listing = listEntityPages(client(server.url, 'tableClientTestnode'), target, {maxPageSize: 5})
      for await (const page of listing.pages) pages.push(page)
      assert.equal(pages.length, entries.length)
      // the second request carries the first answer's headers' values, verbatim
      const first = entries[0].ResponseHeaders
      const query = new URL(server.requests[1], 'http://x').searchParams
      assert.equal(query.get('NextPartitionKey'), first['x-ms-continuation-NextPartitionKey'])
      assert.equal(query.get('NextRowKey'), first['x-ms-continuation-NextRowKey'])
      assert.equal(
        new URL(server.requests[0], 'http://x').searchParams.get('$filter'),
        "PartitionKey eq 'listEntitiesTest'",
      )
      const rows = pages.flat()
      const recorded = entries.flatMap((e) => (e.ResponseBody as {value: RawEntity[]}).value)
      assert.deepEqual(rows, recorded, 'entities are kept exactly as the service sent them (odata.etag and all)')
      // RowKeys in string order, timestamps with 7 and 6 digits compare correctly once normalised
      assert.deepEqual(
        rows.slice(0, 3).map((e) => e.RowKey),
        ['0', '1', '10'],
      )
      const stamps = rows.map((e) => normalizeTimestamp(e.Timestamp!))
      assert.ok(stamps.every((s) => /\.\d{7}Z$/.test(s)))
    } finally {
      await server.close()
    }
  })

  it('a failed changeset (202 outside, one 404 part "0:…" inside) is read as the table being gone, not as success', async () => {
    const server = await replay(recording('recorded-batch-suberror-table-not-found.json'))
    try {
      const outcome = await deleteEntityBatch(client(server.url, 'noExistingTableError'), [
        {PartitionKey: 'batchTest', RowKey: '1'},
        {PartitionKey: 'batchTest', RowKey: '2'},
        {PartitionKey: 'batchTest', RowKey: '3'},
      ])
      assert.deepEqual(outcome, {deleted: 0, gone: 3, tableGone: true})
      assert.equal(server.requests.length, 1)
      assert.match(server.requests[0], /\$batch/)
    } finally {
      await server.close()
    }
  })

  it('a successful changeset (one 204 part per operation) counts every entity deleted', async () => {
    const server = await replay(recording('recorded-batch-create-three-entities.json'))
    try {
      const outcome = await deleteEntityBatch(client(server.url, 'batchTableTestnode'), [
        {PartitionKey: 'batchTest', RowKey: '1'},
        {PartitionKey: 'batchTest', RowKey: '2'},
        {PartitionKey: 'batchTest', RowKey: '3'},
      ])
      assert.deepEqual(outcome, {deleted: 3, gone: 0, tableGone: false})
    } finally {
      await server.close()
    }
  })

  it('the recorded multipart files are what the recordings carry (CRLF, one part per operation, a single 404 part on failure)', () => {
    const ok = readFileSync(join(SAMPLES, 'batch-create-response.multipart'), 'utf8')
    assert.equal((ok.match(/HTTP\/1\.1 204 No Content/g) ?? []).length, 3)
    const failed = readFileSync(join(SAMPLES, 'batch-suberror-response.multipart'), 'utf8')
    assert.equal((failed.match(/HTTP\/1\.1 /g) ?? []).length, 1)
    assert.match(failed, /"value":"0:The table specified does not exist\./)
  })
})
