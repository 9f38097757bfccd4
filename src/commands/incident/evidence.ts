import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {durationFlag, forceFlag, timeFlag} from '../../flags.js'
import {color} from '../../lib/output/color.js'
import {tracked} from '../../lib/output/progress.js'
import {formatBytes, formatCount} from '../../lib/output/table.js'
import {
  collectIncidentEvidence,
  DEFAULT_EVIDENCE_LOOKBACK_IN_MS,
  DEFAULT_KNOWN_IP_WINDOW_IN_MS,
  type IncidentEvidence,
} from '../../lib/incident/evidence.js'

export type IncidentEvidenceResult = IncidentEvidence

export default class IncidentEvidenceCommand extends BaseCommand<typeof IncidentEvidenceCommand> {
  static override summary =
    "Collect a signed evidence bundle for an incident: the affected customers' logs and access-report findings for the incident window."
  static override description = `The window runs from --lookback before detection until --until (default now). For each affected customer the bundle holds that customer's log bundle (activity log, sign-ins and storage access records, redacted, as logs bundle makes it) and the access report limited to that customer (JSON and HTML, as access report makes it). manifest.json is sealed as custos.incident-evidence and signed with keys.signingKey; check it with certificate verify. The audit trail gets incident.evidence.

Exit codes: 0 written, 2 usage or configuration error (no affected customer, no log source), 4 Azure failure, 130 interrupted.`
  static override examples = [
    '<%= config.bin %> incident evidence inc-20261024-7f3a9c --config custos.yaml',
    '<%= config.bin %> incident evidence inc-20261024-7f3a9c --lookback 72h --output evidence.tar.gz --config custos.yaml --json',
    '<%= config.bin %> incident evidence inc-20261024-7f3a9c --customer acme --until 2026-10-26T00:00:00Z --config custos.yaml',
  ]
  static override args = {id: Args.string({description: 'incident id (inc-YYYYMMDD-xxxxxx)', required: true})}
  static override flags = {
    lookback: durationFlag({
      summary: 'How long before detection the window starts.',
      default: DEFAULT_EVIDENCE_LOOKBACK_IN_MS,
    }),
    until: timeFlag({
      summary: 'End of the window: ISO 8601 with a zone (Z or +01:00), or relative like -1h; default now.',
    }),
    customer: Flags.string({
      summary: 'Only this affected customer (repeatable); default every affected customer.',
      multiple: true,
    }),
    output: Flags.string({
      char: 'o',
      summary:
        'Path of the .tar.gz (an existing file only with --force); default incident-<id>-evidence-<time>.tar.gz here.',
    }),
    force: forceFlag,
    'known-ip-window': durationFlag({
      summary: 'IPs seen this long before the window count as known for new-IP findings (0d turns them off).',
      default: DEFAULT_KNOWN_IP_WINDOW_IN_MS,
    }),
  }

  public async run(): Promise<IncidentEvidenceResult> {
    const map = this.loadMap()
    const progress = this.progress({label: `Collecting evidence for ${this.args.id}`, unit: 'bytes', noun: 'record'})
    const evidence = await tracked(progress, () =>
      collectIncidentEvidence(this.makeClients(map), map, {
        incident: this.args.id,
        lookbackInMs: this.flags.lookback,
        until: this.flags.until,
        customers: this.flags.customer,
        output: this.flags.output,
        force: this.flags.force,
        knownIpWindowInMs: this.flags['known-ip-window'],
        abortSignal: this.abortSignal,
        onBytes: (n) => progress.increment(n),
        onRecord: () => progress.increment(0, 1),
        onStage: (text) => progress.note(text),
      }),
    )
    const rows = evidence.customers.map((c) => [
      c.customer,
      formatCount(c.records),
      formatCount(c.signIns),
      formatCount(c.operations),
      c.findings,
    ])
    this.table(['customer', 'log records', 'sign-ins', 'operations', 'findings'], rows, {
      title: color.bold(
        `Evidence of incident ${evidence.incident}, ${evidence.window.since} to ${evidence.window.until}`,
      ),
    })
    this.print(
      `Manifest: ${evidence.manifest.signed ? `signed with ${evidence.manifest.kid}` : color.yellow('unsigned (no keys.signingKey)')}`,
    )
    this.artefact(
      `Wrote ${evidence.file} (${formatBytes(evidence.bytes)}, sha256 ${evidence.sha256}); audit record ${evidence.seq}.`,
    )

    return evidence
  }
}
