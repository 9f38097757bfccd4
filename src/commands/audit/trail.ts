import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {AuditTrail, parseAuditReference, type AuditRecord, type AuditVerification} from '../../lib/audit/trail.js'
import {ExitCode, usageError} from '../../lib/errors.js'
import {color} from '../../lib/output/color.js'

export interface AuditTrailResult {
  location: string
  records: AuditRecord[]
  verification?: AuditVerification
}

export default class AuditTrailCommand extends BaseCommand<typeof AuditTrailCommand> {
  static override summary = "Show custos's own audit trail of destructive actions, and verify its hash chain."
  static override description =
    'Every export, erase, share link and log bundle appends hash-chained records. --verify recomputes the chain and the signatures (required where keys.signingKey is set), names the exact record where it breaks (exit 1), reports forks written by custos before 0.2 apart from tampering, and prints the head it saw: keep it elsewhere and pass it back with --expect-head to prove that nothing before it was removed since.'
  static override examples = [
    '<%= config.bin %> audit trail --config custos.yaml',
    '<%= config.bin %> audit trail --config custos.yaml --verify',
    '<%= config.bin %> audit trail --config custos.yaml --verify --expect-head 1042:5f0c…e9 --json',
    '<%= config.bin %> audit trail --config custos.yaml --customer acme --last 20 --json',
  ]
  static override flags = {
    verify: Flags.boolean({summary: 'Recompute the hash chain and signatures; exit 1 where it breaks.'}),
    'expect-head': Flags.string({
      summary: 'With --verify: a head (SEQ:HASH) printed by an earlier verification that must still be in the chain.',
      helpValue: 'SEQ:HASH',
      dependsOn: ['verify'],
    }),
    customer: Flags.string({summary: 'Show only records about this customer.'}),
    last: Flags.integer({summary: 'Show only the last N records.', min: 1}),
  }

  public async run(): Promise<AuditTrailResult> {
    const map = this.loadMap()
    const expectHead =
      this.flags['expect-head'] === undefined ? undefined : parseAuditReference(this.flags['expect-head'])
    if (this.flags['expect-head'] !== undefined && !expectHead)
      throw usageError(
        `--expect-head ${JSON.stringify(this.flags['expect-head'])} is not SEQ:HASH.`,
        'Pass the head an earlier `audit trail --verify` printed, e.g. --expect-head 1042:<64 hex digits>.',
      )
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
      result.verification = await trail.verify({expectHead})
      if (!result.verification.ok) this.setExitCode(ExitCode.findings)
    }

    this.render(result)
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
    this.table(['seq', 'time', 'actor', 'action', 'customer', 'result', 'hash'], rows, {
      title: `Audit trail in ${result.location}`,
    })
    const v = result.verification
    if (!v) return
    if (v.ok) {
      this.print(
        color.green(
          `✔ Chain intact: ${v.records} record(s), ${v.signed} signed${v.signingKey ? ` with ${v.signingKey}` : ' (no signing key configured: anyone who can write the container could rewrite it)'}.`,
        ),
      )
    } else {
      this.print(color.red(`✘ Chain broken at ${v.breaks.length} place(s):`))
      for (const b of v.breaks)
        this.print(`  ${b.blob} line ${b.line}${b.seq === undefined ? '' : ` (seq ${b.seq})`}: ${b.reason}`)
    }

    for (const f of v.forks)
      this.print(
        color.yellow(
          `! Fork (not tampering): ${f.blob} line ${f.line} (seq ${f.seq}) continues from seq ${f.predecessor.seq} in ${f.predecessor.blob}, which seq ${f.sibling.seq} in ${f.sibling.blob} line ${f.sibling.line} already continued. custos before 0.2 wrote records into the month blob of their own time; both branches are intact. See "The audit trail" in the README.`,
        ),
      )
    if (v.expectedHead?.found) this.print(color.green(`✔ The kept head seq ${v.expectedHead.seq} is in the chain.`))
    if (v.head)
      this.print(
        `Head: seq ${v.head.seq}, ${v.head.time}, in ${v.head.blob}\n      --expect-head ${v.head.seq}:${v.head.hash}`,
      )
  }
}
