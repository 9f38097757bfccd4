/**
 * Shared Key authorization of Blob service requests that custos writes itself (the parts of a
 * Blob Batch, the GET of a small blob): the string to sign of the "Authorize with Shared Key" REST
 * reference (version 2015-02-21 and later), signed with the credential's own HMAC so the key never
 * leaves the StorageSharedKeyCredential.
 */
import type {PipelinePolicy} from '@azure/core-rest-pipeline'
import type {StorageSharedKeyCredential} from '@azure/storage-blob'

/** The standard headers of the string to sign, in its order. */
const STANDARD_HEADERS = [
  'content-encoding',
  'content-language',
  'content-length',
  'content-md5',
  'content-type',
  'date',
  'if-modified-since',
  'if-match',
  'if-none-match',
  'if-unmodified-since',
  'range',
]

/**
 * The string to sign: the verb, the standard headers (a Content-Length of 0 as empty), the `x-ms-*`
 * headers sorted by name, and the canonicalized resource `/account/path` with each query parameter
 * as `\nname:decoded value`, names lower-cased and sorted.
 */
export function sharedKeyStringToSign(
  accountName: string,
  method: string,
  pathAndQuery: string,
  headers: Iterable<[string, string]>,
): string {
  const standard = new Map<string, string>()
  const storage: Array<[string, string]> = []
  for (const [rawName, value] of headers) {
    const name = rawName.toLowerCase().trimEnd()
    if (name.startsWith('x-ms-')) storage.push([name, value.trimStart()])
    else standard.set(name, value)
  }

  const standardValues = STANDARD_HEADERS.map((name) => {
    const value = standard.get(name) ?? ''
    return name === 'content-length' && value === '0' ? '' : value
  })
  storage.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  const queryStart = pathAndQuery.indexOf('?')
  const path = queryStart === -1 ? pathAndQuery : pathAndQuery.slice(0, queryStart)
  let resource = `/${accountName}${path || '/'}`
  if (queryStart !== -1) {
    const params = new Map<string, string>()
    for (const pair of pathAndQuery.slice(queryStart + 1).split('&')) {
      const eq = pair.indexOf('=')
      if (eq <= 0 || eq !== pair.lastIndexOf('=') || eq === pair.length - 1) continue
      params.set(pair.slice(0, eq).toLowerCase(), pair.slice(eq + 1))
    }

    for (const name of [...params.keys()].sort()) resource += `\n${name}:${decodeURIComponent(params.get(name)!)}`
  }

  const canonicalHeaders = storage.map(([name, value]) => `${name}:${value}\n`).join('')
  return `${method.toUpperCase()}\n${standardValues.join('\n')}\n${canonicalHeaders}${resource}`
}

/** A core-rest-pipeline policy (Sign phase) that dates and signs every attempt of a request. */
export function sharedKeyPolicy(credential: StorageSharedKeyCredential): PipelinePolicy {
  return {
    name: 'custosSharedKey',
    async sendRequest(request, next) {
      request.headers.set('x-ms-date', new Date().toUTCString())
      const url = new URL(request.url)
      const signature = credential.computeHMACSHA256(
        sharedKeyStringToSign(credential.accountName, request.method, `${url.pathname}${url.search}`, request.headers),
      )
      request.headers.set('Authorization', `SharedKey ${credential.accountName}:${signature}`)
      return next(request)
    },
  }
}
