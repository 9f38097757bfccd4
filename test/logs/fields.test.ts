import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'

import {getField, getString, recordCategory, recordTime} from '../../src/lib/logs/fields.js'
import {CONTRACTS, realActivityEvent, realSignIns, realStorageRead} from './fixtures.js'

describe('logs: reading fields across source shapes', () => {
  it('reads the archive shape: camelCase under properties, capital Level, 7-digit times', () => {
    const doc = JSON.parse(readFileSync(`${CONTRACTS}signinlogs-archived-documented.json`, 'utf8'))
    assert.equal(getField(doc, 'properties.userDisplayName'), 'Timothy Perkins')
    assert.equal(getField(doc, 'Level'), 4)
    assert.equal(getField(doc, 'level'), 4)
    assert.equal(getField(doc, 'properties.status.errorCode'), 50_140)
    assert.equal(recordTime(doc), Date.parse('2019-03-12T16:02:15.552Z'))
    assert.equal(recordCategory(doc), 'SignInLogs')
  })

  it('reads every real sign-in fixture and the captured StorageRead record', () => {
    for (const r of realSignIns()) {
      assert.equal(typeof recordTime(r), 'number')
      assert.match(recordCategory(r) ?? '', /SignInLogs$/)
    }

    const read = realStorageRead()
    assert.equal(getField(read, 'properties.objectKey'), '/diag7fff8f1ab8425b12/securacontainer/passwords.txt')
    assert.equal(getString(read, 'statusCode'), '200')
  })

  it('finds properties.* promoted to PascalCase columns in a Log Analytics row', () => {
    const row = {
      TimeGenerated: '2026-11-22T10:00:00.123Z',
      ObjectKey: '/contosoprod/tenant-acme/a.txt',
      CustomerId: 'acme',
      Type: 'StorageBlobLogs',
    }
    assert.equal(getField(row, 'properties.objectKey'), '/contosoprod/tenant-acme/a.txt')
    assert.equal(getField(row, 'properties.customerId'), 'acme')
    assert.equal(recordTime(row), Date.parse('2026-11-22T10:00:00.123Z'))
    assert.equal(recordCategory(row), 'StorageBlobLogs')
  })

  it('finds flattened AzureDiagnostics columns with type suffixes and JSON text in string columns', () => {
    const row = {
      identity_claim_upn_s: 'a@contoso.example',
      properties_customerId_s: 'acme',
      Properties: '{"customerId":"globex","nested":{"x":1}}',
    }
    assert.equal(getField(row, 'identity.claim.upn'), 'a@contoso.example')
    assert.equal(getField({customerId_s: 'acme'}, 'properties.customerId'), 'acme')
    assert.equal(getField(row, 'properties.nested.x'), 1)
    assert.equal(getField({Properties_d: {customerId: 'initech'}}, 'properties.customerId'), 'initech')
  })

  it('unwraps {value, localizedValue} pairs of the activity log REST shape', () => {
    const event = realActivityEvent()
    assert.equal(getField(event, 'category'), 'Administrative')
    assert.equal(getField(event, 'operationName'), 'Microsoft.Network/networkSecurityGroups/write')
    assert.equal(getField(event, 'operationName.localizedValue'), 'Microsoft.Network/networkSecurityGroups/write')
    assert.equal(recordCategory(event), 'Administrative')
    assert.equal(recordTime(event), Date.parse('2018-01-29T20:42:31.381Z'))
  })

  it('returns undefined for missing paths instead of throwing', () => {
    assert.equal(getField({a: 'not json'}, 'a.b'), undefined)
    assert.equal(getField(null, 'a'), undefined)
    assert.equal(getField({properties: {}}, 'properties.customerId'), undefined)
    assert.equal(recordTime({time: 'yesterday'}), undefined)
  })
})
