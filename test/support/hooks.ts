/**
 * Mocha root hooks (loaded through `require` in .mocharc.json): ONE Azurite for the whole run, with
 * the accounts of the data-map sketch. Tests reach it with getTestAzurite() from ./env.js and isolate
 * themselves by container name (uniqueName()). In --parallel mode each worker gets its own Azurite.
 */
import {randomBytes} from 'node:crypto'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {DEV_ACCOUNT, startAzurite, type AzuriteAccount, type AzuriteInstance} from '../../src/lib/local/azurite.js'
import {TEST_ACCOUNTS, getTestAzurite, setTestAzurite} from './env.js'
import {checkJsonShapes} from './json-shape.js'

function testAccounts(): AzuriteAccount[] {
  return TEST_ACCOUNTS.map((name) =>
    name === DEV_ACCOUNT.name ? DEV_ACCOUNT : {name, key: randomBytes(64).toString('base64')},
  )
}

/**
 * Every temporary file of the run — the tests' own, custos's listing spools, the CLI processes'
 * (they inherit TMPDIR) and Azurite's workspace — goes into one folder, removed when the run ends
 * (kept with CUSTOS_KEEP_TEST_TMP=1, for looking at what a failed test wrote). Set when this module
 * loads, before any test file does, since os.tmpdir() reads TMPDIR on every call.
 */
const runTmp = mkdtempSync(join(tmpdir(), 'custos-test-run-'))
process.env.TMPDIR = runTmp

export const mochaHooks = {
  async beforeAll(this: Mocha.Context): Promise<void> {
    this.timeout(60_000)
    setTestAzurite(await startAzurite({accounts: testAccounts()}))
  },

  async afterAll(this: Mocha.Context): Promise<void> {
    this.timeout(60_000)
    let azurite: AzuriteInstance | undefined
    try {
      azurite = getTestAzurite()
    } catch {
      // beforeAll failed before Azurite was up
    }

    setTestAzurite(undefined)
    await azurite?.stop()
    if (process.env.CUSTOS_KEEP_TEST_TMP !== '1') rmSync(runTmp, {recursive: true, force: true})
    else process.stderr.write(`Temporary files of this run kept in ${runTmp}\n`)

    const changed = checkJsonShapes()
    if (changed.length > 0) {
      throw new Error(
        `The --json output changed shape (test/shapes/); if that is intended, run CUSTOS_UPDATE_SHAPES=1 npm test and commit test/shapes/:\n${changed.join('\n')}`,
      )
    }
  },
}
