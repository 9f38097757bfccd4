import {strict as assert} from 'node:assert'

import {reviewAccess} from '../../src/lib/access/review/review.js'
import type {AccessReview} from '../../src/lib/access/review/types.js'
import {LOCAL_TENANT_ID} from '../../src/lib/local/azure-server/index.js'
import {ACCOUNT_ID, NOW, ROLE, ReviewBed, SUBSCRIPTION_SCOPE, VAULT_ID, daysAgo} from './helpers.js'

const FOREIGN_TENANT = '0f0f0f0f-0000-4000-8000-00000000f0f0'
const CUSTOM_ROLE = '7a2c8f61-3d1e-4b7a-9c55-2f6d1e0a9b11'

function kinds(review: AccessReview): string[] {
  return review.findings.map((f) => `${f.type} ${f.principalName}${f.via ? ` via ${f.via}` : ''}`).sort()
}

describe('access review: role assignments and principals against access.expected', function () {
  this.timeout(60_000)
  const bed = new ReviewBed()
  const ids: Record<string, string> = {}
  const access = {
    expected: {
      principals: ['alice@contoso.com', 'custos-job', 'ops'],
      domains: ['contoso.com'],
      tenants: [LOCAL_TENANT_ID],
      privileged: ['alice@contoso.com', 'custos-job', 'carol@contoso.com', 'deployer'],
    },
    staleAfter: '90d',
  }

  before(async () => {
    await bed.start()
    const d = bed.directory
    const user = (name: string, extra: Record<string, unknown> = {}) =>
      (ids[name] = d.addUser({
        displayName: name,
        userPrincipalName: name,
        lastSignInDateTime: daysAgo(2),
        ...extra,
      }).id as string)
    user('alice@contoso.com')
    user('bob@contoso.com')
    user('carol@contoso.com', {accountEnabled: false})
    user('dave@contoso.com', {lastSignInDateTime: daysAgo(200)})
    user('never@contoso.com', {lastSignInDateTime: undefined})
    user('eve_fabrikam.com#EXT#@contoso.onmicrosoft.com', {userType: 'Guest', mail: 'eve@fabrikam.com'})
    user('trudy_fabrikam.com#EXT#@contoso.onmicrosoft.com', {userType: 'Guest'})
    ids.deployer = d.addServicePrincipal({displayName: 'deployer', appOwnerOrganizationId: LOCAL_TENANT_ID})
      .id as string
    ids.vendor = d.addServicePrincipal({displayName: 'vendor-backup-app', appOwnerOrganizationId: FOREIGN_TENANT})
      .id as string
    ids.job = d.addServicePrincipal({
      displayName: 'custos-job',
      appOwnerOrganizationId: null,
      servicePrincipalType: 'ManagedIdentity',
    }).id as string
    ids.ops = d.addGroup({
      displayName: 'ops',
      members: [ids['alice@contoso.com'], ids['trudy_fabrikam.com#EXT#@contoso.onmicrosoft.com']],
    }).id as string
    ids.deleted = 'a0c1d2e3-0000-4000-8000-00000000dead'
    d.addRoleDefinition({
      name: CUSTOM_ROLE,
      roleName: 'Blob Auditor',
      dataActions: ['Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'],
    })

    const assign = (
      scope: string,
      role: string,
      principal: string,
      principalType: 'User' | 'Group' | 'ServicePrincipal' = 'User',
    ) => d.addRoleAssignment({scope, roleDefinitionId: role, principalId: principal, principalType})
    assign(SUBSCRIPTION_SCOPE, ROLE.owner, ids['alice@contoso.com'])
    assign(ACCOUNT_ID, ROLE.reader, ids['bob@contoso.com'])
    assign(SUBSCRIPTION_SCOPE, ROLE.owner, ids['eve_fabrikam.com#EXT#@contoso.onmicrosoft.com'])
    assign(ACCOUNT_ID, ROLE.blobDataReader, ids.vendor, 'ServicePrincipal')
    assign(SUBSCRIPTION_SCOPE, ROLE.contributor, ids.deployer, 'ServicePrincipal')
    assign(ACCOUNT_ID, ROLE.blobDataContributor, ids.job, 'ServicePrincipal')
    assign(VAULT_ID, ROLE.keyVaultCryptoOfficer, ids['carol@contoso.com'])
    assign(SUBSCRIPTION_SCOPE, ROLE.reader, ids['dave@contoso.com'])
    assign(ACCOUNT_ID, ROLE.reader, ids['never@contoso.com'])
    assign(`${ACCOUNT_ID}/blobServices/default/containers/tenant-acme`, CUSTOM_ROLE, ids.deleted)
    assign(SUBSCRIPTION_SCOPE, ROLE.reader, ids.ops, 'Group')
    // not reviewed: another resource group's account, below the subscription
    assign(
      `/subscriptions/${SUBSCRIPTION_SCOPE.split('/')[2]}/resourceGroups/other/providers/Microsoft.Storage/storageAccounts/x`,
      ROLE.owner,
      ids['bob@contoso.com'],
    )
  })

  after(() => bed.stop())

  it('finds each kind once where it applies, and nothing for expected principals holding expected roles', async () => {
    const map = bed.map(access)
    const review = await reviewAccess(bed.clients(map), map, {failOn: 'low', now: NOW})
    assert.deepEqual(kinds(review), [
      'disabled-holder carol@contoso.com',
      'foreign-tenant vendor-backup-app',
      'guest eve_fabrikam.com#EXT#@contoso.onmicrosoft.com',
      'guest trudy_fabrikam.com#EXT#@contoso.onmicrosoft.com via ops',
      `orphaned ${ids.deleted}`,
      'privileged-unexpected eve_fabrikam.com#EXT#@contoso.onmicrosoft.com',
      'privileged-unexpected vendor-backup-app',
      'stale dave@contoso.com',
      'stale never@contoso.com',
      'unexpected-principal eve_fabrikam.com#EXT#@contoso.onmicrosoft.com',
      'unexpected-principal vendor-backup-app',
    ])
    // negatives, named: alice (listed, privileged listed), bob (domain, Reader), deployer (tenant, privileged listed),
    // custos-job (managed identity, listed), ops (listed group), alice through ops
    const flagged = new Set(review.findings.map((f) => f.principalName))
    for (const name of ['alice@contoso.com', 'bob@contoso.com', 'deployer', 'custos-job', 'ops'])
      assert.ok(!flagged.has(name), name)
    assert.equal(review.summary.failing, review.findings.length)
  })

  it('gives every finding principal, role, scope, why and the az command that removes the access', async () => {
    const map = bed.map(access)
    const review = await reviewAccess(bed.clients(map), map, {failOn: 'low', now: NOW})
    for (const f of review.findings) {
      assert.ok(f.principal && f.role && f.scope && f.why && f.fix, JSON.stringify(f))
      assert.match(
        f.fix,
        /^az (role assignment delete --ids "\/subscriptions\/[^"]+"|ad group member remove --group \S+ --member-id \S+)$/,
      )
    }

    const orphan = review.findings.find((f) => f.type === 'orphaned')!
    assert.equal(orphan.role, 'Blob Auditor', 'a custom role is resolved over ARM')
    assert.equal(orphan.scope, `${ACCOUNT_ID}/blobServices/default/containers/tenant-acme`)
    const viaGroup = review.findings.find((f) => f.via === 'ops')!
    assert.equal(
      viaGroup.fix,
      `az ad group member remove --group ${ids.ops} --member-id ${ids['trudy_fabrikam.com#EXT#@contoso.onmicrosoft.com']}`,
    )
  })

  it('marks subscription assignments as inherited by the mapped resources and leaves other resources out', async () => {
    const map = bed.map(access)
    const review = await reviewAccess(bed.clients(map), map, {failOn: 'low', now: NOW})
    const aliceOwner = review.assignments.find((a) => a.principalId === ids['alice@contoso.com'])!
    assert.equal(aliceOwner.role, 'Owner')
    assert.deepEqual(new Set(aliceOwner.appliesTo), new Set([SUBSCRIPTION_SCOPE, ACCOUNT_ID, VAULT_ID]))
    assert.deepEqual(new Set(aliceOwner.inheritedBy), new Set([ACCOUNT_ID, VAULT_ID]))
    assert.ok(
      !review.assignments.some((a) => a.scope.includes('resourceGroups/other')),
      'other resources are not reviewed',
    )
    const bob = review.principals.find((p) => p.name === 'bob@contoso.com')!
    assert.equal(bob.homeDomain, 'contoso.com')
    const eve = review.principals.find((p) => p.kind === 'guest' && p.name.startsWith('eve'))!
    assert.equal(eve.homeDomain, 'fabrikam.com')
  })

  it('stays within the Graph request budget: one getByIds, one transitiveMembers per group, one users page', async () => {
    const map = bed.map(access)
    let counts = {arm: 0, graph: 0}
    await reviewAccess(bed.clients(map), map, {failOn: 'low', now: NOW, onRequests: (c) => (counts = c)})
    assert.equal(counts.graph, 3)
    assert.equal(counts.arm, 3 + 1, 'three scopes and one custom role definition')
  })

  it('counts as failing only the findings at or above --fail-on', async () => {
    const map = bed.map(access)
    const review = await reviewAccess(bed.clients(map), map, {failOn: 'critical', now: NOW})
    assert.equal(review.summary.failing, review.findings.filter((f) => f.severity === 'critical').length)
    assert.ok(review.summary.failing > 0 && review.summary.failing < review.findings.length)
  })

  it('takes staleAfter from the data map and the clock from the caller', async () => {
    const map = bed.map({...access, staleAfter: '365d'})
    const review = await reviewAccess(bed.clients(map), map, {failOn: 'low', now: NOW})
    assert.deepEqual(
      review.findings.filter((f) => f.type === 'stale').map((f) => f.principalName),
      ['never@contoso.com'],
    )
    const later = await reviewAccess(bed.clients(map), map, {failOn: 'low', now: new Date('2027-06-01T00:00:00Z')})
    assert.ok(later.findings.some((f) => f.type === 'stale' && f.principalName === 'dave@contoso.com'))
  })
})
