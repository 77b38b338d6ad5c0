import type {
  DiscoveryStateLoad,
  DiscoveryStateStore,
  DiscoveryStatus,
} from '../alerts/discovery-state-store.js'
import type { PostgresDatabase } from './postgres-database.js'

/**
 * Home Assistant discovery's memory in PostgreSQL `discovery_state` (migrations/0006), one set for the
 * fleet. A save replaces the set in one transaction; this node's saves are chained so they land in call
 * order, as the interface promises (between nodes, the last commit wins).
 */
export class PostgresDiscoveryStateStore implements DiscoveryStateStore {
  readonly #db: PostgresDatabase
  #chain: Promise<void> = Promise.resolve()

  constructor(db: PostgresDatabase) {
    this.#db = db
  }

  async load(): Promise<DiscoveryStateLoad> {
    const rows = await this.#db.query<{ deviceId: string; status: DiscoveryStatus }>(
      'SELECT device_id AS "deviceId", status FROM discovery_state ORDER BY device_id',
    )
    return { devices: new Map(rows.rows.map((row) => [row.deviceId, row.status])) }
  }

  save(devices: ReadonlyMap<string, DiscoveryStatus>): Promise<void> {
    // Copied now: the caller may change its map before this save's turn comes.
    const entries = [...devices]
    const next = this.#chain.then(() =>
      this.#db.transaction(async (client) => {
        await client.query('DELETE FROM discovery_state')
        if (entries.length === 0) return
        await client.query(
          'INSERT INTO discovery_state (device_id, status) SELECT * FROM unnest($1::text[], $2::text[])',
          [entries.map(([deviceId]) => deviceId), entries.map(([, status]) => status)],
        )
      }),
    )
    this.#chain = next.catch(() => undefined)
    return next
  }
}
