import type { HomeownerRole } from './homeowner-store.js'

/** A logged-in browser. */
export interface Session {
  readonly user: string
  readonly role: HomeownerRole
  /** Sent back in the x-csrf-token header on every unsafe request (synchronizer token). */
  readonly csrfToken: string
  readonly createdAtMs: number
  readonly expiresAtMs: number
}

/** A session as stored: keyed by the hash of its cookie token, never the token. */
export interface StoredSession extends Session {
  /** sha256 of the cookie token (base64url): a leaked store does not let anyone log in. */
  readonly tokenHash: string
}

/**
 * Where dashboard sessions are kept, by token hash; tokens, hashing and expiry are in
 * dashboard-sessions.ts. Every implementation passes
 * test/collector/store/contracts/session-store.contract.ts.
 */
export interface SessionStore {
  /** Adds (or replaces, same hash) a session. */
  put(session: StoredSession): Promise<void>
  /** The session of a token hash, expired or not. */
  get(tokenHash: string): Promise<StoredSession | undefined>
  /** Removes a session; nothing happens for an unknown hash. */
  delete(tokenHash: string): Promise<void>
  /** Removes every session that expired at or before nowMs. */
  deleteExpired(nowMs: number): Promise<void>
}
