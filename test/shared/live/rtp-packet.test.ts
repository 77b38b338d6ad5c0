import { describe, expect, it } from 'vitest'
import {
  isH264KeyframeStart,
  isRtcp,
  isRtp,
  rewriteRtp,
  rtpSequence,
  rtpTimestamp,
} from '../../../shared/live/rtp-packet.js'

function rtp(payload: number[], fields: { seq?: number; ts?: number; pt?: number } = {}): Buffer {
  const header = Buffer.alloc(12)
  header[0] = 0x80
  header[1] = fields.pt ?? 96
  header.writeUInt16BE(fields.seq ?? 1, 2)
  header.writeUInt32BE(fields.ts ?? 9000, 4)
  header.writeUInt32BE(42, 8)
  return Buffer.concat([header, Buffer.from(payload)])
}

describe('RTP packets', () => {
  it('tells RTP from RTCP on a muxed port', () => {
    expect(isRtp(rtp([0x65]))).toBe(true)
    const rtcp = Buffer.from([0x81, 201, 0, 1, 0, 0, 0, 1])
    expect(isRtcp(rtcp)).toBe(true)
    expect(isRtp(rtcp)).toBe(false)
  })

  it('finds keyframe starts: SPS, IDR, a STAP-A with an SPS, a FU-A start of an IDR', () => {
    expect(isH264KeyframeStart(rtp([0x67, 0x42]))).toBe(true)
    expect(isH264KeyframeStart(rtp([0x65, 0x88]))).toBe(true)
    expect(isH264KeyframeStart(rtp([0x78, 0x00, 0x05, 0x67]))).toBe(true)
    expect(isH264KeyframeStart(rtp([0x7c, 0x85]))).toBe(true)
    expect(isH264KeyframeStart(rtp([0x7c, 0x05]))).toBe(false)
    expect(isH264KeyframeStart(rtp([0x41, 0x9a]))).toBe(false)
  })

  it('rewrites SSRC, payload type, sequence and timestamp, keeping the marker bit', () => {
    const packet = rtp([0x41], { pt: 0x80 | 96 })
    rewriteRtp(packet, { ssrc: 7, payloadType: 102, sequence: 0x1_0005, timestamp: 123 })
    expect(packet[1]).toBe(0x80 | 102)
    expect(rtpSequence(packet)).toBe(5)
    expect(rtpTimestamp(packet)).toBe(123)
    expect(packet.readUInt32BE(8)).toBe(7)
  })
})
