import { FailureBackoff } from '../access/failure-backoff.js'
import { addressGroup } from '../broker/address-group.js'

/** Limits of failed dashboard logins (limits.dashboardLogin in the config). */
export interface DashboardLoginLimits {
  /** Failures one address (IPv6: its /64) may have for one account before that pair is backed off. */
  readonly freeFailuresPerAddressAndAccount: number
  /** Failures one address may have over all accounts (a spray of names) before it is backed off. */
  readonly freeFailuresPerAddress: number
  /** Failures of one account from every address together before it is backed off. */
  readonly freeFailuresPerAccount: number
  /** First backoff, doubling with each further failure, up to maxBackoffMs (an address, a pair). */
  readonly baseBackoffMs: number
  readonly maxBackoffMs: number
  /** Longest backoff of an account as a whole: how long strangers' guesses can keep its owner out. */
  readonly maxAccountBackoffMs: number
  /** A key with no failure for this long starts afresh. */
  readonly forgetAfterMs: number
  /** Keys remembered per table; the least recently failed are forgotten first. */
  readonly maxTrackedKeys: number
}

/** One login attempt let through to the password check, already counted as failed until it succeeds. */
export interface LoginAttempt {
  succeeded(): void | Promise<void>
}

/** A login refused unchecked: the milliseconds to wait. */
export interface LoginRefusal {
  readonly retryAfterMs: number
}

/**
 * Where failed dashboard logins are counted: this process's memory (DashboardLoginThrottle, the embedded
 * default) or a fleet's Redis (RedisLoginThrottle), so that every node counts against the same limits.
 * begin counts the attempt before it answers, so a caller that awaits it and then the password check
 * still has parallel guesses counted as sequential ones.
 */
export interface LoginThrottle {
  begin(
    address: string | undefined,
    account: string,
  ): LoginRefusal | LoginAttempt | Promise<LoginRefusal | LoginAttempt>
}

/**
 * Backs off failed dashboard logins per address and account, per address, and per account. An attempt
 * is counted as a failure before its password is checked (scrypt takes tens of milliseconds), so parallel
 * guesses meet the limit as sequential ones do; a success takes its count back. The pair limit is the tight
 * one: a burst from one address backs off that address for that account, up to maxBackoffMs, and leaves
 * the owner's own address alone. The account limit catches guesses spread over many addresses, and is
 * capped at maxAccountBackoffMs so such a burst keeps the owner out for that long at most, not for the
 * attacker's whole window. Counters live in this process; a fleet counts in Redis (RedisLoginThrottle).
 */
export class DashboardLoginThrottle implements LoginThrottle {
  readonly #pairs: FailureBackoff
  readonly #addresses: FailureBackoff
  readonly #accounts: FailureBackoff
  readonly #now: () => number

  constructor(limits: DashboardLoginLimits, now: () => number = Date.now) {
    const common = {
      baseBackoffMs: limits.baseBackoffMs,
      forgetAfterMs: limits.forgetAfterMs,
      maxTrackedKeys: limits.maxTrackedKeys,
    }
    this.#pairs = new FailureBackoff({
      ...common,
      freeFailures: limits.freeFailuresPerAddressAndAccount,
      maxBackoffMs: limits.maxBackoffMs,
    })
    this.#addresses = new FailureBackoff({
      ...common,
      freeFailures: limits.freeFailuresPerAddress,
      maxBackoffMs: limits.maxBackoffMs,
    })
    this.#accounts = new FailureBackoff({
      ...common,
      freeFailures: limits.freeFailuresPerAccount,
      maxBackoffMs: Math.min(limits.maxAccountBackoffMs, limits.maxBackoffMs),
    })
    this.#now = now
  }

  /**
   * Counts an attempt of account from address: a refusal with the milliseconds to wait, or the attempt to
   * check, whose success is to be reported. A refused attempt changes no count.
   */
  begin(address: string | undefined, account: string): LoginRefusal | LoginAttempt {
    const nowMs = this.#now()
    const group = addressGroup(address)
    const pair = `${group}\u0000${account}`
    const retryAfterMs = Math.max(
      this.#pairs.blockedForMs(pair, nowMs),
      this.#addresses.blockedForMs(group, nowMs),
      this.#accounts.blockedForMs(account, nowMs),
    )
    if (retryAfterMs > 0) return { retryAfterMs }
    this.#pairs.fail(pair, nowMs)
    this.#addresses.fail(group, nowMs)
    this.#accounts.fail(account, nowMs)
    return {
      succeeded: () => {
        const atMs = this.#now()
        this.#pairs.forget(pair)
        this.#addresses.undo(group, atMs)
        this.#accounts.undo(account, atMs)
      },
    }
  }
}
