import type { HomeownerStore, StoredHomeowner } from '../dashboard/homeowner-store.js'
import type { PostgresDatabase } from './postgres-database.js'

/** A row of `homeowners` as read. */
interface HomeownerRow {
  readonly name: string
  readonly role: StoredHomeowner['role']
  readonly password_hash: string
  readonly created_at: string
  readonly password_changed_at: string | null
}

const columns = 'name, role, password_hash, created_at, password_changed_at'

function homeownerOf(row: HomeownerRow): StoredHomeowner {
  return {
    name: row.name,
    role: row.role,
    createdAt: row.created_at,
    passwordHash: row.password_hash,
    ...(row.password_changed_at ? { passwordChangedAt: row.password_changed_at } : {}),
  }
}

/**
 * Dashboard accounts in PostgreSQL, for every node of a fleet: a homeowner signs in on any node, and a
 * password changed through one node voids the sessions on all of them (each request reads its account).
 */
export class PostgresHomeownerStore implements HomeownerStore {
  readonly #db: PostgresDatabase

  constructor(db: PostgresDatabase) {
    this.#db = db
  }

  async get(name: string): Promise<StoredHomeowner | undefined> {
    const found = await this.#db.query<HomeownerRow>(`SELECT ${columns} FROM homeowners WHERE name = $1`, [
      name,
    ])
    const row = found.rows[0]
    return row ? homeownerOf(row) : undefined
  }

  async list(): Promise<StoredHomeowner[]> {
    const found = await this.#db.query<HomeownerRow>(`SELECT ${columns} FROM homeowners ORDER BY position`)
    return found.rows.map(homeownerOf)
  }

  async add(account: StoredHomeowner): Promise<boolean> {
    const added = await this.#db.query(
      `INSERT INTO homeowners (name, role, password_hash, created_at, password_changed_at)
       VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO NOTHING`,
      [
        account.name,
        account.role,
        account.passwordHash,
        account.createdAt,
        account.passwordChangedAt ?? null,
      ],
    )
    return added.rowCount === 1
  }

  async replace(account: StoredHomeowner): Promise<boolean> {
    // The position stays: a replaced account keeps its place in the list.
    const replaced = await this.#db.query(
      `UPDATE homeowners SET role = $2, password_hash = $3, created_at = $4, password_changed_at = $5
        WHERE name = $1`,
      [
        account.name,
        account.role,
        account.passwordHash,
        account.createdAt,
        account.passwordChangedAt ?? null,
      ],
    )
    return replaced.rowCount === 1
  }

  async remove(name: string): Promise<boolean> {
    const removed = await this.#db.query('DELETE FROM homeowners WHERE name = $1', [name])
    return removed.rowCount === 1
  }
}
