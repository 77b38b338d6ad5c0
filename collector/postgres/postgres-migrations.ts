import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runner } from 'node-pg-migrate'
import { DoorbellError } from '../../shared/errors.js'
import { redactedUrl } from './postgres-database.js'

/** The table node-pg-migrate records applied migrations in. */
export const migrationsTable = 'doorbell_migrations'

/**
 * The numbered .sql files of the schema: beside the compiled module when the container image copies
 * them there, else in the source tree (tsc does not copy .sql files into dist/).
 */
export function migrationsDir(): string {
  const here = dirname(fileURLToPath(import.meta.url))
  const beside = join(here, 'migrations')
  if (existsSync(beside)) return beside
  return resolve(here, '../../../collector/postgres/migrations')
}

/**
 * Brings the schema up to date. node-pg-migrate holds a PostgreSQL advisory lock while it runs, so nodes
 * that start together apply each migration once; a node that finds them applied does nothing. Returns
 * the names of the migrations applied now.
 */
export async function migratePostgres(url: string): Promise<string[]> {
  try {
    const applied = await runner({
      databaseUrl: url,
      dir: migrationsDir(),
      migrationsTable,
      direction: 'up',
      count: Number.POSITIVE_INFINITY,
      checkOrder: true,
      // Nodes that start together wait for the first one's migrations, then find nothing left to do.
      advisoryLockMode: 'wait',
      singleTransaction: true,
      migrationLoaderStrategies: [{ extensions: ['.sql'], loader: 'sql' }],
      log: () => {},
    })
    return applied.map((migration) => migration.name)
  } catch (err) {
    throw new DoorbellError('POSTGRES_MIGRATION_FAILED', `${redactedUrl(url)}: ${(err as Error).message}`, {
      cause: err,
    })
  }
}
