/**
 * The access review as SARIF 2.1.0, like `audit posture --format sarif`: one rule per finding
 * kind, one result per finding, located by a logical location naming the scope.
 */
import {SARIF_SCHEMA_URI, sarifLevel, type SarifLog} from '../../posture/sarif.js'
import {TOOL_VERSION} from '../../version.js'
import {FINDING_SEVERITY, FINDING_TYPES} from './evaluate.js'
import type {AccessReview} from './types.js'

export function reviewToSarif(review: AccessReview): SarifLog {
  const index = new Map(FINDING_TYPES.map((t, i) => [t.type, i]))
  return {
    $schema: SARIF_SCHEMA_URI,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'custos',
            version: TOOL_VERSION,
            semanticVersion: TOOL_VERSION,
            rules: FINDING_TYPES.map((t) => ({
              id: `access.${t.type}`,
              name: t.type,
              shortDescription: {text: t.title},
              defaultConfiguration: {level: sarifLevel(FINDING_SEVERITY[t.type])},
              properties: {severity: FINDING_SEVERITY[t.type], tags: ['custos', 'access-review']},
            })),
          },
        },
        invocations: [{executionSuccessful: true, endTimeUtc: review.checkedAt}],
        results: review.findings.map((f) => ({
          ruleId: `access.${f.type}`,
          ruleIndex: index.get(f.type),
          kind: 'fail',
          level: sarifLevel(f.severity),
          message: {text: `${f.why} Fix: ${f.fix}`},
          locations: [{logicalLocations: [{name: f.principalName, fullyQualifiedName: f.scope, kind: 'resource'}]}],
          partialFingerprints: {
            accessFinding: `${f.type}|${f.principal.toLowerCase()}|${(f.assignment ?? f.scope).toLowerCase()}|${f.via ?? ''}`,
          },
          properties: {
            severity: f.severity,
            principal: f.principal,
            role: f.role,
            fix: f.fix,
            ...(f.via ? {via: f.via} : {}),
          },
        })),
        properties: {failOn: review.failOn, summary: review.summary},
      },
    ],
  }
}
