/** The few aedes persistence methods the bound wraps or calls (aedes-persistence's promise form). */
interface QueuePersistence {
  outgoingEnqueue(sub: { clientId: string }, packet: unknown): Promise<void>
  outgoingEnqueueCombi(subs: { clientId: string }[], packet: unknown): Promise<void>
  outgoingClearMessageId(client: { id: string }, packet: unknown): Promise<unknown>
  outgoingStream(client: { id: string }): AsyncIterable<{ messageId?: number }>
  cleanSubscriptions(client: { id: string }): Promise<void>
  cleanIncoming?(client: { id: string }): Promise<void>
}

/**
 * Caps the QoS 1 and 2 messages aedes queues per persistent session (queued while offline, plus in
 * flight while online), by wrapping its persistence: aedes 1.2 and aedes-persistence 11 have no such
 * bound (aedes' queueLimit counts packets before CONNACK), so 200 offline sessions queued 300 messages
 * each for ever. As mosquitto's max_queued_messages does, a message for a full queue is dropped and
 * counted, and what is queued stays in order. Works on any persistence, since it only wraps the
 * outgoing-queue methods every one has.
 */
export class SessionQueues {
  readonly #persistence: QueuePersistence
  readonly #maxQueued: number
  readonly #onDropped: (clientId: string, count: number) => void
  readonly #counts = new Map<string, number>()

  constructor(
    persistence: QueuePersistence,
    maxQueued: number,
    onDropped: (clientId: string, count: number) => void,
  ) {
    this.#persistence = persistence
    this.#maxQueued = maxQueued
    this.#onDropped = onDropped
    const enqueue = persistence.outgoingEnqueue.bind(persistence)
    const enqueueCombi = persistence.outgoingEnqueueCombi.bind(persistence)
    const clear = persistence.outgoingClearMessageId.bind(persistence)
    persistence.outgoingEnqueue = (sub, packet) =>
      this.#take(sub.clientId) ? enqueue(sub, packet) : Promise.resolve()
    persistence.outgoingEnqueueCombi = (subs, packet) => {
      const kept = subs.filter((sub) => this.#take(sub.clientId))
      return kept.length === 0 ? Promise.resolve() : enqueueCombi(kept, packet)
    }
    persistence.outgoingClearMessageId = async (client, packet) => {
      const cleared = await clear(client, packet)
      if (cleared) this.#release(client.id)
      return cleared
    }
  }

  /** Messages queued (or in flight) for a session now. */
  queuedCount(clientId: string): number {
    return this.#counts.get(clientId) ?? 0
  }

  /** Forgets a session: its subscriptions, its queue and its QoS 2 receipts; returns the messages dropped. */
  async purge(clientId: string): Promise<number> {
    const client = { id: clientId }
    await this.#persistence.cleanSubscriptions(client)
    const queued: { messageId?: number }[] = []
    for await (const packet of this.#persistence.outgoingStream(client)) queued.push(packet)
    for (const packet of queued) await this.#persistence.outgoingClearMessageId(client, packet)
    await this.#persistence.cleanIncoming?.(client)
    this.#counts.delete(clientId)
    return queued.length
  }

  #take(clientId: string): boolean {
    const count = this.#counts.get(clientId) ?? 0
    if (count >= this.#maxQueued) {
      this.#onDropped(clientId, 1)
      return false
    }
    this.#counts.set(clientId, count + 1)
    return true
  }

  #release(clientId: string): void {
    const count = (this.#counts.get(clientId) ?? 0) - 1
    if (count <= 0) this.#counts.delete(clientId)
    else this.#counts.set(clientId, count)
  }
}
