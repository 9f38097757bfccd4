import assert from 'node:assert/strict'

import {factsFor, foldIncidents} from '../../src/lib/incident/fold.js'
import {record} from './helpers.js'

describe('incident state is the fold of its audit records', () => {
  const id = 'inc-20261024-000001'
  const records = [
    record('export', '2026-10-24T09:00:00.000Z', {files: 3}, 'acme'),
    record('incident.open', '2026-10-24T11:00:00.000Z', {
      incident: id,
      detectedAt: '2026-10-24T10:00:00.000Z',
      summary: 'first',
      customers: ['acme'],
      facts: {nature: 'read access', subjects: 10},
    }),
    record('incident.update', '2026-10-24T12:00:00.000Z', {
      incident: id,
      summary: 'second',
      addCustomers: ['globex', 'acme'],
      facts: {subjects: 120, records: 4000},
    }),
    record('incident.update', '2026-10-24T13:00:00.000Z', {
      incident: id,
      customerFacts: {globex: {subjects: 7}},
      detectedAt: '2026-10-24T09:00:00.000Z',
    }),
    record(
      'incident.notify',
      '2026-10-25T08:00:00.000Z',
      {incident: id, lang: 'de', template: 'built-in', text: {sha256: 'a', bytes: 1}, html: {sha256: 'b', bytes: 1}},
      'acme',
    ),
    record('incident.evidence', '2026-10-25T09:00:00.000Z', {
      incident: id,
      file: 'e.tar.gz',
      sha256: 'c',
      signed: true,
      window: {since: 'x', until: 'y'},
    }),
    record('incident.update', '2026-10-25T10:00:00.000Z', {incident: id, removeCustomers: ['globex']}),
    record('incident.close', '2026-10-26T10:00:00.000Z', {incident: id, resolution: 'fixed', unnotified: []}),
  ]
  const {incidents, skipped} = foldIncidents(records)
  const incident = incidents.get(id)!

  it('applies open, updates, notices, evidence and close in chain order', () => {
    assert.equal(incident.summary, 'second')
    assert.equal(incident.detectedAt, '2026-10-24T09:00:00.000Z')
    assert.equal(incident.deadline, '2026-10-27T09:00:00.000Z', 'a corrected detection time moves the deadline')
    assert.deepEqual(incident.customers, ['acme'])
    assert.deepEqual(incident.facts, {nature: 'read access', subjects: 120, records: 4000})
    assert.equal(incident.notices.length, 1)
    assert.equal(incident.notices[0].customer, 'acme')
    assert.equal(incident.evidence[0].file, 'e.tar.gz')
    assert.equal(incident.status, 'closed')
    assert.equal(incident.resolution, 'fixed')
    assert.equal(incident.openedBy, 'ops@contoso.example')
    assert.deepEqual(
      incident.history.map((h) => h.action),
      [
        'incident.open',
        'incident.update',
        'incident.update',
        'incident.notify',
        'incident.evidence',
        'incident.update',
        'incident.close',
      ],
    )
    assert.equal(skipped.length, 0)
  })

  it("lets a customer's own facts override the incident's", () => {
    assert.equal(factsFor(incident, 'globex').subjects, 7)
    assert.equal(factsFor(incident, 'globex').records, 4000)
    assert.equal(factsFor(incident, 'acme').subjects, 120)
  })

  it('skips records of incidents never opened, and a second open of the same id', () => {
    const result = foldIncidents([
      record('incident.update', '2026-10-24T12:00:00.000Z', {incident: 'inc-20261024-ffffff', summary: 'orphan'}),
      records[1],
      record('incident.open', '2026-10-24T12:00:00.000Z', {
        incident: id,
        detectedAt: '2026-10-20T10:00:00.000Z',
        summary: 'again',
        customers: [],
        facts: {},
      }),
    ])
    assert.deepEqual(
      result.skipped.map((s) => s.reason),
      ['incident inc-20261024-ffffff was never opened', `incident ${id} was already opened`],
    )
    assert.equal(result.incidents.get(id)!.summary, 'first')
    assert.equal(result.incidents.size, 1)
  })
})
