/** Limits of the login throttle. */
export interface LoginThrottleOptions {
  /** Failures allowed per key within windowMs before further attempts are refused. */
  readonly maxFailures: number
  readonly windowMs: number
  /** Most keys remembered; the oldest is forgotten first (bounded memory under a spray of names). */
  readonly maxKeys: number
}

/**
 * Counts failed logins per key (the account name and the client address are both keys) in a fixed
 * window, so guessing a password online costs hours, not seconds. In memory: a restart forgets it, which
 * only gives an attacker one more window.
 */
export class LoginThrottle {
  readonly #options: LoginThrottleOptions
  readonly #now: () => number
  readonly #failures = new Map<string, { count: number; sinceMs: number }>()

  constructor(options: Partial<LoginThrottleOptions> = {}, now: () => number = Date.now) {
    this.#options = { maxFailures: 10, windowMs: 15 * 60_000, maxKeys: 10_000, ...options }
    this.#now = now
  }

  /** Milliseconds until a key may try again; 0 when it may try now. */
  retryAfterMs(keys: readonly string[]): number {
    const nowMs = this.#now()
    let waitMs = 0
    for (const key of keys) {
      const entry = this.#failures.get(key)
      if (!entry) continue
      const endsMs = entry.sinceMs + this.#options.windowMs
      if (endsMs <= nowMs) this.#failures.delete(key)
      else if (entry.count >= this.#options.maxFailures) waitMs = Math.max(waitMs, endsMs - nowMs)
    }
    return waitMs
  }

  /** Records a failed attempt for each key. */
  fail(keys: readonly string[]): void {
    const nowMs = this.#now()
    for (const key of keys) {
      const entry = this.#failures.get(key)
      if (entry && entry.sinceMs + this.#options.windowMs > nowMs) entry.count += 1
      else {
        this.#failures.delete(key)
        this.#failures.set(key, { count: 1, sinceMs: nowMs })
      }
      if (this.#failures.size > this.#options.maxKeys) {
        const oldest = this.#failures.keys().next().value
        if (oldest !== undefined) this.#failures.delete(oldest)
      }
    }
  }

  /** Clears the account's count after a successful login (the address keeps its count). */
  succeed(key: string): void {
    this.#failures.delete(key)
  }
}
