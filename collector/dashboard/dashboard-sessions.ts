import { createHash, randomBytes } from 'node:crypto'
import type { HomeownerRole } from './homeowner-store.js'
import type { Session, SessionStore } from './session-store.js'

/** Collaborators of the sessions. */
export interface DashboardSessionsDeps {
  readonly store: SessionStore
  /** How long a login lasts. */
  readonly ttlMs: number
  readonly now?: () => number
}

/** The stored key of a cookie token. */
export const hashSessionToken = (token: string): string =>
  createHash('sha256').update(token).digest('base64url')

/**
 * Dashboard logins over any SessionStore: a random 256-bit cookie token of which only the hash is
 * stored, a CSRF token per session, and expiry after ttlMs. Expired sessions are dropped at each login.
 */
export class DashboardSessions {
  readonly #deps: DashboardSessionsDeps
  readonly #now: () => number

  constructor(deps: DashboardSessionsDeps) {
    this.#deps = deps
    this.#now = deps.now ?? Date.now
  }

  /** Starts a session; the token goes into the cookie and is not kept. */
  async create(user: string, role: HomeownerRole): Promise<{ token: string; session: Session }> {
    const token = randomBytes(32).toString('base64url')
    const nowMs = this.#now()
    const session = {
      user,
      role,
      csrfToken: randomBytes(24).toString('base64url'),
      createdAtMs: nowMs,
      expiresAtMs: nowMs + this.#deps.ttlMs,
    }
    await this.#deps.store.deleteExpired(nowMs)
    await this.#deps.store.put({ ...session, tokenHash: hashSessionToken(token) })
    return { token, session }
  }

  /** The live session of a cookie token. */
  async get(token: string | undefined): Promise<Session | undefined> {
    if (!token) return undefined
    const found = await this.#deps.store.get(hashSessionToken(token))
    if (!found || found.expiresAtMs <= this.#now()) return undefined
    const { tokenHash: _hash, ...session } = found
    return session
  }

  /** Ends a session (logout). */
  delete(token: string): Promise<void> {
    return this.#deps.store.delete(hashSessionToken(token))
  }
}
