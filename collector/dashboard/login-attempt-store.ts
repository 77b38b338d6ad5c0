/** Failed logins of one key in its current window. */
export interface LoginAttemptWindow {
  readonly count: number
  /** When the window began (the first failure in it), ms since the epoch. */
  readonly sinceMs: number
}

/**
 * Counters of failed logins per key, each in a fixed window that begins with its first failure and lasts
 * windowMs (a Redis store: INCR with a PEXPIRE set on the first). The policy (how many, how long) is
 * login-throttle.ts's. Every implementation passes
 * test/collector/store/contracts/login-attempt-store.contract.ts.
 */
export interface LoginAttemptStore {
  /** Counts one failure of each key; a key whose window ended starts a new one at nowMs. */
  addFailure(keys: readonly string[], nowMs: number, windowMs: number): Promise<void>
  /** The open window of each key at nowMs, in order; undefined for none or one that ended. */
  read(keys: readonly string[], nowMs: number, windowMs: number): Promise<(LoginAttemptWindow | undefined)[]>
  /** Forgets a key's failures. */
  clear(key: string): Promise<void>
}
