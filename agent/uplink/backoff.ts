/** Settings of the reconnect backoff. */
export interface BackoffOptions {
  /** Delay ceiling before jitter of the first retry. */
  readonly initialDelayMs: number
  /** Delay ceiling never exceeded, however many attempts failed. */
  readonly maxDelayMs: number
  /** Growth per failed attempt; 2 doubles. */
  readonly factor?: number
}

/**
 * Exponential backoff with "equal jitter": attempt n waits between half and all of
 * min(maxDelayMs, initialDelayMs * factor^n). The random half keeps a street of doorbells that lost the
 * same Wi-Fi from reconnecting in lockstep; the fixed half keeps a retry from firing at once.
 */
export class ExponentialBackoff {
  readonly #options: Required<BackoffOptions>
  readonly #random: () => number
  #attempt = 0

  constructor(options: BackoffOptions, random: () => number = Math.random) {
    this.#options = { factor: 2, ...options }
    this.#random = random
  }

  /** Failed attempts since the last reset. */
  get attempt(): number {
    return this.#attempt
  }

  /** The delay before the next attempt, in ms; counts the attempt. */
  next(): number {
    const { initialDelayMs, maxDelayMs, factor } = this.#options
    const ceiling = Math.min(maxDelayMs, initialDelayMs * factor ** Math.min(this.#attempt, 60))
    this.#attempt++
    const half = ceiling / 2
    return Math.round(half + this.#random() * half)
  }

  /** Back to the first delay, after a connection that worked. */
  reset(): void {
    this.#attempt = 0
  }
}
