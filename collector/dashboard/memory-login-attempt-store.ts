import type { LoginAttemptStore, LoginAttemptWindow } from './login-attempt-store.js'

/** Default bound on the keys a memory store remembers. */
export const defaultMaxLoginKeys = 10_000

/**
 * Login failure counters in memory. A restart forgets them, which only gives an attacker one more window.
 * At most maxKeys are kept, the oldest forgotten first, so a spray of names cannot grow it without bound.
 */
export class MemoryLoginAttemptStore implements LoginAttemptStore {
  readonly #maxKeys: number
  /** In insertion order, oldest first: a key that starts a new window moves to the end. */
  readonly #windows = new Map<string, { count: number; sinceMs: number }>()

  constructor(options: { maxKeys?: number } = {}) {
    this.#maxKeys = options.maxKeys ?? defaultMaxLoginKeys
  }

  async addFailure(keys: readonly string[], nowMs: number, windowMs: number): Promise<void> {
    for (const key of keys) {
      const entry = this.#windows.get(key)
      if (entry && entry.sinceMs + windowMs > nowMs) entry.count += 1
      else {
        this.#windows.delete(key)
        this.#windows.set(key, { count: 1, sinceMs: nowMs })
      }
      if (this.#windows.size > this.#maxKeys) {
        const oldest = this.#windows.keys().next().value
        if (oldest !== undefined) this.#windows.delete(oldest)
      }
    }
  }

  async read(
    keys: readonly string[],
    nowMs: number,
    windowMs: number,
  ): Promise<(LoginAttemptWindow | undefined)[]> {
    return keys.map((key) => {
      const entry = this.#windows.get(key)
      if (!entry) return undefined
      if (entry.sinceMs + windowMs > nowMs) return { ...entry }
      this.#windows.delete(key)
      return undefined
    })
  }

  async clear(key: string): Promise<void> {
    this.#windows.delete(key)
  }
}
