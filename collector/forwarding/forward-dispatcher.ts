import type { StoredEvent } from '../store/event-store.js'
import type { Forwarder } from './forwarder.js'

/** What the dispatcher reports, for metrics and logs in main.ts. */
export type ForwardOutcome =
  | { readonly kind: 'forwarded'; readonly forwarder: string; readonly eventId: string }
  | { readonly kind: 'failed'; readonly forwarder: string; readonly eventId: string; readonly err: unknown }
  | { readonly kind: 'dropped'; readonly forwarder: string; readonly eventId: string }

/** Collaborators of the dispatcher. */
export interface ForwardDispatcherDeps {
  readonly forwarders: readonly Forwarder[]
  /** Events waiting per forwarder; beyond it the oldest is dropped and reported. */
  readonly queueLimit: number
  readonly onOutcome?: (outcome: ForwardOutcome) => void
}

class ForwarderLane {
  readonly forwarder: Forwarder
  readonly queue: StoredEvent[] = []
  isBusy = false

  constructor(forwarder: Forwarder) {
    this.forwarder = forwarder
  }
}

/** Fans stored high-class events out to every forwarder, each through its own bounded queue. */
export class ForwardDispatcher {
  readonly #deps: ForwardDispatcherDeps
  readonly #lanes: ForwarderLane[]
  #idle: (() => void)[] = []

  constructor(deps: ForwardDispatcherDeps) {
    this.#deps = deps
    this.#lanes = deps.forwarders.map((f) => new ForwarderLane(f))
  }

  /** Adds a forwarder with a lane of its own (an extension's, when it starts). */
  add(forwarder: Forwarder): void {
    this.#lanes.push(new ForwarderLane(forwarder))
  }

  /** Queues an event for every forwarder; returns at once. */
  dispatch(event: StoredEvent): void {
    for (const lane of this.#lanes) {
      if (lane.queue.length >= this.#deps.queueLimit) {
        const dropped = lane.queue.shift()
        if (dropped) this.#report({ kind: 'dropped', forwarder: lane.forwarder.name, eventId: dropped.id })
      }
      lane.queue.push(event)
      if (!lane.isBusy) void this.#run(lane)
    }
  }

  /** Resolves when every queue is empty. */
  async whenIdle(): Promise<void> {
    while (this.#lanes.some((lane) => lane.isBusy || lane.queue.length > 0)) {
      await new Promise<void>((resolve) => this.#idle.push(resolve))
    }
  }

  /** Closes every forwarder. */
  async close(): Promise<void> {
    await Promise.allSettled(this.#lanes.map((lane) => lane.forwarder.close?.()))
  }

  async #run(lane: ForwarderLane): Promise<void> {
    lane.isBusy = true
    for (let event = lane.queue.shift(); event; event = lane.queue.shift()) {
      try {
        await lane.forwarder.forward(event)
        this.#report({ kind: 'forwarded', forwarder: lane.forwarder.name, eventId: event.id })
      } catch (err) {
        this.#report({ kind: 'failed', forwarder: lane.forwarder.name, eventId: event.id, err })
      }
    }
    lane.isBusy = false
    const idle = this.#idle
    this.#idle = []
    for (const resolve of idle) resolve()
  }

  #report(outcome: ForwardOutcome): void {
    try {
      this.#deps.onOutcome?.(outcome)
    } catch {
      // A faulty observer must not stop a lane.
    }
  }
}
