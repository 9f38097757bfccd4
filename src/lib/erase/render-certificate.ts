/**
 * The deletion certificate as plain text and as a self-contained HTML page, both written beside the
 * sealed JSON (which alone is authoritative) by certificate.ts.
 */
import {escapeHtml} from '../output/html.js'
import {formatBytes, formatCount} from '../output/table.js'
import type {Residual} from '../stores/kind.js'
import type {CertificateDatabase, CertificateStore, DeletionCertificate} from './certificate-document.js'

const MAX_IDS_IN_TEXT = 10

function amountText(a: {items: number; bytes: number}): string {
  return `${formatCount(a.items)} (${formatBytes(a.bytes)})`
}

function resultLine(doc: DeletionCertificate): string {
  const r = doc.body.verification.result
  if (r === 'empty') return 'COMPLETE: a final listing found nothing left of this customer.'
  if (r === 'retained')
    return `COMPLETE, RETAINED BY SOFT DELETE: no live data left; ${formatCount(doc.body.verification.retained)} soft-deleted object(s) are deleted for good by ${doc.body.verification.permanentlyDeletedBy ?? 'their retention dates'}.`
  const rows = doc.body.verification.remainingRows ?? 0
  return `INCOMPLETE: a final listing still found ${formatCount(doc.body.verification.live)} live object(s)${rows > 0 ? ` and ${formatCount(rows)} database row(s)` : ''} of this customer.`
}

/** Where a database store's rows were: a PostgreSQL database (and schema) or a table of an account. */
function databaseWhere(d: CertificateDatabase): string {
  if (d.engine === 'table')
    return `${d.account}/${d.table}${d.partitionKey === undefined ? '' : `, PartitionKey "${d.partitionKey}"`}${d.rowKeyPrefix === undefined ? '' : `, RowKey prefix "${d.rowKeyPrefix}"`}`
  return `${d.host}/${d.database}${d.schema ? `, schema ${d.schema}` : ''}`
}

function databaseLines(d: CertificateDatabase): string[] {
  if (d.engine === 'table')
    return [
      `  ${d.store}: table ${databaseWhere(d)} (isolation ${d.isolation})`,
      `    method:        ${d.method}${d.alreadyGone ? ' (already done by an earlier run of this plan)' : ''}`,
      `    planned:       ${formatCount(d.planned.rows)} entities; deleted: ${formatCount(d.deleted.rows)} entities${d.goneWithoutJournal > 0 ? `; ${formatCount(d.goneWithoutJournal)} gone without a journaled delete` : ''}`,
      `    verification:  ${d.verification.result}: ${formatCount(d.verification.remainingRows)} entit${d.verification.remainingRows === 1 ? 'y' : 'ies'} left${d.verification.tableExists ? '' : '; the table does not exist'}`,
      `    backups:       ${d.backups}`,
      `    fingerprint:   ${d.fingerprint}`,
    ]
  return [
    `  ${d.store}: ${d.engine} ${d.host}/${d.database}${d.schema ? `, schema ${d.schema}` : ''} (isolation ${d.isolation})`,
    `    method:        ${d.method}${d.alreadyGone ? ' (already done by an earlier run of this plan)' : ''}`,
    `    planned:       ${formatCount(d.planned.rows)} rows; deleted: ${formatCount(d.deleted.rows)} rows`,
    ...d.tables.map(
      (t) => `    table          ${t.table}: ${formatCount(t.planned)} planned, ${formatCount(t.deleted)} deleted`,
    ),
    `    vacuum:        ${d.vacuum.requested ? (d.vacuum.ran ? 'ran on every emptied table' : `requested; not allowed on ${d.vacuum.skipped.join(', ') || 'the dropped objects'}`) : 'not requested'}`,
    `    verification:  ${d.verification.result}: ${formatCount(d.verification.remainingRows)} row(s) left${d.verification.schemaOrDatabaseExists === undefined ? '' : d.verification.schemaOrDatabaseExists ? '; the schema/database still exists' : '; the schema/database is gone'}`,
    `    fingerprint:   ${d.fingerprint}`,
  ]
}

function residualLine(r: Residual): string {
  return `  ${r.store}: ${r.until ? `until ${r.until}` : 'until an unknown date'}: ${r.statement}`
}

