import type { Envelope } from '../../shared/protocol/index.js'

/** How a low-class source hands a message to the uplink (QoS 1). */
export type PublishFn = (topic: string, payload: Buffer) => Promise<void>

/**
 * The seam for low-class media (clip chunks, issue "media"): the sender calls it only when no high or
 * medium event is waiting for an ack, one unit at a time, and passes it the acks for ids it does not
 * hold in the outbox. Clip manifests themselves are low envelopes in the outbox.
 */
export interface LowClassSource {
  /** True when a unit (e.g. a chunk) is ready to send. */
  hasPending(): boolean
  /** Sends one unit through publish; resolves when handed to the uplink. */
  sendNext(publish: PublishFn): Promise<void>
  /** Acks and rejections for ids that are not outbox events (chunk ids). */
  onAck(ack: Envelope<'ack'>['payload']): void
  /** The connection dropped: whatever was in flight must be sent again. */
  onOffline(): void
}

/** The default until the media issue lands: nothing to send. */
export const emptyLowClassSource: LowClassSource = {
  hasPending: () => false,
  sendNext: async () => undefined,
  onAck: () => undefined,
  onOffline: () => undefined,
}
