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
 * secret from an address that has logged in recently. An address past its free failures is backed off:
 * its connections are closed at accept until the backoff ends. An identity past its free failures is
 * backed off too, but that only stops addresses that have themselves failed. Either way an address with a
 * successful login in the last `forgetAfterMs` is still checked: a household behind one NAT keeps its
 * doorbell when a second device with a stale secret retries for ever, or when a crowd guesses the
 * doorbell's secret from that address. Secrets are 256 random bits and a check costs microseconds, so the
 * limits are not what keeps secrets safe; they bound what a flood costs (a TLS handshake, a legacy scrypt
 * check) and what it logs.
 */
export class LoginLimiter {
  readonly #options: LoginLimitOptions
  readonly #byAddress: FailureTable
  readonly #byIdentity: FailureTable
  /** Address groups with a successful login, and when; oldest first. */
  readonly #goodAddresses = new Map<string, number>()
  readonly #now: () => number

  constructor(options: LoginLimitOptions, now: () => number = Date.now) {
    this.#options = options
    this.#byAddress = new FailureTable(options)
    this.#byIdentity = new FailureTable(options)
    this.#now = now
  }

  /** True while connections from this address are closed unchecked. */
  isAddressBlocked(address: string | undefined): boolean {
    const key = addressGroup(address)
    const nowMs = this.#now()
    return this.#byAddress.isBlocked(key, nowMs) && !this.#isGood(key, nowMs)
  }

  /** True when a login for identity from address must be refused unchecked. */
  isRefused(address: string | undefined, identity: string): boolean {
    const key = addressGroup(address)
    const nowMs = this.#now()
    if (this.#isGood(key, nowMs)) return false
    if (this.#byAddress.isBlocked(key, nowMs)) return true
    return this.#byIdentity.isBlocked(identity, nowMs) && this.#byAddress.hasFailed(key, nowMs)
  }

  #isGood(key: string, nowMs: number): boolean {
    const atMs = this.#goodAddresses.get(key)
    return atMs !== undefined && nowMs - atMs <= this.#options.forgetAfterMs
  }

  /** Counts a failed login. */
  failed(address: string | undefined, identity: string): void {
    const nowMs = this.#now()
    this.#byAddress.fail(addressGroup(address), nowMs)
    this.#byIdentity.fail(identity, nowMs)
  }

  /** A login succeeded: the identity's failures are forgotten, the address counts as good for a while. */
  succeeded(address: string | undefined, identity: string): void {
    this.#byIdentity.forget(identity)
    const key = addressGroup(address)
    this.#goodAddresses.delete(key)
    this.#goodAddresses.set(key, this.#now())
    if (this.#goodAddresses.size > this.#options.maxTrackedKeys) {
      this.#goodAddresses.delete(this.#goodAddresses.keys().next().value as string)
    }
  }
}
