/** `access review` as a terminal table, CSV (one row per finding) and a self-contained HTML page with the access matrix. */
import type {ChalkInstance} from 'chalk'

import {renderTable} from '../../output/table.js'
import {severityRank} from '../../posture/catalogue.js'
import {csvCell} from '../render-csv.js'
import {escapeHtml} from '../../output/html.js'
import type {AccessReview, ReviewFinding} from './types.js'

function isFailing(f: ReviewFinding, review: AccessReview): boolean {
  return severityRank(f.severity) >= severityRank(review.failOn)
}

/** The last segment of a scope, with its kind, for narrow columns: `storageAccounts/contosoprod`. */
function shortScope(scope: string): string {
  const parts = scope.split('/').filter(Boolean)
  if (parts.length <= 2) return scope
  return parts.slice(-2).join('/')
}

/** Principals by lower-case id (the renderers look one up per assignment). */
function principalIndex(review: AccessReview): Map<string, AccessReview['principals'][number]> {
  return new Map(review.principals.map((p) => [p.id.toLowerCase(), p]))
}

export function renderReviewText(review: AccessReview, color: ChalkInstance): string {
  const blocks: string[] = []
  const principals = principalIndex(review)
  const rows = review.assignments.map((a) => {
    const p = principals.get(a.principalId.toLowerCase())
    return [
      p?.name ?? a.principalId,
      p?.kind ?? 'unknown',
      a.privileged ? color.bold(a.role) : a.role,
      shortScope(a.scope),
      a.inheritedBy.length > 0 ? `inherited by ${a.inheritedBy.map(shortScope).join(', ')}` : '',
    ]
  })
  blocks.push(
    renderTable(['principal', 'kind', 'role', 'assigned at', 'inherited'], rows, {
      title: color.bold(`Role assignments (${review.assignments.length})`),
    }),
  )
  if (review.findings.length > 0) {
    const findingRows = review.findings.map((f) => [
      isFailing(f, review) ? color.red.bold(f.type) : color.yellow(f.type),
      f.severity,
      f.principalName,
      f.role,
      shortScope(f.scope),
      f.why,
    ])
    blocks.push(
      renderTable(['finding', 'severity', 'principal', 'role', 'scope', 'why'], findingRows, {
        title: color.bold(`Findings (${review.findings.length})`),
      }),
    )
    blocks.push(['Fixes:', ...[...new Set(review.findings.map((f) => f.fix))].map((fix) => `  ${fix}`)].join('\n'))
  }

  for (const note of review.notes) blocks.push(color.dim(`Note: ${note}`))
  const s = review.summary
  const verdict =
    s.failing > 0
      ? color.red.bold(`${s.failing} finding${s.failing === 1 ? '' : 's'} at or above ${review.failOn}.`)
      : color.green.bold(`No finding at or above ${review.failOn}.`)
  blocks.push(
    `${s.assignments} assignments, ${s.principals} principals, ${review.scopes.length} scopes, ${s.findings} findings. ${verdict}`,
  )
  return blocks.join('\n\n')
}

const REVIEW_CSV_COLUMNS = [
  'type',
  'severity',
  'principal',
  'principalName',
  'kind',
  'role',
  'scope',
  'via',
  'why',
  'fix',
] as const

export function renderReviewCsv(review: AccessReview): string {
  const lines = [REVIEW_CSV_COLUMNS.join(',')]
  for (const f of review.findings) lines.push(REVIEW_CSV_COLUMNS.map((c) => csvCell(f[c] ?? '')).join(','))
  return `${lines.join('\r\n')}\r\n`
}

