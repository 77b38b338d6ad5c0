/** Deadband settings for one kind of reading. */
export interface DeadbandOptions {
  /** Smallest absolute change that is sent, in the reading's unit. */
  readonly minDelta: number
  /** Smallest change relative to the last sent value (0.1 = 10 %); either threshold passing is enough. */
  readonly minRatio?: number
  /** An unchanged reading is still sent after this long, so the collector sees the sensor is alive. */
  readonly maxSilenceMs: number
}

interface LastSent {
  readonly value: number
  readonly atMs: number
}

/**
 * Change and threshold filter for medium readings: a reading is sent when it moved by at
 * least the deadband since the last one sent for the same key, when `force` says it crossed a
 * threshold, or when the key has been silent for maxSilenceMs. Identical readings are not resent.
 */
export class ChangeFilter {
  readonly #last = new Map<string, LastSent>()

  /** Decides for one reading and remembers it when it passes. */
  shouldSend(key: string, value: number, nowMs: number, options: DeadbandOptions, force = false): boolean {
    const last = this.#last.get(key)
    const passes =
      force ||
      last === undefined ||
      Math.abs(value - last.value) >= options.minDelta ||
      (options.minRatio !== undefined &&
        last.value !== 0 &&
        Math.abs(value - last.value) / Math.abs(last.value) >= options.minRatio) ||
      nowMs - last.atMs >= options.maxSilenceMs
    if (passes) this.#last.set(key, { value, atMs: nowMs })
    return passes
  }
}
