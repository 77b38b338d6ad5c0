import { type Envelope, encodeNewEvent, type PayloadInputOf, topics } from '../../shared/protocol/index.js'
import type { BrokerPublish } from '../ingest/ack-publisher.js'

/**
 * Commands from the collector to a device, on doorbell/v1/<deviceId>/command at QoS 1: each a validated
 * envelope with the next per-device sequence number of this collector run.
 */
export class CommandPublisher {
  readonly #publish: BrokerPublish
  readonly #seqByDevice = new Map<string, number>()

  constructor(publish: BrokerPublish) {
    this.#publish = publish
  }

  /** Publishes the command; resolves with its envelope once the broker has taken it. */
  async send(deviceId: string, payload: PayloadInputOf<'command'>): Promise<Envelope<'command'>> {
    const seq = this.#seqByDevice.get(deviceId) ?? 0
    this.#seqByDevice.set(deviceId, seq + 1)
    const { envelope, buffer } = encodeNewEvent({ deviceId, seq, type: 'command', payload })
    await this.#publish(topics.command(deviceId), buffer)
    return envelope
  }
}
