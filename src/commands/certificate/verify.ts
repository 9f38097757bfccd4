import {existsSync} from 'node:fs'

import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import type {AzureClients} from '../../lib/azure/clients.js'
import {resolveConfigPath} from '../../lib/datamap/load.js'
import {ExitCode} from '../../lib/errors.js'
import {MAX_NAMED} from '../../lib/evidence/contents.js'
import {renderVerification} from '../../lib/evidence/render-verification.js'
import type {CertificateVerifyReport} from '../../lib/evidence/verify-document.js'
import {verifyEvidence} from '../../lib/evidence/verify-package.js'
import {color} from '../../lib/output/color.js'

export type CertificateVerifyResult = CertificateVerifyReport

export default class CertificateVerifyCommand extends BaseCommand<typeof CertificateVerifyCommand> {
  static override summary =
    'Check a deletion certificate or a manifest — or an export folder, export archive or log bundle against the signed manifest inside it.'
  static override description = `A sealed JSON document (deletion certificate, export manifest, logs or incident-evidence manifest) is checked for its SHA-256, its signature, and that it names what it claims.

An export folder (customer export -o DIR), a .tar.gz or .zip export (customer export -o FILE.tar.gz or .zip), a logs bundle or an incident-evidence bundle (.tar.gz) is checked the same way through the manifest.json inside it, and then every file against that manifest: files it lists that are missing, files it does not list (extra, including symbolic links and archive entries with ".." or absolute paths, which are never followed or extracted), and files whose size or SHA-256 differ (changed) are each named, the first ${MAX_NAMED} of each, with complete counts. SHA256SUMS is not signed and never trusted: where it disagrees with the manifest that is reported beside the result. What the input is, is told by what it is (a folder, gzip or zip magic bytes), not by its name. Nothing is extracted or written.

The signature is checked with the public key of the signing key in the data map's vault (--config or CUSTOS_CONFIG), and counts only when it was made with the data map's keys.signingKey (any version of it). Where the data map names a signing key an unsigned document is not valid; without one an unsigned document is accepted only with --allow-unsigned. A document that names its own audit record (custos 0.2 and later) is valid only while the audit trail still holds that record and it verifies. Document kinds custos does not write are refused.

Exit codes: 0 valid; 1 altered (including files missing, extra or changed), inconsistent, malformed (a signature that is not {alg, kid, value} strings), unsigned (without --allow-unsigned), of an unknown kind, or its audit record gone from the trail; 2 usage (an unreadable path, or no vault to check a signature with); 4 the signing key or the audit trail could not be read.`
  static override examples = [
    '<%= config.bin %> certificate verify acme.plan.certificate.json --config custos.yaml',
    '<%= config.bin %> certificate verify export/manifest.json --json',
    '<%= config.bin %> certificate verify exports/acme --config custos.yaml',
    '<%= config.bin %> certificate verify acme-export.tar.gz --json',
    '<%= config.bin %> certificate verify acme-export.zip',
    '<%= config.bin %> certificate verify logs-acme-20261101-20261108.tar.gz --config custos.yaml',
  ]
  static override flags = {
    'allow-unsigned': Flags.boolean({
      summary: 'Accept an unsigned document (only for a data map without keys.signingKey).',
    }),
  }
  static override args = {
    file: Args.string({
      description:
        'the sealed JSON document (certificate or manifest), or an export folder, .tar.gz/.zip export or bundle',
      required: true,
    }),
  }

  public async run(): Promise<CertificateVerifyResult> {
    const report = await verifyEvidence(this.args.file, this.optionalClients(), {
      abortSignal: this.abortSignal,
      allowUnsigned: this.flags['allow-unsigned'] === true,
    })
    this.print(renderVerification(report, color))
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
