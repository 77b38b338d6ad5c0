/**
 * Follows MQTT packet boundaries through a byte stream without buffering packets: it reads each fixed
 * header (MQTT 3.1.1 section 2.2) and shows a packet's inspector the first bytes of its body. When those
 * bytes are in one chunk, as nearly always, the inspector reads them where they are; only a head split
 * across chunks is copied. Used in both directions by the front door (MqttPacketLimiter).
 */

/** A big-endian 16-bit field (MQTT 1.5.2), read without Buffer's bounds-checked helper on the hot path. */
export function uint16(buf: Buffer, at: number): number {
  return ((buf[at] as number) << 8) | (buf[at + 1] as number)
}

/** MQTT's PUBLISH packet type (the high nibble of its fixed header). */
const publishType = 3

/** The empty head every scanner starts with: a head split across chunks is rare, its buffer made then. */
const noHead = Buffer.alloc(0)

enum State {
  Type,
  Length,
  Body,
}

/**
 * One direction's scanner; refusals are any non-number value the subclass returns. The front door keeps
 * two per connection for the connection's life, so what it asks of each packet is methods of a subclass,
 * not callbacks: closures and their contexts would be per-connection memory.
 */
export abstract class PacketScanner<R extends string> {
  readonly #badLength: R
  #state = State.Type
  #type = 0
  #length = 0
  #multiplier = 1
  #lengthBytes = 0
  #bodyLeft = 0
  /** Body bytes the inspector still waits for (0: not inspecting), and those copied so far. */
  #need = 0
  #collected = 0
  /**
   * Never a slice of Buffer's shared pool: one small slice held for a connection's life keeps its whole
   * 8 KiB pool slab alive (measured: about 0.6 KiB per idle connection).
   */
  #head = noHead

  /** badLength: the refusal of a remaining length over four bytes. */
  constructor(badLength: R) {
    this.#badLength = badLength
  }

  /** The largest remaining length accepted now; asked at each length byte (it may change after CONNACK). */
  protected abstract maxLength(): number

  /** The refusal of a declared length over maxLength(). */
  protected abstract tooLarge(length: number): R

  /** A fixed header is complete: a refusal, true to inspect the body's first bytes, false to pass it. */
  protected abstract onHeader(typeByte: number, length: number): R | boolean

  /**
   * Bytes [start, start + available) of buf are the first of the body (available >= 1, or 0 for an empty
   * body): a refusal; or how many body bytes it needs when available is not enough; or undefined, done.
   */
  protected abstract inspect(
    typeByte: number,
    length: number,
    buf: Buffer,
    start: number,
    available: number,
  ): R | number | undefined

  /** The index in the chunk being scanned of a body's first byte, when scan() is asked to report it. */
  protected onBodyStart(_index: number): void {}

  /** The declared remaining length of the packet being read (for the refusal count). */
  get declaredLength(): number {
    return this.#length
  }

  /** The type byte of the packet being read. */
  get typeByte(): number {
    return this.#type
  }

  /**
   * Scans chunk; the refusal when a packet breaks a rule (the rest of the chunk is then unread). With
   * reportBodyStart, onBodyStart sees the index in chunk of each body's first byte (to rewrite CONNACK's flags).
   */
  scan(chunk: Buffer, reportBodyStart = false): R | undefined {
    let i = 0
    const end = chunk.length
    while (i < end) {
      if (this.#state === State.Body) {
        if (reportBodyStart && this.#bodyLeft === this.#length && this.#collected === 0) this.onBodyStart(i)
        if (this.#need > 0) {
          const take = Math.min(this.#need - this.#collected, this.#bodyLeft, end - i)
          this.#grow(this.#collected + take)
          chunk.copy(this.#head, this.#collected, i, i + take)
          this.#collected += take
          this.#bodyLeft -= take
          i += take
          if (this.#collected >= this.#need) {
            const refusal = this.#inspect(this.#head, 0, this.#collected)
            if (refusal !== undefined) return refusal
          }
        } else {
          const take = Math.min(this.#bodyLeft, end - i)
          this.#bodyLeft -= take
          i += take
        }
        if (this.#bodyLeft === 0 && this.#need === 0) this.#state = State.Type
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
      if (this.#length > this.maxLength()) return this.tooLarge(this.#length)
      if (byte & 0x80) {
        // At most four length bytes [MQTT-2.2.3].
        if (this.#lengthBytes >= 4) return this.#badLength
        continue
      }
      const wants = this.onHeader(this.#type, this.#length)
      if (typeof wants !== 'boolean') return wants
      this.#bodyLeft = this.#length
      this.#need = 0
      this.#collected = 0
      this.#state = this.#length === 0 ? State.Type : State.Body
      if (reportBodyStart && this.#length > 0 && i < end) this.onBodyStart(i)
      if (!wants) continue
      // In place when the head is in this chunk; copied (above) only when it is split.
      const available = Math.min(this.#length, end - i)
      const refusal = this.#inspect(chunk, i, available)
      if (refusal !== undefined) return refusal
      if (this.#need > 0) {
        i += available
        continue
      }
      const take = Math.min(this.#bodyLeft, end - i)
      this.#bodyLeft -= take
      i += take
      if (this.#bodyLeft === 0) this.#state = State.Type
    }
    return undefined
  }

  /** Runs the inspector; leaves #need > 0 when it waits for more bytes. */
  #inspect(buf: Buffer, start: number, available: number): R | undefined {
    const next = this.inspect(this.#type, this.#length, buf, start, available)
    if (typeof next !== 'number') {
      this.#need = 0
      this.#collected = 0
      // A split head of a once-per-connection packet (CONNECT, CONNACK, SUBSCRIBE) is let go: kept, the
      // buffer would stay for the connection's life (about 0.3 KiB with its backing store). Only a
      // PUBLISH, which comes again and again, keeps it for the next one.
      if (buf === this.#head && this.#type >> 4 !== publishType) this.#head = noHead
      return next
    }
    if (buf !== this.#head) {
      // The head is split: copy what this chunk has, the rest arrives in the next ones.
      this.#grow(next)
      buf.copy(this.#head, 0, start, start + available)
      this.#collected = available
      this.#bodyLeft -= available
    }
    this.#need = next
    return undefined
  }

  #grow(bytes: number): void {
    if (this.#head.length >= bytes) return
    const grown = Buffer.allocUnsafeSlow(Math.max(bytes, 64, this.#head.length * 2))
    this.#head.copy(grown, 0, 0, this.#collected)
    this.#head = grown
  }
}
