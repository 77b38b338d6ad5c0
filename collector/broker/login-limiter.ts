import { FailureBackoff, type FailureBackoffOptions } from '../access/failure-backoff.js'
import { addressGroup } from './address-group.js'

/** Backoff of failed logins (limits.login in the config). */
export type LoginLimitOptions = FailureBackoffOptions

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
  readonly #byAddress: FailureBackoff
  readonly #byIdentity: FailureBackoff
  /** Address groups with a successful login, and when; oldest first. */
  readonly #goodAddresses = new Map<string, number>()
  readonly #now: () => number

  constructor(options: LoginLimitOptions, now: () => number = Date.now) {
    this.#options = options
    this.#byAddress = new FailureBackoff(options)
    this.#byIdentity = new FailureBackoff(options)
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
