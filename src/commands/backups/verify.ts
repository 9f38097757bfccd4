import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {concurrencyFlag, retriesFlag} from '../../flags.js'
import {exitCodeOf, nagiosLine, nagiosUnknown, renderReport} from '../../lib/backups/report.js'
import {verifyBackups} from '../../lib/backups/verify.js'
import type {BackupsVerifyResult} from '../../lib/backups/model.js'

export type BackupsVerifyCommandResult = BackupsVerifyResult

export default class BackupsVerify extends BaseCommand<typeof BackupsVerify> {
  static override summary =
    "Check that every customer's backups are fresh, complete, encrypted, stored at a separate allowed site and intact."
  static override description = `For every backup set of the data map and every customer (--customer, else customers.known, else every customer found in the listing). A shared backup container is listed once for all customers.

Exit codes: 0 every check passed, 1 a check failed or warned, 2 usage or configuration error, 4 something could not be checked (Azure failure).
With --format nagios: one plugin line on stdout and 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.`
  static override examples = [
    '<%= config.bin %> backups verify --config custos.yaml',
    '<%= config.bin %> backups verify --config custos.yaml --customer acme --restore-sample 3',
    '<%= config.bin %> backups verify --config custos.yaml --json',
    '<%= config.bin %> backups verify --config /etc/custos/custos.yaml --format nagios',
  ]
  static override flags = {
    customer: Flags.string({summary: 'Check this customer only (its backups are listed by prefix).'}),
    'restore-sample': Flags.integer({
      summary:
        'Download this many backups per customer (the newest and random others) end to end and check their hashes.',
      min: 1,
      max: 1000,
    }),
    format: Flags.string({
      summary: 'Output format: a table per customer, or one Nagios plugin line.',
      options: ['table', 'nagios'],
      default: 'table',
      exclusive: ['json'],
    }),
    concurrency: concurrencyFlag,
    retries: retriesFlag,
  }
  protected override nagiosUnknown = nagiosUnknown

  public async run(): Promise<BackupsVerifyCommandResult> {
    const map = this.loadMap()
    const nagios = this.flags.format === 'nagios'
    const progress = this.progress({label: 'Listing backups', unit: 'items'}, nagios)
    const result = await verifyBackups(this.makeClients(map, {retry: {maxTries: this.flags.retries}}), map, {
      customer: this.flags.customer,
      restoreSample: this.flags['restore-sample'],
      concurrency: this.flags.concurrency,
      abortSignal: this.abortSignal,
      onListed: (names) => progress.increment(names, names),
    })
    progress.stop()
    if (nagios) {
      const {line, exitCode} = nagiosLine(result)
      this.log(line)
      this.setExitCode(exitCode)
    } else {
      this.print(renderReport(result))
      this.setExitCode(exitCodeOf(result.status))
    }

    return result
  }
}
