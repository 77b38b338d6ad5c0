import { Duplex } from 'node:stream'

/** Why a connection was cut by the limiter. */
export type LimiterRefusal = 'packet_too_large' | 'malformed_length'

/** Options of the limiter. */
export interface MqttPacketLimiterOptions {
  /** Largest MQTT remaining length accepted, in bytes. */
  readonly maxPacketBytes: number
  /** Called once when the connection is cut, with the declared length when it could be read. */
  readonly onRefused: (reason: LimiterRefusal, declaredBytes: number) => void
}

enum State {
  Type,
  Length,
  Body,
}

/**
 * Sits between a socket and aedes and reads the MQTT fixed header of every packet as bytes pass. aedes
 * 1.2 sets no maximum packet size, so mqtt-packet would buffer a whole declared packet (up to 256 MB)
 * before parsing it, even before CONNECT. The limiter cuts the connection as soon as a remaining length
 * over the limit is declared (MQTT 3.1.1 section 2.2.3), so nothing large is ever buffered.
 */
export class MqttPacketLimiter extends Duplex {
  /** The underlying socket (a TLSSocket for mqtts, to read the peer certificate). */
  readonly socket: Duplex
  readonly #options: MqttPacketLimiterOptions
  #state = State.Type
  #length = 0
  #multiplier = 1
  #lengthBytes = 0
  #bodyLeft = 0

  constructor(socket: Duplex, options: MqttPacketLimiterOptions) {
    super({ allowHalfOpen: false })
    this.socket = socket
    this.#options = options
    socket.on('data', (chunk: Buffer) => {
      if (!this.#scan(chunk)) return
      if (!this.push(chunk)) socket.pause()
    })
    socket.on('end', () => this.push(null))
    socket.on('close', () => this.destroy())
    socket.on('error', (err) => this.destroy(err))
    socket.on('drain', () => this.emit('socketDrain'))
  }

  /** Follows packet boundaries through chunk; false (and the connection cut) on a refused packet. */
  #scan(chunk: Buffer): boolean {
    let i = 0
    while (i < chunk.length) {
      if (this.#state === State.Body) {
        const take = Math.min(this.#bodyLeft, chunk.length - i)
        this.#bodyLeft -= take
        i += take
        if (this.#bodyLeft === 0) this.#state = State.Type
        continue
      }
      if (this.#state === State.Type) {
        this.#state = State.Length
        this.#length = 0
        this.#multiplier = 1
        this.#lengthBytes = 0
        i += 1
        continue
      }
      const byte = chunk[i] as number
      i += 1
      this.#length += (byte & 0x7f) * this.#multiplier
      this.#multiplier *= 128
      this.#lengthBytes += 1
      if (this.#length > this.#options.maxPacketBytes) return this.#refuse('packet_too_large', this.#length)
      if (byte & 0x80) {
        // At most four length bytes [MQTT-2.2.3].
        if (this.#lengthBytes >= 4) return this.#refuse('malformed_length', this.#length)
        continue
      }
      this.#bodyLeft = this.#length
      this.#state = this.#length === 0 ? State.Type : State.Body
    }
    return true
  }

  #refuse(reason: LimiterRefusal, declaredBytes: number): false {
    this.#options.onRefused(reason, declaredBytes)
    this.socket.destroy()
    this.destroy()
    return false
  }

  override _read(): void {
    this.socket.resume()
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    if (this.socket.write(chunk)) done()
    else this.once('socketDrain', () => done())
  }

  override _writev(chunks: { chunk: Buffer }[], done: (err?: Error | null) => void): void {
    this.socket.cork()
    let isFull = false
    for (const { chunk } of chunks) isFull = !this.socket.write(chunk) || isFull
    this.socket.uncork()
    if (isFull) this.once('socketDrain', () => done())
    else done()
  }

  override _final(done: (err?: Error | null) => void): void {
    this.socket.end(() => done())
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.socket.destroy()
    done(err)
  }
}
