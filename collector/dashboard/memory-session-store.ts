import type { SessionStore, StoredSession } from './session-store.js'

/** Sessions in memory, lost with the process: the simulated store, for tests. */
export class MemorySessionStore implements SessionStore {
  readonly #sessions = new Map<string, StoredSession>()

  async put(session: StoredSession): Promise<void> {
    this.#sessions.set(session.tokenHash, session)
  }

  async get(tokenHash: string): Promise<StoredSession | undefined> {
    return this.#sessions.get(tokenHash)
  }

  async delete(tokenHash: string): Promise<void> {
    this.#sessions.delete(tokenHash)
  }

  async deleteExpired(nowMs: number): Promise<void> {
    for (const [key, s] of this.#sessions) if (s.expiresAtMs <= nowMs) this.#sessions.delete(key)
  }
}
