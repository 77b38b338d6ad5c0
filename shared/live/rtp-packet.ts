/**
 * The few RTP facts (RFC 3550) the live relay needs, read from and written into a packet in place: the
 * agent and the collector forward packets without depacketizing them, changing only the SSRC, the payload
 * type, the sequence number and the timestamp.
 */

/** Smallest RTP header: version, flags, sequence, timestamp, SSRC. */
export const rtpFixedHeaderBytes = 12

/**
 * True for RTCP on a muxed port (RFC 5761 section 4): its second byte, the packet type, is 192-223, where
 * an RTP packet's marker bit plus a dynamic payload type (96-127) never falls.
 */
export function isRtcp(packet: Uint8Array): boolean {
  const type = packet[1] ?? 0
  return packet.length >= 4 && type >= 192 && type <= 223
}

/** True for a packet long enough to be RTP version 2. */
export function isRtp(packet: Uint8Array): boolean {
  return packet.length >= rtpFixedHeaderBytes && (packet[0] ?? 0) >> 6 === 2 && !isRtcp(packet)
}

/** Where the payload starts: after the CSRC list and the header extension (RFC 3550 section 5.3.1). */
export function rtpPayloadOffset(packet: Buffer): number {
  const csrcCount = (packet[0] ?? 0) & 0x0f
  let offset = rtpFixedHeaderBytes + csrcCount * 4
  if ((packet[0] ?? 0) & 0x10 && packet.length >= offset + 4)
    offset += 4 + packet.readUInt16BE(offset + 2) * 4
  return offset
}

/** Sequence number. */
export function rtpSequence(packet: Buffer): number {
  return packet.readUInt16BE(2)
}

/** Timestamp, in the clock rate of the payload (90 kHz for video, 48 kHz for Opus). */
export function rtpTimestamp(packet: Buffer): number {
  return packet.readUInt32BE(4)
}

/** The marker bit: the last packet of a video frame (RFC 6184 section 5.1). */
export function isRtpMarker(packet: Buffer): boolean {
  return ((packet[1] ?? 0) & 0x80) !== 0
}

/** Rewrites SSRC, payload type, sequence and timestamp in place. */
export function rewriteRtp(
  packet: Buffer,
  fields: { ssrc: number; payloadType: number; sequence: number; timestamp: number },
): void {
  packet[1] = ((packet[1] ?? 0) & 0x80) | (fields.payloadType & 0x7f)
  packet.writeUInt16BE(fields.sequence & 0xffff, 2)
  packet.writeUInt32BE(fields.timestamp >>> 0, 4)
  packet.writeUInt32BE(fields.ssrc >>> 0, 8)
}

/**
 * True when an H.264 RTP packet starts a keyframe: an SPS or an IDR slice, alone (single NAL unit), first
 * in a STAP-A aggregate, or the start fragment of a FU-A (RFC 6184 sections 5.6-5.8). Encoders send SPS
 * and PPS in front of every IDR (rpicam-vid --inline, x264 with in-band headers), so a viewer joining at
 * such a packet can decode from it.
 */
export function isH264KeyframeStart(packet: Buffer): boolean {
  const offset = rtpPayloadOffset(packet)
  if (packet.length <= offset) return false
  const nalType = (packet[offset] ?? 0) & 0x1f
  if (nalType === 7 || nalType === 5) return true
  if (nalType === 24) return packet.length > offset + 3 && ((packet[offset + 3] ?? 0) & 0x1f) === 7
  if (nalType === 28) {
    const header = packet[offset + 1] ?? 0
    return (header & 0x80) !== 0 && (header & 0x1f) === 5
  }
  return false
}

/** Parsed RTCP feedback we act on: a picture loss indication or a full intra request (RFC 4585, 5104). */
export function isKeyframeRequest(packet: Buffer): boolean {
  // A compound RTCP packet: walk its parts.
  let offset = 0
  while (offset + 4 <= packet.length) {
    const type = packet[offset + 1] ?? 0
    const format = (packet[offset] ?? 0) & 0x1f
    if ((type === 206 && (format === 1 || format === 4)) || (type === 192 && format === 0)) return true
    offset += (packet.readUInt16BE(offset + 2) + 1) * 4
  }
  return false
}
