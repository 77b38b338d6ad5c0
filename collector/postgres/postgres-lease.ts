import type { PostgresDatabase } from './postgres-database.js'

/** What a node knows about a lease after asking for it. */
export type LeaseState =
  | { readonly kind: 'held'; readonly epoch: number }
  | { readonly kind: 'elsewhere'; readonly holder: string }

/**
 * A named lease in PostgreSQL, held by one node at a time for ttlMs unless renewed: how a fleet runs a
 * task once, not once per node (device health, offline alerts, the retention sweep). Expiry is judged
 * by the database's clock, so nodes whose clocks differ still agree.
 */
export class PostgresLease {
  readonly #db: PostgresDatabase
  readonly #name: string
  readonly #holder: string
  readonly #ttlMs: number

  constructor(db: PostgresDatabase, options: { name: string; holder: string; ttlMs: number }) {
    this.#db = db
    this.#name = options.name
    this.#holder = options.holder
    this.#ttlMs = options.ttlMs
  }

  /** Takes the lease when it is free or expired, renews it when this node holds it. */
  async acquire(): Promise<LeaseState> {
    const taken = await this.#db.query<{ epoch: string }>(
      `INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, now() + $3 * interval '1 millisecond')
       ON CONFLICT (name) DO UPDATE SET
         holder = EXCLUDED.holder,
         expires_at = EXCLUDED.expires_at,
         epoch = CASE WHEN leases.holder = EXCLUDED.holder THEN leases.epoch ELSE leases.epoch + 1 END
       WHERE leases.holder = EXCLUDED.holder OR leases.expires_at < now()
       RETURNING epoch`,
      [this.#name, this.#holder, this.#ttlMs],
    )
    const row = taken.rows[0]
    if (row) return { kind: 'held', epoch: Number(row.epoch) }
    const current = await this.#db.query<{ holder: string }>('SELECT holder FROM leases WHERE name = $1', [
      this.#name,
    ])
    return { kind: 'elsewhere', holder: current.rows[0]?.holder ?? '' }
  }

  /** Gives the lease up at once (a clean shutdown), so another node need not wait for it to expire. */
  async release(): Promise<void> {
    await this.#db.query('DELETE FROM leases WHERE name = $1 AND holder = $2', [this.#name, this.#holder])
  }
}
