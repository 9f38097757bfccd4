import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {AuditTrail, type AuditRecord, type AuditVerification} from '../../lib/audit/trail.js'
import {ExitCode} from '../../lib/errors.js'
import {color} from '../../lib/output/color.js'
import {renderTable} from '../../lib/output/table.js'

export interface AuditTrailResult {
  location: string
  records: AuditRecord[]
  verification?: AuditVerification
}

export default class AuditTrailCommand extends BaseCommand<typeof AuditTrailCommand> {
  static override summary = "Show custos's own audit trail of destructive actions, and verify its hash chain."
  static override description =
    'Every export, erase, share link and log bundle appends hash-chained records. --verify recomputes the chain and names the exact record where it breaks (exit 1).'
  static override examples = [
    '<%= config.bin %> audit trail --config custos.yaml',
    '<%= config.bin %> audit trail --config custos.yaml --verify',
    '<%= config.bin %> audit trail --config custos.yaml --customer acme --last 20 --json',
  ]
  static override flags = {
    verify: Flags.boolean({summary: 'Recompute the hash chain and signatures; exit 1 where it breaks.'}),
    customer: Flags.string({summary: 'Show only records about this customer.'}),
    last: Flags.integer({summary: 'Show only the last N records.', min: 1}),
  }

  public async run(): Promise<AuditTrailResult> {
    const map = this.loadMap()
    const trail = new AuditTrail(this.makeClients(map))
    const records: AuditRecord[] = []
    const keep = this.flags.last ?? Number.POSITIVE_INFINITY
    for await (const {record} of trail.read()) {
      if (!record || (this.flags.customer && record.customer !== this.flags.customer)) continue
      records.push(record)
      if (records.length > keep) records.shift()
    }

    const result: AuditTrailResult = {location: trail.location, records}
    if (this.flags.verify) {
      result.verification = await trail.verify()
      if (!result.verification.ok) this.setExitCode(ExitCode.findings)
    }

    if (!this.jsonEnabled()) this.render(result)
    return result
  }

  private render(result: AuditTrailResult): void {
    const rows = result.records.map((r) => [
      r.seq,
      r.time,
      r.actor,
      r.action,
      r.customer ?? '',
      r.result,
      r.hash.slice(0, 12),
    ])
    this.log(
      renderTable(['seq', 'time', 'actor', 'action', 'customer', 'result', 'hash'], rows, {
        title: `Audit trail in ${result.location}`,
      }),
    )
    const v = result.verification
    if (!v) return
    if (v.ok) {
      this.log(color.green(`✔ Chain intact: ${v.records} record(s), ${v.signed} signed.`))
    } else {
      this.log(color.red(`✘ Chain broken at ${v.breaks.length} place(s):`))
      for (const b of v.breaks)
        this.log(`  ${b.blob} line ${b.line}${b.seq === undefined ? '' : ` (seq ${b.seq})`}: ${b.reason}`)
    }
  }
}
