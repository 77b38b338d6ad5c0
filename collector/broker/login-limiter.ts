import { addressGroup } from './address-group.js'

/** Backoff of failed logins (limits.login in the config). */
export interface LoginLimitOptions {
  /** Failures a key may have before it is backed off. */
  readonly freeFailures: number
  /** First backoff; each further failure doubles it, up to maxBackoffMs. */
  readonly baseBackoffMs: number
  readonly maxBackoffMs: number
  /** A key with no failure for this long starts afresh. */
  readonly forgetAfterMs: number
  /** Keys remembered per table; the least recently failed are forgotten first. */
  readonly maxTrackedKeys: number
}

interface Failures {
  count: number
  lastMs: number
  blockedUntilMs: number
}

/** Failures per key with exponential backoff, in a table of bounded size. */
class FailureTable {
  readonly #options: LoginLimitOptions
  readonly #entries = new Map<string, Failures>()

  constructor(options: LoginLimitOptions) {
    this.#options = options
  }

  #live(key: string, nowMs: number): Failures | undefined {
    const entry = this.#entries.get(key)
    if (entry && nowMs - entry.lastMs > this.#options.forgetAfterMs) {
      this.#entries.delete(key)
      return undefined
    }
    return entry
  }

  isBlocked(key: string, nowMs: number): boolean {
    const entry = this.#live(key, nowMs)
    return entry !== undefined && entry.blockedUntilMs > nowMs
  }

  hasFailed(key: string, nowMs: number): boolean {
    return this.#live(key, nowMs) !== undefined
  }

  fail(key: string, nowMs: number): void {
    const entry = this.#live(key, nowMs) ?? { count: 0, lastMs: nowMs, blockedUntilMs: 0 }
    entry.count += 1
    entry.lastMs = nowMs
    const over = entry.count - this.#options.freeFailures
    if (over > 0) {
      const backoffMs = Math.min(
        this.#options.maxBackoffMs,
        this.#options.baseBackoffMs * 2 ** Math.min(over - 1, 30),
      )
      entry.blockedUntilMs = nowMs + backoffMs
    }
    // Re-inserted last, so the first entry is always the least recently failed.
    this.#entries.delete(key)
    this.#entries.set(key, entry)
    if (this.#entries.size > this.#options.maxTrackedKeys) {
      this.#entries.delete(this.#entries.keys().next().value as string)
    }
  }

  forget(key: string): void {
    this.#entries.delete(key)
  }
}

/**
 * Limits failed logins per client address (IPv6: per /64) and per claimed identity, never the right
 * secret from a clean address. An address past its free failures is backed off: its connections are
 * closed at accept until the backoff ends. An identity past its free failures is backed off too, but
 * that only stops addresses that have themselves failed recently: the genuine device, whose address has
 * not, is still checked and let in while a crowd of addresses guesses its secret. Secrets are 256 random
 * bits, so the limits are not what keeps them safe; they bound what a flood costs and what it logs.
 */
export class LoginLimiter {
  readonly #byAddress: FailureTable
  readonly #byIdentity: FailureTable
  readonly #now: () => number

  constructor(options: LoginLimitOptions, now: () => number = Date.now) {
    this.#byAddress = new FailureTable(options)
    this.#byIdentity = new FailureTable(options)
    this.#now = now
  }

  /** True while logins from this address are refused unchecked. */
  isAddressBlocked(address: string | undefined): boolean {
    return this.#byAddress.isBlocked(addressGroup(address), this.#now())
  }

  /** True when a login for identity from address must be refused unchecked. */
  isRefused(address: string | undefined, identity: string): boolean {
    const key = addressGroup(address)
    const nowMs = this.#now()
    if (this.#byAddress.isBlocked(key, nowMs)) return true
    return this.#byIdentity.isBlocked(identity, nowMs) && this.#byAddress.hasFailed(key, nowMs)
  }

  /** Counts a failed login. */
  failed(address: string | undefined, identity: string): void {
    const nowMs = this.#now()
    this.#byAddress.fail(addressGroup(address), nowMs)
    this.#byIdentity.fail(identity, nowMs)
  }

  /** A login succeeded: the identity's failures are forgotten (the address's are not). */
  succeeded(identity: string): void {
    this.#byIdentity.forget(identity)
  }
}
