#!/usr/bin/env node
/**
 * The built CLI with one test hook, for the tests that must stop `customer erase` at a chosen
 * point and kill or interrupt it there: `node test/support/erase-cli.js <custos args>` runs custos
 * exactly as bin/run.js does, except that after CUSTOS_TEST_PAUSE_AFTER_BATCHES batches are
 * journaled the erase prints "paused after N batch(es)" on stderr and waits — holding its erase
 * lock — until it is killed or interrupted.
 *
 * custos itself reads no such variable: the hook is added here, in this process, through the
 * command's eraseHooks() (a `batchJournaled` hook of src/lib/erase/erase.ts), so nothing a user
 * sets can pause an erase.
 */
import {execute} from '@oclif/core'
import {dirname, join} from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'

export const PAUSE_AFTER_BATCHES_ENV = 'CUSTOS_TEST_PAUSE_AFTER_BATCHES'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const pauseAfter = Number(process.env[PAUSE_AFTER_BATCHES_ENV])
// The same module (same URL) that oclif loads for `customer erase`, so the patch is the one it runs.
const {default: CustomerErase} = await import(
  pathToFileURL(join(root, 'dist', 'commands', 'customer', 'erase.js')).href
)
const eraseHooks = CustomerErase.prototype.eraseHooks
CustomerErase.prototype.eraseHooks = function () {
  let paused = false
  return {
    ...eraseHooks.call(this),
    async batchJournaled(batches, signal) {
      if (!pauseAfter || batches < pauseAfter) return
      if (!paused) process.stderr.write(`custos: paused after ${batches} batch(es) for a test\n`)
      paused = true
      if (signal.aborted) throw signal.reason
      // Held open by a timer: nothing else keeps the event loop alive while paused.
      const keepAlive = setInterval(() => {}, 60_000)
      try {
        await new Promise((_resolve, reject) =>
          signal.addEventListener('abort', () => reject(signal.reason), {once: true}),
        )
      } finally {
        clearInterval(keepAlive)
      }
    },
  }
}

await execute({dir: pathToFileURL(join(root, 'bin', 'run.js')).href})
