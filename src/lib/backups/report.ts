/**
 * How a `backups verify` result is shown: exit code, a table per customer, and the one-line Nagios
 * plugin output (https://nagios-plugins.org/doc/guidelines.html#AEN200) for monitoring systems.
 */
import {ExitCode} from '../errors.js'
import {color} from '../output/color.js'
import {nagiosOutput, nagiosText, type NagiosOutput, type NagiosState} from '../output/nagios.js'
import {formatBytes, renderTable} from '../output/table.js'
import {CHECK_NAMES, examples, type BackupsVerifyResult, type CheckStatus} from './model.js'

/** 0 all passed (or retired), 1 findings (fail or warn), 4 something could not be checked (Azure failure). */
export function exitCodeOf(status: CheckStatus): number {
  if (status === 'pass' || status === 'retired') return ExitCode.ok
  if (status === 'unknown') return ExitCode.azure
  return ExitCode.findings
}

const NAGIOS: Record<CheckStatus, NagiosState> = {
  pass: 'OK',
  retired: 'OK',
  warn: 'WARNING',
  fail: 'CRITICAL',
  unknown: 'UNKNOWN',
}

const PROBLEMS_SHOWN = 3
const DETAIL_LENGTH = 160

/** `BACKUPS CRITICAL - … | customers=4;;;0 …`, and the plugin exit code (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN). */
export function nagiosLine(result: BackupsVerifyResult): NagiosOutput {
  const t = result.totals
  let text: string
  const servers = t.databases > 0 ? ` and ${t.databases} database server${t.databases === 1 ? '' : 's'}` : ''
  const retired = t.retired > 0 ? ` (${t.retired} retired: erased by custos)` : ''
  if (t.customers === 0 && t.databases === 0) {
    text = result.notes[0] ?? 'no customers found'
  } else if (result.status === 'pass' || result.status === 'retired') {
    text = `${t.customers} customer${t.customers === 1 ? '' : 's'}${retired} in ${result.sets.length} backup set${result.sets.length === 1 ? '' : 's'}${servers}: every check passed`
  } else {
    const counts = [
      t.fail ? `${t.fail} critical` : '',
      t.warn ? `${t.warn} warning` : '',
      t.unknown ? `${t.unknown} unknown` : '',
    ]
      .filter(Boolean)
      .join(', ')
    // A set-level finding (region, account key) is the same for every customer: say it once, with the customers it concerns.
    const rank: Record<CheckStatus, number> = {fail: 0, warn: 1, unknown: 2, retired: 3, pass: 3}
    const groups = new Map<string, {rank: number; customers: string[]; count: number}>()
    for (const c of result.customers) {
      for (const s of c.sets) {
        for (const k of s.checks) {
          if (k.status === 'pass' || k.status === 'retired') continue
          const key = `${s.set} ${k.check}: ${nagiosText(k.detail, DETAIL_LENGTH)}`
          let g = groups.get(key)
          if (!g) groups.set(key, (g = {rank: rank[k.status], customers: [], count: 0}))
          g.count++
          if (g.customers.length < PROBLEMS_SHOWN) g.customers.push(c.customer)
        }
      }
    }

    // A server's findings concern its database, not a customer.
    for (const d of result.databases) {
      for (const k of d.checks) {
        if (k.status === 'pass' || k.status === 'retired') continue
        const key = `database ${d.database} ${k.check}: ${nagiosText(k.detail, DETAIL_LENGTH)}`
        if (!groups.has(key)) groups.set(key, {rank: rank[k.status], customers: [], count: 0})
      }
    }

    const problems = [...groups.entries()]
      .sort((a, b) => a[1].rank - b[1].rank)
      .map(([key, g]) => (g.count > 0 ? `${examples(g.customers, g.count)} ${key}` : key))
    const more = problems.length > PROBLEMS_SHOWN ? `; and ${problems.length - PROBLEMS_SHOWN} more` : ''
    text = `${counts} of ${t.customers} customers${servers}; ${problems.slice(0, PROBLEMS_SHOWN).join('; ')}${more}`
  }

  return nagiosOutput('BACKUPS', NAGIOS[result.status], text, perfdata(result))
}

/** The line for a run that could not check anything (configuration or Azure failure). */
export function nagiosUnknown(message: string): NagiosOutput {
  return nagiosOutput('BACKUPS', 'UNKNOWN', message)
}

