import {existsSync} from 'node:fs'

import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import type {AzureClients} from '../../lib/azure/clients.js'
import {resolveConfigPath} from '../../lib/datamap/load.js'
import {verifyEvidenceFile} from '../../lib/erase/certificate.js'
import {renderVerification, type CertificateVerifyReport} from '../../lib/erase/render.js'
import {ExitCode} from '../../lib/errors.js'
import {color} from '../../lib/output/color.js'

export type CertificateVerifyResult = CertificateVerifyReport

export default class CertificateVerifyCommand extends BaseCommand<typeof CertificateVerifyCommand> {
  static override summary =
    'Check a deletion certificate, export manifest or logs manifest: its SHA-256, its signature, and that it names what it claims.'
  static override description = `The signature is checked with the public key of the signing key in the data map's vault (--config or CUSTOS_CONFIG); without a data map, signed documents can only have their hash checked.

A signature counts only when it was made with the data map's keys.signingKey (any version of it); where the data map names a signing key an unsigned document is not valid, and without one an unsigned document is accepted only with --allow-unsigned. A document that names its own audit record (custos 0.2 and later) is valid only while the audit trail still holds that record and it verifies. Document kinds custos does not write are refused.

Exit codes: 0 valid; 1 altered, inconsistent, unsigned (without --allow-unsigned), of an unknown kind, or its audit record gone from the trail; 2 usage (or no vault to check a signature with); 4 the signing key or the audit trail could not be read.`
  static override examples = [
    '<%= config.bin %> certificate verify acme.plan.certificate.json --config custos.yaml',
    '<%= config.bin %> certificate verify export/manifest.json --json',
  ]
  static override flags = {
    'allow-unsigned': Flags.boolean({
      summary: 'Accept an unsigned document (only for a data map without keys.signingKey).',
    }),
  }
  static override args = {
    file: Args.string({description: 'the sealed JSON document (certificate or manifest)', required: true}),
  }

  public async run(): Promise<CertificateVerifyResult> {
    const report = await verifyEvidenceFile(this.args.file, this.optionalClients(), {
      allowUnsigned: this.flags['allow-unsigned'] === true,
    })
    if (!this.jsonEnabled()) this.log(renderVerification(report, color))
    if (
      report.status === 'altered' ||
      report.status === 'inconsistent' ||
      (report.status === 'unsigned' && !report.valid)
    )
      this.setExitCode(ExitCode.findings)
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
