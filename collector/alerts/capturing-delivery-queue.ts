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
 */
export class CapturingDeliveryQueue implements DeliveryQueue {
  readonly #lanes: DeliveryQueue & { readonly channelNames: readonly string[] }
  #captured: RoutedDelivery[] | undefined

  constructor(lanes: DeliveryQueue & { readonly channelNames: readonly string[] }) {
    this.#lanes = lanes
  }

  enqueue(channelName: string, alert: Alert, recipient: Recipient): boolean {
    if (!this.#captured) return this.#lanes.enqueue(channelName, alert, recipient)
    if (!this.#lanes.channelNames.includes(channelName)) return false
    this.#captured.push({ alert, channel: channelName, recipient })
    return true
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
