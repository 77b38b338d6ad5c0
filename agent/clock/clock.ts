/** A timer handle returned by a Clock; opaque to callers. */
export type TimerHandle = { readonly __timer: true } | NodeJS.Timeout

/** Time and timers, injected so batching, debounce and backoff are tested with a fake clock. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number
  /** Calls fn once after delayMs. */
  setTimeout(fn: () => void, delayMs: number): TimerHandle
  clearTimeout(handle: TimerHandle | undefined): void
}

/** The real clock: Date.now and Node's timers. Timers are unref'd so they never hold the process open. */
export class SystemClock implements Clock {
  now(): number {
    return Date.now()
  }

  setTimeout(fn: () => void, delayMs: number): TimerHandle {
    const timer = setTimeout(fn, delayMs)
    timer.unref()
    return timer
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    if (handle) clearTimeout(handle as NodeJS.Timeout)
  }
}
