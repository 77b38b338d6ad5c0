import { createHash, randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { readJsonFile, writeJsonFile } from '../json-file.js'
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

interface StoredSession extends Session {
  /** sha256 of the cookie token: a leaked sessions file does not let anyone log in. */
  readonly tokenHash: string
}

const hashToken = (token: string): string => createHash('sha256').update(token).digest('base64url')

/**
 * Sessions in `<dataDir>/dashboard/sessions.json`, so a collector restart does not log everyone out.
 * Only token hashes are stored. Expired sessions are dropped on each write.
 */
export class FileSessionStore {
  readonly #path: string
  readonly #ttlMs: number
  readonly #now: () => number
  #sessions: Map<string, StoredSession>

  constructor(deps: { dataDir: string; ttlMs: number; now?: () => number }) {
    this.#path = join(deps.dataDir, 'dashboard', 'sessions.json')
    this.#ttlMs = deps.ttlMs
    this.#now = deps.now ?? Date.now
    const stored = readJsonFile<{ sessions: StoredSession[] }>(this.#path, { sessions: [] }).sessions
    this.#sessions = new Map(stored.map((s) => [s.tokenHash, s]))
  }

  /** Starts a session; the token goes into the cookie and is not kept. */
  create(user: string, role: HomeownerRole): { token: string; session: Session } {
    const token = randomBytes(32).toString('base64url')
    const session = {
      user,
      role,
      csrfToken: randomBytes(24).toString('base64url'),
      createdAtMs: this.#now(),
      expiresAtMs: this.#now() + this.#ttlMs,
    }
    this.#sessions.set(hashToken(token), { ...session, tokenHash: hashToken(token) })
    this.#save()
    return { token, session }
  }

  /** The live session of a cookie token. */
  get(token: string | undefined): Session | undefined {
    if (!token) return undefined
    const found = this.#sessions.get(hashToken(token))
    if (!found || found.expiresAtMs <= this.#now()) return undefined
    return found
  }

  /** Ends a session (logout). */
  delete(token: string): void {
    if (this.#sessions.delete(hashToken(token))) this.#save()
  }

  /** Ends every session of a user (password change, removal). */
  deleteUser(user: string): void {
    for (const [key, s] of this.#sessions) if (s.user === user) this.#sessions.delete(key)
    this.#save()
  }

  #save(): void {
    const nowMs = this.#now()
    for (const [key, s] of this.#sessions) if (s.expiresAtMs <= nowMs) this.#sessions.delete(key)
    writeJsonFile(this.#path, { sessions: [...this.#sessions.values()] })
  }
}
