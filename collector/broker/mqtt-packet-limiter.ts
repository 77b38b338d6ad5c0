import { Duplex } from 'node:stream'
import {
  type ConformanceRefusal,
  type ConnectSummary,
  checkConnect,
  checkSubscription,
  checkTypeByte,
  isMqttString,
  packetType,
} from './mqtt-conformance.js'
import type { PacketHandler } from './packet-scanner.js'
import { PacketScanner } from './packet-scanner.js'
import type { PreAuthBudget, PreAuthConnection, PreAuthRefusal } from './pre-auth-budget.js'

/** Why a connection was cut by the front door. */
export type LimiterRefusal =
  | 'packet_too_large'
  | 'malformed_length'
  | 'malformed_packet'
  | ConformanceRefusal
  | PreAuthRefusal

/** Options of the limiter. */
export interface MqttPacketLimiterOptions {
  /** Largest MQTT remaining length accepted once authenticated, in bytes. */
  readonly maxPacketBytes: number
  /** Called once when the connection is cut, with the declared length when it could be read. */
  readonly onRefused: (reason: LimiterRefusal, declaredBytes: number) => void
  /** Shared bounds on unauthenticated connections; absent, only maxPacketBytes applies. */
  readonly preAuth?: PreAuthBudget
  /** The peer's address, for the per-address limit of preAuth. */
  readonly remoteAddress?: string | undefined
}

/** QoS 2 packet ids a client sent, awaiting or past their PUBREL; a persistent session keeps it. */
export interface Qos2Receipts {
  readonly awaiting: Set<number>
  readonly released: Set<number>
}

/** Released ids kept to recognise a PUBREL resent after a lost PUBCOMP (MQTT-4.4.0-1). */
const maxReleasedIds = 1024

/** An outgoing packet id: awaiting PUBACK (QoS 1), PUBREC or PUBCOMP (QoS 2). */
enum Awaiting {
  Puback = 1,
  Pubrec = 2,
  Pubcomp = 3,
}

/** A new, empty set of QoS 2 receipts. */
export function newQos2Receipts(): Qos2Receipts {
  return { awaiting: new Set(), released: new Set() }
}

/**
 * The front door: sits between a socket and aedes and follows the MQTT packets both ways as bytes pass.
 * Inbound it cuts a connection that declares a packet over the limit (aedes 1.2 sets none, so
 * mqtt-packet would buffer up to 256 MB), that sends more than its share before it is authenticated
 * (PreAuthBudget), or that breaks a rule of mqtt-conformance.ts; aedes never sees such a packet whole.
 * Outbound it notes the packet ids sent (an acknowledgement nobody asked for is refused) and sets
 * CONNACK's session-present flag from the collector's session table (MQTT-3.2.2-2).
 */
export class MqttPacketLimiter extends Duplex {
  /** The underlying socket (a TLSSocket for mqtts, to read the peer certificate). */
  readonly socket: Duplex
  /** The peer's address (for WebSocket, the HTTP request's), for the per-address limits. */
  readonly remoteAddress: string | undefined
  readonly #options: MqttPacketLimiterOptions
  readonly #in: PacketScanner<LimiterRefusal>
  readonly #out: PacketScanner<LimiterRefusal>
  readonly #awaitingAck = new Map<number, Awaiting>()
  #qos2: Qos2Receipts = newQos2Receipts()
  #preAuth: PreAuthConnection | undefined
  #connect: ConnectSummary | undefined
  #sessionPresent: boolean | undefined
  #isAuthenticated = false
  #isConnectSeen = false

