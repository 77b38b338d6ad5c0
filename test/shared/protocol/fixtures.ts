import { createHash } from 'node:crypto'
import { crc32 } from 'node:zlib'
import { createEnvelope, type Envelope, newEventId } from '../../../shared/protocol/index.js'

/** A tiny valid JPEG-ish body for snapshot fixtures (the protocol checks size and hash, not pixels). */
export const jpegBytes = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0xff, 0xd9])

/** One valid example of every message type, as docs/protocol.md shows them. */
export function exampleEnvelopes(deviceId = 'front-door'): Envelope[] {
  const capturedAtMs = Date.parse('2026-11-22T10:00:00.000Z')
  const clipId = newEventId(capturedAtMs)
  const chunk = Buffer.from('chunk-body')
  let seq = 0
  const base = { deviceId, capturedAtMs }
  return [
    createEnvelope({ ...base, seq: seq++, type: 'button.press', payload: { button: 'front' } }),
    createEnvelope({ ...base, seq: seq++, type: 'motion', payload: { armed: true, zone: 'porch' } }),
    createEnvelope({ ...base, seq: seq++, type: 'motion', payload: { armed: false } }),
    createEnvelope({
      ...base,
      seq: seq++,
      type: 'sound.level',
      payload: { dbfs: -42.5, peakDbfs: -12, windowMs: 1000, isLoud: false },
    }),
    createEnvelope({
      ...base,
      seq: seq++,
      type: 'temperature',
      payload: { celsius: 21.4, sensor: 'ds18b20' },
    }),
    createEnvelope({ ...base, seq: seq++, type: 'light', payload: { lux: 312.5, sensor: 'bh1750' } }),
    createEnvelope({
      ...base,
      seq: seq++,
      type: 'health',
      payload: {
        uptimeS: 3600,
        version: '0.1.0',
        cpuTempC: 48.2,
        diskFreeBytes: 12_000_000_000,
        outbox: { high: 0, medium: 3, low: 1 },
        outboxBytes: 2048,
        wifiRssiDbm: -61,
      },
    }),
    createEnvelope({ ...base, seq: seq++, type: 'status', payload: { state: 'online' } }),
    createEnvelope({
      ...base,
      seq: seq++,
      type: 'snapshot',
      payload: {
        contentType: 'image/jpeg',
        bytes: jpegBytes.length,
        sha256: createHash('sha256').update(jpegBytes).digest('hex'),
        data: jpegBytes.toString('base64'),
      },
    }),
    createEnvelope({
      ...base,
      seq: seq++,
      type: 'clip.manifest',
      payload: {
        clipId,
        contentType: 'video/mp4',
        startedAt: '2026-11-22T09:59:55.000Z',
        durationMs: 15_000,
        prerollMs: 5000,
        hasAudio: true,
        bytes: 3_000_000,
        sha256: 'a'.repeat(64),
        chunkBytes: 131_072,
        chunkCount: 23,
      },
    }),
    createEnvelope({
      ...base,
      seq: seq++,
      type: 'clip.chunk',
      payload: { clipId, index: 0, offset: 0, size: chunk.length, crc32: crc32(chunk) },
    }),
    createEnvelope({ ...base, seq: seq++, type: 'clip.unavailable', payload: { clipId, attempt: 1 } }),
    createEnvelope({ ...base, seq: seq++, type: 'command', payload: { name: 'arm' } }),
    createEnvelope({
      ...base,
      seq: seq++,
      type: 'ack',
      payload: { ids: [newEventId(capturedAtMs)], rejected: [] },
    }),
    createEnvelope({
      ...base,
      seq: seq++,
      type: 'command',
      payload: { name: 'live.start', args: { sessionId: clipId, token: liveToken, sdp: exampleSdp } },
    }),
    createEnvelope({
      ...base,
      seq,
      type: 'live.answer',
      payload: { sessionId: clipId, token: liveToken, sdp: exampleSdp },
    }),
    createEnvelope({
      ...base,
      seq,
      type: 'live.stopped',
      payload: { sessionId: clipId, token: liveToken, reason: 'stopped' },
    }),
    createEnvelope({
      ...base,
      seq: 0,
      type: 'live.started',
      payload: { sessionId: clipId, startedBy: 'alice' },
    }),
    createEnvelope({
      ...base,
      seq: 0,
      type: 'live.ended',
      payload: {
        sessionId: clipId,
        startedBy: 'alice',
        viewers: ['alice'],
        durationMs: 1000,
        hasTalked: false,
        reason: 'last-viewer-left',
      },
    }),
  ]
}

/** A live session token as the collector makes them: 32 random bytes, base64url. */
export const liveToken = 'kV3x9Q2mT7bYwR4nP8sL1cF6hJ0dA5eG3iK7oU2zX9v'
const exampleSdp = 'v=0\r\no=rtc 1 0 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n'
