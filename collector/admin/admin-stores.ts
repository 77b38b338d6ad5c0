import type { CollectorConfig } from '../config.js'
import { FileHomeownerStore } from '../dashboard/file-homeowner-store.js'
import type { HomeownerStore } from '../dashboard/homeowner-store.js'
import { FileIdentityRegistry } from '../registry/file-identity-registry.js'
import type { ManagedIdentityRegistry } from '../registry/identity-registry.js'

/** The stores doorbell-admin changes, where the collector reads them. */
export interface AdminStores {
  /** Opened when first asked for: PostgreSQL's registry reads every device, which homeowner commands need not. */
  registry(): Promise<ManagedIdentityRegistry>
  readonly homeowners: HomeownerStore
  close(): Promise<void>
}

/**
 * Opens the registry and the homeowners where the collector's config keeps them: files in dataDir on the
 * embedded default, the fleet's PostgreSQL with `store: postgres` (its schema brought up to date first,
 * so the admin may register devices before any node has started). Every node hears the change (NOTIFY).
 */
export async function openAdminStores(config: CollectorConfig, dataDir: string): Promise<AdminStores> {
  if (config.store.engine === 'level') {
    return {
      registry: async () => new FileIdentityRegistry(dataDir),
      homeowners: new FileHomeownerStore(dataDir),
      close: async () => {},
    }
  }
  // Imported only for store: postgres, as the collector does, so the file path loads no PostgreSQL client.
  const [
    { PostgresDatabase },
    { migratePostgres },
    { PostgresIdentityRegistry },
    { PostgresHomeownerStore },
  ] = await Promise.all([
    import('../postgres/postgres-database.js'),
    import('../postgres/postgres-migrations.js'),
    import('../postgres/postgres-identity-registry.js'),
    import('../postgres/postgres-homeowner-store.js'),
  ])
  const url = config.postgres.url
  if (!url) throw new Error('store: postgres needs postgres.url')
  // The pool first: a database that cannot be reached is POSTGRES_UNAVAILABLE, before any migration.
  const db = await PostgresDatabase.open(
    { ...config.postgres, url, maxConnections: 2, applicationName: 'doorbell-admin' },
    () => {},
  )
  try {
    await migratePostgres(url)
    return {
      registry: () => PostgresIdentityRegistry.open(db),
      homeowners: new PostgresHomeownerStore(db),
      close: () => db.close(),
    }
  } catch (err) {
    await db.close()
    throw err
  }
}
