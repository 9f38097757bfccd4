import type {AccessToken, GetTokenOptions, TokenCredential} from '@azure/core-auth'

/** The scope of Entra ID tokens for Azure Storage (blob data requests). */
export const STORAGE_SCOPE = 'https://storage.azure.com/.default'

/**
 * The token the local environment accepts. It is not a secret: the local server only listens on
 * loopback and accepts exactly this value, the way Azurite accepts its published development key.
 */
export const LOCAL_DEVELOPMENT_TOKEN = 'custos-local-development-token'

/**
 * A credential for the local environment (tests and `custos demo`): hands out the local server's
 * fixed development token and never talks to Entra ID. Only allowed for loopback endpoints.
 */
export class LocalDevelopmentCredential implements TokenCredential {
  async getToken(_scopes: string | string[], _options?: GetTokenOptions): Promise<AccessToken> {
    return {token: LOCAL_DEVELOPMENT_TOKEN, expiresOnTimestamp: Date.now() + 60 * 60 * 1000, tokenType: 'Bearer'}
  }
}

/** True when `url` points at this machine (127.0.0.0/8, ::1 or localhost). */
export function isLoopbackUrl(url: string): boolean {
  let host: string
  try {
    host = new URL(url).hostname
  } catch {
    return false
  }

  host = host.replaceAll(/^\[|\]$/g, '')
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host)
}

/**
 * Entra ID through DefaultAzureCredential, loaded on the first token request: @azure/identity takes
 * about a quarter of a second to load, and a data map whose accounts all use Shared Key or SAS never
 * asks for a token.
 */
class DeferredDefaultCredential implements TokenCredential {
  private credential?: Promise<TokenCredential>

  constructor(private readonly tenantId?: string) {}

  async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
    this.credential ??= import('@azure/identity').then(
      ({DefaultAzureCredential}) => new DefaultAzureCredential(this.tenantId ? {tenantId: this.tenantId} : undefined),
    )
    return (await this.credential).getToken(scopes, options)
  }
}

export function createCredential(kind: 'default' | 'local', tenantId?: string): TokenCredential {
  if (kind === 'local') return new LocalDevelopmentCredential()
  return new DeferredDefaultCredential(tenantId)
}
