/** The data map's database entries by engine. */
import type {DataMap, PostgresDatabaseEntry} from './types.js'

/** The `engine: postgresql` entries of `databases[]` (with what backups and posture expect of them). */
export function postgresDatabases(map: DataMap): PostgresDatabaseEntry[] {
  return map.databases.filter((d): d is PostgresDatabaseEntry => d.engine === 'postgresql')
}