/** The access matrix: one row per principal, one column per reviewed scope, the roles in the cells. */
function accessMatrix(review: AccessReview): {
  scopes: string[]
  rows: Array<{principal: string; kind: string; cells: string[][]}>
} {
  const scopes = review.scopes.map((s) => s.id)
  const scopeIndex = new Map(scopes.map((s, i) => [s, i]))
  const rows = new Map<string, {principal: string; kind: string; cells: string[][]}>()
  const principals = principalIndex(review)
  for (const a of review.assignments) {
    const p = principals.get(a.principalId.toLowerCase())
    const key = a.principalId.toLowerCase()
    const row = rows.get(key) ?? {
      principal: p?.name ?? a.principalId,
      kind: p?.kind ?? 'unknown',
      cells: scopes.map(() => []),
    }
    for (const scope of a.appliesTo) {
      const i = scopeIndex.get(scope) ?? -1
      if (i !== -1)
        row.cells[i].push(a.inheritedBy.includes(scope) ? `${a.role} (inherited from ${shortScope(a.scope)})` : a.role)
    }

    rows.set(key, row)
  }

  return {scopes, rows: [...rows.values()].sort((x, y) => x.principal.localeCompare(y.principal))}
}

export function renderReviewHtml(review: AccessReview): string {
  const matrix = accessMatrix(review)
  const flagged = new Set(review.findings.map((f) => f.principalName))
  const head = matrix.scopes
    .map((s) => {
      const used = review.scopes.find((x) => x.id === s)?.usedBy.join(', ') ?? ''
      return `<th title="${escapeHtml(s)}">${escapeHtml(shortScope(s))}<br><small>${escapeHtml(used)}</small></th>`
    })
    .join('')
  const body = matrix.rows
    .map(
      (r) =>
        `<tr${flagged.has(r.principal) ? ' class="flagged"' : ''}><th scope="row">${escapeHtml(r.principal)}<br><small>${escapeHtml(r.kind)}</small></th>${r.cells
          .map((c) => `<td>${c.map((role) => escapeHtml(role)).join('<br>')}</td>`)
          .join('')}</tr>`,
    )
    .join('\n')
  const findings = review.findings
    .map(
      (f) =>
        `<tr class="${escapeHtml(f.severity)}"><td>${escapeHtml(f.type)}</td><td>${escapeHtml(f.severity)}</td><td>${escapeHtml(f.principalName)}</td><td>${escapeHtml(f.role)}</td><td title="${escapeHtml(f.scope)}">${escapeHtml(shortScope(f.scope))}</td><td>${escapeHtml(f.why)}</td><td><code>${escapeHtml(f.fix)}</code></td></tr>`,
    )
    .join('\n')
  const db = review.databases
    .filter((d) => d.select || d.delete)
    .map(
      (d) =>
        `<tr${d.expected ? '' : ' class="flagged"'}><td>${escapeHtml(d.database)}</td><td>${escapeHtml(d.role)}</td><td>${escapeHtml(d.table)}</td><td>${d.select ? 'SELECT' : ''}</td><td>${d.delete ? 'DELETE' : ''}</td></tr>`,
    )
    .join('\n')
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>custos access review ${escapeHtml(review.checkedAt)}</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<style>body{font:14px system-ui,sans-serif;margin:2em;color:#1b1f24}table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #d0d7de;padding:4px 8px;vertical-align:top;text-align:left}small{color:#57606a}tr.flagged th,tr.flagged td{background:#fff5f5}tr.critical td:first-child,tr.high td:first-child{color:#b42318;font-weight:600}code{font-size:12px}</style></head>
<body><h1>Access review</h1>
<p>${escapeHtml(review.checkedAt)} · ${review.summary.assignments} role assignments · ${review.summary.principals} principals · ${review.summary.findings} findings (${review.summary.failing} at or above ${escapeHtml(review.failOn)})</p>
<h2>Access matrix</h2>
<table class="matrix"><thead><tr><th>principal</th>${head}</tr></thead><tbody>
${body}
</tbody></table>
<h2>Findings</h2>
${review.findings.length > 0 ? `<table class="findings"><thead><tr><th>finding</th><th>severity</th><th>principal</th><th>role</th><th>scope</th><th>why</th><th>fix</th></tr></thead><tbody>\n${findings}\n</tbody></table>` : '<p>None.</p>'}
${db ? `<h2>Database access to mapped tables</h2><table class="databases"><thead><tr><th>database</th><th>role</th><th>table</th><th colspan="2">can</th></tr></thead><tbody>\n${db}\n</tbody></table>` : ''}
${review.notes.length > 0 ? `<h2>Notes</h2><ul>${review.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>` : ''}
</body></html>
`
}