function keyLine(doc: DeletionCertificate): string {
  const k = doc.body.key
  switch (k.state) {
    case 'purged': {
      return `${k.name} in ${k.vault}: deleted and purged (crypto-erase), unrecoverable from ${k.unrecoverableFrom}${k.versions !== undefined ? `; ${k.versions} version(s)` : ''}`
    }

    case 'deleted-purge-pending': {
      return `${k.name} in ${k.vault}: deleted; purge refused (${k.purgeRefused?.status ?? '?'}${k.purgeRefused?.code ? ` ${k.purgeRefused.code}` : ''}), recoverable until ${k.scheduledPurgeDate ?? 'an unknown date'}, unrecoverable from then (crypto-erase pending)`
    }

    case 'absent': {
      return `${k.name} in ${k.vault}: not found (already purged or never created)`
    }

    default: {
      return 'no customer key configured: no crypto-shredding'
    }
  }
}

function signatureLines(doc: DeletionCertificate): string[] {
  if (!doc.signed || !doc.signature)
    return [
      'Signature: UNSIGNED (no keys.signingKey configured). Only the SHA-256 below protects this document; anyone able to edit it can recompute that.',
    ]
  return [`Signature: ${doc.signature.alg} by ${doc.signature.kid}`, `  ${doc.signature.value}`]
}

function storeLines(s: CertificateStore): string[] {
  const lines = [
    `  ${s.store}${s.role === 'backup' ? ' (backup set)' : ''}: ${s.account}/${s.container}/${s.prefix} (${s.layout})`,
    `    method:        ${s.methods.join(', ') || 'none needed'}${s.cryptoErase ? ` (encryption scope ${s.cryptoErase.encryptionScope} with ${s.cryptoErase.keyUri}${s.cryptoErase.effectiveFrom ? `, unreadable from ${s.cryptoErase.effectiveFrom}` : ''})` : ''}`,
    `    planned:       ${amountText(s.planned)}: ${formatCount(s.planned.current)} current, ${formatCount(s.planned.snapshots)} snapshots, ${formatCount(s.planned.versions)} versions, ${formatCount(s.planned.softDeleted)} soft-deleted`,
    `    deleted:       ${amountText(s.deleted)}${s.softDeleted ? `, of which soft delete keeps ${formatCount(s.softDeleted)} for its retention` : ''}${s.purged ? `; ${formatCount(s.purged)} purged for good` : ''}`,
    `    already gone:  ${amountText(s.alreadyGone)}`,
    `    retained:      ${amountText(s.retained)}${s.softDeletedBeforeErase ? `; ${formatCount(s.softDeletedBeforeErase)} soft-deleted before the erase` : ''}`,
    `    failed:        ${amountText(s.failed)}`,
    `    container:     ${s.containerDeletion.action}${s.containerDeletion.reason ? ` (${s.containerDeletion.reason})` : ''}${s.containerDeletion.requestId ? `, request id ${s.containerDeletion.requestId}` : ''}`,
    `    verification:  ${s.verification.result}: ${formatCount(s.verification.live)} live, ${formatCount(s.verification.retained)} retained${s.verification.permanentlyDeletedBy ? ` until ${s.verification.permanentlyDeletedBy}` : ''}${s.verification.containerState === 'soft-deleted' ? `; the deleted container is kept until ${s.verification.containerPermanentlyDeletedBy ?? '?'}` : ''}`,
    `    batches:       ${formatCount(s.batches)}; request ids: ${s.requestIds.slice(0, MAX_IDS_IN_TEXT).join(', ') || 'none'}${s.requestIds.length > MAX_IDS_IN_TEXT ? ` … and ${s.requestIds.length - MAX_IDS_IN_TEXT} more (all in the JSON)` : ''}`,
  ]
  for (const r of s.verification.examples)
    lines.push(
      `    left:          ${r.container}/${r.name}${r.snapshot ? ` snapshot ${r.snapshot}` : ''}${r.versionId ? ` version ${r.versionId}` : ''} (${r.kind}${r.permanentlyDeletedBy ? `, deleted for good by ${r.permanentlyDeletedBy}` : ''})`,
    )
  return lines
}

