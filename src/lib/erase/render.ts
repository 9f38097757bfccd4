/**
 * What `customer erase` prints: the summary of a plan, an erase and its verification. The
 * certificate's own renderings are in render-certificate.ts.
 */
import {basename} from 'node:path'

import type {ChalkInstance} from 'chalk'

import {formatBytes, formatCount, renderTable} from '../output/table.js'
import type {EraseOutcome} from './erase.js'

/** What `customer erase` prints (stdout) when not in JSON mode. */
export function renderEraseOutcome(result: EraseOutcome, paint: ChalkInstance): string {
  const lines: string[] = []
  const p = result.plan
  lines.push(
    paint.bold(
      `${result.mode === 'plan' ? 'Erase plan' : 'Erase'} of customer ${result.customer}: ${formatCount(p.items)} objects, ${formatBytes(p.bytes)}`,
    ),
  )
  if (p.file) lines.push(`Plan: ${p.file} (fingerprint ${p.fingerprint})`)
  const rows = p.stores.map((s) => {
    const applied = result.apply?.stores.find((a) => a.store === s.store)
    return [
      s.store,
      formatCount(s.items),
      formatBytes(s.bytes),
      `${formatCount(s.current)} / ${formatCount(s.snapshots)} / ${formatCount(s.versions)} / ${formatCount(s.softDeleted)}`,
      s.holds > 0 ? paint.red(String(s.holds)) : '0',
      ...(applied
        ? [
            formatCount(applied.deleted),
            formatCount(applied.alreadyGone),
            applied.failed > 0 ? paint.red(formatCount(applied.failed)) : '0',
            applied.container ?? '',
          ]
        : []),
    ]
  })
  const head = [
    'store',
    'objects',
    'bytes',
    'current / snapshots / versions / soft-deleted',
    'held',
    ...(result.apply ? ['deleted', 'already gone', 'failed', 'container'] : []),
  ]
  lines.push(renderTable(head, rows))
  for (const section of p.sections ?? []) {
    for (const st of section.stores) {
      const done = result.databases?.find((d) => d.store === st.store)
      lines.push(
        `Database ${st.store}: ${formatCount(Number(st.rows ?? 0))} rows planned (${String(st.method ?? '')})${done ? `, ${formatCount(done.deleted.rows)} deleted, ${done.verification.result === 'empty' ? paint.green('none left') : paint.red(`${formatCount(done.verification.remainingRows)} left`)}` : ''}`,
      )
    }
  }

  for (const r of result.residuals ?? [])
    lines.push(`Residual: ${r.store} ${r.until ? `until ${r.until}` : '(date unknown)'}: ${r.statement}`)
  const k = result.key ?? p.key
  if ('method' in k)
    lines.push(
      `Customer key: ${k.state}${k.name ? ` (${k.name})` : ''}${k.scheduledPurgeDate && k.state !== 'purged' ? `, unrecoverable from ${k.scheduledPurgeDate}` : ''}`,
    )
  else
    lines.push(
      `Customer key: ${k.state === 'not-configured' ? 'none configured (no crypto-shredding)' : `${k.name}: ${k.state}${k.versions !== undefined ? `, ${k.versions} version(s)` : ''}`}`,
    )
  for (const g of result.guards)
    lines.push(`${g.ok ? (g.skipped ? paint.dim('-') : paint.green('✔')) : paint.red('✘')} ${g.guard}: ${g.message}`)
  if (result.verification) {
    const v = result.verification
    const text =
      v.result === 'empty'
        ? paint.green('nothing left')
        : v.result === 'retained'
          ? paint.yellow(
              `no live data; ${formatCount(v.retained)} soft-deleted object(s) kept until ${v.permanentlyDeletedBy ?? '?'}`,
            )
          : paint.red(`${formatCount(v.live)} live object(s) left`)
    lines.push(`Verification: ${text}`)
  }

  if (result.apply?.failures)
    lines.push(
      paint.red(
        `${formatCount(result.apply.failures)} delete(s) failed; see the certificate's exceptions. Run again with the same plan to retry them.`,
      ),
    )
  if (result.certificate)
    lines.push(
      `Certificate: ${result.certificate.json} (${result.certificate.signed ? 'signed' : 'unsigned'}), with ${basename(result.certificate.text)} and ${basename(result.certificate.html)}`,
    )
  if (result.mode === 'plan') {
    const refusing = result.guards.filter((g) => !g.ok).map((g) => g.guard)
    const waived = result.guards.some((g) => g.guard === 'export' && g.skipped)
    const apply = `custos customer erase ${result.customer} --plan ${p.file} --yes${waived ? ' --no-export-required' : ''}`
    if (!p.file) lines.push(paint.dim('Nothing was changed (dry run).'))
    else if (refusing.length > 0)
      lines.push(
        paint.dim(
          `Nothing was changed. Applying it now would be refused (${refusing.join(', ')}); once that is resolved: ${apply}`,
        ),
      )
    else lines.push(paint.dim(`Nothing was changed. Apply with: ${apply}`))
  }

  return lines.join('\n')
}
