import { packetType } from './mqtt-conformance.js'
import type { PacketIdLedger } from './packet-id-ledger.js'
import { PacketScanner, uint16 } from './packet-scanner.js'

type OutboundRefusal = 'malformed_packet' | 'malformed_length'

/** Told when CONNACK 0 goes out (the front door leaves its pre-authentication bounds). */
export interface ConnackObserver {
  connackAccepted(): void
}

/**
 * The front door's outbound half: follows what aedes writes to one client. It notes the packet ids sent
 * (PUBLISH QoS 1 and 2, PUBREL), so that an acknowledgement nobody asked for can be refused inbound, tells
 * its owner when CONNACK 0 goes out, and sets that CONNACK's session-present flag from the collector's
 * session table (MQTT-3.2.2-2). aedes' own writes are trusted: nothing outbound is refused.
 */
export class OutboundPacketTracker extends PacketScanner<OutboundRefusal> {
  readonly #ids: PacketIdLedger
  readonly #owner: ConnackObserver
  #isAccepted = false
  #sessionPresent: boolean | undefined
  /** The chunk track() is writing, while a CONNACK may still need its flags set. */
  #chunk: Buffer | undefined

  constructor(ids: PacketIdLedger, owner: ConnackObserver) {
    super('malformed_length')
    this.#ids = ids
    this.#owner = owner
  }

  /** The session-present flag the coming CONNACK 0 must carry. */
  setSessionPresent(isPresent: boolean): void {
    this.#sessionPresent = isPresent
  }

  /** Scans an outgoing chunk; a CONNACK's flags byte is rewritten in a copy when the session says so. */
  track(chunk: Buffer): Buffer {
    if (this.#isAccepted) {
      this.scan(chunk)
      return chunk
    }
    this.#chunk = chunk
    this.scan(chunk, true)
    const out = this.#chunk
    this.#chunk = undefined
    return out
  }

  protected override maxLength(): number {
    return Number.MAX_SAFE_INTEGER
  }

  protected override tooLarge(): OutboundRefusal {
    return 'malformed_packet'
  }

  protected override onHeader(typeByte: number): boolean {
    const type = typeByte >> 4
    return (
      type === packetType.connack ||
      type === packetType.pubrel ||
      (type === packetType.publish && (typeByte & 0x06) !== 0)
    )
  }

  protected override inspect(
    typeByte: number,
    length: number,
    buf: Buffer,
    start: number,
    available: number,
  ): number | undefined {
    const type = typeByte >> 4
    if (available < 2) return length < 2 ? undefined : 2
    if (type === packetType.connack) {
      if (buf[start + 1] === 0) {
        this.#isAccepted = true
        this.#owner.connackAccepted()
      }
      return undefined
    }
    if (type === packetType.pubrel) {
      this.#ids.sentPubrel(uint16(buf, start))
      return undefined
    }
    const idAt = start + 2 + uint16(buf, start)
    if (idAt + 2 - start > length) return undefined
    if (idAt + 2 - start > available) return idAt + 2 - start
    this.#ids.sentPublish(uint16(buf, idAt), (typeByte & 0x06) === 0x02 ? 1 : 2)
    return undefined
  }

  /** Sets the session-present flag at index of the chunk track() is writing. */
  protected override onBodyStart(index: number): void {
    const chunk = this.#chunk
    if (!chunk || this.typeByte >> 4 !== packetType.connack || this.#sessionPresent === undefined) return
    // mqtt-packet writes shared constant buffers: change a copy.
    const copy = Buffer.from(chunk)
    // Raised, never lowered: aedes says present when it restored the session's subscriptions, which in a
    // fleet may have been made on another node (Redis) that this node's session table never saw.
    copy[index] = this.#sessionPresent || (chunk[index] ?? 0) & 1 ? 1 : 0
    this.#chunk = copy
    this.#sessionPresent = undefined
  }
}