/** The certificate as plain text. */
export function renderCertificateText(doc: DeletionCertificate): string {
  const b = doc.body
  const lines = [
    'DELETION CERTIFICATE',
    '====================',
    '',
    `Customer:    ${b.customer}`,
    `Operator:    ${b.operator.name} (${b.operator.kind}) on ${b.operator.host}`,
    `Tool:        ${b.tool.name} ${b.tool.version}`,
    `Operation:   ${b.operationId}`,
    `Started:     ${b.startedAt}`,
    `Finished:    ${b.finishedAt}`,
    `Data map:    ${b.dataMap}`,
    `Plan:        ${b.plan.file}: ${formatCount(b.plan.items)} items, ${formatBytes(b.plan.bytes)}, fingerprint ${b.plan.fingerprint}`,
    '',
    `Result:      ${resultLine(doc)}`,
    '',
    'Stores and backup sets',
    ...b.stores.flatMap(storeLines),
    '',
    ...(b.databases ? ['Databases', ...b.databases.flatMap(databaseLines), ''] : []),
    ...(b.residuals
      ? ['Residuals (what still holds the erased data, and until when)', ...b.residuals.map(residualLine), '']
      : []),
    'Customer key',
    `  ${keyLine(doc)}`,
    `  Backups: ${b.key.backups}`,
    '',
    'Guards',
    ...b.guards.map((g) => `  ${g.ok ? (g.skipped ? '-' : '✔') : '✘'} ${g.guard}: ${g.message}`),
    '',
    'Totals',
    `  planned ${amountText(b.totals.planned)}, deleted ${amountText(b.totals.deleted)}, already gone ${amountText(b.totals.alreadyGone)}, retained ${amountText(b.totals.retained)}, failed ${amountText(b.totals.failed)}`,
    '',
    'Exceptions',
    ...(b.exceptions.length > 0 ? b.exceptions.map((e) => `  ${e}`) : ['  none']),
    '',
    `Verification: ${b.verification.result} (checked ${b.verification.checkedAt})`,
    b.statement,
    '',
    `SHA-256 of the content (canonical JSON of "body"): ${doc.sha256}`,
    ...signatureLines(doc),
    '',
    'This text is a rendering; the JSON file beside it is the certificate. Check it with:',
    '  custos certificate verify <certificate>.json',
    '',
  ]
  return lines.join('\n')
}

function esc(text: unknown): string {
  return escapeHtml(String(text))
}

