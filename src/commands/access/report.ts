import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {durationFlag, forceFlag, outputFlag, retriesFlag, timeFlag} from '../../flags.js'
import {ACCESS_SOURCES, createAccessReport} from '../../lib/access/report.js'
import {renderAccessCsv} from '../../lib/access/render-csv.js'
import {renderAccessHtml} from '../../lib/access/render-html.js'
import {renderAccessText} from '../../lib/access/render-text.js'
import type {AccessReport, AccessSourceName} from '../../lib/access/types.js'
import {ExitCode, usageError} from '../../lib/errors.js'
import {refuseOverwrite, writePrivateFileSync} from '../../lib/output/files.js'
import {chooseFormat} from '../../lib/output/format.js'

export type AccessReportResult = AccessReport

export default class AccessReportCommand extends BaseCommand<typeof AccessReportCommand> {
  static override summary =
    'Report who accessed the infrastructure and the data: sign-ins, failures, IPs, countries and operations per principal, with findings.'
  static override description =
    'Reads the activity log, the archived sign-in and storage logs, or aggregates in Log Analytics where logs.workspace is set. Findings: sign-ins from countries outside the allowed list, bursts of failed sign-ins, IPs not seen in the look-back window, access outside working hours, password spray, MFA denied, single-factor sign-ins of privileged principals (access.expected.privileged), legacy authentication, sign-ins to disabled accounts and impossible travel. Sign-ins interrupted to ask for MFA, consent and the like count as interrupts, not failures. Exits 1 when there are findings.'
  static override examples = [
    '<%= config.bin %> access report --since -7d --until now --config custos.yaml',
    '<%= config.bin %> access report --since 2026-11-01T00:00:00Z --until 2026-12-01T00:00:00Z --format html --output access-2026-11.html',
    '<%= config.bin %> access report --since -24h --customer acme --format csv -o acme-access.csv',
    '<%= config.bin %> access report --since -30d --source archive --allowed-countries DE,AT --burst-failures 10 --burst-window 5m --json',
  ]
  static override flags = {
    since: timeFlag({
      summary: 'Start of the range: ISO 8601 with a zone (Z or +01:00), or relative like -7d.',
      required: true,
    }),
    until: timeFlag({
      summary: 'End of the range, exclusive: ISO 8601 with a zone, relative, or now.',
      default: async () => new Date(),
      defaultHelp: async () => 'now',
    }),
    customer: Flags.string({
      summary: 'Only records that concern this customer (customer fields, or objects in its scopes).',
    }),
    format: Flags.option({
      options: ['table', 'csv', 'json', 'html'] as const,
      summary: 'Output format (default: from the --output file name, else table; JSON on stdout only when asked).',
    })(),
    output: outputFlag({
      summary: 'Write the report to this file instead of stdout (an existing file only with --force).',
      was: ['out'],
    }),
    force: forceFlag,
    source: Flags.option({
      options: ACCESS_SOURCES,
      multiple: true,
      summary: 'Read only these sources (default: every configured one; the workspace replaces the archive).',
    })(),
    'allowed-countries': Flags.string({
      summary: 'Comma-separated ISO country codes sign-ins may come from (default: residency.allowedCountries).',
    }),
    'burst-failures': Flags.integer({
      summary: 'Failed sign-ins within --burst-window that make a burst.',
      default: 5,
      min: 2,
    }),
    'burst-window': durationFlag({
      summary: 'Window for --burst-failures.',
      default: 600_000,
    }),
    'spray-accounts': Flags.integer({
      summary: 'Distinct accounts one IP must fail on within --spray-window to be a password spray.',
      default: 5,
      min: 2,
    }),
    'spray-window': durationFlag({
      summary: 'Window for --spray-accounts.',
      default: 3_600_000,
    }),
    lookback: durationFlag({
      summary: 'Window before --since whose IPs count as known (0d turns new-IP findings off).',
      default: 30 * 86_400_000,
    }),
    retries: retriesFlag,
  }

  public async run(): Promise<AccessReportResult> {
    const map = this.loadMap()
    const f = this.flags
    const format = chooseFormat(f.format, f.output, ['csv', 'json', 'html'])
    if (f.output) refuseOverwrite([f.output], this.spelling('output'), f.force)
    const countries = f['allowed-countries']
      ?.split(',')
      .map((c) => c.trim().toUpperCase())
      .filter(Boolean)
    if (countries?.some((c) => !/^[A-Z]{2}$/.test(c)))
      throw usageError(
        `--allowed-countries "${f['allowed-countries']}" must list two-letter country codes.`,
        'Write it like DE,AT.',
      )
    const progress = this.progress({label: 'Reading access logs', unit: 'bytes', noun: 'record'})
    let seenBytes = 0
    let seenEvents = 0
    const report = await createAccessReport(this.makeClients(map, {retry: {maxTries: this.flags.retries}}), map, {
      since: f.since,
      until: f.until,
      customer: f.customer,
      sources: f.source as AccessSourceName[] | undefined,
      allowedCountries: countries,
      burstFailures: f['burst-failures'],
      burstWindowInMs: f['burst-window'],
      lookbackInMs: f.lookback,
      sprayAccounts: f['spray-accounts'],
      sprayWindowInMs: f['spray-window'],
      abortSignal: this.abortSignal,
      onProgress: ({bytes, events}) => {
        progress.increment(bytes - seenBytes, events - seenEvents)
        seenBytes = bytes
        seenEvents = events
      },
    })
    progress.stop()
    const text =
      format === 'table'
        ? renderAccessText(report)
        : format === 'csv'
          ? renderAccessCsv(report)
          : format === 'html'
            ? renderAccessHtml(report)
            : `${JSON.stringify(report, null, 2)}\n`
    if (f.output) {
      writePrivateFileSync(f.output, text)
      this.artefact(
        `Wrote the ${format} report to ${f.output} (${report.totals.principals} principals, ${report.findings.length} findings).`,
      )
    } else {
      this.print(text.endsWith('\n') ? text.slice(0, -1) : text)
    }

    if (report.findings.length > 0) this.setExitCode(ExitCode.findings)
    return report
  }
}
