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
import { OutboundPacketTracker } from './outbound-packet-tracker.js'
import { PacketIdLedger, type Qos2Receipts } from './packet-id-ledger.js'
import { type PacketHandler, PacketScanner, uint16 } from './packet-scanner.js'
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

/**
 * The front door: sits between a socket and aedes and follows the MQTT packets both ways as bytes pass.
 * Inbound it cuts a connection that declares a packet over the limit (aedes 1.2 sets none, so
 * mqtt-packet would buffer up to 256 MB), that sends more than its share before it is authenticated
 * (PreAuthBudget), or that breaks a rule of mqtt-conformance.ts; aedes never sees such a packet whole.
 * Outbound, OutboundPacketTracker notes the packet ids sent (an acknowledgement nobody asked for is
 * refused) and sets CONNACK's session-present flag.
 */
export class MqttPacketLimiter extends Duplex {
  /** The underlying socket (a TLSSocket for mqtts, to read the peer certificate). */
  readonly socket: Duplex
  /** The peer's address (for WebSocket, the HTTP request's), for the per-address limits. */
  readonly remoteAddress: string | undefined
  readonly #options: MqttPacketLimiterOptions
  readonly #in: PacketScanner<LimiterRefusal>
  readonly #ids = new PacketIdLedger()
  readonly #out: OutboundPacketTracker
  #preAuth: PreAuthConnection | undefined
  #connect: ConnectSummary | undefined
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
    this.#out = new OutboundPacketTracker(this.#ids, () => this.#authenticated())
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
    this.#out.setSessionPresent(isPresent)
    this.#ids.adopt(receipts)
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
      },
      inspect: (typeByte, length, buf, start, available) => {
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
    if (this.socket.write(this.#out.scan(chunk))) done()
    else this.once('socketDrain', () => done())
  }

  override _writev(chunks: { chunk: Buffer }[], done: (err?: Error | null) => void): void {
    this.socket.cork()
    let isFull = false
    for (const { chunk } of chunks) isFull = !this.socket.write(this.#out.scan(chunk)) || isFull
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
