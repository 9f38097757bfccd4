import {strict as assert} from 'node:assert'

import {Chalk} from 'chalk'

import {renderPosture} from '../../src/lib/posture/render.js'
import {summarize} from '../../src/lib/posture/posture.js'
import type {CheckResult, PostureReport, PostureResource} from '../../src/lib/posture/types.js'

const plain = new Chalk({level: 0})

function report(resources: PostureResource[]): PostureReport {
  return {
    checkedAt: '2025-01-01T00:00:00.000Z',
    failOn: 'medium',
    allowedRegions: ['germanywestcentral'],
    resources,
    summary: summarize(resources, 'medium'),
  }
}

const r = (
  check: string,
  status: CheckResult['status'],
  severity: CheckResult['severity'],
  remediation?: string,
): CheckResult => ({
  check,
  title: check,
  severity,
  status,
  detail: `${check} is ${status}`,
  ...(remediation ? {remediation} : {}),
})

describe('audit posture text output', () => {
  it('shows a resource custos could not read as one line with the hint, not a table of identical rows', () => {
    const unknown = (check: string) => ({
      ...r(check, 'unknown', 'high', 'Add resourceId to exports.'),
      detail: 'Account x could not be read.',
    })
    const text = renderPosture(
      report([
        {
          kind: 'storage-account',
          name: 'x',
          usedBy: ['exports'],
          results: [unknown('storage.https-only'), unknown('storage.firewall')],
        },
      ]),
      plain,
    )
    assert.match(
      text,
      /^Storage account x \(used by exports\)\nUNKNOWN all 2 checks: Account x could not be read\.\n {2}To check: Add resourceId to exports\.$/m,
    )
    assert.doesNotMatch(text, /┌/)
  })

  it('prints each distinct fix once, naming every check it fixes, and a verdict against --fail-on', () => {
    const resource: PostureResource = {
      kind: 'key-vault',
      name: 'kv',
      id: '/subscriptions/s/resourceGroups/g/providers/Microsoft.KeyVault/vaults/kv',
      location: 'germanywestcentral',
      usedBy: ['keys.vault'],
      results: [
        r('a.one', 'fail', 'high', 'az fix one'),
        r('a.two', 'fail', 'low', 'az fix one'),
        r('a.three', 'pass', 'high'),
        r('a.four', 'skipped', 'low'),
      ],
    }
    const text = renderPosture(report([resource]), plain)
    assert.match(
      text,
      /^Key vault kv \(germanywestcentral; used by keys\.vault\)\n\/subscriptions\/s\/resourceGroups\/g\/providers\/Microsoft\.KeyVault\/vaults\/kv$/m,
    )
    assert.equal(text.match(/az fix one/g)?.length, 1)
    assert.match(text, /^ {2}Fix a\.one, a\.two: az fix one$/m)
    assert.match(text, /SKIP/)
    assert.match(
      text,
      /4 checks: 1 passed, 2 failed, 0 unknown, 1 skipped\. 1 check at or above medium failed or could not be verified\.$/,
    )
  })
})
