/** The access report as CSV (RFC 4180): one row per principal, with its findings counted. */
import type {AccessReport} from './types.js'

const CSV_COLUMNS = [
  'principal',
  'signIns',
  'failures',
  'failuresByCode',
  'operations',
  'failedOperations',
  'ips',
  'countries',
  'firstSeen',
  'lastSeen',
  'offHours',
  'findings',
  'interrupts',
] as const

/** Quotes a cell when needed, and defuses cells a spreadsheet would run as a formula. */
export function csvCell(value: string | number): string {
  let text = String(value)
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

export function renderAccessCsv(report: AccessReport): string {
  const findingsOf = new Map<string, string[]>()
  for (const f of report.findings) {
    const list = findingsOf.get(f.principal) ?? []
    list.push(f.type)
    findingsOf.set(f.principal, list)
  }

  const lines = [CSV_COLUMNS.join(',')]
  for (const p of report.principals) {
    const types = findingsOf.get(p.principal) ?? []
    const byType = [...new Set(types)].map((t) => `${t}:${types.filter((x) => x === t).length}`)
    lines.push(
      [
        p.principal,
        p.signIns,
        p.failures,
        Object.entries(p.failuresByCode)
          .map(([code, n]) => `${code}:${n}`)
          .join(' '),
        p.operations,
        p.failedOperations,
        p.ips.join(' '),
        p.countries.join(' '),
        p.firstSeen,
        p.lastSeen,
        p.offHours,
        byType.join(' '),
        p.interrupts,
      ]
        .map((c) => csvCell(c))
        .join(','),
    )
  }

  return `${lines.join('\r\n')}\r\n`
}
