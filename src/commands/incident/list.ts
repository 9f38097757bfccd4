import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {durationFlag} from '../../flags.js'
import {color} from '../../lib/output/color.js'
import {renderList} from '../../lib/incident/render.js'
import {exitCodeOf, listIncidents, nagiosLine, nagiosUnknown, type IncidentList} from '../../lib/incident/status.js'

export type IncidentListResult = IncidentList

export default class IncidentListCommand extends BaseCommand<typeof IncidentListCommand> {
  static override summary =
    'Show open incidents with the time left to notify each affected customer; exit 1 when a deadline is near or past.'
  static override description = `Folds the incident records of the audit trail. A customer's clock stops when its first notice is recorded. Deadlines are shown in incident.timeZone and UTC.

Exit codes: 0 every deadline is further away than the warning window (incident.warnWithin, default 12h), 1 an open incident is overdue or due within the window, 2 usage or configuration error, 4 Azure failure.
With --format nagios: one plugin line on stdout and 0 OK, 1 WARNING (due within the window), 2 CRITICAL (overdue), 3 UNKNOWN.`
  static override examples = [
    '<%= config.bin %> incident list --config custos.yaml',
    '<%= config.bin %> incident list --all --json --config custos.yaml',
    '<%= config.bin %> incident list --format nagios --warn-within 24h --config /etc/custos/custos.yaml',
  ]
  static override flags = {
    all: Flags.boolean({summary: 'Include closed incidents.'}),
    'warn-within': durationFlag({summary: 'Warn when a deadline is this close (default incident.warnWithin, 12h).'}),
    format: Flags.string({
      summary: 'Output format: a table, or one Nagios plugin line.',
      options: ['table', 'nagios'],
      default: 'table',
      exclusive: ['json'],
    }),
  }
  protected override nagiosUnknown = nagiosUnknown

  public async run(): Promise<IncidentListResult> {
    const map = this.loadMap()
    const list = await listIncidents(this.makeClients(map), map, {
      all: this.flags.all,
      warnWithinInMs: this.flags['warn-within'],
    })
    if (this.flags.format === 'nagios') {
      const {line, exitCode} = nagiosLine(list)
      this.log(line)
      this.setExitCode(exitCode)
      return list
    }

    this.print(renderList(list, color))
    this.setExitCode(exitCodeOf(list.incidents))
    return list
  }
}
