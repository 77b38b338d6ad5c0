import { isUtf8 } from 'node:buffer'

/**
 * The MQTT 3.1.1 rules the front door (MqttPacketLimiter) enforces before aedes parses a packet, each
 * with the spec clause it follows. aedes 1.2 and mqtt-packet 9 accept strings with U+0000, packet id 0,
 * unsolicited acknowledgements and a mismatched protocol name and level, and answer an MQTT 5 CONNECT
 * with a CONNACK a v5 client cannot parse. Checks read raw bytes only, never build objects: CONNECT
 * once per connection, and for a PUBLISH only its topic and packet id.
 */

/** Why the front door refused a packet; labels of the rejection counter. */
export type ConformanceRefusal =
  | 'bad_utf8'
  | 'packet_id_zero'
  | 'reserved_flags'
  | 'protocol_mismatch'
  | 'unsupported_protocol_version'
  | 'malformed_connect'
  | 'unexpected_packet'
  | 'unsolicited_ack'

/** Packet types (MQTT 3.1.1 section 2.2.1). */
export const packetType = {
  connect: 1,
  connack: 2,
  publish: 3,
  puback: 4,
  pubrec: 5,
  pubrel: 6,
  pubcomp: 7,
  subscribe: 8,
  suback: 9,
  unsubscribe: 10,
  unsuback: 11,
  pingreq: 12,
  pingresp: 13,
  disconnect: 14,
} as const

/**
 * Fixed-header flags a client may send per type (MQTT-2.2.2-1): -1 for types a client never sends
 * (0, CONNACK, SUBACK, UNSUBACK, PINGRESP, 15), which are `unexpected_packet`. PUBLISH is checked apart.
 */
const requiredFlags = [-1, 0, -1, 0, 0, 0, 2, 0, 2, -1, 2, -1, 0, -1, 0, -1]

/** Refusal for a client's fixed-header first byte, or undefined when it is acceptable. */
export function checkTypeByte(byte: number): ConformanceRefusal | undefined {
  const type = byte >> 4
  if (type === packetType.publish) {
    const qos = (byte >> 1) & 3
    // QoS 3 is malformed (MQTT-3.3.1-4); DUP must be 0 at QoS 0 (MQTT-3.3.1-2).
    if (qos === 3 || (qos === 0 && byte & 0x08)) return 'reserved_flags'
    return undefined
  }
  const flags = requiredFlags[type] as number
  if (flags === -1) return 'unexpected_packet'
  return (byte & 0x0f) === flags ? undefined : 'reserved_flags'
}

/**
 * True when bytes [start, end) are a well-formed UTF-8 string without U+0000 (MQTT-1.5.3-1, -2).
 * ASCII, which every topic and id of ours is, is checked in one pass without a call into C++.
 */
export function isMqttString(buf: Buffer, start: number, end: number): boolean {
  let isAscii = true
  for (let i = start; i < end; i += 1) {
    const byte = buf[i] as number
    if (byte === 0) return false
    if (byte >= 0x80) isAscii = false
  }
  // isUtf8 refuses overlong forms and encoded surrogates, as MQTT-1.5.3-1 asks.
  return isAscii || isUtf8(buf.subarray(start, end))
}

/** What a CONNECT said that the front door needs: the client id and the clean-session flag. */
export interface ConnectSummary {
  readonly clientId: string
  readonly isClean: boolean
  readonly protocolLevel: number
}

/** Result of checking a CONNECT body: its summary, or why it is refused and how to answer. */
export type ConnectCheck =
  | { readonly summary: ConnectSummary }
  | { readonly refusal: ConformanceRefusal; readonly answer?: Buffer }

/** CONNACK 0x01, unacceptable protocol version (MQTT-3.1.2-2). */
const connackUnacceptableVersion = Buffer.from([0x20, 0x02, 0x00, 0x01])
/** An MQTT 5 CONNACK with reason 0x84, Unsupported Protocol Version, and no properties (MQTT 5 3.2.2.2). */
const connackV5Unsupported = Buffer.from([0x20, 0x03, 0x00, 0x84, 0x00])

