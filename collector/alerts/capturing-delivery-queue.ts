import type { Alert } from './alert.js'
import type { DeliveryQueue } from './alert-router.js'
import type { Recipient } from './channel.js'

/** One delivery the router decided on: an alert to one recipient over one channel. */
export interface RoutedDelivery {
  readonly alert: Alert
  readonly channel: string
  readonly recipient: Recipient
}

/**
 * The router's queue: deliveries go to the node's own lanes, except while capture() runs, when they are
 * collected instead (a fleet puts them in its shared outbox, in the transaction that takes the event).
 * A fleet also redirects the others (alerts a node derives: offline, online, temperature, operator
 * reports, test notifications) to its outbox, so a node that dies with them queued leaves them to the
 * rest of the fleet instead of taking its retries with it.
 */
export class CapturingDeliveryQueue implements DeliveryQueue {
  readonly #lanes: DeliveryQueue & { readonly channelNames: readonly string[] }
  #captured: RoutedDelivery[] | undefined
  #redirect: ((delivery: RoutedDelivery) => void) | undefined

  constructor(lanes: DeliveryQueue & { readonly channelNames: readonly string[] }) {
    this.#lanes = lanes
  }

  enqueue(channelName: string, alert: Alert, recipient: Recipient): boolean {
    if (!this.#captured && !this.#redirect) return this.#lanes.enqueue(channelName, alert, recipient)
    if (!this.#lanes.channelNames.includes(channelName)) return false
    const delivery = { alert, channel: channelName, recipient }
    if (this.#captured) this.#captured.push(delivery)
    else if (this.#redirect) this.#redirect(delivery)
    return true
  }

  /** Sends every delivery made outside capture() to sink instead of the lanes (undefined: the lanes again). */
  redirectTo(sink: ((delivery: RoutedDelivery) => void) | undefined): void {
    this.#redirect = sink
  }

  /** Straight to this node's lanes, whatever the redirect (a fleet's fallback while its outbox is away). */
  enqueueLocally(delivery: RoutedDelivery): boolean {
    return this.#lanes.enqueue(delivery.channel, delivery.alert, delivery.recipient)
  }

  /** Runs route (synchronous, as the router is) and returns the deliveries it made, none of them sent. */
  capture(route: () => void): RoutedDelivery[] {
    const captured: RoutedDelivery[] = []
    this.#captured = captured
    try {
      route()
    } finally {
      this.#captured = undefined
    }
    return captured
  }
}
