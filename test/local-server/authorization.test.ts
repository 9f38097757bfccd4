import {strict as assert} from 'node:assert'

import {startLocalAzureServer, type LocalAzureServer} from '../../src/lib/local/azure-server/index.js'
import {ROLE_ASSIGNMENT_PAGE_SIZE} from '../../src/lib/local/azure-server/authorization.js'
import {assertShape, exampleBody, rawRequest, recording, sample} from './helpers.js'

const API = 'api-version=2022-04-01'
const OWNER = '8e3af657-a8ff-443c-a75c-2fe8c4bcb635'

describe('local Azure server: Microsoft.Authorization role assignments and definitions', function () {
  this.timeout(30_000)
  let server: LocalAzureServer

  beforeEach(async () => {
    server = await startLocalAzureServer()
  })

  afterEach(() => server.close())

  /** Seeds the assignments of a spec example with their own names, principals and roles. */
  function seed(body: {value: Array<{name: string; properties: Record<string, string>}>}): void {
    for (const a of body.value)
      server.state.directory.addRoleAssignment({
        name: a.name,
        scope: a.properties.scope,
        roleDefinitionId: a.properties.roleDefinitionId,
        principalId: a.properties.principalId,
        principalType: a.properties.principalType as 'User',
      })
  }

  it('lists the assignments of a subscription exactly as RoleAssignments_ListForScope.json', async () => {
    const example = sample('authorization/RoleAssignments_ListForScope.json')
    const body = example.responses['200'].body
    seed(body)
    const res = await rawRequest(
      server,
      'GET',
      `${server.url}/${example.parameters.scope}/providers/Microsoft.Authorization/roleAssignments?${API}`,
    )
    assert.equal(res.status, 200)
    assert.deepEqual(res.json, body)
  })

  it('lists a resource group with the subscription assignment it inherits, as RoleAssignments_ListForResourceGroup.json', async () => {
    const example = sample('authorization/RoleAssignments_ListForResourceGroup.json')
    const body = example.responses['200'].body
    seed(body)
    const {subscriptionId, resourceGroupName} = example.parameters
    for (const filter of ['', '&$filter=atScope()']) {
      const res = await rawRequest(
        server,
        'GET',
        `${server.url}/subscriptions/${subscriptionId}/resourceGroups/${resourceGroupName}/providers/Microsoft.Authorization/roleAssignments?${API}${filter}`,
      )
      assert.deepEqual(res.json, body, filter)
    }
  })

  it('gets one assignment by id as RoleAssignments_GetById.json (the id parameter has no leading slash)', async () => {
    const example = sample('authorization/RoleAssignments_GetById.json')
    const body = example.responses['200'].body
    seed({value: [body]})
    const res = await rawRequest(server, 'GET', `${server.url}/${example.parameters.roleAssignmentId}?${API}`)
    assert.deepEqual(res.json, body)
    const byName = exampleBody('authorization/RoleAssignments_Get.json')
    assert.deepEqual(byName, body, 'the Get example is the same assignment')
  })

  it('gets a role definition as GetRoleDefinitionById.json, addressed under the subscription', async () => {
    const example = sample('authorization/GetRoleDefinitionById.json')
    const body = example.responses['200'].body
    server.state.directory.addRoleDefinition({
      name: example.parameters.roleId,
      roleName: body.properties.roleName,
      type: body.properties.type,
      description: body.properties.description,
      assignableScopes: body.properties.assignableScopes,
      actions: body.properties.permissions[0].actions,
      dataActions: body.properties.permissions[0].dataActions,
    })
    const res = await rawRequest(
      server,
      'GET',
      `${server.url}/subscriptions/subID/providers/Microsoft.Authorization/roleDefinitions/${example.parameters.roleId}?${API}`,
    )
    assert.equal(res.status, 200)
    assert.deepEqual(res.json, body)
  })

  it('answers an unknown role definition with the ARM error shape of the recorded 404', async () => {
    const recorded = recording('authorization/recorded-denyassignment-get-404.json')[1]
    const res = await rawRequest(
      server,
      'GET',
      `${server.url}/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/00000000-0000-0000-0000-000000000000?${API}`,
    )
    assert.equal(res.status, 404)
    assertShape(res.json, recorded.ResponseBody)
    assert.equal(res.json.error.code, 'RoleDefinitionDoesNotExist')
    assert.ok(res.headers['x-ms-correlation-request-id'] && res.headers['x-ms-routing-request-id'])
  })

  it('applies the documented $filter semantics: atScope() is at or above, no filter adds what lies below', async () => {
    const sub = '/subscriptions/11111111-1111-1111-1111-111111111111'
    const account = `${sub}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acct`
    const d = server.state.directory
    d.addRoleAssignment({scope: '/', roleDefinitionId: OWNER, principalId: 'root'})
    d.addRoleAssignment({scope: sub, roleDefinitionId: OWNER, principalId: 'sub'})
    d.addRoleAssignment({scope: `${sub}/resourceGroups/rg`, roleDefinitionId: OWNER, principalId: 'rg'})
    d.addRoleAssignment({scope: account, roleDefinitionId: OWNER, principalId: 'account'})
    d.addRoleAssignment({
      scope: `${account}/blobServices/default/containers/c`,
      roleDefinitionId: OWNER,
      principalId: 'container',
    })
    d.addRoleAssignment({scope: `${sub}/resourceGroups/other`, roleDefinitionId: OWNER, principalId: 'sibling'})
    const principals = async (scope: string, filter = '') =>
      (
        await rawRequest(
          server,
          'GET',
          `${server.url}${scope}/providers/Microsoft.Authorization/roleAssignments?${API}${filter}`,
        )
      ).json.value.map((a: {properties: {principalId: string}}) => a.properties.principalId)
    assert.deepEqual(await principals(account, '&$filter=atScope()'), ['root', 'sub', 'rg', 'account'])
    assert.deepEqual(await principals(account), ['root', 'sub', 'rg', 'account', 'container'])
    assert.deepEqual(await principals(sub, '&$filter=atScope()'), ['root', 'sub'])
    assert.deepEqual(await principals(account, "&$filter=principalId eq 'rg'"), ['rg'])
    const bad = await rawRequest(
      server,
      'GET',
      `${server.url}${sub}/providers/Microsoft.Authorization/roleAssignments?${API}&$filter=roleName eq 'x'`,
    )
    assert.equal(bad.status, 400)
  })

  it('pages long lists with a nextLink that carries a $skiptoken', async () => {
    const sub = '/subscriptions/22222222-2222-2222-2222-222222222222'
    for (let i = 0; i < ROLE_ASSIGNMENT_PAGE_SIZE + 5; i++)
      server.state.directory.addRoleAssignment({scope: sub, roleDefinitionId: OWNER, principalId: `p${i}`})
    const first = await rawRequest(
      server,
      'GET',
      `${server.url}${sub}/providers/Microsoft.Authorization/roleAssignments?${API}`,
    )
    assert.equal(first.json.value.length, ROLE_ASSIGNMENT_PAGE_SIZE)
    assert.match(first.json.nextLink, /\$skiptoken=/)
    const second = await rawRequest(server, 'GET', first.json.nextLink)
    assert.equal(second.json.value.length, 5)
    assert.equal(second.json.nextLink, undefined)
  })
})
