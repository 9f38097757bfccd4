import {strict as assert} from 'node:assert'

import {GRAPH_NEVER, startLocalAzureServer, type LocalAzureServer} from '../../src/lib/local/azure-server/index.js'
import {assertShape, rawRequest, sample} from './helpers.js'

describe('local Azure server: Microsoft Graph (getByIds, transitiveMembers, users signInActivity)', function () {
  this.timeout(30_000)
  let server: LocalAzureServer

  beforeEach(async () => {
    server = await startLocalAzureServer()
  })

  afterEach(() => server.close())

  it('answers getByIds in the shape of directoryObjects-getByIds-response.json, leaving deleted ids out', async () => {
    const expected = sample('graph/directoryObjects-getByIds-response.json')
    const [trevor] = expected.value
    server.state.directory.addUser({
      id: trevor.id,
      displayName: trevor.displayName,
      userPrincipalName: 'trevor@contoso.com',
    })
    const res = await rawRequest(server, 'POST', `${server.url}/v1.0/directoryObjects/getByIds`, {
      body: {ids: [trevor.id, '5d6059b6-368d-45f8-91e1-8e07d485f1d0'], types: ['user']},
    })
    assert.equal(res.status, 200)
    assert.equal(res.json['@odata.context'], `${server.url}/v1.0/$metadata#directoryObjects`)
    assert.equal(res.json.value.length, 1, 'an id the directory does not have is simply absent')
    // the doc body is marked truncated; the user's UPN, mail and userType come back too
    assertShape(res.json, {...expected, value: [trevor]}, [
      'extra $.value[0].userPrincipalName',
      'extra $.value[0].mail',
      'extra $.value[0].userType',
    ])
    assert.equal(res.json.value[0]['@odata.type'], '#microsoft.graph.user')
  })

  it('serves service principals in the shape of servicePrincipal-get-response.json, typed', async () => {
    const expected = sample('graph/servicePrincipal-get-response.json')
    server.state.directory.addServicePrincipal({
      id: expected.id,
      displayName: expected.displayName,
      appId: expected.appId,
      appOwnerOrganizationId: expected.appOwnerOrganizationId,
      servicePrincipalType: null,
    })
    const res = await rawRequest(server, 'POST', `${server.url}/v1.0/directoryObjects/getByIds`, {
      body: {ids: [expected.id]},
    })
    const sp = res.json.value[0]
    assert.equal(sp.appOwnerOrganizationId, expected.appOwnerOrganizationId)
    assert.equal(sp.servicePrincipalType, null, 'Graph may answer null, as in the sample')
    // an unverified publisher is all nulls (the sample's app has a verified one)
    assertShape(sp, expected, [
      'extra $.@odata.type',
      'type $.verifiedPublisher.displayName: null != string',
      'type $.verifiedPublisher.verifiedPublisherId: null != string',
      'type $.verifiedPublisher.addedDateTime: null != string',
    ])
  })

  it('refuses more than 1,000 ids per getByIds', async () => {
    const ids = Array.from({length: 1001}, (_, i) => `00000000-0000-0000-0000-${String(i).padStart(12, '0')}`)
    const res = await rawRequest(server, 'POST', `${server.url}/v1.0/directoryObjects/getByIds`, {body: {ids}})
    assert.equal(res.status, 400)
    assert.equal(res.json.error.code, 'Request_BadRequest')
  })

  it('lists users with signInActivity as users-list-signInActivity-response.json, "never" as 0001-01-01', async () => {
    const expected = sample('graph/users-list-signInActivity-response.json')
    for (const u of expected.value)
      server.state.directory.addUser({
        id: u.id,
        displayName: u.displayName,
        userPrincipalName: u.userPrincipalName,
        lastSignInDateTime: u.signInActivity.lastSignInDateTime,
        ...(u.signInActivity.lastNonInteractiveSignInDateTime === GRAPH_NEVER
          ? {}
          : {lastNonInteractiveSignInDateTime: u.signInActivity.lastNonInteractiveSignInDateTime}),
      })
    const res = await rawRequest(
      server,
      'GET',
      `${server.url}/v1.0/users?$select=displayName,userPrincipalName,signInActivity`,
    )
    assert.equal(res.status, 200)
    assertShape(res.json, expected)
    assert.equal(
      res.json['@odata.context'],
      `${server.url}/v1.0/$metadata#users(displayName,userPrincipalName,signInActivity)`,
    )
    for (const [i, u] of expected.value.entries()) {
      const got = res.json.value[i].signInActivity
      assert.equal(got.lastSignInDateTime, u.signInActivity.lastSignInDateTime)
      assert.equal(got.lastNonInteractiveSignInDateTime, u.signInActivity.lastNonInteractiveSignInDateTime)
      assert.equal(
        got.lastNonInteractiveSignInRequestId === '',
        u.signInActivity.lastNonInteractiveSignInRequestId === '',
      )
    }
  })

  it('expands nested groups with transitiveMembers, each member once, paged by $top', async () => {
    const d = server.state.directory
    const a = d.addUser({displayName: 'A', userPrincipalName: 'a@contoso.com'})
    const b = d.addUser({displayName: 'B', userPrincipalName: 'b@contoso.com'})
    const inner = d.addGroup({displayName: 'inner', members: [b.id as string, a.id as string]})
    const outer = d.addGroup({displayName: 'outer', members: [a.id as string, inner.id as string]})
    const first = await rawRequest(
      server,
      'GET',
      `${server.url}/v1.0/groups/${outer.id as string}/transitiveMembers?$top=2`,
    )
    assert.equal(first.status, 200)
    assert.deepEqual(
      first.json.value.map((o: {displayName: string}) => o.displayName),
      ['A', 'inner'],
    )
    const second = await rawRequest(server, 'GET', first.json['@odata.nextLink'])
    assert.deepEqual(
      second.json.value.map((o: {displayName: string}) => o.displayName),
      ['B'],
    )
    assert.equal(second.json['@odata.nextLink'], undefined)
  })

  it('answers a request without a token with 401 InvalidAuthenticationToken', async () => {
    const res = await rawRequest(server, 'GET', `${server.url}/v1.0/users`, {token: null})
    assert.equal(res.status, 401)
    assert.equal(res.json.error.code, 'InvalidAuthenticationToken')
  })
})
