import {Flags} from '@oclif/core'
import {Chalk} from 'chalk'

import {BaseCommand} from '../../base-command.js'
import {forceFlag} from '../../flags.js'
import {renderReviewCsv, renderReviewHtml, renderReviewText} from '../../lib/access/review/render.js'
import {reviewAccess} from '../../lib/access/review/review.js'
import {reviewToSarif} from '../../lib/access/review/sarif.js'
import type {AccessReview} from '../../lib/access/review/types.js'
import {ExitCode} from '../../lib/errors.js'
import {color} from '../../lib/output/color.js'
import {refuseOverwrite, writePrivateFileSync} from '../../lib/output/files.js'
import {chooseFormat} from '../../lib/output/format.js'
import {SEVERITIES} from '../../lib/posture/catalogue.js'

export type AccessReviewResult = AccessReview

export default class AccessReviewCommand extends BaseCommand<typeof AccessReviewCommand> {
  static override summary =
    'Review who can access the infrastructure and the data: role assignments, guests, foreign tenants, privileged and stale access, database roles.'
  static override description = `Lists the role assignments on the subscription and on every resource the data map names (inherited ones marked), resolves each principal over Microsoft Graph, reads which database roles can SELECT or DELETE on mapped tables, and compares everything with access.expected. Reads only; every finding names the command that removes the access.

Exit codes: 0 no finding at or above --fail-on; 1 at least one; 2 usage or configuration error; 4 Azure, Graph, database or network failure.`
  static override examples = [
    '<%= config.bin %> access review --config custos.yaml',
    '<%= config.bin %> access review --config custos.yaml --fail-on high --json',
    '<%= config.bin %> access review --config custos.yaml --format html --output access-review.html',
    '<%= config.bin %> access review --config custos.yaml --format sarif --output access-review.sarif',
  ]
  static override flags = {
    format: Flags.option({
      options: ['table', 'json', 'csv', 'sarif', 'html'] as const,
      summary: 'Output format (default: from the --output file name, else table; JSON on stdout only when asked).',
    })(),
    output: Flags.string({
      char: 'o',
      summary: 'Write the review to this file instead of stdout (an existing file only with --force).',
    }),
    force: forceFlag,
    'fail-on': Flags.option({
      options: SEVERITIES,
      default: 'low' as const,
      summary: 'Exit 1 when a finding of this severity or higher exists.',
    })(),
  }

  public async run(): Promise<AccessReviewResult> {
    const map = this.loadMap()
    const f = this.flags
    const format = chooseFormat(f.format, f.output, ['csv', 'json', 'html', 'sarif'])
    if (f.output) refuseOverwrite([f.output], '--output', f.force)
    const review = await this.stage(
      'Reading role assignments, the directory and database roles',
      () => reviewAccess(this.makeClients(map), map, {failOn: f['fail-on'], abortSignal: this.abortSignal}),
      (r) => `${r.summary.assignments} assignments`,
      !process.stderr.isTTY, // a spinner only for a person; a job log keeps the result alone
    )
    const text =
      format === 'table'
        ? renderReviewText(review, f.output ? new Chalk({level: 0}) : color)
        : format === 'csv'
          ? renderReviewCsv(review)
          : format === 'html'
            ? renderReviewHtml(review)
            : format === 'sarif'
              ? `${JSON.stringify(reviewToSarif(review), null, 2)}\n`
              : `${JSON.stringify(review, null, 2)}\n`
    if (f.output) {
      writePrivateFileSync(f.output, text)
      this.info(
        `Wrote the ${format} review to ${f.output} (${review.summary.assignments} assignments, ${review.summary.findings} findings).`,
      )
    } else {
      this.print(text.replace(/\n$/, ''))
    }

    if (review.summary.failing > 0) this.setExitCode(ExitCode.findings)
    return review
  }
}
