import type { Clock, TimerHandle } from './clock.js'

/** What a periodic task runs, how often, and where its failures go. */
export interface PeriodicTaskDeps {
  readonly clock: Clock
  readonly intervalMs: number
  readonly run: () => Promise<void>
  readonly onError: (err: unknown) => void
}

/**
 * Runs an async job every intervalMs on an injected clock; runs never overlap, and a failing run is
 * reported through onError (the boundary that owns the sensor) without stopping the next one.
 */
export class PeriodicTask {
  #timer: TimerHandle | undefined
  #isRunning = false
  #isStopped = true
  #current: Promise<void> = Promise.resolve()

  readonly #deps: PeriodicTaskDeps

  constructor(deps: PeriodicTaskDeps) {
    this.#deps = deps
  }

  /** Runs once now, then every intervalMs. */
  start(): void {
    this.#isStopped = false
    void this.runNow()
  }

  /** Runs the job now (unless a run is in progress) and restarts the interval. */
  runNow(): Promise<void> {
    if (this.#isRunning) return this.#current
    this.#deps.clock.clearTimeout(this.#timer)
    this.#isRunning = true
    this.#current = (async () => {
      try {
        await this.#deps.run()
      } catch (err) {
        this.#deps.onError(err)
      } finally {
        this.#isRunning = false
        if (!this.#isStopped)
          this.#timer = this.#deps.clock.setTimeout(() => void this.runNow(), this.#deps.intervalMs)
      }
    })()
    return this.#current
  }

  /** Stops the timer and waits for a run in progress. */
  async stop(): Promise<void> {
    this.#isStopped = true
    this.#deps.clock.clearTimeout(this.#timer)
    await this.#current
  }
}
