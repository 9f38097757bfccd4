import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {customerArg, durationFlag, forceFlag, retriesFlag, timeFlag} from '../../flags.js'
import {createLogsBundle, type LogsBundle} from '../../lib/logs/bundle.js'
import {color} from '../../lib/output/color.js'
import {tracked} from '../../lib/output/progress.js'
import {formatBytes, formatCount} from '../../lib/output/table.js'

export type LogsBundleResult = LogsBundle

export default class LogsBundleCommand extends BaseCommand<typeof LogsBundleCommand> {
  static override summary =
    'Collect every log record that concerns a customer into a redacted, signed .tar.gz, optionally shared by a read-only link that expires.'
  static override description =
    "Reads the archived diagnostic logs (only the hour blobs of the range, plus one neighbouring hour at each edge), the activity log and the Log Analytics workspace where configured; keeps the records whose customer fields equal the id or whose resource path lies in the customer's scope; masks secrets and replaces other customers' ids by placeholders. The archive holds one JSON-lines file per source and category, manifest.json (sealed, signed when keys.signingKey is set) and SHA256SUMS. Exit codes: 0 done, 2 usage or configuration error, 4 Azure failure, 130 interrupted."
  static override examples = [
    '<%= config.bin %> logs bundle acme --since 2026-11-01T00:00:00Z --until 2026-11-08T00:00:00Z --config custos.yaml',
    '<%= config.bin %> logs bundle acme --since -24h --output acme-logs.tar.gz --config custos.yaml',
    '<%= config.bin %> logs bundle acme --since -7d --share --link-expiry 48h --config custos.yaml --json',
  ]
  static override args = {
    customer: customerArg,
  }
  static override flags = {
    since: timeFlag({
      summary: 'Start of the range (inclusive): ISO 8601 with a zone (Z or +01:00), or relative like -24h.',
      required: true,
    }),
    until: timeFlag({summary: 'End of the range (exclusive): ISO 8601 with a zone, or relative; default now.'}),
    output: Flags.string({
      char: 'o',
      summary:
        'Path of the .tar.gz to write (an existing file only with --force); default logs-<customer>-<since>-<until>.tar.gz here.',
    }),
    force: forceFlag,
    share: Flags.boolean({
      summary: 'Upload the bundle to the exports container and print a read-only HTTPS link that expires.',
    }),
    'link-expiry': durationFlag({
      summary: 'Lifetime of the shared link (at most 7d); default exports.linkExpiry.',
      dependsOn: ['share'],
    }),
    retries: retriesFlag,
  }

  public async run(): Promise<LogsBundleResult> {
    const map = this.loadMap()
    const progress = this.progress({label: `Scanning logs for ${this.args.customer}`, unit: 'bytes', noun: 'record'})
    const bundle = await tracked(progress, () =>
      createLogsBundle(this.makeClients(map, {retry: {maxTries: this.flags.retries}}), map, {
        customer: this.args.customer,
        since: this.flags.since,
        until: this.flags.until ?? new Date(),
        output: this.flags.output,
        force: this.flags.force,
        share: this.flags.share,
        linkExpiryInMs: this.flags['link-expiry'],
        abortSignal: this.abortSignal,
        onBytes: (n) => progress.increment(n),
        onRecord: () => progress.increment(0, 1),
        onStage: (text) => progress.note(text),
      }),
    )
    this.render(bundle)
    return bundle
  }

  private render(b: LogsBundle): void {
    const rows = b.files.map((f) => [f.path, formatCount(f.records), formatBytes(f.bytes), f.sha256.slice(0, 16)])
    this.table(['file', 'records', 'bytes', 'sha256'], rows, {
      title: color.bold(`Log bundle of customer ${b.customer}, ${b.since} to ${b.until}`),
    })
    const scanned = b.sources.map((s) =>
      s.kind === 'archive'
        ? `${s.container}: ${s.blobsRead} blobs, ${formatBytes(s.bytesScanned)}, ${s.kept} kept`
        : s.kind === 'activity-log'
          ? `activity log: ${s.events} events, ${s.kept} kept`
          : `workspace: ${s.rows} rows, ${s.kept} kept`,
    )
    this.print(`Sources: ${scanned.join('; ')}`)
    const redacted = Object.entries(b.redactions)
      .filter(([, n]) => n > 0)
      .map(([rule, n]) => `${rule} ${n}`)
    this.print(
      `Redacted (${b.redaction.rules.length} rules, version ${b.redaction.version}): ${redacted.length > 0 ? redacted.join(', ') : 'nothing'}`,
    )
    if (b.malformedLines > 0)
      this.print(
        color.yellow(
          `Malformed lines skipped: ${b.malformedLines} (first: ${b.malformedSamples
            .slice(0, 3)
            .map((m) => `${m.source}:${m.line}`)
            .join(', ')})`,
        ),
      )
    this.print(
      `Manifest: ${b.manifest.signed ? `signed with ${b.manifest.kid}` : color.yellow('unsigned (no keys.signingKey)')}`,
    )
    this.artefact(`Wrote ${b.file} (${formatBytes(b.bytes)}, ${formatCount(b.records)} records, sha256 ${b.sha256})`)
    if (b.link) this.print(`Read-only link (expires ${b.link.expiresOn}):\n${b.link.url}`)
  }
}
