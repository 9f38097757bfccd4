/**
 * Until export and erase handle database stores, a data map with `databases` must not be exported
 * or erased at all: an export would lack the rows, and an erase certificate would claim a customer
 * is gone while its rows remain. Refusing (exit 3) is the only honest answer.
 */
import type {DataMap} from '../datamap/types.js'
import {refusedError} from '../errors.js'

const consequence = {
  erase: 'the certificate would claim rows are gone that remain',
  export: "the export and its manifest would claim to hold the customer's data without its rows",
} as const

/** Throws (exit 3) when the map has databases, naming the first; called before anything runs. */
export function refuseDatabaseStores(map: DataMap, command: 'erase' | 'export'): void {
  const first = map.databases[0]
  if (!first) return
  const more = map.databases.length > 1 ? ` and ${map.databases.length - 1} more` : ''
  throw refusedError(
    'DatabasesNotSupported',
    `customer ${command} does not ${command} database stores yet (databases[0] "${first.name}"${more}): ${consequence[command]}.`,
    `Use \`custos customer inventory\` to see the customer's rows; ${command} them with the database's own tools, or run ${command} with a data map without \`databases\` for the blob stores alone.`,
  )
}
