import { packetType } from './mqtt-conformance.js'

/**
 * QoS 2 packet ids a client sent, awaiting or past their PUBREL; a persistent session keeps it. The sets
 * are made at the first QoS 2 PUBLISH: doorbells publish QoS 1, and every idle session holds one of these.
 */
export interface Qos2Receipts {
  awaiting: Set<number> | undefined
  released: Set<number> | undefined
}

/** A new, empty set of QoS 2 receipts. */
export function newQos2Receipts(): Qos2Receipts {
  return { awaiting: undefined, released: undefined }
}

/** Released ids kept to recognise a PUBREL resent after a lost PUBCOMP (MQTT-4.4.0-1). */
const maxReleasedIds = 1024

/** An outgoing packet id: awaiting PUBACK (QoS 1), PUBREC or PUBCOMP (QoS 2). */
enum Awaiting {
  Puback = 1,
  Pubrec = 2,
  Pubcomp = 3,
}

/**
 * The packet ids in flight on one connection, both ways, so an acknowledgement nobody asked for is told
 * apart (MQTT 3.1.1 section 4.3). aedes 1.2 passes a stray PUBACK to its persistence, where it can clear a
 * queued message of a persistent session that was never delivered.
 */
export class PacketIdLedger {
  /** Made at the first QoS 1 or 2 PUBLISH sent: an idle connection holds none. */
  #awaiting: Map<number, Awaiting> | undefined
  #qos2: Qos2Receipts = newQos2Receipts()

  /** Takes over a persistent session's QoS 2 receipts (ids noted before it was known are kept). */
  adopt(receipts: Qos2Receipts): void {
    for (const id of this.#qos2.awaiting ?? []) pendingOf(receipts).add(id)
    this.#qos2 = receipts
  }

  #sent(id: number, awaiting: Awaiting): void {
    if (!this.#awaiting) this.#awaiting = new Map()
    this.#awaiting.set(id, awaiting)
  }

  /** The server sent a PUBLISH of QoS 1 or 2 with this id. */
  sentPublish(id: number, qos: 1 | 2): void {
    this.#sent(id, qos === 1 ? Awaiting.Puback : Awaiting.Pubrec)
  }

  /** The server sent PUBREL for id (after the client's PUBREC). */
  sentPubrel(id: number): void {
    this.#sent(id, Awaiting.Pubcomp)
  }

  /** The client sent a QoS 2 PUBLISH with this id. */
  receivedQos2(id: number): void {
    pendingOf(this.#qos2).add(id)
    this.#qos2.released?.delete(id)
  }

  /** The client acknowledged id with a packet of type; false when nothing of it was awaited. */
  isExpectedAck(type: number, id: number): boolean {
    const awaiting = this.#awaiting?.get(id)
    switch (type) {
      case packetType.puback:
        return awaiting === Awaiting.Puback && this.#awaiting?.delete(id) === true
      case packetType.pubrec:
        return awaiting === Awaiting.Pubrec || awaiting === Awaiting.Pubcomp
      case packetType.pubcomp:
        return awaiting === Awaiting.Pubcomp && this.#awaiting?.delete(id) === true
      default: {
        const receipts = this.#qos2
        if (receipts.released?.has(id)) return true
        if (!receipts.awaiting?.delete(id)) return false
        if (!receipts.released) receipts.released = new Set()
        const { released } = receipts
        released.add(id)
        if (released.size > maxReleasedIds) released.delete(released.values().next().value as number)
        return true
      }
    }
  }
}

function pendingOf(receipts: Qos2Receipts): Set<number> {
  if (!receipts.awaiting) receipts.awaiting = new Set()
  return receipts.awaiting
}
