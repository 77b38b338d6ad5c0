/**
 * Bounds how many expensive tasks run at once and how many may wait. Password checks use scrypt on
 * libuv's small thread pool, which Level and fs share: a flood of CONNECTs with bad passwords must not
 * queue up there and stall group commits, so excess logins are refused at once instead.
 */
export class ConcurrencyGate {
  readonly #maxRunning: number
  readonly #maxWaiting: number
  #running = 0
  readonly #waiting: (() => void)[] = []

  constructor(maxRunning: number, maxWaiting: number) {
    this.#maxRunning = maxRunning
    this.#maxWaiting = maxWaiting
  }

  /** Runs task when a slot is free; undefined (task not run) when too many are already waiting. */
  async run<T>(task: () => Promise<T>): Promise<T | undefined> {
    if (this.#running >= this.#maxRunning) {
      if (this.#waiting.length >= this.#maxWaiting) return undefined
      await new Promise<void>((resolve) => this.#waiting.push(resolve))
    }
    this.#running += 1
    try {
      return await task()
    } finally {
      this.#running -= 1
      this.#waiting.shift()?.()
    }
  }
}
