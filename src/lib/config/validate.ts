/**
 * `config validate`: after the schema (checked when the data map is loaded), every account,
 * container, vault and log source the map names is tried with the current credentials.
 */
import {parseAccount} from '../azure/account.js'
import type {AzureClients} from '../azure/clients.js'
import {CustosError, fromAzureError, isAbortError} from '../errors.js'
import {checkAuditTrailContainer} from '../posture/audit-trail.js'
import {fromPostgresError} from '../stores/postgres/connection.js'
import {validateDatabase} from '../stores/postgres/target.js'

export interface ReachabilityCheck {
  section: string
  target: string
  /**
   * `failed`: unreachable (exit 1); `invalid`: the data map does not match what it names — a
   * database's catalog check found a missing table or a constraint that would make erase delete too
   * little or too much (exit 2, like every other data-map problem)
   */
  status: 'ok' | 'failed' | 'warning' | 'invalid'
  detail: string
}

async function attempt(
  section: string,
  target: string,
  what: string,
  fn: () => Promise<string>,
): Promise<ReachabilityCheck> {
  try {
    return {section, target, status: 'ok', detail: await fn()}
  } catch (error) {
    const mapped = fromAzureError(error, what) as Error
    return {section, target, status: 'failed', detail: mapped.message}
  }
}

/** Runs every reachability check; never throws for an unreachable target (it is a finding). */
export async function checkReachability(
  clients: AzureClients,
  options: {abortSignal?: AbortSignal} = {},
): Promise<ReachabilityCheck[]> {
  const map = clients.map
  const checks: ReachabilityCheck[] = []
  const scoped = [
    ...map.stores.map((s) => ({section: `stores/${s.name}`, s})),
    ...map.backups.map((s) => ({section: `backups/${s.name}`, s})),
  ]
  for (const {section, s} of scoped) {
    const account = parseAccount(s.account)
    const service = clients.blobService(account)
    if (s.container.includes('{customer}')) {
      const literalPrefix = s.container.slice(0, s.container.indexOf('{customer}'))
      checks.push(
        await attempt(section, `${account.name}/${s.container}`, `account ${account.name}`, async () => {
          let seen = 0
          // eslint-disable-next-line no-unreachable-loop -- the first page is all this check needs
          for await (const page of service
            .listContainers({prefix: literalPrefix || undefined, abortSignal: options.abortSignal})
            .byPage({maxPageSize: 100})) {
            seen += page.containerItems.length
            break
          }

          return `account reachable; ${seen}${seen === 100 ? '+' : ''} container(s) named ${literalPrefix}…`
        }),
      )
    } else {
      checks.push(
        await attempt(
          section,
          `${account.name}/${s.container}`,
          `container ${s.container} in account ${account.name}`,
          async () => {
            const exists = await service.getContainerClient(s.container).exists({abortSignal: options.abortSignal})
            if (!exists) throw Object.assign(new Error('missing'), {statusCode: 404, code: 'ContainerNotFound'})
            return 'container reachable'
          },
        ),
      )
    }
  }

  checks.push(...(await checkDatabases(clients)))

  {
    const account = parseAccount(map.audit.account)
    checks.push(
      await attempt(
        'audit',
        `${account.name}/${map.audit.container}`,
        `audit container ${map.audit.container} in account ${account.name}`,
        async () => {
          const exists = await clients
            .blobService(account)
            .getContainerClient(map.audit.container)
            .exists({abortSignal: options.abortSignal})
          return exists
            ? 'container reachable'
            : 'account reachable; the container will be created on the first audited action'
        },
      ),
    )
  }

  checks.push(await auditTrailProtection(clients, options))

  if (map.exports) {
    const account = parseAccount(map.exports.account)
    const container = map.exports.container
    checks.push(
      await attempt(
        'exports',
        `${account.name}/${container}`,
        `exports container ${container} in account ${account.name}`,
        async () => {
          const exists = await clients
            .blobService(account)
            .getContainerClient(container)
            .exists({abortSignal: options.abortSignal})
          return exists
            ? 'container reachable'
            : 'account reachable; the container will be created on the first server-side export'
        },
      ),
    )
  }

  if (map.logs?.archive) {
    const account = parseAccount(map.logs.archive.account)
    for (const container of map.logs.archive.containers) {
      checks.push(
        await attempt(
          'logs.archive',
          `${account.name}/${container}`,
          `log container ${container} in account ${account.name}`,
          async () => {
            const exists = await clients
              .blobService(account)
              .getContainerClient(container)
              .exists({abortSignal: options.abortSignal})
            if (!exists) throw Object.assign(new Error('missing'), {statusCode: 404, code: 'ContainerNotFound'})
            return 'container reachable'
          },
        ),
      )
    }
  }

  if (map.keys) {
    const keys = map.keys
    checks.push(
      await attempt('keys', keys.vault, `vault ${keys.vault}`, async () => {
        const client = clients.keyClient()
        let listed = 0
        // eslint-disable-next-line no-unreachable-loop -- the first page is all this check needs
        for await (const page of client.listPropertiesOfKeys().byPage({maxPageSize: 25})) {
          listed += page.length
          break
        }

        if (keys.signingKey) {
          const key = await client.getKey(keys.signingKey)
          const ops = key.keyOperations ?? []
          if (!ops.includes('sign') || key.properties.enabled === false)
            throw new Error(`signing key ${keys.signingKey} is disabled or does not allow "sign"`)
          return `vault reachable (${listed}${listed === 25 ? '+' : ''} keys); signing key ${keys.signingKey} usable (${key.keyType})`
        }

        return `vault reachable (${listed}${listed === 25 ? '+' : ''} keys); no signing key configured: evidence will be unsigned`
      }),
    )
  }

  if (map.logs?.workspace) {
    const workspace = map.logs.workspace
    checks.push(
      await attempt('logs.workspace', workspace, `Log Analytics workspace ${workspace}`, async () => {
        const result = await clients
          .logsQuery()
          .queryWorkspace(workspace, 'print ok = 1', {duration: 'PT1H'}, {abortSignal: options.abortSignal})
        if (result.status !== 'Success') throw new Error(`query answered ${result.status}`)
        return 'workspace answers queries'
      }),
    )
  }

  if (map.activityLog) {
    const subscription = map.activityLog.subscription
    checks.push(
      await attempt('activityLog', subscription, `the activity log of subscription ${subscription}`, async () => {
        const now = new Date()
        const from = new Date(now.getTime() - 3_600_000)
        const filter = `eventTimestamp ge '${from.toISOString()}' and eventTimestamp le '${now.toISOString()}'`
        // eslint-disable-next-line no-unreachable-loop -- the first page is all this check needs
        for await (const page of clients
          .monitor(subscription)
          .activityLogs.list(filter, {abortSignal: options.abortSignal})
          .byPage()) {
          return `activity log readable (${page.length} event(s) in the last hour on the first page)`
        }

        return 'activity log readable'
      }),
    )
  }

  return checks
}