/**
 * Checks a whole CONNECT body (MQTT 3.1.1 section 3.1): protocol name and level that belong together
 * ("MQTT" 4, "MQIsdp" 3 for 3.1), an MQTT 5 CONNECT answered in v5, reserved and will flags, and every
 * string UTF-8 without U+0000. The password is binary and not checked.
 */
export function checkConnect(body: Buffer): ConnectCheck {
  const malformed = { refusal: 'malformed_connect' } as const
  let pos = 0
  const readLength = (): number => {
    if (pos + 2 > body.length) return -1
    const length = body.readUInt16BE(pos)
    pos += 2
    return pos + length > body.length ? -1 : length
  }
  const nameLength = readLength()
  if (nameLength < 0) return malformed
  const name = body.toString('latin1', pos, pos + nameLength)
  pos += nameLength
  if (name !== 'MQTT' && name !== 'MQIsdp') return { refusal: 'protocol_mismatch' }
  if (pos + 4 > body.length) return malformed
  const level = body[pos] as number
  const flags = body[pos + 1] as number
  pos += 4
  if (name === 'MQTT' && level === 5)
    return { refusal: 'unsupported_protocol_version', answer: connackV5Unsupported }
  if ((name === 'MQTT' && level !== 4) || (name === 'MQIsdp' && level !== 3)) {
    return { refusal: 'protocol_mismatch', answer: connackUnacceptableVersion }
  }
  const hasWill = (flags & 0x04) !== 0
  const willQos = (flags >> 3) & 3
  // Reserved bit 0 (MQTT-3.1.2-3); will QoS 3 (MQTT-3.1.2-14); will QoS and retain without a will
  // (MQTT-3.1.2-11, -13, -15); a password without a username (MQTT-3.1.2-22).
  if (flags & 0x01 || willQos === 3) return { refusal: 'reserved_flags' }
  if (!hasWill && (willQos !== 0 || flags & 0x20)) return { refusal: 'reserved_flags' }
  if (!(flags & 0x80) && flags & 0x40) return { refusal: 'reserved_flags' }
  const readString = (): string | undefined | false => {
    const length = readLength()
    if (length < 0) return undefined
    const start = pos
    pos += length
    return isMqttString(body, start, pos) ? body.toString('utf8', start, pos) : false
  }
  const clientId = readString()
  if (clientId === undefined) return malformed
  if (clientId === false) return { refusal: 'bad_utf8' }
  if (hasWill) {
    const willTopic = readString()
    if (willTopic === undefined || readLength() < 0) return malformed
    if (willTopic === false) return { refusal: 'bad_utf8' }
    pos += body.readUInt16BE(pos - 2)
  }
  if (flags & 0x80) {
    const username = readString()
    if (username === undefined) return malformed
    if (username === false) return { refusal: 'bad_utf8' }
  }
  if (flags & 0x40) {
    const passwordLength = readLength()
    if (passwordLength < 0) return malformed
    pos += passwordLength
  }
  if (pos !== body.length) return malformed
  return { summary: { clientId, isClean: (flags & 0x02) !== 0, protocolLevel: level } }
}

/**
 * Checks a SUBSCRIBE or UNSUBSCRIBE body: a non-zero packet id (MQTT-2.3.1-1), at least one filter
 * (MQTT-3.8.3-3, MQTT-3.10.3-2), each UTF-8 without U+0000, and for SUBSCRIBE requested QoS 0-2 with
 * the upper bits clear (MQTT-3.8.3-4).
 */
export function checkSubscription(
  body: Buffer,
  isSubscribe: boolean,
): ConformanceRefusal | 'malformed' | undefined {
  if (body.length < 2) return 'malformed'
  if (body.readUInt16BE(0) === 0) return 'packet_id_zero'
  let pos = 2
  if (pos === body.length) return 'malformed'
  while (pos < body.length) {
    if (pos + 2 > body.length) return 'malformed'
    const length = body.readUInt16BE(pos)
    pos += 2
    if (pos + length > body.length) return 'malformed'
    if (!isMqttString(body, pos, pos + length)) return 'bad_utf8'
    pos += length
    if (isSubscribe) {
      const options = body[pos]
      if (options === undefined) return 'malformed'
      if (options > 2) return 'reserved_flags'
      pos += 1
    }
  }
  return undefined
}
