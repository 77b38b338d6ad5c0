import { createEnvelope, encodeEvent, maxEventBytes, topics } from '../../shared/protocol/index.js'
import type { DeviceAck } from './group-commit-writer.js'

/** Publishes a message through the broker (aedes.publish, which skips authorizePublish). */
export type BrokerPublish = (topic: string, payload: Buffer) => Promise<void>

// An ack envelope must fit maxEventBytes: an id costs 29 bytes in JSON, a refusal about 90.
const idCost = 29
const rejectionCost = 100
const budgetBytes = maxEventBytes - 1024

/**
 * Turns a device's share of a group commit into ack envelopes on doorbell/v1/<deviceId>/ack, QoS 1.
 * Split so that each envelope stays within maxEventBytes, which is what the agent's decoder accepts.
 */
export class AckPublisher {
  readonly #publish: BrokerPublish
  readonly #seqByDevice = new Map<string, number>()

  constructor(publish: BrokerPublish) {
    this.#publish = publish
  }

  /** Publishes the acks; resolves with how many envelopes were sent. */
  async publish(ack: DeviceAck): Promise<number> {
    const withIds = ack.rejected.filter((r) => r.id !== undefined)
    let ids: string[] = []
    let rejected: { id: string; code: string; retry: boolean }[] = []
    let used = 0
    let sent = 0
    const flush = async (): Promise<void> => {
      if (ids.length === 0 && rejected.length === 0) return
      const seq = this.#seqByDevice.get(ack.deviceId) ?? 0
      this.#seqByDevice.set(ack.deviceId, seq + 1)
      const envelope = createEnvelope({
        deviceId: ack.deviceId,
        seq,
        type: 'ack',
        payload: { ids, rejected },
      })
      await this.#publish(topics.ack(ack.deviceId), encodeEvent(envelope))
      sent += 1
      ids = []
      rejected = []
      used = 0
    }
    for (const id of ack.ids) {
      if (used + idCost > budgetBytes) await flush()
      ids.push(id)
      used += idCost
    }
    for (const r of withIds) {
      if (used + rejectionCost > budgetBytes) await flush()
      rejected.push({ id: r.id as string, code: r.code.slice(0, 64), retry: r.isRetryable })
      used += rejectionCost
    }
    await flush()
    return sent
  }
}
