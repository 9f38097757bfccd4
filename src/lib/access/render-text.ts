/** The access report for a terminal: a principals table, the findings, the sources. */
import {color} from '../output/color.js'
import {formatCount, renderTable} from '../output/table.js'
import {SKIP_REASONS, type AccessReport, type SkippedRecords} from './types.js'

/** `skipped 10 that begin an operation (…), 5 outside the range (…)` */
export function describeSkipped(skipped: readonly SkippedRecords[]): string {
  const words = new Map(SKIP_REASONS.map((r) => [r.reason, r.says]))
  return `skipped ${skipped.map((s) => `${formatCount(s.records)} ${words.get(s.reason) ?? s.reason}`).join(', ')}`
}

function list(values: string[], max: number): string {
  return values.length <= max ? values.join(', ') : `${values.slice(0, max).join(', ')} +${values.length - max}`
}

function shortTime(iso: string): string {
  return iso.replace('T', ' ').replace(/:\d\d(\.\d+)?Z$/, 'Z')
}

export function renderAccessText(report: AccessReport): string {
  const out: string[] = []
  const title = `Access report ${report.range.since} – ${report.range.until}${report.customer ? ` for customer ${report.customer}` : ''}`
  const rows = report.principals.map((p) => [
    p.principal,
    formatCount(p.signIns),
    p.failures > 0 ? color.red(formatCount(p.failures)) : '0',
    formatCount(p.operations),
    list(p.ips, 3),
    list(p.countries, 4),
    shortTime(p.firstSeen),
    shortTime(p.lastSeen),
  ])
  out.push(
    rows.length > 0
      ? renderTable(
          ['principal', 'sign-ins', 'failures', 'operations', 'source IPs', 'countries', 'first seen', 'last seen'],
          rows,
          {
            title: color.bold(title),
            colAligns: ['left', 'right', 'right', 'right', 'left', 'left', 'left', 'left'],
          },
        )
      : `${color.bold(title)}\nNo access in this range.`,
  )
  const t = report.totals
  out.push(
    `${formatCount(t.principals)} principals, ${formatCount(t.signIns)} sign-ins (${formatCount(t.failures)} failed${t.interrupts > 0 ? `, ${formatCount(t.interrupts)} interrupted for MFA, consent and the like` : ''}), ${formatCount(t.operations)} operations.`,
  )
  if (report.findings.length === 0) {
    out.push(color.green('No findings.'))
  } else {
    out.push(color.bold(`${report.findings.length} finding${report.findings.length === 1 ? '' : 's'}:`))
    for (const f of report.findings) out.push(`  ${color.yellow(f.type.padEnd(19))} ${f.message}`)
  }

  for (const s of report.sources)
    out.push(
      color.dim(
        `Source ${s.name} (${s.target}): ${formatCount(s.events)} events${s.skipped?.length ? `; ${describeSkipped(s.skipped)}` : ''}${s.notes?.length ? `; ${s.notes.join('; ')}` : ''}`,
      ),
    )
  return out.join('\n')
}