/** The certificate as a self-contained HTML page (no scripts, no external resources). */
export function renderCertificateHtml(doc: DeletionCertificate): string {
  const b = doc.body
  const r = b.verification.result
  const badge = r === 'empty' ? '#1a7f37' : r === 'retained' ? '#9a6700' : '#cf222e'
  const row = (k: string, v: string) => `<tr><th>${esc(k)}</th><td>${v}</td></tr>`
  const stores = b.stores
    .map(
      (
        s,
      ) => `<tr><td>${esc(s.store)}${s.role === 'backup' ? ' <small>(backup)</small>' : ''}<br><code>${esc(`${s.account}/${s.container}/${s.prefix}`)}</code></td>
<td>${esc(s.methods.join(', '))}</td><td>${esc(amountText(s.planned))}</td><td>${esc(amountText(s.deleted))}</td><td>${esc(amountText(s.alreadyGone))}</td><td>${esc(amountText(s.retained))}</td><td>${esc(amountText(s.failed))}</td>
<td>${esc(s.containerDeletion.action)}</td><td>${esc(s.verification.result)}${s.verification.permanentlyDeletedBy ? `<br><small>retained until ${esc(s.verification.permanentlyDeletedBy)}</small>` : ''}</td>
<td><details><summary>${formatCount(s.requestIds.length)}</summary><code>${s.requestIds.map(esc).join('<br>')}</code></details></td></tr>`,
    )
    .join('\n')
  const sig =
    doc.signed && doc.signature
      ? `${esc(doc.signature.alg)} by <code>${esc(doc.signature.kid)}</code><br><code class="wrap">${esc(doc.signature.value)}</code>`
      : '<strong>UNSIGNED</strong>: no signing key is configured; only the SHA-256 protects this document.'
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Deletion certificate: ${esc(b.customer)}</title>
<style>
body{font:14px/1.5 system-ui,sans-serif;margin:2em auto;max-width:70em;color:#1f2328}
h1{margin-bottom:.2em} table{border-collapse:collapse;margin:1em 0;width:100%} th,td{border:1px solid #d0d7de;padding:.35em .6em;text-align:left;vertical-align:top}
th{background:#f6f8fa} .badge{display:inline-block;padding:.2em .7em;border-radius:1em;color:#fff;background:${badge}} code{font-size:12px} .wrap{word-break:break-all}
</style></head><body>
<h1>Deletion certificate</h1>
<p><span class="badge">${esc(r.toUpperCase())}</span> ${esc(resultLine(doc))}</p>
<table>
${row('Customer', esc(b.customer))}
${row('Operator', `${esc(b.operator.name)} (${esc(b.operator.kind)}) on ${esc(b.operator.host)}`)}
${row('Tool', esc(`${b.tool.name} ${b.tool.version}`))}
${row('Operation', `<code>${esc(b.operationId)}</code>`)}
${row('Started / finished', `${esc(b.startedAt)} / ${esc(b.finishedAt)}`)}
${row('Plan', `${esc(b.plan.file)}: ${esc(formatCount(b.plan.items))} items, ${esc(formatBytes(b.plan.bytes))}<br>fingerprint <code>${esc(b.plan.fingerprint)}</code>`)}
${row('Customer key', esc(keyLine(doc)))}
${row('Key backups', esc(b.key.backups))}
</table>
<h2>Stores and backup sets</h2>
<table><tr><th>store</th><th>method</th><th>planned</th><th>deleted</th><th>already gone</th><th>retained</th><th>failed</th><th>container</th><th>verification</th><th>request ids</th></tr>
${stores}
<tr><th>total</th><td></td><td>${esc(amountText(b.totals.planned))}</td><td>${esc(amountText(b.totals.deleted))}</td><td>${esc(amountText(b.totals.alreadyGone))}</td><td>${esc(amountText(b.totals.retained))}</td><td>${esc(amountText(b.totals.failed))}</td><td></td><td>${esc(b.verification.result)}</td><td></td></tr>
</table>
${
  b.databases
    ? `<h2>Databases</h2>
<table><tr><th>store</th><th>method</th><th>table</th><th>planned rows</th><th>deleted rows</th></tr>
${b.databases
  .flatMap((d) =>
    d.tables.map(
      (t, i) =>
        `<tr>${i === 0 ? `<td rowspan="${d.tables.length}">${esc(d.store)}<br><code>${esc(databaseWhere(d))}</code><br><small>verification: ${esc(d.verification.result)}, ${esc(formatCount(d.verification.remainingRows))} row(s) left; ${esc(d.engine === 'table' ? d.backups : `vacuum: ${d.vacuum.requested ? (d.vacuum.ran ? 'ran' : 'requested, not run') : 'not requested'}`)}</small></td><td rowspan="${d.tables.length}">${esc(d.method)}</td>` : ''}<td>${esc(t.table)}</td><td>${esc(formatCount(t.planned))}</td><td>${esc(formatCount(t.deleted))}</td></tr>`,
    ),
  )
  .join('\n')}
</table>`
    : ''
}
${
  b.residuals
    ? `<h2>Residuals</h2>
<ul>${b.residuals.map((x) => `<li><strong>${esc(x.store)}</strong> ${esc(x.until ? `until ${x.until}` : 'until an unknown date')}: ${esc(x.statement)}</li>`).join('')}</ul>`
    : ''
}
<h2>Guards</h2>
<ul>${b.guards.map((g) => `<li>${g.ok ? (g.skipped ? '–' : '✔') : '✘'} <strong>${esc(g.guard)}</strong>: ${esc(g.message)}</li>`).join('')}</ul>
<h2>Exceptions</h2>
<ul>${b.exceptions.length > 0 ? b.exceptions.map((e) => `<li>${esc(e)}</li>`).join('') : '<li>none</li>'}</ul>
<h2>Verification</h2>
<p>${esc(b.verification.result)}, checked ${esc(b.verification.checkedAt)}. ${esc(b.statement)}</p>
<h2>Seal</h2>
<table>${row('SHA-256 (canonical JSON of the body)', `<code>${esc(doc.sha256)}</code>`)}${row('Signature', sig)}</table>
<p><small>This page is a rendering; the JSON file beside it is the certificate. Check it with <code>custos certificate verify &lt;certificate&gt;.json</code>.</small></p>
</body></html>
`
}
