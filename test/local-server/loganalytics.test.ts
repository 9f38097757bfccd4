import {strict as assert} from 'node:assert'

import {LogsQueryResultStatus} from '@azure/monitor-query-logs'

import {
  LogQueryError,
  startLocalAzureServer,
  type LocalAzureServer,
  type LogTable,
} from '../../src/lib/local/azure-server/index.js'
import {assertShape, logsQueryClient, rawRequest, recording, sample} from './helpers.js'

describe('local Azure server: Log Analytics query API', function () {
  this.timeout(30_000)
  let server: LocalAzureServer
  const calls: Array<{workspace: string; query: string; timespan: string | undefined}> = []
  const recorded = recording('monitor/recorded-loganalytics-query-with-types.json')[0]

  before(async () => {
    server = await startLocalAzureServer()
    server.state.setLogQueryHandler((workspace, query, timespan): LogTable[] | undefined => {
      calls.push({workspace, query, timespan})
      if (workspace === 'missing') return undefined
      if (query.includes('syntax error'))
        throw new LogQueryError('BadArgumentError', 'The request had some invalid properties', 'SyntaxError')
      // The recorded query's columns, with loosely typed cells: the server must type them like the service.
      const table = recorded.ResponseBody.tables[0]
      return [
        {
          columns: table.columns,
          rows: [['hello', 'true', new Date('2000-01-02T03:04:05Z'), '100', 101, '102.1', {hello: 'world'}]],
        },
      ]
    })
  })

  after(() => server.close())

  it('answers a POST query with exactly the typed JSON of the recorded real response', async () => {
    const res = await rawRequest(server, 'POST', `${server.url}/v1/workspaces/workspace-id/query`, {
      body: recorded.RequestBody,
    })
    assert.equal(res.status, 200)
    assert.deepEqual(res.json, recorded.ResponseBody)
    assert.deepEqual(calls.at(-1), {workspace: 'workspace-id', query: recorded.RequestBody.query, timespan: 'PT5M'})
  })

  it('answers the GET variant with the shape of loganalytics-query-get-example.json and its headers', async () => {
    const example = sample('monitor/loganalytics-query-get-example.json')
    const res = await rawRequest(
      server,
      'GET',
      `${server.url}/v1/workspaces/ws-get/query?query=${encodeURIComponent('Usage | take 10')}&timespan=PT12H`,
    )
    assert.equal(res.status, 200)
    assertShape(res.json, {tables: [{...example.responses['200'].body.tables[0], rows: []}]}, [])
    for (const header of Object.keys(example.responses['200'].headers)) assert.ok(res.headers[header], header)
    assert.deepEqual(calls.at(-1), {workspace: 'ws-get', query: 'Usage | take 10', timespan: 'PT12H'})
  })

  // eslint-disable-next-line no-template-curly-in-string -- the test's name quotes code
  it('answers through LogsQueryClient (endpoint `${url}/v1`) with typed rows', async () => {
    const result = await logsQueryClient(server).queryWorkspace('custos-ws', 'SigninLogs | take 1', {duration: 'PT1H'})
    assert.equal(result.status, LogsQueryResultStatus.Success)
    if (result.status !== LogsQueryResultStatus.Success) return
    const [table] = result.tables
    assert.equal(table.name, 'PrimaryResult')
    assert.deepEqual(
      table.columnDescriptors.map((c) => c.type),
      ['string', 'bool', 'datetime', 'int', 'long', 'real', 'dynamic'],
    )
    const [row] = table.rows
    assert.equal(row[0], 'hello')
    assert.equal(row[1], true)
    assert.equal((row[2] as Date).toISOString(), '2000-01-02T03:04:05.000Z')
    assert.equal(row[3], 100)
    assert.equal(row[5], 102.1)
    assert.deepEqual(row[6], {hello: 'world'})
    assert.deepEqual(calls.at(-1), {workspace: 'custos-ws', query: 'SigninLogs | take 1', timespan: 'PT1H'})
  })

  it('passes an absolute time range to the handler as an ISO 8601 interval', async () => {
    const startTime = new Date('2025-03-01T00:00:00Z')
    const endTime = new Date('2025-03-02T00:00:00Z')
    await logsQueryClient(server).queryWorkspace('custos-ws', 'AzureActivity', {startTime, endTime})
    assert.equal(calls.at(-1)?.timespan, `${startTime.toISOString()}/${endTime.toISOString()}`)
  })

  it('answers an unknown workspace with 404 and a handler-reported query error with 400, surfaced by the SDK', async () => {
    await assert.rejects(
      logsQueryClient(server).queryWorkspace('missing', 'T', {duration: 'PT1H'}),
      (e: {statusCode?: number}) => e.statusCode === 404,
    )
    const bad = await rawRequest(server, 'POST', `${server.url}/v1/workspaces/w/query`, {
      body: {query: 'T | syntax error'},
    })
    assert.equal(bad.status, 400)
    assert.equal(bad.json.error.code, 'BadArgumentError')
    assert.equal(bad.json.error.innererror.code, 'SyntaxError')
  })

  it('requires the development token', async () => {
    const res = await rawRequest(server, 'POST', `${server.url}/v1/workspaces/w/query`, {
      token: null,
      body: {query: 'T'},
    })
    assert.equal(res.status, 401)
    assert.equal(res.json.error.code, 'AuthorizationRequiredError')
    assert.ok(res.headers['www-authenticate'])
  })
})
