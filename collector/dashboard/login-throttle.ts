import type { LoginAttemptStore } from './login-attempt-store.js'
import { defaultMaxLoginKeys, MemoryLoginAttemptStore } from './memory-login-attempt-store.js'

/** Limits of the login throttle. */
export interface LoginThrottleOptions {
  /** Failures allowed per key within windowMs before further attempts are refused. */
  readonly maxFailures: number
  readonly windowMs: number
  /** Most keys the default memory store remembers (bounded memory under a spray of names). */
  readonly maxKeys: number
  /** Where the counters live; default in memory. */
  readonly store?: LoginAttemptStore
}

/**
 * Counts failed logins per key (the account name and the client address are both keys) in a fixed
 * window, so guessing a password online costs hours, not seconds.
 */
export class LoginThrottle {
  readonly #maxFailures: number
  readonly #windowMs: number
  readonly #store: LoginAttemptStore
  readonly #now: () => number

  constructor(options: Partial<LoginThrottleOptions> = {}, now: () => number = Date.now) {
    this.#maxFailures = options.maxFailures ?? 10
    this.#windowMs = options.windowMs ?? 15 * 60_000
    this.#store =
      options.store ?? new MemoryLoginAttemptStore({ maxKeys: options.maxKeys ?? defaultMaxLoginKeys })
    this.#now = now
  }

  /** Milliseconds until every key may try again; 0 when they may try now. */
  async retryAfterMs(keys: readonly string[]): Promise<number> {
    const nowMs = this.#now()
    let waitMs = 0
    for (const window of await this.#store.read(keys, nowMs, this.#windowMs)) {
      if (window && window.count >= this.#maxFailures) {
        waitMs = Math.max(waitMs, window.sinceMs + this.#windowMs - nowMs)
      }
    }
    return waitMs
  }

  /** Records a failed attempt for each key. */
  fail(keys: readonly string[]): Promise<void> {
    return this.#store.addFailure(keys, this.#now(), this.#windowMs)
  }

  /** Clears the account's count after a successful login (the address keeps its count). */
  succeed(key: string): Promise<void> {
    return this.#store.clear(key)
  }
}
