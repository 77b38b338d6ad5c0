/** Options of a token bucket: sustained rate and burst. */
export interface TokenBucketOptions {
  readonly perSecond: number
  readonly burst: number
}

/** A budget of bytes per device (limits.deviceBytesPerDay): one node's bucket, or a fleet's. */
export interface ByteBudget {
  /** Takes bytes of deviceId's budget; false, taking none, when it has not that many left. */
  tryTake(deviceId: string, bytes: number): boolean
}

/**
 * A token bucket per key (device id): each publish takes one token (or its bytes, for a byte budget);
 * refills at perSecond up to burst.
 */
export class TokenBucketRateLimiter implements ByteBudget {
  readonly #options: TokenBucketOptions
  readonly #now: () => number
  readonly #buckets = new Map<string, { tokens: number; atMs: number }>()

  constructor(options: TokenBucketOptions, now: () => number = Date.now) {
    this.#options = options
    this.#now = now
  }

  /** Takes count tokens (default one) for key; false, taking none, when the key is over its rate. */
  tryTake(key: string, count = 1): boolean {
    const nowMs = this.#now()
    let bucket = this.#buckets.get(key)
    if (!bucket) {
      bucket = { tokens: this.#options.burst, atMs: nowMs }
      this.#buckets.set(key, bucket)
    }
    const refill = ((nowMs - bucket.atMs) / 1000) * this.#options.perSecond
    bucket.tokens = Math.min(this.#options.burst, bucket.tokens + refill)
    bucket.atMs = nowMs
    if (bucket.tokens < count) return false
    bucket.tokens -= count
    return true
  }
}
