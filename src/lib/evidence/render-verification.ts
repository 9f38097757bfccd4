/** What `certificate verify` prints when not in JSON mode: the verdict on a document or package. */
import type {ChalkInstance} from 'chalk'

import {renderContents} from './contents.js'
import type {CertificateVerifyReport} from './verify-document.js'

/** What `certificate verify` prints when not in JSON mode. */
export function renderVerification(result: CertificateVerifyReport, paint: ChalkInstance): string {
  const lines: string[] = []
  const mark = result.valid ? paint.green('✔') : paint.red('✘')
  const what = `${result.file}: ${result.kind}`
  const status = {
    valid: 'valid, signature checked',
    unsigned: result.valid
      ? 'valid, UNSIGNED (hash checked; no signature to check)'
      : 'NOT VALID: UNSIGNED (anyone could have written it)',
    altered: 'ALTERED',
    inconsistent: 'INCONSISTENT',
    unverifiable: 'signature could not be checked',
  }[result.status]
  lines.push(
    `${mark} ${what}: ${status}`,
    `  hash:      ${result.hash === 'valid' ? `SHA-256 ${result.sha256 ?? ''} matches the content` : 'does NOT match the content'}`,
    `  signature: ${result.signature}${result.signedBy ? ` (${result.signedBy})` : ''}`,
  )
  if (result.reason) lines.push(`  reason:    ${result.reason}`)
  if (result.audit)
    lines.push(
      `  audit:     record seq ${result.audit.seq} ${
        {
          present: `is in the audit trail (${result.audit.trail}) and verifies`,
          missing: `is NOT in the audit trail (${result.audit.trail})`,
          untrusted: `is in the audit trail (${result.audit.trail}) but does NOT verify`,
          unchecked: 'not checked (no data map: pass --config to check the trail still holds it)',
        }[result.audit.status]
      }`,
    )
  if (result.consistency.checked) {
    for (const c of result.consistency.checks)
      lines.push(`  ${result.consistency.problems.length > 0 ? '·' : paint.green('✔')} ${c}`)
    for (const p of result.consistency.problems) lines.push(paint.red(`  ✘ ${p}`))
  } else if (result.hash === 'valid') {
    lines.push(paint.dim('  no kind-specific checks are known for this kind'))
  }

  if (result.contents) lines.push(...renderContents(result.contents, paint, result.reason))
  return lines.join('\n')
}
