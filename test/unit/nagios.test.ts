import {strict as assert} from 'node:assert'

import {nagiosOutput, nagiosText} from '../../src/lib/output/nagios.js'

describe('Nagios plugin lines (src/lib/output/nagios.ts)', () => {
  it('maps the state to the plugin exit code and adds performance data after |', () => {
    assert.deepEqual(nagiosOutput('BACKUPS', 'CRITICAL', 'two missing', 'customers=4;;;0'), {
      line: 'BACKUPS CRITICAL - two missing | customers=4;;;0',
      exitCode: 2,
    })
    assert.deepEqual(nagiosOutput('INCIDENTS', 'UNKNOWN', 'no access'), {
      line: 'INCIDENTS UNKNOWN - no access',
      exitCode: 3,
    })
    assert.equal(nagiosOutput('X', 'OK', '').exitCode, 0)
    assert.equal(nagiosOutput('X', 'WARNING', '').exitCode, 1)
  })

  it('keeps the text on one line, without |, and shortens it', () => {
    assert.equal(nagiosText('a\r\nb|c'), 'a b/c')
    assert.equal(nagiosText('abcdef', 4), 'abc…')
    assert.equal(nagiosOutput('X', 'OK', 'y'.repeat(2000)).line.length, 'X OK - '.length + 1000)
  })
})
