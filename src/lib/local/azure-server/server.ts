/**
 * The local HTTPS server emulating the non-storage Azure REST operations custos uses (Key Vault keys,
 * Resource Manager reads, Azure Monitor, Log Analytics), for the real `@azure/*` clients. It listens on
 * loopback only and never makes a request itself.
 *
 * Every Key Vault vault gets its own loopback port: the SDK parses key ids as
 * `https://<host>/keys/<name>/<version>` and rejects ids with a longer path, so a vault's key ids are
 * always on `https://127.0.0.1:<vault port>`. The vault is reachable both there (preferred: use the URL
 * {@link LocalAzureServer.addVault} returns) and under `${url}/vaults/<name>` on the main port, whose
 * answers carry the same port-based key ids.
 */
import {randomBytes} from 'node:crypto'
import {createServer, type Server} from 'node:https'
import type {AddressInfo} from 'node:net'

import {isLoopbackUrl} from '../../azure/credential.js'
import {handleArm} from './arm.js'
import {generateLocalCertificate} from './cert.js'
import {handleGraph, isGraphRequest} from './graph.js'
import {createContext, sendJson, serviceHeaders, type RequestContext} from './http.js'
import {handleKeyVault, type KeyVaultHandlerOptions} from './keyvault.js'
import {handleLogAnalytics, logAnalyticsWorkspace} from './loganalytics.js'
import {DEFAULT_RESOURCE_GROUP, LOCAL_SUBSCRIPTION_ID, LocalAzureState, type KeyVaultInput} from './state.js'

export interface LocalAzureServerOptions {
  /** 0 (default) = a free port */
  port?: number
  /** default 127.0.0.1; must be a loopback address */
  host?: string
  /** start with this state instead of an empty one */
  state?: LocalAzureState
}

export interface RecordedRequest {
  method: string
  path: string
  query: Record<string, string>
  /** lower-case names; `authorization` is redacted */
  headers: Record<string, string>
  time: Date
  /** the data-plane vault a request on a vault port was for */
  vault?: string
  /** response status, set when the response has been sent */
  status?: number
}

export interface AddVaultOptions extends KeyVaultInput {
  /** also add the Microsoft.KeyVault/vaults resource (default true), reporting this vault's settings */
  arm?: boolean
  subscription?: string
  resourceGroup?: string
}

export interface LocalAzureServer {
  /** e.g. https://127.0.0.1:43123 — Resource Manager endpoint; Log Analytics endpoint is `${url}/v1` */
  url: string
  /** PEM of the throw-away self-signed certificate (CN/SAN 127.0.0.1, SAN localhost) */
  caCertificatePem: string
  state: LocalAzureState
  requests: RecordedRequest[]
  /** Creates a data-plane vault on its own loopback port (and its ARM resource); resolves to the vault URL. */
  addVault(options: AddVaultOptions): Promise<string>
  /** The URL of a vault (`https://127.0.0.1:<port>`), once its port is open (after `await addVault`). */
  vaultUrl(name: string): string
  close(): Promise<void>
}

const REDACTED = 'REDACTED'

