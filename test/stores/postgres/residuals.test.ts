import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

import {backupResidual, type FlexibleServerBody} from '../../../src/lib/stores/postgres/residuals.js'

/** The real ARM GET sample, read in place from ../shared/azure-contracts/. */
function sample(file: string): FlexibleServerBody {
  const path = fileURLToPath(new URL(`../../../../shared/azure-contracts/postgresql/${file}`, import.meta.url))
  return (JSON.parse(readFileSync(path, 'utf8')) as {responses: {200: {body: FlexibleServerBody}}}).responses[200].body
}

describe('postgres store: backup residuals', () => {
  it('states erase time + backupRetentionDays from the flexible server ARM GET, geo-redundancy and all', () => {
    const server = sample('ServersGet.json')
    const r = backupResidual(server, new Date('2026-03-10T12:00:00Z'))
    assert.equal(r.server, 'exampleserver')
    assert.equal(r.retentionDays, 7)
    assert.equal(r.geoRedundant, true)
    assert.equal(r.restorableUntil, '2026-03-17T12:00:00.000Z')
    assert.equal(r.earliestRestoreDate, '2025-06-01T18:35:22.123456Z')
    assert.equal(r.location, 'eastus')
    assert.equal(r.encryption, 'SystemManaged')
    assert.match(
      r.statement,
      /remain in the point-in-time-restore backups of server exampleserver and in their geo-redundant copies/,
    )
    assert.match(r.statement, /until 2026-03-17T12:00:00\.000Z/)
    assert.doesNotMatch(r.statement, /(are|were) (gone|deleted)/)
  })

  it('without geo-redundant backup says nothing of a paired region; never guesses a missing retention', () => {
    const server = sample('ServersGet.json')
    const local = {
      ...server,
      properties: {
        ...server.properties,
        backup: {...server.properties!.backup, geoRedundantBackup: 'Disabled', backupRetentionDays: 35},
      },
    }
    const r = backupResidual(local, new Date('2026-01-31T00:00:00Z'))
    assert.equal(r.geoRedundant, false)
    assert.equal(r.restorableUntil, '2026-03-07T00:00:00.000Z')
    assert.doesNotMatch(r.statement, /paired region/)
    assert.throws(() => backupResidual({name: 'x', properties: {}}, new Date()), /reports no backup retention/)
  })
})
