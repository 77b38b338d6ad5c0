/**
 * Follows MQTT packet boundaries through a byte stream without buffering packets: it reads each fixed
 * header (MQTT 3.1.1 section 2.2) and copies out only the first `need` body bytes a packet's inspector
 * asks for (a topic and packet id, a CONNECT), however the stream is chunked. Used in both directions
 * by the front door (MqttPacketLimiter).
 */

/** What the scanner asks of its owner for each packet. */
export interface PacketHandler<R> {
  /** A fixed header is complete: refusal, or how many body bytes to collect for inspect (0: none). */
  onHeader(typeByte: number, length: number): R | number
  /**
   * The collected bytes are there: refusal; or a larger byte count when a first look says how much more
   * is needed (a PUBLISH's topic length); or undefined when done with this packet.
   */
  inspect(typeByte: number, length: number, head: Buffer): R | number | undefined
}

enum State {
  Type,
  Length,
  Body,
}

/** One direction's scanner; refusals are any non-number value the handler returns. */
export class PacketScanner<R extends string> {
  readonly #handler: PacketHandler<R>
  readonly #maxLength: () => number
  readonly #tooLarge: (length: number) => R
  readonly #badLength: R
  #state = State.Type
  #type = 0
  #length = 0
  #multiplier = 1
  #lengthBytes = 0
  #bodyLeft = 0
  #need = 0
  #collected = 0
  #head = Buffer.allocUnsafe(64)

  /** maxLength and tooLarge are asked at each length byte: the limit may change (after CONNACK). */
  constructor(
    handler: PacketHandler<R>,
    maxLength: () => number,
    tooLarge: (length: number) => R,
    badLength: R,
  ) {
    this.#handler = handler
    this.#maxLength = maxLength
    this.#tooLarge = tooLarge
    this.#badLength = badLength
  }

  /** The declared remaining length of the packet being read (for the refusal count). */
  get declaredLength(): number {
    return this.#length
  }

  /** The type byte of the packet being read. */
  get typeByte(): number {
    return this.#type
  }

  /**
   * Scans chunk; the refusal when a packet breaks a rule (the rest of the chunk is then unread).
   * onBodyStart sees the index in chunk of each body's first byte (to rewrite CONNACK's flags).
   */
  scan(chunk: Buffer, onBodyStart?: (index: number) => void): R | undefined {
    let i = 0
    while (i < chunk.length) {
      if (this.#state === State.Body) {
        if (onBodyStart && this.#bodyLeft === this.#length) onBodyStart(i)
        const available = Math.min(this.#bodyLeft, chunk.length - i)
        if (this.#need > this.#collected) {
          const take = Math.min(this.#need - this.#collected, available)
          chunk.copy(this.#head, this.#collected, i, i + take)
          this.#collected += take
          this.#bodyLeft -= take
          i += take
          if (this.#collected === this.#need) {
            const refusal = this.#inspect()
            if (refusal !== undefined) return refusal
          }
        } else {
          this.#bodyLeft -= available
          i += available
        }
        if (this.#bodyLeft === 0 && this.#need <= this.#collected) this.#state = State.Type
        continue
      }
      const byte = chunk[i] as number
      i += 1
      if (this.#state === State.Type) {
        this.#type = byte
        this.#state = State.Length
        this.#length = 0
        this.#multiplier = 1
        this.#lengthBytes = 0
        continue
      }
      this.#length += (byte & 0x7f) * this.#multiplier
      this.#multiplier *= 128
      this.#lengthBytes += 1
      if (this.#length > this.#maxLength()) return this.#tooLarge(this.#length)
      if (byte & 0x80) {
        // At most four length bytes [MQTT-2.2.3].
        if (this.#lengthBytes >= 4) return this.#badLength
        continue
      }
      const refusal = this.#startBody()
      if (refusal !== undefined) return refusal
    }
    return undefined
  }

  #startBody(): R | undefined {
    const need = this.#handler.onHeader(this.#type, this.#length)
    if (typeof need !== 'number') return need
    this.#bodyLeft = this.#length
    this.#collected = 0
    this.#setNeed(need)
    this.#state = State.Body
    if (this.#length === 0) this.#state = State.Type
    return undefined
  }

  #setNeed(need: number): void {
    this.#need = need
    if (this.#head.length >= need) return
    const grown = Buffer.allocUnsafe(Math.max(need, this.#head.length * 2))
    this.#head.copy(grown, 0, 0, this.#collected)
    this.#head = grown
  }

  #inspect(): R | undefined {
    const next = this.#handler.inspect(this.#type, this.#length, this.#head.subarray(0, this.#collected))
    if (next === undefined) {
      this.#need = 0
      this.#collected = 0
      return undefined
    }
    if (typeof next !== 'number') return next
    this.#setNeed(next)
    if (next <= this.#collected) return this.#inspect()
    return undefined
  }
}
