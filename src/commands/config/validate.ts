import {BaseCommand} from '../../base-command.js'
import {retriesFlag} from '../../flags.js'
import {checkReachability, type ReachabilityCheck} from '../../lib/config/validate.js'
import {ExitCode} from '../../lib/errors.js'
import {color} from '../../lib/output/color.js'

export interface ConfigValidateResult {
  config: string
  schema: 'valid'
  stores: number
  backups: number
  databases: number
  checks: ReachabilityCheck[]
  ok: boolean
}

export default class ConfigValidate extends BaseCommand<typeof ConfigValidate> {
  static override summary =
    'Validate the data map and check that every account, container, vault and log source is reachable.'
  static override description =
    "The data map is checked against its JSON Schema first (exit 2 with one line per problem); then each target it names is tried with the current credentials (exit 1 when one is unreachable). Each database is signed in to and its tables checked against the catalog: a map that would erase too little or too much (an unmapped table referencing a mapped one, a cascade out of the mapped tables, a missing table or column) exits 2, naming the table and the constraint. It also reads the audit container's immutability policy from Resource Manager and warns, without changing the exit code, when the trail is not append-only, when the policy would refuse custos's appends, or when it cannot be checked."
  static override examples = [
    '<%= config.bin %> config validate --config custos.yaml',
    '<%= config.bin %> config validate --config custos.yaml --json',
    'CUSTOS_CONFIG=/etc/custos/custos.yaml <%= config.bin %> config validate',
  ]
  static override flags = {retries: retriesFlag}

  public async run(): Promise<ConfigValidateResult> {
    const map = this.loadMap()
    const checks = await checkReachability(this.makeClients(map, {retry: {maxTries: this.flags.retries}}), {
      abortSignal: this.abortSignal,
    })
    const ok = checks.every((c) => c.status !== 'failed' && c.status !== 'invalid')
    const invalid = checks.filter((c) => c.status === 'invalid').length
    const result: ConfigValidateResult = {
      config: map.source,
      schema: 'valid',
      stores: map.stores.length,
      backups: map.backups.length,
      databases: map.databases.length,
      checks,
      ok,
    }
    // a map that would erase too little or too much is a data-map error like a schema error: exit 2
    if (invalid > 0) this.setExitCode(ExitCode.usage)
    else if (!ok) this.setExitCode(ExitCode.findings)
    this.print(
      `${color.green('✔')} ${map.source}: schema valid (${map.stores.length} store(s), ${map.backups.length} backup set(s), ${map.databases.length} database(s))`,
    )
    const mark = (s: ReachabilityCheck['status']) =>
      s === 'ok'
        ? color.green('ok')
        : s === 'warning'
          ? color.yellow('warning')
          : color.red(s === 'invalid' ? 'INVALID' : 'FAILED')
    this.table(
      ['section', 'target', 'status', 'detail'],
      checks.map((c) => [c.section, c.target, mark(c.status), c.detail]),
    )
    const warnings = checks.filter((c) => c.status === 'warning').length
    this.print(
      (ok
        ? color.green('Every target is reachable.')
        : color.red(
            [
              invalid > 0 ? `${invalid} data-map problem(s) found in the databases.` : '',
              checks.some((c) => c.status === 'failed')
                ? `${checks.filter((c) => c.status === 'failed').length} target(s) unreachable.`
                : '',
            ]
              .filter(Boolean)
              .join(' '),
          )) + (warnings > 0 ? color.yellow(` ${warnings} warning(s).`) : ''),
    )

    return result
  }
}
