import { maxAckIds } from '../../shared/protocol/index.js'
import { type BrokerPublish, DeviceEnvelopePublisher } from '../broker/device-envelope-publisher.js'
import type { DeviceAck } from './commit-result.js'

/**
 * Turns a device's share of a group commit into ack envelopes on doorbell/v1/<deviceId>/ack, QoS 1.
 * Each envelope carries at most maxAckIds ids and maxAckIds rejections, which the protocol's ack size
 * bound (maxAckEnvelopeBytes) admits.
 */
export class AckPublisher {
  readonly #acks: DeviceEnvelopePublisher<'ack'>

  constructor(publish: BrokerPublish) {
    this.#acks = new DeviceEnvelopePublisher(publish, 'ack')
  }

  /** Publishes the acks; resolves with how many envelopes were sent. */
  async publish(ack: DeviceAck): Promise<number> {
    const rejected = ack.rejected.flatMap((r) =>
      r.id === undefined ? [] : [{ id: r.id, code: r.code.slice(0, 64), retry: r.isRetryable }],
    )
    let sent = 0
    for (let start = 0; start < Math.max(ack.ids.length, rejected.length); start += maxAckIds) {
      await this.#acks.send(ack.deviceId, {
        ids: ack.ids.slice(start, start + maxAckIds),
        rejected: rejected.slice(start, start + maxAckIds),
      })
      sent += 1
    }
    return sent
  }
}