function perfdata(result: BackupsVerifyResult): string {
  const t = result.totals
  const out = [
    `customers=${t.customers};;;0`,
    `critical=${t.fail};;;0`,
    `warning=${t.warn};;;0`,
    `unknown=${t.unknown};;;0`,
    `backups=${t.backups};;;0`,
    `size=${t.bytes}B;;;0`,
    `missing_days=${t.missingDays};;;0`,
    // new in 0.3: only when there is something to count, so that existing graphs keep their lines
    ...(t.retired > 0 ? [`retired=${t.retired};;;0`] : []),
    ...(t.databases > 0 ? [`databases=${t.databases};;;0`] : []),
  ]
  // Per backup set: the age of the stalest "newest backup" of any customer, against maxAge.
  for (const set of result.sets) {
    let oldest: number | undefined
    for (const c of result.customers) {
      for (const s of c.sets) {
        if (s.set !== set.set || s.newestAgeInMs === undefined) continue
        oldest = Math.max(oldest ?? Number.NEGATIVE_INFINITY, s.newestAgeInMs)
      }
    }

    if (oldest !== undefined)
      out.push(`'${set.set}_newest_age'=${Math.round(oldest / 1000)}s;;${Math.round(set.maxAgeInMs / 1000)};0`)
  }

  for (const d of result.databases)
    if (d.newestAgeInMs !== undefined) out.push(`'${d.database}_newest_age'=${Math.round(d.newestAgeInMs / 1000)}s;;;0`)

  if (result.restore)
    out.push(
      `restore_size=${result.restore.bytes}B;;;0`,
      `restore_time=${result.restore.seconds}s;;;0`,
      `restore_failures=${result.restore.failures};;;0`,
    )
  return out.join(' ')
}

const STATUS_TEXT: Record<CheckStatus, (s: string) => string> = {
  pass: (s) => color.green(s),
  retired: (s) => color.cyan(s),
  warn: (s) => color.yellow(s),
  fail: (s) => color.red(s),
  unknown: (s) => color.magenta(s),
}

function statusText(status: CheckStatus): string {
  return STATUS_TEXT[status](status === 'pass' || status === 'retired' ? status : status.toUpperCase())
}

/** A table per customer (check, status, detail), then the run's notes and a summary line. */
export function renderReport(result: BackupsVerifyResult): string {
  const multiSet = result.sets.length > 1
  const blocks: string[] = []
  for (const c of result.customers) {
    const rows: string[][] = []
    for (const s of c.sets) {
      const checks = [...s.checks].sort((a, b) => CHECK_NAMES.indexOf(a.check) - CHECK_NAMES.indexOf(b.check))
      for (const k of checks) rows.push([multiSet ? `${s.set} ${k.check}` : k.check, statusText(k.status), k.detail])
    }

    blocks.push(
      renderTable(['check', 'status', 'detail'], rows, {
        title: color.bold(`Customer ${c.customer}: ${statusText(c.status)}`),
      }),
    )
  }

  for (const d of result.databases) {
    const checks = [...d.checks].sort((a, b) => CHECK_NAMES.indexOf(a.check) - CHECK_NAMES.indexOf(b.check))
    blocks.push(
      renderTable(
        ['check', 'status', 'detail'],
        checks.map((k) => [k.check, statusText(k.status), k.detail]),
        {title: color.bold(`Database ${d.database} (server ${d.server}): ${statusText(d.status)}`)},
      ),
    )
  }

  for (const note of result.notes) blocks.push(color.dim(`Note: ${note}`))
  const t = result.totals
  const restore = result.restore
    ? `; restored ${result.restore.downloads} (${formatBytes(result.restore.bytes)}, ${formatBytes(result.restore.bytesPerSecond)}/s)`
    : ''
  blocks.push(
    `${statusText(result.status)}: ${t.customers} customers — ${t.pass} passed, ${t.retired > 0 ? `${t.retired} retired (erased by custos), ` : ''}${t.warn} with warnings, ${t.fail} failed, ${t.unknown} unknown; ${t.backups} backups, ${formatBytes(t.bytes)}${restore}${t.databases > 0 ? `; ${t.databases} database server${t.databases === 1 ? '' : 's'}` : ''}`,
  )
  return blocks.join('\n\n')
}
