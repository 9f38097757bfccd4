/**
 * The audit vocabulary of an operation (src/lib/audit/operation.ts), used by export, erase and
 * logs bundle: `started`, then one outcome under the same operation id, with the caller's details.
 */
import {strict as assert} from 'node:assert'

import {AuditedOperation, failureCode, failureResult} from '../../src/lib/audit/operation.js'
import type {AuditEntry, AuditRecord, AuditTrail} from '../../src/lib/audit/trail.js'
import {CustosError, ExitCode, refusedError, usageError} from '../../src/lib/errors.js'

function fakeTrail(options: {failAfter?: number} = {}) {
  const entries: AuditEntry[] = []
  const trail = {
    async append(entry: AuditEntry): Promise<AuditRecord> {
      if (options.failAfter !== undefined && entries.length >= options.failAfter) throw new Error('trail down')
      entries.push(entry)
      return {
        ...entry,
        seq: entries.length,
        time: '',
        actor: 'me',
        tool: 'custos',
        prev: '',
        hash: `h${entries.length}`,
      }
    },
  }
  return {entries, trail: trail as unknown as AuditTrail}
}

describe('audit operation: started, then one outcome', () => {
  it('writes started and succeeded with the same operation id, fields in the usual order', async () => {
    const {entries, trail} = fakeTrail()
    const op = await AuditedOperation.start(trail, {action: 'export', customer: 'acme', details: {objects: 3}})
    assert.equal(op.started.seq, 1)
    await op.succeeded({objects: 3, verified: true})
    assert.deepEqual(entries, [
      {action: 'export', result: 'started', customer: 'acme', operationId: op.operationId, details: {objects: 3}},
      {
        action: 'export',
        result: 'succeeded',
        customer: 'acme',
        operationId: op.operationId,
        details: {objects: 3, verified: true},
      },
    ])
    assert.deepEqual(Object.keys(entries[1]), ['action', 'result', 'customer', 'operationId', 'details'])
    assert.match(op.operationId, /^[\da-f-]{36}$/)
  })

  it('a refusal is recorded as refused, anything else as failed (the rule erase had; export and logs bundle follow it now)', async () => {
    const refused = fakeTrail()
    const a = await AuditedOperation.start(refused.trail, {
      action: 'logs.bundle',
      customer: 'acme',
      operationId: 'op-1',
    })
    await a.failed(refusedError('DestinationExists', 'exists'), {error: 'exists'})
    assert.equal(refused.entries[1].result, 'refused')
    assert.equal(refused.entries[1].operationId, 'op-1')

    const failed = fakeTrail()
    const b = await AuditedOperation.start(failed.trail, {action: 'export', customer: 'acme'})
    await b.failed(usageError('bad'), {error: 'Usage'})
    assert.equal(failed.entries[1].result, 'failed')
    assert.equal(failureResult(new Error('boom')), 'failed')
  })

  it('a failure record that cannot be written does not hide the operation’s own error', async () => {
    const {trail} = fakeTrail({failAfter: 1})
    const op = await AuditedOperation.start(trail, {action: 'export', customer: 'acme'})
    await op.failed(new Error('the real problem'))
    await assert.rejects(op.succeeded(), /trail down/)
  })

  it('records another event of the same operation (a share link)', async () => {
    const {entries, trail} = fakeTrail()
    const op = await AuditedOperation.start(trail, {action: 'logs.bundle', customer: 'acme'})
    await op.record('share-link', 'recorded', {what: 'logs bundle'})
    assert.deepEqual(entries[1], {
      action: 'share-link',
      result: 'recorded',
      customer: 'acme',
      operationId: op.operationId,
      details: {what: 'logs bundle'},
    })
  })

  it('names a failure by code: Interrupted, the CustosError code, or InternalError', () => {
    assert.equal(failureCode(Object.assign(new Error('x'), {name: 'AbortError'})), 'Interrupted')
    assert.equal(
      failureCode(new CustosError('x', {code: 'IntegrityMismatch', exitCode: ExitCode.azure})),
      'IntegrityMismatch',
    )
    assert.equal(failureCode(new Error('x')), 'InternalError')
  })

  it('records a refusal before the start as one refused record, and a trail that cannot take it stops the caller', async () => {
    const {entries, trail} = fakeTrail()
    const record = await AuditedOperation.refused(trail, {
      action: 'erase.apply',
      customer: 'acme',
      operationId: 'op-7',
      details: {reason: 'NotConfirmed'},
    })
    assert.equal(record.result, 'refused')
    assert.deepEqual(entries, [
      {
        action: 'erase.apply',
        result: 'refused',
        customer: 'acme',
        operationId: 'op-7',
        details: {reason: 'NotConfirmed'},
      },
    ])
    const down = fakeTrail({failAfter: 0})
    await assert.rejects(
      AuditedOperation.refused(down.trail, {action: 'erase.apply', customer: 'acme', operationId: 'op-8'}),
      /trail down/,
    )
  })
})
