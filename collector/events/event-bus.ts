import type { CollectorEvent, CollectorEventKind, CollectorEventOf } from './collector-event.js'

interface Subscription {
  readonly owner: string
  readonly listener: (event: never) => void
}

/** What the bus needs from its host: a counter of listener failures. */
export interface EventBusDeps {
  /** Counts one listener that threw (doorbell_collector_listener_failures_total). */
  readonly countFailure: (listener: string, event: CollectorEventKind) => void
}

/**
 * The collector's typed event bus, in the way zigbee2mqtt's eventBus isolates extensions: every listener
 * is called in a try/catch, so one extension's exception is reported (a `listener_failed` event, which
 * main.ts logs) and counted, and the other listeners still run. Listeners run synchronously in the order
 * they subscribed; each belongs to an owner (an extension's name), and an extension that stops removes all
 * of its listeners at once.
 */
export class CollectorEventBus {
  readonly #deps: EventBusDeps
  readonly #byKind = new Map<CollectorEventKind, Subscription[]>()
  #anyKind: Subscription[] = []

  constructor(deps: EventBusDeps) {
    this.#deps = deps
  }

  /** Calls listener with every event of one kind. */
  on<K extends CollectorEventKind>(
    kind: K,
    owner: string,
    listener: (event: CollectorEventOf<K>) => void,
  ): void {
    const list = this.#byKind.get(kind)
    const subscription = { owner, listener }
    if (list) list.push(subscription)
    else this.#byKind.set(kind, [subscription])
  }

  /** Calls listener with every event, after the listeners of its kind (main.ts's log, tests' recorders). */
  onAny(owner: string, listener: (event: CollectorEvent) => void): void {
    this.#anyKind.push({ owner, listener })
  }

  /** Removes every listener of an owner. */
  removeListeners(owner: string): void {
    for (const [kind, list] of this.#byKind) {
      this.#byKind.set(
        kind,
        list.filter((s) => s.owner !== owner),
      )
    }
    this.#anyKind = this.#anyKind.filter((s) => s.owner !== owner)
  }

  /** Delivers an event to its listeners; returns when all have run (none can stop the others). */
  emit(event: CollectorEvent): void {
    const list = this.#byKind.get(event.kind)
    if (list) for (const subscription of list) this.#call(subscription, event)
    for (const subscription of this.#anyKind) this.#call(subscription, event)
  }

  #call(subscription: Subscription, event: CollectorEvent): void {
    try {
      ;(subscription.listener as (event: CollectorEvent) => void)(event)
    } catch (err) {
      this.#deps.countFailure(subscription.owner, event.kind)
      // A listener of failures that fails itself is counted, not reported again (no loop).
      if (event.kind !== 'listener_failed')
        this.emit({ kind: 'listener_failed', listener: subscription.owner, event: event.kind, err })
    }
  }
}
