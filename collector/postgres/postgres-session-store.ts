import type { SessionStore, StoredSession } from '../dashboard/session-store.js'
import type { PostgresDatabase } from './postgres-database.js'

/** A row of `dashboard_sessions` as read (bigint columns arrive as strings). */
interface SessionRow {
  readonly token_hash: string
  readonly user_name: string
  readonly role: StoredSession['role']
  readonly csrf_token: string
  readonly created_at_ms: string
  readonly expires_at_ms: string
}

/**
 * Dashboard sessions in PostgreSQL, for every node of a fleet: the balancer may send a browser's next
 * request to any node, and a logout through one node ends the session on all of them.
 */
export class PostgresSessionStore implements SessionStore {
  readonly #db: PostgresDatabase

  constructor(db: PostgresDatabase) {
    this.#db = db
  }

  async put(session: StoredSession): Promise<void> {
    await this.#db.query(
      `INSERT INTO dashboard_sessions (token_hash, user_name, role, csrf_token, created_at_ms, expires_at_ms)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (token_hash) DO UPDATE SET user_name = EXCLUDED.user_name, role = EXCLUDED.role,
         csrf_token = EXCLUDED.csrf_token, created_at_ms = EXCLUDED.created_at_ms,
         expires_at_ms = EXCLUDED.expires_at_ms`,
      [
        session.tokenHash,
        session.user,
        session.role,
        session.csrfToken,
        session.createdAtMs,
        session.expiresAtMs,
      ],
    )
  }

  async get(tokenHash: string): Promise<StoredSession | undefined> {
    const found = await this.#db.query<SessionRow>(
      `SELECT token_hash, user_name, role, csrf_token, created_at_ms, expires_at_ms
         FROM dashboard_sessions WHERE token_hash = $1`,
      [tokenHash],
    )
    const row = found.rows[0]
    if (!row) return undefined
    return {
      tokenHash: row.token_hash,
      user: row.user_name,
      role: row.role,
      csrfToken: row.csrf_token,
      createdAtMs: Number(row.created_at_ms),
      expiresAtMs: Number(row.expires_at_ms),
    }
  }

  async delete(tokenHash: string): Promise<void> {
    await this.#db.query('DELETE FROM dashboard_sessions WHERE token_hash = $1', [tokenHash])
  }

  async deleteExpired(nowMs: number): Promise<void> {
    await this.#db.query('DELETE FROM dashboard_sessions WHERE expires_at_ms <= $1', [nowMs])
  }
}