export async function startLocalAzureServer(options: LocalAzureServerOptions = {}): Promise<LocalAzureServer> {
  const host = options.host ?? '127.0.0.1'
  if (!isLoopbackUrl(`https://${host.includes(':') ? `[${host}]` : host}`))
    throw new Error(`the local Azure server only listens on loopback, not on ${host}`)
  const hostInUrl = host.includes(':') ? `[${host}]` : host
  const state = options.state ?? new LocalAzureState()
  const {cert, key} = generateLocalCertificate()
  const kvOptions: KeyVaultHandlerOptions = {backupSecret: randomBytes(32)}
  const requests: RecordedRequest[] = []
  const vaultServers = new Map<string, {server: Server; ready: Promise<string>; url?: string}>()
  const makeServer = (vaultName?: string): Server =>
    createServer({cert, key, minVersion: 'TLSv1.2'}, (req, res) => {
      const ctx = createContext(req, res, state)
      const recorded: RecordedRequest = {
        method: ctx.method,
        path: ctx.url.pathname,
        query: Object.fromEntries(ctx.url.searchParams),
        headers: Object.fromEntries(
          Object.entries(req.headers).map(([name, value]) => [
            name,
            name === 'authorization' ? REDACTED : Array.isArray(value) ? value.join(', ') : String(value ?? ''),
          ]),
        ),
        time: new Date(),
        ...(vaultName ? {vault: vaultName} : {}),
      }
      requests.push(recorded)
      res.on('finish', () => (recorded.status = res.statusCode))
      dispatch(ctx, vaultName).catch((error: unknown) => {
        if (res.headersSent) {
          res.destroy()
          return
        }

        sendJson(
          ctx,
          500,
          {error: {code: 'InternalServerError', message: error instanceof Error ? error.message : String(error)}},
          serviceHeaders(ctx),
        )
      })
    })

  async function dispatch(ctx: RequestContext, vaultName: string | undefined): Promise<void> {
    if (vaultName) return handleKeyVault(ctx, state.keyVault(vaultName), ctx.origin, ctx.segments, kvOptions)
    const [first, second] = ctx.segments
    if (first?.toLowerCase() === 'vaults' && second) {
      const vault = state.keyVault(second)
      const base = vault ? await vaultServers.get(vault.name.toLowerCase())?.ready : undefined
      return handleKeyVault(ctx, vault, base ?? ctx.origin, ctx.segments.slice(2), kvOptions)
    }

    if (isGraphRequest(ctx.segments)) return handleGraph(ctx)
    const workspace = logAnalyticsWorkspace(ctx.segments)
    if (workspace !== undefined) return handleLogAnalytics(ctx, workspace)
    return handleArm(ctx)
  }

  /** Opens the vault's own port (once); resolves to its URL. */
  function serveVault(name: string): Promise<string> {
    const lower = name.toLowerCase()
    const existing = vaultServers.get(lower)
    if (existing) return existing.ready
    const server = makeServer(name)
    const entry: {server: Server; ready: Promise<string>; url?: string} = {
      server,
      ready: listen(server, 0, host).then((port) => (entry.url = `https://${hostInUrl}:${port}`)),
    }
    vaultServers.set(lower, entry)
    return entry.ready
  }

  const main = makeServer()
  const port = await listen(main, options.port ?? 0, host)
  const url = `https://${hostInUrl}:${port}`
  // Vaults already in a given state, and any added later (also by state.addKeyVault), get their port.
  const unsubscribe = state.onKeyVaultAdded((vault) => void serveVault(vault.name).catch(() => undefined))
  await Promise.all([...state.keyVaults.values()].map((vault) => serveVault(vault.name)))

  return {
    url,
    caCertificatePem: cert,
    state,
    requests,
    async addVault(input: AddVaultOptions): Promise<string> {
      if (state.keyVault(input.name)) throw new Error(`vault ${input.name} already exists`)
      const vault = state.addKeyVault(input)
      const vaultUrl = await serveVault(vault.name)
      if (input.arm !== false) {
        state.addArmKeyVault({
          name: vault.name,
          subscription: input.subscription ?? LOCAL_SUBSCRIPTION_ID,
          resourceGroup: input.resourceGroup ?? DEFAULT_RESOURCE_GROUP,
          vaultUri: `${vaultUrl}/`,
          dataPlaneVault: vault.name,
        })
      }

      return vaultUrl
    },
    vaultUrl(name: string): string {
      const entry = vaultServers.get(name.toLowerCase())
      if (!entry?.url) throw new Error(`no vault ${name} on this server yet (await addVault)`)
      return entry.url
    },
    async close(): Promise<void> {
      unsubscribe()
      const vaults = [...vaultServers.values()]
      await Promise.allSettled(vaults.map((v) => v.ready))
      await Promise.all([main, ...vaults.map((v) => v.server)].map(closeServer))
    },
  }
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve((server.address() as AddressInfo).port)
    })
  })
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve()
    server.close(() => resolve())
    server.closeAllConnections()
  })
}
