import type { Clock, TimerHandle } from '../clock/clock.js'

/**
 * Leading-edge software debounce: the first change after a quiet period is accepted at once (a press is
 * never delayed by the debounce), then the line is ignored for debounceMs; when that lockout ends, a level
 * that differs from the accepted one is accepted too, so a release during the lockout is not lost.
 */
export class Debouncer {
  readonly #clock: Clock
  readonly #debounceMs: number
  readonly #onChange: (isActive: boolean, atMs: number) => void
  #stable = false
  #raw = false
  #lockout: TimerHandle | undefined

  constructor(deps: {
    clock: Clock
    debounceMs: number
    onChange: (isActive: boolean, atMs: number) => void
    initial?: boolean
  }) {
    this.#clock = deps.clock
    this.#debounceMs = deps.debounceMs
    this.#onChange = deps.onChange
    this.#stable = deps.initial ?? false
    this.#raw = this.#stable
  }

  /** Feeds one raw level. */
  input(isActive: boolean, atMs: number = this.#clock.now()): void {
    this.#raw = isActive
    if (this.#lockout !== undefined || isActive === this.#stable) return
    this.#accept(isActive, atMs)
  }

  #accept(isActive: boolean, atMs: number): void {
    this.#stable = isActive
    this.#onChange(isActive, atMs)
    if (this.#debounceMs === 0) return
    this.#lockout = this.#clock.setTimeout(() => {
      this.#lockout = undefined
      if (this.#raw !== this.#stable) this.#accept(this.#raw, this.#clock.now())
    }, this.#debounceMs)
  }

  /** Cancels the lockout timer. */
  close(): void {
    this.#clock.clearTimeout(this.#lockout)
    this.#lockout = undefined
  }
}
