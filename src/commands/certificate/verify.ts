import {existsSync, readFileSync} from 'node:fs'

import {Args} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import type {AzureClients} from '../../lib/azure/clients.js'
import {resolveConfigPath} from '../../lib/datamap/load.js'
import {verifyEvidenceFile} from '../../lib/erase/certificate.js'
import {renderVerification, type CertificateVerifyReport} from '../../lib/erase/render.js'
import {CustosError, ExitCode} from '../../lib/errors.js'
import {color} from '../../lib/output/color.js'

export type CertificateVerifyResult = CertificateVerifyReport

export default class CertificateVerifyCommand extends BaseCommand<typeof CertificateVerifyCommand> {
  static override summary =
    'Check a deletion certificate, export manifest or logs manifest: its SHA-256, its signature, and that it names what it claims.'
  static override description = `The signature is checked with the public key of the signing key in the data map's vault (--config or CUSTOS_CONFIG); without a data map, signed documents can only have their hash checked.

Exit codes: 0 valid (or honestly unsigned), 1 altered, inconsistent or malformed (a signature that is not {alg, kid, value} strings), 2 usage (or no vault to check a signature with), 4 the signing key could not be read.`
  static override examples = [
    '<%= config.bin %> certificate verify acme.plan.certificate.json --config custos.yaml',
    '<%= config.bin %> certificate verify export/manifest.json --json',
  ]
  static override args = {
    file: Args.string({description: 'the sealed JSON document (certificate or manifest)', required: true}),
  }

  public async run(): Promise<CertificateVerifyResult> {
    refuseMalformedSignature(this.args.file)
    const report = await verifyEvidenceFile(this.args.file, this.optionalClients())
    if (!this.jsonEnabled()) this.log(renderVerification(report, color))
    if (report.status === 'altered' || report.status === 'inconsistent') this.setExitCode(ExitCode.findings)
    else if (report.status === 'unverifiable') this.setExitCode(this.hasDataMap() ? ExitCode.azure : ExitCode.usage)
    return report
  }

  /** A data map is needed only to fetch the signing key; verifying the hash needs none. */
  private optionalClients(): AzureClients | undefined {
    if (!this.hasDataMap()) return undefined
    return this.makeClients(this.loadMap())
  }

  private hasDataMap(): boolean {
    try {
      return existsSync(resolveConfigPath(this.flags.config))
    } catch {
      return false
    }
  }
}

/**
 * A document whose `signature` is not `{alg, kid, value}` strings (a kid that is a URL, a base64
 * value) was altered or is not custos's: exit 1 with one line naming the field, before the
 * verification, which would otherwise fail on it as a bug. Files that cannot be read or parsed are
 * left to the verification, which reports them.
 */
function refuseMalformedSignature(file: string): void {
  let doc: unknown
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'))
  } catch {
    return
  }

  const signature = (doc as {signature?: unknown} | null)?.signature
  if (signature === undefined || signature === null) return
  const s = signature as Record<string, unknown>
  const problem =
    typeof signature !== 'object' || Array.isArray(signature)
      ? 'signature must be an object with alg, kid and value'
      : typeof s.alg !== 'string'
        ? 'signature.alg must be a string'
        : typeof s.kid !== 'string' || !URL.canParse(s.kid)
          ? 'signature.kid must be the URL of a Key Vault key'
          : typeof s.value !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(s.value)
            ? 'signature.value must be a base64 string'
            : undefined
  if (!problem) return
  throw new CustosError(`${file} is malformed: ${problem}; it was altered or is not a custos document.`, {
    code: 'MalformedDocument',
    exitCode: ExitCode.findings,
    hint: 'Verify the copy custos wrote; an altered document proves nothing.',
  })
}
