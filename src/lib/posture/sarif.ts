/**
 * The posture report as a SARIF 2.1.0 log (OASIS Standard, errata 01), for code-scanning dashboards
 * and compliance tooling: the check catalogue becomes `tool.driver.rules` (help = the fix), each
 * check result becomes a `result` located by a logical location naming the Azure resource id.
 */
import {TOOL_VERSION} from '../version.js'
import {CHECKS, type CheckDefinition, type Severity} from './catalogue.js'
import type {CheckResult, PostureReport, PostureResource} from './types.js'

export const SARIF_SCHEMA_URI =
  'https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json'

type SarifLevel = 'error' | 'warning' | 'note' | 'none'
type SarifKind = 'pass' | 'fail' | 'open' | 'notApplicable'

/** The SARIF level of a failing check of `severity`: critical/high → error, medium → warning, low → note. */
export function sarifLevel(severity: Severity): SarifLevel {
  return severity === 'critical' || severity === 'high' ? 'error' : severity === 'medium' ? 'warning' : 'note'
}

/** GitHub code scanning's 0–10 `security-severity` for each severity. */
const SECURITY_SEVERITY: Record<Severity, string> = {critical: '9.5', high: '8.0', medium: '5.5', low: '3.0'}

const KIND: Record<CheckResult['status'], SarifKind> = {
  pass: 'pass',
  fail: 'fail',
  unknown: 'open',
  skipped: 'notApplicable',
}

export interface SarifLog {
  $schema: string
  version: '2.1.0'
  runs: Array<Record<string, unknown>>
}

function rule(def: CheckDefinition): Record<string, unknown> {
  return {
    id: def.id,
    name: def.name,
    shortDescription: {text: def.title},
    fullDescription: {text: `${def.title}. Backs the promise: ${def.promise}`},
    help: {text: `Fix: ${def.remediation}`, markdown: `**Fix:**\n\n\`\`\`sh\n${def.remediation}\n\`\`\``},
    defaultConfiguration: {level: sarifLevel(def.severity)},
    properties: {
      severity: def.severity,
      category: def.category,
      promise: def.promise,
      tags: ['custos', 'posture', def.category],
      'security-severity': SECURITY_SEVERITY[def.severity],
    },
  }
}

function sarifResult(resource: PostureResource, r: CheckResult, ruleIndex: number): Record<string, unknown> {
  const kind = KIND[r.status]
  const where = resource.id ?? `${resource.kind}:${resource.name}`
  return {
    ruleId: r.check,
    ruleIndex,
    kind,
    // SARIF §3.27.10: a result whose kind is not "fail" has level "none".
    level: kind === 'fail' ? sarifLevel(r.severity) : 'none',
    message: {text: `${resource.name}: ${r.detail}${r.remediation ? ` Fix: ${r.remediation}` : ''}`},
    locations: [{logicalLocations: [{name: resource.name, fullyQualifiedName: where, kind: 'resource'}]}],
    partialFingerprints: {resourceCheck: `${where.toLowerCase()}|${r.check}`},
    properties: {
      status: r.status,
      severity: r.severity,
      resourceKind: resource.kind,
      usedBy: resource.usedBy,
      ...(r.remediation ? {remediation: r.remediation} : {}),
    },
  }
}

export function toSarif(report: PostureReport): SarifLog {
  const index = new Map(CHECKS.map((c, i) => [c.id, i]))
  return {
    $schema: SARIF_SCHEMA_URI,
    version: '2.1.0',
    runs: [
      {
        tool: {driver: {name: 'custos', version: TOOL_VERSION, semanticVersion: TOOL_VERSION, rules: CHECKS.map(rule)}},
        invocations: [{executionSuccessful: true, endTimeUtc: report.checkedAt}],
        results: report.resources.flatMap((resource) =>
          resource.results.map((r) => sarifResult(resource, r, index.get(r.check) as number)),
        ),
        properties: {failOn: report.failOn, allowedRegions: report.allowedRegions, summary: report.summary},
      },
    ],
  }
}