  constructor(socket: Duplex, options: MqttPacketLimiterOptions) {
    super({ allowHalfOpen: false })
    this.socket = socket
    this.remoteAddress = options.remoteAddress
    this.#options = options
    const maxLength = (): number =>
      this.#preAuth ? Math.min(options.maxPacketBytes, this.#preAuthMaxBytes()) : options.maxPacketBytes
    const tooLarge = (length: number): LimiterRefusal =>
      length > options.maxPacketBytes ? 'packet_too_large' : 'preauth_too_large'
    this.#in = new PacketScanner(this.#inbound(), maxLength, tooLarge, 'malformed_length')
    this.#out = new PacketScanner(
      this.#outbound(),
      () => Number.MAX_SAFE_INTEGER,
      () => 'malformed_packet',
      'malformed_length',
    )
    socket.on('data', (chunk: Buffer) => {
      // Scanned first: a declared size over the limit is the reason to give, not the bytes it brought.
      const refusal = this.#in.scan(chunk)
      if (refusal) return this.#refuse(refusal, this.#in.declaredLength)
      if (this.#preAuth) {
        const overBudget = this.#options.preAuth?.add(this.#preAuth, chunk.length)
        if (overBudget) return this.#refuse(overBudget, this.#in.declaredLength)
      }
      if (!this.push(chunk)) socket.pause()
    })
    socket.on('end', () => this.push(null))
    socket.on('close', () => this.destroy())
    socket.on('error', (err) => this.destroy(err))
    socket.on('drain', () => this.emit('socketDrain'))
    if (options.preAuth) {
      this.#preAuth = options.preAuth.open(options.remoteAddress, () => this.#refuse('preauth_budget', 0))
      if (!this.#preAuth) this.#refuse('preauth_per_address', 0)
    }
  }

  /** What the client's CONNECT said, once it passed the checks. */
  get connectSummary(): ConnectSummary | undefined {
    return this.#connect
  }

  /** True once CONNACK 0 went out. */
  get isAuthenticated(): boolean {
    return this.#isAuthenticated
  }

  /** The session-present flag the coming CONNACK 0 must carry; also hands over the session's receipts. */
  setSession(isPresent: boolean, receipts: Qos2Receipts): void {
    this.#sessionPresent = isPresent
    // QoS 2 PUBLISHes pipelined behind the CONNECT were noted before the session was known.
    for (const id of this.#qos2.awaiting) receipts.awaiting.add(id)
    this.#qos2 = receipts
  }

  #preAuthMaxBytes(): number {
    return this.#options.preAuth?.limits.maxBytesPerConnection ?? Number.MAX_SAFE_INTEGER
  }

