/**
 * Secrets never reach stdout, stderr, a log or a file custos writes. Every message that may carry
 * text from a service or from the data map passes through {@link redactSecrets}.
 */

/** The redaction rules: one table, also documented in the README. */
export const SECRET_RULES: ReadonlyArray<{name: string; pattern: RegExp; replace: string}> = [
  {name: 'sas-signature', pattern: /([?&;\s"']sig=)[^&\s"';]+/gi, replace: '$1REDACTED'},
  {name: 'account-key', pattern: /(AccountKey=)[^;\s"']+/gi, replace: '$1REDACTED'},
  {name: 'sas-in-connection-string', pattern: /(SharedAccessSignature=)[^;\s"']+/gi, replace: '$1REDACTED'},
  {name: 'bearer-token', pattern: /(Bearer\s+)[A-Za-z0-9\-._~+/]+=*/g, replace: '$1REDACTED'},
  {
    name: 'authorization-header',
    pattern: /("?authorization"?\s*[:=]\s*"?)(SharedKey|Bearer)?\s*[^",\s]+/gi,
    replace: '$1REDACTED',
  },
  {name: 'jwt', pattern: /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\b/g, replace: 'REDACTED-JWT'},
  {
    name: 'password',
    pattern: /((?:password|passwd|pwd|client_secret|clientSecret)\s*["']?\s*[:=]\s*["']?)[^"'&\s,;}]+/gi,
    replace: '$1REDACTED',
  },
  // Event Hubs / Service Bus connection strings (`SharedAccessKeyName=…;SharedAccessKey=…`)
  {name: 'shared-access-key', pattern: /(SharedAccessKey=)[^;\s"']+/gi, replace: '$1REDACTED'},
]

export function redactSecrets(text: string): string {
  let out = text
  for (const rule of SECRET_RULES) out = out.replace(rule.pattern, rule.replace)
  return out
}
