import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {concurrencyFlag, customerArg, forceFlag, outputFlag, retriesFlag} from '../../flags.js'
import {ERASE_STAGES, eraseCustomer, type EraseHooks, type EraseOutcome} from '../../lib/erase/erase.js'
import {confirmByTyping} from '../../lib/erase/guards.js'
import {renderEraseOutcome} from '../../lib/erase/render.js'
import type {DataMap} from '../../lib/datamap/types.js'
import {usageError} from '../../lib/errors.js'
import {keepHeapNearLive} from '../../lib/heap.js'
import {color} from '../../lib/output/color.js'

export type CustomerEraseResult = EraseOutcome

export default class CustomerEraseCommand extends BaseCommand<typeof CustomerEraseCommand> {
  static override summary =
    "Erase one customer's data for good: plan, guards, batch deletes, crypto-shredding, verification and a deletion certificate."
  static override description = `Without --yes only a plan is made (--plan-out, --dry-run), or — on a terminal — the operator types the customer id to confirm. The plan is JSON Lines: a header, one line per object, a trailer with totals and the fingerprint. Applying a plan refuses (exit 3) without a verified export within erase.exportWindow, under a legal hold or immutability policy, when storage no longer matches the plan, for any name outside the customer's scope, and while another erase of the customer runs. An interrupted apply resumes from <plan>.journal.jsonl.

Exit codes: 0 done, 1 the final listing found residue or deletes failed, 2 usage, 3 refused, 4 Azure failure, 130 interrupted.`
  static override examples = [
    '<%= config.bin %> customer erase acme --config custos.yaml --plan-out acme.plan.json',
    '<%= config.bin %> customer erase acme --config custos.yaml --plan acme.plan.json --yes',
    '<%= config.bin %> customer erase acme --config custos.yaml --dry-run --json',
    '<%= config.bin %> customer erase acme --config custos.yaml --yes --no-export-required --output certs/acme',
  ]
  static override args = {
    customer: customerArg,
  }
  static override flags = {
    'plan-out': Flags.string({
      summary:
        'Write the plan to this file and stop (with --yes: apply it right away); an existing file only with --force.',
      exclusive: ['plan'],
    }),
    plan: Flags.string({
      summary: 'Apply this plan (written by --plan-out); resumes from its journal.',
      exclusive: ['plan-out', 'dry-run'],
    }),
    'dry-run': Flags.boolean({summary: 'Show what would be erased and which guards would refuse; change nothing.'}),
    yes: Flags.boolean({summary: 'Erase without typing the customer id (required when stdin is not a terminal).'}),
    'export-required': Flags.boolean({
      summary:
        'Refuse unless a verified export finished within erase.exportWindow (--no-export-required when the customer waived it).',
      default: true,
      allowNo: true,
    }),
    output: outputFlag({
      summary:
        'Base path of the deletion certificate (.json, .txt and .html are added); default: beside the plan. Existing files only with --force.',
      was: ['certificate-out'],
    }),
    vacuum: Flags.boolean({
      summary:
        'After deleting database rows, VACUUM (ANALYZE) the emptied tables so the space is reclaimed sooner; the certificate says whether it ran.',
    }),
    force: forceFlag,
    concurrency: concurrencyFlag,
    retries: retriesFlag,
  }

  public async run(): Promise<CustomerEraseResult> {
    keepHeapNearLive()
    const map = this.loadMap()
    const f = this.flags
    const planOnly = f['dry-run'] || (f['plan-out'] !== undefined && !f.yes)
    const canPrompt = this.canPrompt()
    if (!planOnly && !f.yes && !canPrompt) {
      throw usageError(
        'Refusing to erase without --yes: stdin is not a terminal (or --json is set), so nobody can type the confirmation.',
        'Add --yes for unattended runs, or use --dry-run / --plan-out to only plan.',
      )
    }

    // An apply shows its stages (plan → guards → delete → shred → verify → certificate); a plan alone does not.
    const stages = this.stages(ERASE_STAGES, planOnly)
    const hooks = {...this.eraseHooks(), stage: (name: string) => stages.begin(name)}
    let result: EraseOutcome
    try {
      result = await this.erase(map, planOnly, canPrompt, hooks)
    } catch (error) {
      await stages.stop('failed')
      throw error
    }

    await stages.stop('done')
    this.print(renderEraseOutcome(result, color))
    if (result.exitCode !== 0) this.setExitCode(result.exitCode)
    return result
  }

  private erase(map: DataMap, planOnly: boolean, canPrompt: boolean, hooks: EraseHooks): Promise<EraseOutcome> {
    const f = this.flags
    return eraseCustomer(this.makeClients(map, {retry: {maxTries: f.retries}}), map, {
      customer: this.args.customer,
      planOnly,
      planPath: f.plan,
      planOut: f['plan-out'],
      yes: f.yes,
      exportRequired: f['export-required'],
      certificateBase: f.output,
      // Not typed (the default beside the plan): the library's own wording, which tests pin.
      certificateFlag: f.output === undefined ? undefined : this.spelling('output'),
      vacuum: f.vacuum,
      force: f.force,
      concurrency: f.concurrency,
      retries: f.retries,
      abortSignal: this.abortSignal,
      confirm: canPrompt ? (summary) => confirmByTyping(this.args.customer, summary) : undefined,
      hooks,
    })
  }

  /**
   * Progress and notes of the run. A method, so that a test can add a `batchJournaled` hook in
   * the process it starts (test/support/erase-cli.js) — nothing a user sets reaches it.
   */
  protected eraseHooks(): EraseHooks {
    return {
      progress: (label, total) => this.progress({label, total, unit: 'items'}),
      note: (text) => this.info(text),
    }
  }
}
