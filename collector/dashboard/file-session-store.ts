import { join } from 'node:path'
import { JsonFileState } from '../json-file.js'
import type { SessionStore, StoredSession } from './session-store.js'

type Sessions = ReadonlyMap<string, StoredSession>

/**
 * Sessions in `<dataDir>/dashboard/sessions.json`, so a collector restart does not log everyone out.
 * Read once, kept in memory, and rewritten atomically on each change.
 */
export class FileSessionStore implements SessionStore {
  readonly #state: JsonFileState<Sessions>

  constructor(dataDir: string) {
    this.#state = new JsonFileState<Sessions>(join(dataDir, 'dashboard', 'sessions.json'), {
      fromFile: (file) => {
        const stored = (file as { sessions?: StoredSession[] } | undefined)?.sessions ?? []
        return new Map(stored.map((s) => [s.tokenHash, s]))
      },
      toFile: (sessions) => ({ sessions: [...sessions.values()] }),
    })
  }

  async put(session: StoredSession): Promise<void> {
    await this.#state.change((sessions) => new Map(sessions).set(session.tokenHash, session))
  }

  async get(tokenHash: string): Promise<StoredSession | undefined> {
    return (await this.#state.read()).get(tokenHash)
  }

  async delete(tokenHash: string): Promise<void> {
    await this.#state.change((sessions) => {
      if (!sessions.has(tokenHash)) return undefined
      const kept = new Map(sessions)
      kept.delete(tokenHash)
      return kept
    })
  }

  async deleteExpired(nowMs: number): Promise<void> {
    await this.#state.change((sessions) => {
      const kept = new Map([...sessions].filter(([, s]) => s.expiresAtMs > nowMs))
      return kept.size === sessions.size ? undefined : kept
    })
  }
}
