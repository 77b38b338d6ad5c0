import { encodeNewEvent, maxAckIds, topics } from '../../shared/protocol/index.js'
import type { DeviceAck } from './group-commit-writer.js'

/** Publishes a message through the broker (aedes.publish, which skips authorizePublish). */
export type BrokerPublish = (topic: string, payload: Buffer) => Promise<void>

/**
 * Turns a device's share of a group commit into ack envelopes on doorbell/v1/<deviceId>/ack, QoS 1.
 * Each envelope carries at most maxAckIds ids and maxAckIds rejections, which the protocol's ack size
 * bound (maxAckEnvelopeBytes) admits.
 */
export class AckPublisher {
  readonly #publish: BrokerPublish
  readonly #seqByDevice = new Map<string, number>()

  constructor(publish: BrokerPublish) {
    this.#publish = publish
  }

  /** Publishes the acks; resolves with how many envelopes were sent. */
  async publish(ack: DeviceAck): Promise<number> {
    const rejected = ack.rejected.flatMap((r) =>
      r.id === undefined ? [] : [{ id: r.id, code: r.code.slice(0, 64), retry: r.isRetryable }],
    )
    let sent = 0
    for (let start = 0; start < Math.max(ack.ids.length, rejected.length); start += maxAckIds) {
      const seq = this.#seqByDevice.get(ack.deviceId) ?? 0
      this.#seqByDevice.set(ack.deviceId, seq + 1)
      const { buffer } = encodeNewEvent({
        deviceId: ack.deviceId,
        seq,
        type: 'ack',
        payload: {
          ids: ack.ids.slice(start, start + maxAckIds),
          rejected: rejected.slice(start, start + maxAckIds),
        },
      })
      await this.#publish(topics.ack(ack.deviceId), buffer)
      sent += 1
    }
    return sent
  }
}
