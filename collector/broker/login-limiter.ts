import { FailureBackoff, type FailureBackoffOptions } from '../access/failure-backoff.js'
import { addressGroup } from './address-group.js'

/** Backoff of failed logins (limits.login in the config). */
export type LoginLimitOptions = FailureBackoffOptions

/**
 * What one node tells the others of its logins: a failure, a success of an address or identity that had
 * failures, or that an address backed off elsewhere is one a device logged in from here.
 */
export type LoginLimitEvent =
  | { readonly kind: 'failed' | 'succeeded'; readonly address: string; readonly identity: string }
  | { readonly kind: 'good'; readonly address: string }

/** Carries login events between the nodes of a fleet (Redis); absent on one node. */
export interface LoginLimitFeed {
  /** Tells the other nodes, without waiting: a lost event costs a node at most its own free failures. */
  publish(event: LoginLimitEvent): void
  /** Hears the other nodes' events, not this node's own. */
  onEvent(listener: (event: LoginLimitEvent) => void): void
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
 *
 * In a fleet every node applies the others' failures and successes from the feed to its own tables, so a
 * guesser spread over the nodes is backed off after the free failures of one (give or take the events in
 * flight, milliseconds), and every check stays a lookup in memory: only failures, and successes of keys
 * that had failed, go over the network, so a reconnect storm of genuine devices costs no round trip.
 */
export class LoginLimiter {
  readonly #options: LoginLimitOptions
  readonly #byAddress: FailureBackoff
  readonly #byIdentity: FailureBackoff
  /** Address groups with a successful login, and when; oldest first. */
  readonly #goodAddresses = new Map<string, number>()
  readonly #now: () => number

  readonly #feed: LoginLimitFeed | undefined

  constructor(options: LoginLimitOptions, now: () => number = Date.now, feed?: LoginLimitFeed) {
    this.#options = options
    this.#byAddress = new FailureBackoff(options)
    this.#byIdentity = new FailureBackoff(options)
    this.#now = now
    this.#feed = feed
    feed?.onEvent((event) => this.#apply(event))
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
    const key = addressGroup(address)
    this.#feed?.publish({ kind: 'failed', address: key, identity })
    this.#countFailure(key, identity)
  }

  /** A login succeeded: the identity's failures are forgotten, the address counts as good for a while. */
  succeeded(address: string | undefined, identity: string): void {
    const key = addressGroup(address)
    const nowMs = this.#now()
    const hadFailed = this.#byIdentity.hasFailed(identity, nowMs) || this.#byAddress.hasFailed(key, nowMs)
    this.#byIdentity.forget(identity)
    this.#markGood(key)
    if (hadFailed) this.#feed?.publish({ kind: 'succeeded', address: key, identity })
  }

  #countFailure(key: string, identity: string): void {
    const nowMs = this.#now()
    const wasBlocked = this.#byAddress.isBlocked(key, nowMs)
    this.#byAddress.fail(key, nowMs)
    this.#byIdentity.fail(identity, nowMs)
    // A device logged in from this address through this node, which the others may not know (a clean
    // success is not published): tell them as the address starts being backed off, so the household
    // behind it keeps its doorbell on every node.
    if (!wasBlocked && this.#byAddress.isBlocked(key, nowMs) && this.#isGood(key, nowMs))
      this.#feed?.publish({ kind: 'good', address: key })
  }

  #markGood(key: string): void {
    this.#goodAddresses.delete(key)
    this.#goodAddresses.set(key, this.#now())
    if (this.#goodAddresses.size > this.#options.maxTrackedKeys) {
      this.#goodAddresses.delete(this.#goodAddresses.keys().next().value as string)
    }
  }

  /** Another node's event; the address arrives as its group already. */
  #apply(event: LoginLimitEvent): void {
    switch (event.kind) {
      case 'good':
        this.#markGood(event.address)
        break
      case 'succeeded':
        this.#byIdentity.forget(event.identity)
        this.#markGood(event.address)
        break
      case 'failed':
        this.#countFailure(event.address, event.identity)
        break
    }
  }
}
