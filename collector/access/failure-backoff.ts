/** Backoff of one table of failure counters. */
export interface FailureBackoffOptions {
  /** Failures a key may have before it is backed off. */
  readonly freeFailures: number
  /** First backoff; each further failure doubles it, up to maxBackoffMs. */
  readonly baseBackoffMs: number
  readonly maxBackoffMs: number
  /** A key with no failure for this long starts afresh. */
  readonly forgetAfterMs: number
  /** Keys remembered; the least recently failed are forgotten first. */
  readonly maxTrackedKeys: number
}

interface Failures {
  count: number
  lastMs: number
  blockedUntilMs: number
}

/**
 * Failures per key with exponential backoff, in a table of bounded size. Synchronous on purpose: a caller
 * counts an attempt before it awaits the check, so parallel attempts cannot all pass one read.
 */
export class FailureBackoff {
  readonly #options: FailureBackoffOptions
  readonly #entries = new Map<string, Failures>()

  constructor(options: FailureBackoffOptions) {
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

  /** Milliseconds until the key may try again; 0 when it may now. */
  blockedForMs(key: string, nowMs: number): number {
    const entry = this.#live(key, nowMs)
    return entry ? Math.max(0, entry.blockedUntilMs - nowMs) : 0
  }

  isBlocked(key: string, nowMs: number): boolean {
    return this.blockedForMs(key, nowMs) > 0
  }

  hasFailed(key: string, nowMs: number): boolean {
    return this.#live(key, nowMs) !== undefined
  }

  fail(key: string, nowMs: number): void {
    const entry = this.#live(key, nowMs) ?? { count: 0, lastMs: nowMs, blockedUntilMs: 0 }
    entry.count += 1
    entry.lastMs = nowMs
    entry.blockedUntilMs = this.#blockedUntil(entry.count, nowMs)
    // Re-inserted last, so the first entry is always the least recently failed.
    this.#entries.delete(key)
    this.#entries.set(key, entry)
    if (this.#entries.size > this.#options.maxTrackedKeys) {
      this.#entries.delete(this.#entries.keys().next().value as string)
    }
  }

  /** Takes back one failure counted ahead of a check that then succeeded. */
  undo(key: string, nowMs: number): void {
    const entry = this.#live(key, nowMs)
    if (!entry) return
    entry.count -= 1
    if (entry.count <= 0) this.#entries.delete(key)
    else if (entry.count <= this.#options.freeFailures) entry.blockedUntilMs = 0
  }

  forget(key: string): void {
    this.#entries.delete(key)
  }

  #blockedUntil(count: number, nowMs: number): number {
    const over = count - this.#options.freeFailures
    if (over <= 0) return 0
    const { baseBackoffMs, maxBackoffMs } = this.#options
    return nowMs + Math.min(maxBackoffMs, baseBackoffMs * 2 ** Math.min(over - 1, 30))
  }
}
