import { type Envelope, encodeNewEvent, type PayloadInputOf, topics } from '../../shared/protocol/index.js'

/** Publishes a message through the broker (aedes.publish, which skips authorizePublish). */
export type BrokerPublish = (topic: string, payload: Buffer) => Promise<void>

/** The messages the collector itself sends to a device. */
export type CollectorToDeviceType = 'ack' | 'command'

/**
 * Envelopes from the collector to a device on its ack or command topic (QoS 1): each validated once and
 * numbered with the next per-device sequence number of this collector run, one sequence per type.
 */
export class DeviceEnvelopePublisher<T extends CollectorToDeviceType> {
  readonly #publish: BrokerPublish
  readonly #type: T
  readonly #seqByDevice = new Map<string, number>()

  constructor(publish: BrokerPublish, type: T) {
    this.#publish = publish
    this.#type = type
  }

  /** Publishes one envelope; resolves with it once the broker has taken it. */
  async send(deviceId: string, payload: PayloadInputOf<T>): Promise<Envelope<T>> {
    const seq = this.#seqByDevice.get(deviceId) ?? 0
    this.#seqByDevice.set(deviceId, seq + 1)
    const { envelope, buffer } = encodeNewEvent<T>({ deviceId, seq, type: this.#type, payload })
    await this.#publish(topics[this.#type](deviceId), buffer)
    return envelope
  }
}
