/**
 * What the live stream sends: everything, keyframes only (about one frame per GOP, a fraction of the
 * bits), or audio only. The camera's stream is tapped, not re-encoded, so these are the steps there are.
 */
export type LiveQuality = 'full' | 'keyframes' | 'audio'

const steps: readonly LiveQuality[] = ['full', 'keyframes', 'audio']

/** Settings of the controller (the `live.adaptation` config). */
export interface LiveQualityOptions {
  /** A round trip this far above the smallest recent one means a queue builds on the uplink. */
  readonly queueDelayMs: number
  /** Time with round trips near the smallest before stepping up. */
  readonly recoverAfterMs: number
  /** Round trips older than this are forgotten, so the smallest follows a changed path. */
  readonly windowMs?: number
}

/**
 * Delay-based adaptation, the idea of Google Congestion Control reduced to steps: the round trip to the
 * collector is probed a few times a second over the control channel; a tbf or Wi-Fi queue filling up
 * shows as a round trip above the path's smallest before any packet is lost. Two high samples in a row
 * step down at once (at most once a second), recoverAfterMs of low samples step up. A lost probe counts
 * as a very high sample.
 */
export class LiveQualityController {
  readonly #options: LiveQualityOptions
  readonly #samples: { atMs: number; rttMs: number }[] = []
  #quality: LiveQuality = 'full'
  #changedAtMs = Number.NEGATIVE_INFINITY
  #highInARow = 0
  #lowSinceMs: number | undefined

  constructor(options: LiveQualityOptions) {
    this.#options = options
  }

  get quality(): LiveQuality {
    return this.#quality
  }

  /** The smallest round trip in the window (ms), or undefined before the first sample. */
  get baseRttMs(): number | undefined {
    return this.#samples.length === 0 ? undefined : Math.min(...this.#samples.map((s) => s.rttMs))
  }

  /** One round-trip sample; returns the quality to send at from now on. */
  observe(rttMs: number, atMs: number): LiveQuality {
    const windowMs = this.#options.windowMs ?? 10_000
    while (this.#samples.length > 0 && (this.#samples[0]?.atMs ?? 0) < atMs - windowMs) this.#samples.shift()
    this.#samples.push({ atMs, rttMs })
    const base = this.baseRttMs ?? rttMs
    const queueMs = rttMs - base
    if (queueMs > this.#options.queueDelayMs) {
      this.#highInARow += 1
      this.#lowSinceMs = undefined
      if (this.#highInARow >= 2 && atMs - this.#changedAtMs >= 1000) this.#step(+1, atMs)
      return this.#quality
    }
    this.#highInARow = 0
    if (queueMs <= this.#options.queueDelayMs / 3) {
      this.#lowSinceMs ??= atMs
      if (
        atMs - this.#lowSinceMs >= this.#options.recoverAfterMs &&
        atMs - this.#changedAtMs >= this.#options.recoverAfterMs
      ) {
        this.#step(-1, atMs)
        this.#lowSinceMs = atMs
      }
    } else {
      this.#lowSinceMs = undefined
    }
    return this.#quality
  }

  #step(direction: 1 | -1, atMs: number): void {
    const index = Math.max(0, Math.min(steps.length - 1, steps.indexOf(this.#quality) + direction))
    const next = steps[index] ?? 'full'
    if (next === this.#quality) return
    this.#quality = next
    this.#changedAtMs = atMs
  }
}
