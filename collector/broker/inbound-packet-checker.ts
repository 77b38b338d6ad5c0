import {
  type ConformanceRefusal,
  type ConnectSummary,
  checkConnect,
  checkSubscription,
  checkTypeByte,
  isMqttString,
  packetType,
} from './mqtt-conformance.js'
import type { PacketIdLedger } from './packet-id-ledger.js'
import { PacketScanner, uint16 } from './packet-scanner.js'
import type { PreAuthRefusal } from './pre-auth-budget.js'

/** Why a connection was cut by the front door. */
export type LimiterRefusal =
  | 'packet_too_large'
  | 'malformed_length'
  | 'malformed_packet'
  | ConformanceRefusal
  | PreAuthRefusal

/**
 * The front door's inbound half: follows what a client sends and refuses a packet that declares more than
 * the limit (a smaller one before authentication), or that breaks a rule of mqtt-conformance.ts. It copies
 * out only the CONNECT (once per connection), and of each PUBLISH reads the topic and packet id in place.
 */
export class InboundPacketChecker extends PacketScanner<LimiterRefusal> {
  readonly #ids: PacketIdLedger
  readonly #maxPacketBytes: number
  /** The smaller limit before authentication; undefined once authenticated (or when there is none). */
  #preAuthMaxBytes: number | undefined
  #isConnectSeen = false
  #connect: ConnectSummary | undefined
  /** What to answer the client before closing (CONNACK 1, a v5 CONNACK), set with some CONNECT refusals. */
  #answer: Buffer | undefined

  constructor(ids: PacketIdLedger, maxPacketBytes: number, preAuthMaxBytes: number | undefined) {
    super('malformed_length')
    this.#ids = ids
    this.#maxPacketBytes = maxPacketBytes
    this.#preAuthMaxBytes = preAuthMaxBytes
  }

  /** What the client's CONNECT said, once it passed the checks, until CONNACK 0. */
  get connectSummary(): ConnectSummary | undefined {
    return this.#connect
  }

  /** The answer a refused CONNECT should get before the close, once. */
  takeAnswer(): Buffer | undefined {
    const answer = this.#answer
    this.#answer = undefined
    return answer
  }

  /** CONNACK 0 went out: from now on only maxPacketBytes applies, and the CONNECT's summary has served. */
  authenticated(): void {
    this.#preAuthMaxBytes = undefined
    this.#connect = undefined
  }

  protected override maxLength(): number {
    const preAuth = this.#preAuthMaxBytes
    return preAuth === undefined ? this.#maxPacketBytes : Math.min(this.#maxPacketBytes, preAuth)
  }

  protected override tooLarge(length: number): LimiterRefusal {
    return length > this.#maxPacketBytes ? 'packet_too_large' : 'preauth_too_large'
  }

  protected override onHeader(typeByte: number, length: number): LimiterRefusal | boolean {
    const refusal = checkTypeByte(typeByte)
    if (refusal) return refusal
    const type = typeByte >> 4
    // The first packet is CONNECT, and only the first (MQTT-3.1.0-1, -2).
    if ((type === packetType.connect) === this.#isConnectSeen) return 'unexpected_packet'
    switch (type) {
      case packetType.connect:
        this.#isConnectSeen = true
        return true
      case packetType.publish:
        return length < 2 ? 'malformed_packet' : true
      case packetType.puback:
      case packetType.pubrec:
      case packetType.pubrel:
      case packetType.pubcomp:
        return length === 2 ? true : 'malformed_packet'
      case packetType.subscribe:
      case packetType.unsubscribe:
        return length < 2 ? 'malformed_packet' : true
      default:
        return length === 0 ? false : 'malformed_packet'
    }
  }

  protected override inspect(
    typeByte: number,
    length: number,
    buf: Buffer,
    start: number,
    available: number,
  ): LimiterRefusal | number | undefined {
    const type = typeByte >> 4
    if (type === packetType.publish) return this.#inspectPublish(typeByte, length, buf, start, available)
    // An acknowledgement (2 bytes, its packet id); CONNECT (once per connection), SUBSCRIBE and
    // UNSUBSCRIBE (rare): the whole body.
    if (available < length) return length
    if (type >= packetType.puback && type <= packetType.pubcomp)
      return this.#inspectAck(type, uint16(buf, start))
    const body = buf.subarray(start, start + length)
    if (type === packetType.connect) return this.#inspectConnect(body)
    const refusal = checkSubscription(body, type === packetType.subscribe)
    return refusal === 'malformed' ? 'malformed_packet' : refusal
  }

  #inspectConnect(body: Buffer): LimiterRefusal | undefined {
    const checked = checkConnect(body)
    if ('summary' in checked) {
      this.#connect = checked.summary
      return undefined
    }
    this.#answer = checked.answer
    return checked.refusal
  }

  /** Only the topic and packet id of a PUBLISH are read, never its payload. */
  #inspectPublish(
    typeByte: number,
    length: number,
    buf: Buffer,
    start: number,
    available: number,
  ): LimiterRefusal | number | undefined {
    if (available < 2) return 2
    const qos = (typeByte >> 1) & 3
    const topicEnd = start + 2 + uint16(buf, start)
    const need = topicEnd - start + (qos > 0 ? 2 : 0)
    if (need > length) return 'malformed_packet'
    if (available < need) return need
    if (!isMqttString(buf, start + 2, topicEnd)) return 'bad_utf8'
    if (qos === 0) return undefined
    const id = uint16(buf, topicEnd)
    // A QoS 1 or 2 PUBLISH carries a non-zero packet identifier (MQTT-2.3.1-1).
    if (id === 0) return 'packet_id_zero'
    if (qos === 2) this.#ids.receivedQos2(id)
    return undefined
  }

  #inspectAck(type: number, id: number): LimiterRefusal | undefined {
    if (id === 0) return 'packet_id_zero'
    return this.#ids.isExpectedAck(type, id) ? undefined : 'unsolicited_ack'
  }
}
