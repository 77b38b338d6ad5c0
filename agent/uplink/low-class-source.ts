import type { Envelope } from '../../shared/protocol/index.js'

/** One message a low-class source wants published at QoS 1, e.g. a clip-chunk frame on the chunk topic. */
export interface LowClassUnit {
  readonly topic: string
  readonly payload: Buffer
}

/**
 * The seam for low-class media (clip chunks; the media branch's ClipUploadQueue fits it through a few
 * lines, see docs/agent-outbox.md). The sender pulls units only while no high or medium event is unacked,
 * passes every ack on (ids of outbox events included, so a source can see its manifest acked), and says
 * when the connection drops so whatever was in flight can be sent again. Clip manifests themselves are
 * low envelopes in the outbox.
 */
export interface LowClassSource {
  /** The next unit to publish, or undefined when nothing is ready or the source's own window is full. */
  next(): Promise<LowClassUnit | undefined>
  /** Every ack from the collector, as received. */
  onAck(ack: Envelope<'ack'>['payload']): void | Promise<void>
  /** The connection dropped: units in flight must be offered again after the reconnect. */
  onOffline(): void
}

/** The default until media is wired in: nothing to send. */
export const emptyLowClassSource: LowClassSource = {
  next: async () => undefined,
  onAck: () => undefined,
  onOffline: () => undefined,
}
