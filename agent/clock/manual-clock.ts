import type { Clock, TimerHandle } from './clock.js'

interface PendingTimer {
  readonly handle: TimerHandle
  readonly dueMs: number
  readonly order: number
  readonly fn: () => void
}

/** A clock that only moves when told to: the simulated twin of SystemClock, used by tests and benches. */
export class ManualClock implements Clock {
  #nowMs: number
  #order = 0
  #timers: PendingTimer[] = []

  constructor(startMs = Date.UTC(2026, 0, 1)) {
    this.#nowMs = startMs
  }

  now(): number {
    return this.#nowMs
  }

  setTimeout(fn: () => void, delayMs: number): TimerHandle {
    const handle = { __timer: true } as const
    this.#timers.push({ handle, dueMs: this.#nowMs + Math.max(0, delayMs), order: this.#order++, fn })
    return handle
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    this.#timers = this.#timers.filter((t) => t.handle !== handle)
  }

  /** Number of timers not yet fired. */
  get pendingCount(): number {
    return this.#timers.length
  }

  /** Moves time forward by ms, firing every timer that falls due, in due order. */
  advance(ms: number): void {
    const targetMs = this.#nowMs + ms
    for (;;) {
      const next = this.#timers
        .filter((t) => t.dueMs <= targetMs)
        .sort((a, b) => a.dueMs - b.dueMs || a.order - b.order)[0]
      if (!next) break
      this.#timers = this.#timers.filter((t) => t !== next)
      this.#nowMs = Math.max(this.#nowMs, next.dueMs)
      next.fn()
    }
    this.#nowMs = targetMs
  }
}
