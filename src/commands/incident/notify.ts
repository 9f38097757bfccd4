import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {forceFlag, outputFlag} from '../../flags.js'
import {color} from '../../lib/output/color.js'
import {NOTICE_LANGUAGES, type NoticeLanguage} from '../../lib/incident/notice.js'
import {issueNotice, type IssuedNotice} from '../../lib/incident/notify.js'

export type IncidentNotifyResult = IssuedNotice

export default class IncidentNotify extends BaseCommand<typeof IncidentNotify> {
  static override summary =
    'Render the notice of an incident to one customer (GDPR Art. 33(3)) as text and HTML, and record that it was issued.'
  static override description = `Writes notice-<incident>-<customer>.<lang>.txt and .html to --output (a folder) and prints the text. The notice states the nature of the breach, the categories and approximate numbers of data subjects and records, the likely consequences, the measures taken or proposed and the contact point; it is refused while any of them is empty, naming each. --template DIR replaces the built-in wording with DIR/notice.<lang>.txt and/or .html ({{placeholder}} substitution; values are HTML-escaped in the HTML one). The incident.notify record (who, when, which customer, SHA-256 of both renderings) stops that customer's clock; --preview records nothing.

Exit codes: 0 rendered (and recorded), 2 a required fact is empty, the customer is not affected, a template problem, or configuration error, 4 Azure failure.`
  static override examples = [
    '<%= config.bin %> incident notify inc-20261024-7f3a9c --customer acme --lang de --output notices --config custos.yaml',
    '<%= config.bin %> incident notify inc-20261024-7f3a9c --customer globex --lang en --preview --config custos.yaml',
    '<%= config.bin %> incident notify inc-20261024-7f3a9c --customer acme --lang de --template /etc/custos/notices --json --config custos.yaml',
  ]
  static override args = {id: Args.string({description: 'incident id (inc-YYYYMMDD-xxxxxx)', required: true})}
  static override flags = {
    customer: Flags.string({summary: 'The affected customer to notify.', required: true}),
    lang: Flags.string({summary: 'Language of the notice.', options: [...NOTICE_LANGUAGES], default: 'en'}),
    template: Flags.string({
      summary: 'Folder with notice.<lang>.txt and/or notice.<lang>.html to use instead of the built-in wording.',
    }),
    output: outputFlag({
      summary: 'Folder to write the .txt and .html to (files that exist are replaced only with --force).',
      default: '.',
      was: ['out-dir'],
    }),
    force: forceFlag,
    preview: Flags.boolean({
      summary: 'Render and write the notice, but do not record it as issued (the clock keeps running).',
    }),
  }

  public async run(): Promise<IncidentNotifyResult> {
    const map = this.loadMap()
    const notice = await issueNotice(this.makeClients(map), map, {
      incident: this.args.id,
      customer: this.flags.customer,
      lang: this.flags.lang as NoticeLanguage,
      templateDir: this.flags.template,
      outDir: this.flags.output,
      outputFlag: this.spelling('output'),
      preview: this.flags.preview,
      force: this.flags.force,
    })
    this.print(notice.text)
    this.artefact(`Wrote ${notice.files.text} and ${notice.files.html}.`)
    if (notice.recorded)
      this.info(
        color.green(
          `Recorded the notice to ${notice.customer} in the audit trail (record ${notice.seq})${notice.late ? color.red(' — after the deadline') : ''}.`,
        ),
      )
    else this.info(color.yellow('Preview only: nothing was recorded; the clock keeps running.'))

    return notice
  }
}
