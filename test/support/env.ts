/**
 * Shared state of the test run: the one Azurite started by the root hooks (test/support/hooks.ts),
 * and helpers that let each test isolate itself by container name instead of starting its own emulator.
 */
import {randomBytes} from 'node:crypto'

import type {AzuriteInstance} from '../../src/lib/local/azurite.js'

/** The storage accounts the shared Azurite serves (devstoreaccount1 keeps its well-known key). */
export const TEST_ACCOUNTS = [
  'devstoreaccount1',
  'contosoprod',
  'contosobackup',
  'contosologs',
  'contosoexport',
  'contosoaudit',
] as const
export type TestAccountName = (typeof TEST_ACCOUNTS)[number]

let azurite: AzuriteInstance | undefined

/** The shared Azurite of this test run; throws outside the root hooks' lifetime. */
export function getTestAzurite(): AzuriteInstance {
  if (!azurite) {
    throw new Error(
      'The shared Azurite is not running: run the tests with mocha so that test/support/hooks.ts (the root hooks in .mocharc.json) starts it',
    )
  }

  return azurite
}

/** For test/support/hooks.ts only. */
export function setTestAzurite(instance: AzuriteInstance | undefined): void {
  azurite = instance
}

// ---- local HTTPS server (Key Vault / ARM / Monitor) -------------------------------------------
// Reserved: the getter/setter pair for the local HTTPS server goes here (same pattern as Azurite).
// -----------------------------------------------------------------------------------------------

let counter = 0

/**
 * A unique name that is also a valid container name: 3-63 characters, lower-case letters, digits
 * and single hyphens, starting and ending with a letter or digit. `prefix` is sanitised and
 * shortened as needed; the suffix is random so parallel workers and re-runs against a kept
 * Azurite location do not collide.
 */
export function uniqueName(prefix = 't'): string {
  const suffix = `${randomBytes(4).toString('hex')}${(++counter).toString(36)}`
  const clean = prefix
    .toLowerCase()
    .replaceAll(/[^a-z0-9-]+/g, '-')
    .replaceAll(/-{2,}/g, '-')
    .replaceAll(/^-+|-+$/g, '')
    .slice(0, 63 - suffix.length - 1)
    .replace(/-+$/, '')
  return clean ? `${clean}-${suffix}` : `t${suffix}`
}
