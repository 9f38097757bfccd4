/** The posture report as text: one table per resource, the fixes under it, a summary line. */
import type {ChalkInstance} from 'chalk'

import {renderTable} from '../output/table.js'
import {isFailing} from './posture.js'
import type {CheckResult, PostureReport, PostureResource} from './types.js'

const KIND_LABEL: Record<PostureResource['kind'], string> = {
  'storage-account': 'Storage account',
  'blob-container': 'Blob container',
  'key-vault': 'Key vault',
  'postgresql-server': 'PostgreSQL server',
  subscription: 'Subscription',
  tenant: 'Tenant',
}

function statusCell(r: CheckResult, report: PostureReport, color: ChalkInstance): string {
  const failing = isFailing(r, report.failOn)
  switch (r.status) {
    case 'pass': {
      return color.green('PASS')
    }

    case 'fail': {
      return failing ? color.red.bold('FAIL') : color.yellow('FAIL')
    }

    case 'unknown': {
      return failing ? color.magenta.bold('UNKNOWN') : color.magenta('UNKNOWN')
    }

    default: {
      return color.dim('SKIP')
    }
  }
}

/** Renders the whole report; `color` decides whether there are colour codes. */
export function renderPosture(report: PostureReport, color: ChalkInstance): string {
  const blocks: string[] = []
  for (const resource of report.resources) {
    const where = [resource.location, resource.usedBy.length > 0 ? `used by ${resource.usedBy.join(', ')}` : '']
      .filter(Boolean)
      .join('; ')
    const title = `${color.bold(`${KIND_LABEL[resource.kind]} ${resource.name}`)}${where ? ` (${where})` : ''}${resource.id ? `\n${color.dim(resource.id)}` : ''}`
    const first = resource.results[0]
    if (
      first &&
      resource.results.every(
        (r) => r.status === 'unknown' && r.detail === first.detail && r.remediation === first.remediation,
      )
    ) {
      // a resource custos could not read: one line instead of a table of identical rows
      blocks.push(
        [
          title,
          `${statusCell(first, report, color)} all ${resource.results.length} checks: ${first.detail}`,
          `  To check: ${first.remediation}`,
        ].join('\n'),
      )
      continue
    }

    const rows = resource.results.map((r) => [statusCell(r, report, color), r.check, r.severity, r.detail])
    // one line per distinct fix, naming every check it fixes
    const fixes = new Map<string, {verb: string; checks: string[]}>()
    for (const r of resource.results) {
      if (!r.remediation) continue
      const entry = fixes.get(r.remediation) ?? {verb: r.status === 'unknown' ? 'To check' : 'Fix', checks: []}
      entry.checks.push(r.check)
      fixes.set(r.remediation, entry)
    }

    const fixLines = [...fixes].map(([remediation, {verb, checks}]) => `  ${verb} ${checks.join(', ')}: ${remediation}`)
    const admins = resource.administrators
      ? [
          `  Entra administrators: ${
            resource.administrators.length === 0
              ? 'none'
              : resource.administrators
                  .map((a) => `${a.principalName ?? a.objectId} (${a.principalType ?? 'principal'})`)
                  .join(', ')
          }`,
        ]
      : []
    blocks.push(
      [renderTable(['result', 'check', 'severity', 'detail'], rows, {title}), ...fixLines, ...admins].join('\n'),
    )
  }

  const s = report.summary
  const verdict =
    s.failing > 0
      ? color.red.bold(
          `${s.failing} check${s.failing === 1 ? '' : 's'} at or above ${report.failOn} failed or could not be verified.`,
        )
      : color.green.bold(`No check at or above ${report.failOn} failed.`)
  blocks.push(
    `${s.checks} checks: ${s.passed} passed, ${s.failed} failed, ${s.unknown} unknown, ${s.skipped} skipped. ${verdict}`,
  )
  return blocks.join('\n\n')
}