/**
 * Per database: signs in and runs the catalog check (validateDatabase). A sign-in or network failure
 * is `failed`; each catalog problem is one `invalid` check naming the table and, where one is
 * involved, the constraint.
 */
async function checkDatabases(clients: AzureClients): Promise<ReachabilityCheck[]> {
  const checks: ReachabilityCheck[] = []
  for (const config of clients.map.databases) {
    if (config.engine !== 'postgresql') continue // Table storage: reached like a storage account, by the store kind's check
    const section = `databases/${config.name}`
    const server = `${config.host}:${config.port ?? 5432}/${config.database}`
    let check
    try {
      check = await validateDatabase(config, clients.postgresConnectOptions())
    } catch (error) {
      const mapped = fromPostgresError(error, `database ${config.database} on ${config.host}`, config.user)
      if (isAbortError(mapped) || !(mapped instanceof CustosError)) throw mapped // a bug is not a finding
      // a template PostgreSQL cannot hold is the map's fault; a refused sign-in or a network error
      // is unreachable with the current credentials, like a storage account
      checks.push({
        section,
        target: server,
        status: mapped.code === 'ConfigInvalid' ? 'invalid' : 'failed',
        detail: mapped.message,
      })
      continue
    }

    for (const problem of check.problems) {
      checks.push({
        section,
        target: problem.constraint ? `${problem.table} (constraint ${problem.constraint})` : problem.table,
        status: 'invalid',
        detail: problem.message,
      })
    }

    for (const warning of check.warnings) checks.push({section, target: server, status: 'warning', detail: warning})
    if (check.problems.length === 0) {
      checks.push({
        section,
        target: server,
        status: 'ok',
        detail:
          config.isolation === 'shared'
            ? `signed in as ${config.user}; ${check.tables.length} mapped table(s) match the catalog`
            : `signed in as ${config.user}; the ${config.isolation} template is usable`,
      })
    }
  }

  return checks
}

/**
 * Whether the audit container is append-only the way the trail needs (the `audit.trail-*` checks of
 * `audit posture`, read over Resource Manager). Never `failed`: a missing or unreadable policy is a
 * warning, because custos works without it; the trail is then tamper-evident but not tamper-proof.
 */
async function auditTrailProtection(
  clients: AzureClients,
  options: {abortSignal?: AbortSignal},
): Promise<ReachabilityCheck> {
  const map = clients.map
  const target = `${parseAccount(map.audit.account).name}/${map.audit.container}`
  const warning = (detail: string): ReachabilityCheck => ({
    section: 'audit.immutability',
    target,
    status: 'warning',
    detail,
  })
  let results
  try {
    results = (await checkAuditTrailContainer(clients, map, options)).results
  } catch (error) {
    if (isAbortError(error)) throw error
    const mapped = fromAzureError(error, 'Resource Manager') as Error
    return warning(`Immutability policy not checked: ${mapped.message}`)
  }

  const find = (id: string) => results.find((r) => r.check === id)
  const immutable = find('audit.trail-immutable')
  const writable = find('audit.trail-writable')
  const locked = find('audit.trail-policy-locked')
  if (immutable?.status === 'unknown')
    return warning(`Immutability policy not checked: ${immutable.detail} ${immutable.remediation ?? ''}`.trim())
  const problems = [immutable, writable].filter((r) => r?.status === 'fail').map((r) => r?.detail)
  if (problems.length > 0)
    return warning(`${problems.join(' ')} \`custos audit posture\` prints the az commands that fix it.`)
  return {
    section: 'audit.immutability',
    target,
    status: 'ok',
    detail:
      `${immutable?.detail ?? ''} ${writable?.detail ?? ''}${locked?.status === 'fail' ? ` ${locked.detail}` : ''}`.trim(),
  }
}
