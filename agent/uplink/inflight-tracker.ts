import type { EventClass } from '../../shared/protocol/index.js'
import type { Clock } from '../clock/clock.js'

/**
 * What the sender has published and not yet seen acked on the current connection, and what it must
 * not resend yet (rejected with retry:true). Cleared on every reconnect: after one, everything unacked
 * is sent again.
 */
export class InflightTracker {
  readonly #inflight = new Map<string, { readonly eventClass: EventClass; readonly sentAtMs: number }>()
  readonly #heldUntilMs = new Map<string, number>()
  #mediumCount = 0

  readonly #clock: Clock

  constructor(clock: Clock) {
    this.#clock = clock
  }

  /** Events published and awaiting an ack. */
  get size(): number {
    return this.#inflight.size
  }

  /** Medium envelopes published and awaiting an ack (the window). */
  get mediumCount(): number {
    return this.#mediumCount
  }

  /** True while a low event is awaiting its ack (low goes one at a time). */
  hasLow(): boolean {
    for (const entry of this.#inflight.values()) if (entry.eventClass === 'low') return true
    return false
  }

  has(id: string): boolean {
    return this.#inflight.has(id)
  }

  /** Records a publish. */
  add(id: string, eventClass: EventClass): void {
    if (this.#inflight.has(id)) return
    this.#inflight.set(id, { eventClass, sentAtMs: this.#clock.now() })
    if (eventClass === 'medium') this.#mediumCount++
  }

  /** The id was acked, rejected or failed to publish: it no longer counts as in flight. */
  settle(id: string): void {
    const entry = this.#inflight.get(id)
    if (!entry) return
    this.#inflight.delete(id)
    if (entry.eventClass === 'medium') this.#mediumCount--
  }

  /** Holds an id back until untilMs (rejected with retry:true). */
  hold(id: string, untilMs: number): void {
    this.#heldUntilMs.set(id, untilMs)
  }

  /** Forgets a hold (the id was acked after all). */
  release(id: string): void {
    this.#heldUntilMs.delete(id)
  }

  /** True when the id must not be published now: in flight, or held. */
  readonly isBlocked = (id: string): boolean => {
    if (this.#inflight.has(id)) return true
    const untilMs = this.#heldUntilMs.get(id)
    if (untilMs === undefined) return false
    if (untilMs <= this.#clock.now()) {
      this.#heldUntilMs.delete(id)
      return false
    }
    return true
  }

  /** Settles every id published at or before cutoffMs; returns how many (they will be resent). */
  expire(cutoffMs: number): number {
    let expired = 0
    for (const [id, entry] of this.#inflight) {
      if (entry.sentAtMs <= cutoffMs) {
        this.settle(id)
        expired++
      }
    }
    return expired
  }

  /** A new connection: nothing is in flight any more. Holds stay. */
  clear(): void {
    this.#inflight.clear()
    this.#mediumCount = 0
  }
}
