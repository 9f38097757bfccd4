import {writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {Flags} from '@oclif/core'
import {stringify} from 'yaml'

import {BaseCommand} from '../base-command.js'
import {loadDataMap} from '../lib/datamap/load.js'
import {AzureClients} from '../lib/azure/clients.js'
import {seedDemoDatabaseAccess} from '../lib/local/demo-access.js'
import {seedDemoData, type DemoSummary} from '../lib/local/demo-data.js'
import {startDemoPostgres, type DemoPostgres} from '../lib/local/demo-postgres.js'
import {startDemoTables, type DemoTables} from '../lib/local/demo-tables.js'
import {DEMO_POSTGRES_RESOURCE_ID, startLocalEnvironment} from '../lib/local/environment.js'
import {color} from '../lib/output/color.js'

export interface DemoResult {
  config: string
  seeded: DemoSummary
  steps: Array<{title: string; command: string; exitCode: number}>
  kept: boolean
}

export default class Demo extends BaseCommand<typeof Demo> {
  // The demo shows each step's own rendering; a single JSON document would hide what it is for.
  static override enableJsonFlag = false
  static override summary =
    'Start the local environment, fill it with demo customers, and walk through the main commands.'
  static override description =
    'Starts Azurite and the local Azure server on loopback (nothing reaches the internet), creates the customers acme, acme-corp, globex and initech with documents, attachments, 30 days of backups, archived sign-in logs and keys, and (when the PostgreSQL binaries are installed) an application database with their rows, then runs inventory, export, erase, certificate verify, backups verify and access report against them. With --keep it leaves everything running and prints the data map path.'
  static override examples = [
    '<%= config.bin %> demo',
    '<%= config.bin %> demo --keep',
    '<%= config.bin %> demo --keep --dir ./demo-env',
  ]
  static override flags = {
    keep: Flags.boolean({
      summary: 'Leave the local environment running and print the data map path (stop with Ctrl-C).',
    }),
    dir: Flags.string({summary: 'Folder for the data map, certificate and emulator files (default: a temp folder).'}),
  }

  public async run(): Promise<DemoResult> {
    const env = await startLocalEnvironment({dir: this.flags.dir, removeOnStop: !this.flags.keep && !this.flags.dir})
    const steps: DemoResult['steps'] = []
    let database: DemoPostgres | undefined
    let tables: DemoTables | undefined
    try {
      this.heading(`Local environment: Azurite ${env.azurite.blobEndpoint()} · local Azure server ${env.server.url}`)
      this.info(`Data map: ${env.configPath}`)
      const map = loadDataMap(env.configPath)
      const seeded = await seedDemoData(new AzureClients(map), env)
      this.info(
        `Seeded ${seeded.customers.join(', ')}: ${seeded.documents} documents, ${seeded.attachments} attachments, ${seeded.backups} backups (missing: ${seeded.missingBackupDay.customer} on ${seeded.missingBackupDay.day}), ${seeded.signInRecords} sign-ins, ${seeded.storageReadRecords} blob reads, ${seeded.activityEvents} activity events, ${seeded.keys.length} keys.`,
      )
      const config = ['--config', env.configPath]
      // With the application database, every customer step runs on the data map that maps it too:
      // inventory, export, erase and the certificate cover its rows like the blob stores.
      const databaseConfig: string[] = []
      try {
        database = await startDemoPostgres()
        await seedDemoDatabaseAccess(database.server.clientConfig('app'))
        // Table storage beside it: the customers' settings, a partition each (Azurite's table service)
        tables = await startDemoTables()
        const path = join(env.dir, 'custos-databases.yaml')
        writeFileSync(
          path,
          "# The local environment's data map plus the demo application database.\n" +
            stringify(
              {
                ...env.config,
                databases: [
                  {
                    ...database.config,
                    resourceId: DEMO_POSTGRES_RESOURCE_ID,
                    expect: {every: '24h', maxAge: '26h', keepDays: 30},
                  },
                  tables.config,
                ],
              },
              {lineWidth: 0},
            ),
        )
        databaseConfig.push('--config', path)
        this.info(
          `PostgreSQL ${database.server.host}:${database.server.port}, database app: the same four customers' rows; Table storage ${tables.azurite.tableEndpoint()}, table settings: ${tables.perCustomer} settings per customer`,
        )
      } catch (error) {
        this.info(
          color.yellow(
            `No PostgreSQL for the demo (${(error as Error).message.split('\n')[0]}); database steps skipped.`,
          ),
        )
      }

      const exportDir = join(env.dir, 'export-acme')
      const withDb = databaseConfig.length > 0
      const customerConfig = withDb ? databaseConfig : config
      const rows = withDb ? ' with its rows in the application database and its settings in Table storage' : ''
      const plan: Array<[string, string, string[]]> = [
        [
          withDb
            ? 'Validate the data map and reach every target, the application database too: every table mapped, no constraint left out'
            : 'Validate the data map and reach every target',
          'config:validate',
          [...customerConfig],
        ],
        [
          `Inventory of acme${rows} (its prefix neighbour acme-corp is never counted)`,
          'customer:inventory',
          ['acme', ...customerConfig],
        ],
        ['Inventory of acme-corp', 'customer:inventory', ['acme-corp', ...customerConfig]],
        [
          `Export acme${rows} to a folder, verified, with a signed manifest (tables: one CSV each, one snapshot)`,
          'customer:export',
          ['acme', '--output', exportDir, ...customerConfig],
        ],
        ['Verify the export manifest', 'certificate:verify', [join(exportDir, 'manifest.json'), ...customerConfig]],
        [
          `Erase acme${rows}: plan, guards, batch delete, crypto-shredding, verification, certificate`,
          'customer:erase',
          [
            'acme',
            '--yes',
            '--plan-out',
            join(env.dir, 'erase-acme.plan.json'),
            '--output',
            join(env.dir, 'certificate-acme'),
            ...customerConfig,
          ],
        ],
        [
          'Verify the deletion certificate',
          'certificate:verify',
          [join(env.dir, 'certificate-acme.json'), ...customerConfig],
        ],
        ['Inventory of acme after the erase', 'customer:inventory', ['acme', ...customerConfig]],
        ['Inventory of acme-corp after the erase (unchanged)', 'customer:inventory', ['acme-corp', ...customerConfig]],
        [
          withDb
            ? 'Backups: fresh, complete, encrypted, separate site — blob backup sets and the database server (acme: retired)'
            : 'Backups: fresh, complete, encrypted, separate site (acme: retired)',
          'backups:verify',
          [...customerConfig],
        ],
        ...(withDb
          ? ([
              [
                'Platform posture, the database server included (TLS, firewall, sign-in, logging, region)',
                'audit:posture',
                [...databaseConfig],
              ],
            ] as Array<[string, string, string[]]>)
          : []),
        ['Access report for the last 3 days', 'access:report', ['--since', '-72h', '--until', 'now', ...config]],
        [
          'Access review: who can reach the infrastructure and the data, against access.expected',
          'access:review',
          ['--format', 'table', ...(databaseConfig.length > 0 ? databaseConfig : config)],
        ],
        ["custos's own audit trail, verified", 'audit:trail', ['--verify', ...config]],
      ]
      for (const [title, id, argv] of plan) {
        if (!this.config.findCommand(id)) continue
        this.heading(title)
        this.info(
          color.dim(
            `$ custos ${id.replaceAll(':', ' ')} ${argv.map((a) => (a.includes(' ') ? `"${a}"` : a)).join(' ')}`,
          ),
        )
        process.exitCode = 0
        await this.config.runCommand(id, argv)
        const exitCode = Number(process.exitCode ?? 0)
        steps.push({title, command: id, exitCode})
        process.exitCode = 0
      }

      if (this.flags.keep) {
        this.heading('The local environment keeps running. Try the commands yourself:')
        this.info(`  export CUSTOS_CONFIG=${env.configPath}`)
        this.info('  node bin/run.js customer inventory globex')
        this.info('Press Ctrl-C to stop.')
        await new Promise<void>((resolve) => {
          this.abortSignal.addEventListener('abort', () => resolve(), {once: true})
        })
      }

      return {config: env.configPath, seeded, steps, kept: Boolean(this.flags.keep)}
    } finally {
      if (!this.flags.keep || this.abortSignal.aborted)
        await Promise.all([env.stop(), database?.stop(), tables?.stop()])
    }
  }

  private heading(text: string): void {
    this.info(`\n${color.bold.cyan(`▶ ${text}`)}`)
  }
}
