/**
 * Mocha root hooks (loaded through `require` in .mocharc.json): ONE Azurite for the whole run, with
 * the accounts of the data-map sketch. Tests reach it with getTestAzurite() from ./env.js and isolate
 * themselves by container name (uniqueName()). In --parallel mode each worker gets its own Azurite.
 */
import {randomBytes} from 'node:crypto'

import {DEV_ACCOUNT, startAzurite, type AzuriteAccount} from '../../src/lib/local/azurite.js'
import {TEST_ACCOUNTS, getTestAzurite, setTestAzurite} from './env.js'

function testAccounts(): AzuriteAccount[] {
  return TEST_ACCOUNTS.map((name) =>
    name === DEV_ACCOUNT.name ? DEV_ACCOUNT : {name, key: randomBytes(64).toString('base64')},
  )
}

export const mochaHooks = {
  async beforeAll(this: Mocha.Context): Promise<void> {
    this.timeout(60_000)
    setTestAzurite(await startAzurite({accounts: testAccounts()}))

    // ---- local HTTPS server (Key Vault / ARM / Monitor): start it here -------------------------
    // ---------------------------------------------------------------------------------------------
  },

  async afterAll(this: Mocha.Context): Promise<void> {
    this.timeout(60_000)

    // ---- local HTTPS server (Key Vault / ARM / Monitor): stop it here ---------------------------
    // ---------------------------------------------------------------------------------------------

    let azurite
    try {
      azurite = getTestAzurite()
    } catch {
      return // beforeAll failed before Azurite was up
    }
    setTestAzurite(undefined)
    await azurite.stop()
  },
}
