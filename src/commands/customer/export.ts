import {setFlagsFromString} from 'node:v8'

import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {concurrencyFlag, customerArg, durationFlag, forceFlag, retriesFlag} from '../../flags.js'
import {parseDurationInMs} from '../../lib/duration.js'
import {isArchiveName} from '../../lib/export/archive.js'
import {exportCustomer, type ExportSummary, type ExportTarget} from '../../lib/export/export.js'
import {checkLinkExpiry} from '../../lib/export/sas.js'
import {color} from '../../lib/output/color.js'
import {tracked} from '../../lib/output/progress.js'
import {formatBytes, formatCount} from '../../lib/output/table.js'

export type CustomerExportResult = ExportSummary

const destinations = ['output', 'to', 'archive', 'server-side']

export default class CustomerExportCommand extends BaseCommand<typeof CustomerExportCommand> {
  static override summary =
    "Copy all of a customer's data to a folder, a .tar.gz or .zip, or server-side into the exports container, verified, with a signed manifest."
  static override description =
    'Resumes where it stopped when run again with the same arguments (archives are written again from the start). Records the verified export in the audit trail, which `customer erase` requires.'
  static override examples = [
    '<%= config.bin %> customer export acme --output ./acme-export --config custos.yaml',
    '<%= config.bin %> customer export acme -o acme.tar.gz --include-versions --include-snapshots',
    '<%= config.bin %> customer export acme --server-side --link-expiry 3d --json',
    '<%= config.bin %> customer export acme --output ./acme-export --dry-run',
  ]
  static override args = {
    customer: customerArg,
  }
  /** custos 0.2 spelled the destination --to DIR and --archive FILE; both still work, as they did */
  static override renamedFlags = {to: 'output', archive: 'output'}
  static override flags = {
    output: Flags.string({
      char: 'o',
      summary:
        'Export into one streamed archive when the name ends in .tar.gz, .tgz or .zip (an existing file only with --force), else into this folder (new or empty, or an interrupted export of the same customer).',
      exactlyOne: destinations,
    }),
    to: Flags.directory({
      summary: 'Export into this folder (deprecated: use --output DIR).',
      exactlyOne: destinations,
      hidden: true,
    }),
    archive: Flags.file({
      summary: 'Export into one .tar.gz or .zip file (deprecated: use --output FILE.tar.gz).',
      exactlyOne: destinations,
      hidden: true,
    }),
    force: forceFlag,
    'server-side': Flags.boolean({
      summary: 'Copy inside Azure into the exports container and print a read-only HTTPS link.',
      exactlyOne: destinations,
    }),
    'link-expiry': durationFlag({
      summary: 'How long the server-side link lives (at most 7d; default: exports.linkExpiry).',
      dependsOn: ['server-side'],
    }),
    'include-versions': Flags.boolean({summary: 'Also export older blob versions (under <store>@versions/).'}),
    'include-snapshots': Flags.boolean({summary: 'Also export blob snapshots (under <store>@snapshots/).'}),
    'dry-run': Flags.boolean({
      summary: 'Only list what would be exported (counts and bytes per store); write nothing.',
    }),
    concurrency: concurrencyFlag,
    retries: retriesFlag,
  }

  public async run(): Promise<CustomerExportResult> {
    // Each download leaves ~100 KB of short-lived SDK objects; V8's default heap growth lets them pile
    // up to ~190 MB RSS on 5,000 small blobs. Sizing the heap for memory keeps it near 120 MB, no slower (bench/export.ts).
    setFlagsFromString('--optimize-for-size')
    const {flags} = this
    const map = this.loadMap()
    let target: ExportTarget
    if (flags.output) {
      target = isArchiveName(flags.output)
        ? {kind: 'archive', path: flags.output, force: flags.force, flag: this.spelling('output')}
        : {kind: 'folder', path: flags.output}
    } else if (flags.to) target = {kind: 'folder', path: flags.to}
    else if (flags.archive) target = {kind: 'archive', path: flags.archive, force: flags.force}
    else {
      const expiry =
        flags['link-expiry'] === undefined
          ? checkLinkExpiry(parseDurationInMs(map.exports?.linkExpiry ?? '7d'), `exports.linkExpiry`)
          : checkLinkExpiry(flags['link-expiry'], '--link-expiry')
      target = {kind: 'server-side', linkExpiryInMs: expiry}
    }

    const progress = this.progress({label: `Exporting ${this.args.customer}`, unit: 'bytes'}, flags['dry-run'])
    const result = await tracked(progress, () =>
      exportCustomer(this.makeClients(map, {retry: {maxTries: flags.retries}}), map, this.args.customer, {
        target,
        includeVersions: flags['include-versions'],
        includeSnapshots: flags['include-snapshots'],
        dryRun: flags['dry-run'],
        concurrency: flags.concurrency,
        retries: flags.retries,
        abortSignal: this.abortSignal,
        progress,
      }),
    )
    this.render(result)
    return result
  }

  private render(r: ExportSummary): void {
    const rows = r.stores.map((s) => [
      s.store,
      s.scope,
      s.exists ? formatCount(s.objects) : color.dim('no container'),
      formatBytes(s.bytes),
      s.rows === undefined ? '' : formatCount(s.rows),
      formatCount(s.versions),
      formatCount(s.snapshots),
    ])
    this.table(['store', 'scope', 'objects', 'bytes', 'rows', 'versions', 'snapshots'], rows, {
      title: color.bold(`${r.dryRun ? 'Would export' : 'Exported'} customer ${r.customer} (${r.destination.kind})`),
    })
    this.print(
      `Total: ${formatCount(r.totals.objects)} objects, ${formatBytes(r.totals.bytes)}` +
        (r.totals.rows === undefined
          ? ''
          : ` (${formatCount(r.totals.rows)} database rows${r.dryRun ? ', bytes approximate' : ''})`),
    )
    if (r.dryRun) return this.print(color.dim('Dry run: nothing was written.'))
    this.print(
      `${color.green('Verified')}: ${formatCount(r.transferred.objects)} objects transferred, ${formatCount(r.kept.objects)} kept from an earlier attempt → ${r.destination.location}`,
    )
    this.print(
      `Manifest: ${r.manifest!.location} (sha256 ${r.manifest!.sha256}, ${r.manifest!.signed ? 'signed' : 'unsigned'})`,
    )
    if (r.link) this.print(`Read-only link (expires ${r.link.expiresOn}):\n${r.link.url}`)
  }
}
