import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {ExitCode} from '../../lib/errors.js'
import {color} from '../../lib/output/color.js'
import {SEVERITIES} from '../../lib/posture/catalogue.js'
import {DEFAULT_FAIL_ON, DEFAULT_MIN_RETENTION_DAYS, auditPosture} from '../../lib/posture/posture.js'
import {renderPosture} from '../../lib/posture/render.js'
import {toSarif} from '../../lib/posture/sarif.js'
import type {PostureReport} from '../../lib/posture/types.js'

export type AuditPostureResult = PostureReport

export default class AuditPostureCommand extends BaseCommand<typeof AuditPostureCommand> {
  static override summary =
    'Check the promises of the terms against the live Azure configuration: HTTPS and TLS, public access, firewalls, encryption, soft delete and versioning, purge protection, logging, regions.'
  static override description = `Reads (never changes) every storage account and the key vault the data map names, the diagnostic settings of each, the subscription's activity-log export and where sign-in logs arrive. Each check names the promise it backs, a severity and the az command that fixes it.

A check that cannot be verified (resource not found, read denied) is UNKNOWN and counts like a failure for the exit code.

Exit codes: 0 no check at or above --fail-on failed; 1 at least one did (or could not be verified); 2 usage or configuration error; 4 Azure or network failure.`
  static override examples = [
    '<%= config.bin %> audit posture --config custos.yaml',
    '<%= config.bin %> audit posture --config custos.yaml --fail-on high',
    '<%= config.bin %> audit posture --config custos.yaml --json',
    '<%= config.bin %> audit posture --config custos.yaml --format sarif > posture.sarif',
  ]
  static override flags = {
    'fail-on': Flags.option({
      options: SEVERITIES,
      default: DEFAULT_FAIL_ON,
      summary: 'Exit 1 when a check of this severity or higher fails or cannot be verified.',
    })(),
    format: Flags.option({
      options: ['table', 'sarif'] as const,
      default: 'table',
      summary: 'Output format on stdout (--json prints the plain JSON result).',
      exclusive: ['json'],
    })(),
    'min-retention-days': Flags.integer({
      min: 1,
      max: 365,
      default: DEFAULT_MIN_RETENTION_DAYS,
      summary: 'Minimum soft-delete retention (blobs and containers) in days.',
    }),
  }

  public async run(): Promise<AuditPostureResult> {
    const map = this.loadMap()
    const sarif = this.flags.format === 'sarif'
    const report = await this.stage(
      'Reading the live configuration',
      () =>
        auditPosture(this.makeClients(map), map, {
          abortSignal: this.abortSignal,
          failOn: this.flags['fail-on'],
          minRetentionDays: this.flags['min-retention-days'],
        }),
      (r) => `${r.resources.length} resources`,
      sarif,
    )
    this.print(sarif ? JSON.stringify(toSarif(report), null, 2) : renderPosture(report, color))
    if (report.summary.failing > 0) this.setExitCode(ExitCode.findings)
    return report
  }
}