  #inbound(): PacketHandler<LimiterRefusal> {
    return {
      onHeader: (typeByte, length) => {
        const refusal = checkTypeByte(typeByte)
        if (refusal) return refusal
        const type = typeByte >> 4
        // The first packet is CONNECT, and only the first (MQTT-3.1.0-1, -2).
        if ((type === packetType.connect) === this.#isConnectSeen) {
          return 'unexpected_packet'
        }
        switch (type) {
          case packetType.connect:
            this.#isConnectSeen = true
            return length
          case packetType.publish:
            return length < 2 ? 'malformed_packet' : 2
          case packetType.puback:
          case packetType.pubrec:
          case packetType.pubrel:
          case packetType.pubcomp:
            return length === 2 ? 2 : 'malformed_packet'
          case packetType.subscribe:
          case packetType.unsubscribe:
            return length
          default:
            return length === 0 ? 0 : 'malformed_packet'
        }
      },
      inspect: (typeByte, length, head) => {
        const type = typeByte >> 4
        if (type === packetType.connect) return this.#inspectConnect(head)
        if (type === packetType.publish) return this.#inspectPublish(typeByte, length, head)
        if (type === packetType.subscribe || type === packetType.unsubscribe) {
          const refusal = checkSubscription(head, type === packetType.subscribe)
          return refusal === 'malformed' ? 'malformed_packet' : refusal
        }
        return this.#inspectAck(type, head.readUInt16BE(0))
      },
    }
  }

  #inspectConnect(body: Buffer): LimiterRefusal | undefined {
    const checked = checkConnect(body)
    if ('summary' in checked) {
      this.#connect = checked.summary
      return undefined
    }
    if (checked.answer) this.socket.end(checked.answer)
    return checked.refusal
  }

  #inspectPublish(typeByte: number, length: number, head: Buffer): LimiterRefusal | number | undefined {
    const qos = (typeByte >> 1) & 3
    const need = 2 + head.readUInt16BE(0) + (qos > 0 ? 2 : 0)
    if (need > length) return 'malformed_packet'
    if (head.length < need) return need
    if (!isMqttString(head, 2, need - (qos > 0 ? 2 : 0))) return 'bad_utf8'
    if (qos === 0) return undefined
    const id = head.readUInt16BE(need - 2)
    // A QoS 1 or 2 PUBLISH carries a non-zero packet identifier (MQTT-2.3.1-1).
    if (id === 0) return 'packet_id_zero'
    if (qos === 2) {
      this.#qos2.awaiting.add(id)
      this.#qos2.released.delete(id)
    }
    return undefined
  }

  #inspectAck(type: number, id: number): LimiterRefusal | undefined {
    if (id === 0) return 'packet_id_zero'
    const awaiting = this.#awaitingAck.get(id)
    switch (type) {
      case packetType.puback:
        if (awaiting !== Awaiting.Puback) return 'unsolicited_ack'
        this.#awaitingAck.delete(id)
        return undefined
      case packetType.pubrec:
        return awaiting === Awaiting.Pubrec || awaiting === Awaiting.Pubcomp ? undefined : 'unsolicited_ack'
      case packetType.pubcomp:
        if (awaiting !== Awaiting.Pubcomp) return 'unsolicited_ack'
        this.#awaitingAck.delete(id)
        return undefined
      default: {
        const { awaiting: pending, released } = this.#qos2
        if (released.has(id)) return undefined
        if (!pending.delete(id)) return 'unsolicited_ack'
        released.add(id)
        if (released.size > maxReleasedIds) released.delete(released.values().next().value as number)
        return undefined
      }
    }
  }

  #outbound(): PacketHandler<LimiterRefusal> {
    return {
      onHeader: (typeByte, length) => {
        const type = typeByte >> 4
        if (type === packetType.connack) return Math.min(length, 2)
        if (type === packetType.pubrel) return 2
        if (type === packetType.publish && (typeByte >> 1) & 3) return 2
        return 0
      },
      inspect: (typeByte, length, head) => {
        const type = typeByte >> 4
        if (type === packetType.connack) {
          if (head[1] === 0) this.#authenticated()
          return undefined
        }
        if (type === packetType.pubrel) {
          this.#awaitingAck.set(head.readUInt16BE(0), Awaiting.Pubcomp)
          return undefined
        }
        const need = 2 + head.readUInt16BE(0) + 2
        if (need > length) return undefined
        if (head.length < need) return need
        const qos = (typeByte >> 1) & 3
        this.#awaitingAck.set(head.readUInt16BE(need - 2), qos === 1 ? Awaiting.Puback : Awaiting.Pubrec)
        return undefined
      },
    }
  }

  /** Scans an outgoing chunk; a CONNACK's flags byte is rewritten in a copy when the session says so. */
  #scanOut(chunk: Buffer): Buffer {
    let out = chunk
    this.#out.scan(chunk, (index) => {
      if (this.#out.typeByte >> 4 !== packetType.connack || this.#sessionPresent === undefined) return
      if (out === chunk) out = Buffer.from(chunk)
      // Raised, never lowered: aedes says present when it restored the session's subscriptions, which in a
      // fleet may have been made on another node (Redis) that this node's session table never saw.
      out[index] = this.#sessionPresent || (chunk[index] ?? 0) & 1 ? 1 : 0
      this.#sessionPresent = undefined
    })
    return out
  }

  #authenticated(): void {
    this.#isAuthenticated = true
    this.#leavePreAuth()
  }

  #leavePreAuth(): void {
    if (!this.#preAuth) return
    this.#options.preAuth?.close(this.#preAuth)
    this.#preAuth = undefined
  }

  #refuse(reason: LimiterRefusal, declaredBytes: number): void {
    if (this.destroyed) return
    this.#leavePreAuth()
    this.#options.onRefused(reason, declaredBytes)
    // An answer (CONNACK 1, a v5 CONNACK) is on its way out through end(); destroy after it is flushed.
    if (!this.socket.writableEnded) this.socket.destroy()
    else this.socket.once('finish', () => this.socket.destroy())
    this.destroy()
  }

  override _read(): void {
    this.socket.resume()
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    if (this.socket.write(this.#scanOut(chunk))) done()
    else this.once('socketDrain', () => done())
  }

  override _writev(chunks: { chunk: Buffer }[], done: (err?: Error | null) => void): void {
    this.socket.cork()
    let isFull = false
    for (const { chunk } of chunks) isFull = !this.socket.write(this.#scanOut(chunk)) || isFull
    this.socket.uncork()
    if (isFull) this.once('socketDrain', () => done())
    else done()
  }

  override _final(done: (err?: Error | null) => void): void {
    this.socket.end(() => done())
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.#leavePreAuth()
    if (!this.socket.writableEnded) this.socket.destroy()
    done(err)
  }
}
