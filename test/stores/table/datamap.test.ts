import assert from 'node:assert/strict'

import {validateDataMap} from '../../../src/lib/datamap/load.js'

const ACCOUNT = 'https://contosoprod.table.core.windows.net'

function problems(databases: unknown[]): string[] {
  try {
    validateDataMap({audit: {account: 'https://contosoaudit.blob.core.windows.net'}, databases}, 'map.yaml')
    return []
  } catch (error) {
    return ((error as {details?: string[]}).details ?? [(error as Error).message]).map(String)
  }
}

describe('data map: engine table', () => {
  it('accepts a partitionKey, a rowKeyPrefix and a table per customer', () => {
    assert.deepEqual(
      problems([
        {name: 'settings', engine: 'table', account: ACCOUNT, table: 'settings', partitionKey: '{customer}'},
        {name: 'prefs', engine: 'table', account: ACCOUNT, table: 'prefs', rowKeyPrefix: '{customer}|'},
        {name: 'state', engine: 'table', account: ACCOUNT, table: 'state{customer}'},
      ]),
      [],
    )
  })

  it('refuses a rowKeyPrefix without the "|" boundary, both keys, neither key, and a shared table mapped both ways', () => {
    const text = problems([
      {name: 'a', engine: 'table', account: ACCOUNT, table: 'prefs', rowKeyPrefix: '{customer}'},
      {
        name: 'b',
        engine: 'table',
        account: ACCOUNT,
        table: 'other',
        partitionKey: '{customer}',
        rowKeyPrefix: '{customer}|',
      },
      {name: 'c', engine: 'table', account: ACCOUNT, table: 'third'},
      {name: 'd', engine: 'table', account: ACCOUNT, table: 'prefs', partitionKey: '{customer}'},
    ]).join('\n')
    assert.match(text, /rowKeyPrefix: must end with "\{customer\}\|"/)
    assert.match(text, /has both partitionKey and rowKeyPrefix/)
    assert.match(text, /needs exactly one of partitionKey/)
    assert.match(text, /also mapped by databases\[0\]/)
  })

  it('finds the overlap of two entries on the same table and key, and of a table template with a fixed table', () => {
    const text = problems([
      {name: 'a', engine: 'table', account: ACCOUNT, table: 'settings', partitionKey: '{customer}'},
      {name: 'b', engine: 'table', account: `${ACCOUNT}/`, table: 'Settings', partitionKey: '{customer}'},
      {name: 'c', engine: 'table', account: ACCOUNT, table: 'set{customer}'},
    ]).join('\n')
    assert.match(text, /databases\[0\].*databases\[1\]|databases\[1\].*databases\[0\]/)
    assert.match(text, /databases\[2\]/)
  })

  it('keeps acme| and acme-corp| apart (no overlap of a rowKeyPrefix entry with itself)', () => {
    assert.deepEqual(
      problems([{name: 'p', engine: 'table', account: ACCOUNT, table: 'prefs', rowKeyPrefix: 'u|{customer}|'}]),
      [],
    )
  })
})
