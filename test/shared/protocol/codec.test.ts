import { crc32 } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import {
  createEnvelope,
  decodeBatch,
  decodeChunk,
  decodeEvent,
  type Envelope,
  encodeBatch,
  encodeChunk,
  encodeEvent,
  encodeNewEvent,
  maxAckIds,
  maxBatchItems,
  maxEventBytes,
  maxSnapshotEnvelopeBytes,
  messageTypeNames,
  newEventId,
} from '../../../shared/protocol/index.js'
import { thrownDoorbellError as rejection } from '../../support/doorbell-error.js'
import { exampleEnvelopes } from './fixtures.js'

const press = () => createEnvelope({ deviceId: 'front-door', seq: 7, type: 'button.press', payload: {} })

describe('protocol codec', () => {
  it('round-trips one example of every message type', () => {
    const examples = exampleEnvelopes()
    expect(new Set(examples.map((e) => e.type))).toEqual(new Set(messageTypeNames))
    for (const envelope of examples) {
      if (envelope.type === 'clip.chunk') continue
      expect(decodeEvent(encodeEvent(envelope))).toEqual(envelope)
    }
  })

  it('fills the defaults a sender may leave out', () => {
    const envelope = press()
    expect(envelope.class).toBe('high')
    expect(envelope.payload).toEqual({ button: 'front' })
    expect(envelope.id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/)
    expect(Date.parse(envelope.capturedAt)).not.toBeNaN()
  })

  it('puts armed motion in high and unarmed motion in medium', () => {
    const armed = createEnvelope({ deviceId: 'd1', seq: 1, type: 'motion', payload: { armed: true } })
    const idle = createEnvelope({ deviceId: 'd1', seq: 2, type: 'motion', payload: { armed: false } })
    expect([armed.class, idle.class]).toEqual(['high', 'medium'])
  })

  it('rejects invalid JSON as malformed', () => {
    const err = rejection(() => decodeEvent(Buffer.from('{"v":1,')))
    expect(err.code).toBe('PROTOCOL_MALFORMED')
    expect(err.message).toContain('not valid JSON')
  })

  it('names the field of a bad payload value', () => {
    const bad = { ...JSON.parse(encodeEvent(exampleEnvelopes()[4] as Envelope).toString()) }
    bad.payload.celsius = 900
    const err = rejection(() => decodeEvent(Buffer.from(JSON.stringify(bad))))
    expect(err.code).toBe('PROTOCOL_MALFORMED')
    expect(err.details.field).toBe('payload.celsius')
    expect(err.message).toContain('payload.celsius')
    expect(err.details.id).toBe(bad.id)
  })

  it('names a missing header field', () => {
    const { seq: _seq, ...noSeq } = JSON.parse(encodeEvent(press()).toString())
    const err = rejection(() => decodeEvent(Buffer.from(JSON.stringify(noSeq))))
    expect(err.details.field).toBe('seq')
  })

  it('rejects an unknown type with the list of known ones', () => {
    const value = { ...JSON.parse(encodeEvent(press()).toString()), type: 'doorbell.explode' }
    const err = rejection(() => decodeEvent(Buffer.from(JSON.stringify(value))))
    expect(err.code).toBe('PROTOCOL_UNKNOWN_TYPE')
    expect(err.message).toContain('button.press')
  })

  it('rejects a type sent in a class it does not travel in', () => {
    const value = { ...JSON.parse(encodeEvent(press()).toString()), class: 'low' }
    const err = rejection(() => decodeEvent(Buffer.from(JSON.stringify(value))))
    expect(err.code).toBe('PROTOCOL_MALFORMED')
    expect(err.details.field).toBe('class')
  })

  it('rejects unknown extra fields instead of storing them', () => {
    const value = { ...JSON.parse(encodeEvent(press()).toString()), extra: true }
    expect(rejection(() => decodeEvent(Buffer.from(JSON.stringify(value)))).code).toBe('PROTOCOL_MALFORMED')
  })

  it('rejects an envelope over the limit of its type as oversized', () => {
    const value = JSON.parse(encodeEvent(press()).toString())
    value.payload.button = 'x'.repeat(maxEventBytes)
    const err = rejection(() => decodeEvent(Buffer.from(JSON.stringify(value))))
    expect(err.code).toBe('PROTOCOL_OVERSIZED')
    expect(err.details.limit).toBe(maxEventBytes)
  })

  it('rejects input over the largest envelope before parsing it', () => {
    const garbage = Buffer.alloc(maxSnapshotEnvelopeBytes + 1, 0x7b)
    expect(rejection(() => decodeEvent(garbage)).code).toBe('PROTOCOL_OVERSIZED')
  })

  it('rejects an envelope whose device is not the topic device', () => {
    const err = rejection(() =>
      decodeEvent(encodeEvent(press()), { deviceId: 'back-door', eventClass: 'high' }),
    )
    expect(err.code).toBe('PROTOCOL_MISMATCH')
    expect(err.details.field).toBe('deviceId')
  })

  it('rejects an envelope whose class is not the topic class', () => {
    const err = rejection(() =>
      decodeEvent(encodeEvent(press()), { deviceId: 'front-door', eventClass: 'medium' }),
    )
    expect(err.details.field).toBe('class')
  })

  it('round-trips a batch and names the index of a bad element', () => {
    const readings = exampleEnvelopes().filter((e) => e.class === 'medium')
    expect(decodeBatch(encodeBatch(readings), { deviceId: 'front-door', eventClass: 'medium' })).toEqual(
      readings,
    )
    const values = JSON.parse(encodeBatch(readings).toString())
    values[2].payload = {}
    const err = rejection(() => decodeBatch(Buffer.from(JSON.stringify(values))))
    expect(err.details.field).toMatch(/^batch\[2\]\.payload\./)
  })

  it('rejects an empty batch and one with too many items', () => {
    expect(rejection(() => decodeBatch(Buffer.from('[]'))).code).toBe('PROTOCOL_OVERSIZED')
    const many = JSON.stringify(Array.from({ length: maxBatchItems + 1 }, () => ({})))
    expect(rejection(() => decodeBatch(Buffer.from(many))).code).toBe('PROTOCOL_OVERSIZED')
    expect(rejection(() => decodeBatch(Buffer.from('{"not":"an array"}'))).code).toBe('PROTOCOL_MALFORMED')
  })

  it('round-trips a chunk frame and rejects a corrupted body', () => {
    const data = Buffer.from('0123456789abcdef')
    const clipId = newEventId()
    const envelope = createEnvelope({
      deviceId: 'front-door',
      seq: 3,
      type: 'clip.chunk',
      payload: { clipId, index: 0, offset: 0, size: data.length, crc32: crc32(data) },
    })
    const frame = encodeChunk(envelope, data)
    const decoded = decodeChunk(frame, { deviceId: 'front-door' })
    expect(decoded.envelope).toEqual(envelope)
    expect(decoded.data.equals(data)).toBe(true)

    const corrupted = Buffer.from(frame)
    corrupted.writeUInt8(corrupted.readUInt8(corrupted.length - 1) ^ 0xff, corrupted.length - 1)
    const err = rejection(() => decodeChunk(corrupted))
    expect(err.details.field).toBe('payload.crc32')
    expect(err.details.id).toBe(envelope.id)

    expect(rejection(() => decodeChunk(Buffer.from('nope'))).details.field).toBe('frame')
    expect(rejection(() => decodeChunk(frame.subarray(0, frame.length - 1))).details.field).toBe(
      'payload.size',
    )
  })

  it('will not carry a chunk as a plain JSON event', () => {
    const chunk = exampleEnvelopes().find((e) => e.type === 'clip.chunk') as Envelope
    expect(rejection(() => encodeEvent(chunk)).code).toBe('PROTOCOL_MALFORMED')
    expect(rejection(() => decodeEvent(Buffer.from(JSON.stringify(chunk)))).details.field).toBe('type')
  })

  it('checks that a snapshot body matches its declared size', () => {
    const snapshot = exampleEnvelopes().find((e) => e.type === 'snapshot') as Envelope<'snapshot'>
    const value = JSON.parse(encodeEvent(snapshot).toString())
    value.payload.bytes += 1
    expect(rejection(() => decodeEvent(Buffer.from(JSON.stringify(value)))).details.field).toBe(
      'payload.data',
    )
  })
})

describe('command args', () => {
  const command = (payload: Record<string, unknown>) => ({
    v: 1,
    id: newEventId(),
    deviceId: 'front-door',
    seq: 1,
    class: 'high',
    type: 'command',
    capturedAt: new Date().toISOString(),
    payload,
  })

  it('accepts clip.resend with a clip id and an attempt, and clip.verified with a clip id', () => {
    const clipId = newEventId()
    for (const payload of [
      { name: 'clip.resend', args: { clipId, attempt: 2 } },
      { name: 'clip.verified', args: { clipId } },
    ]) {
      const decoded = decodeEvent(Buffer.from(JSON.stringify(command(payload))))
      expect(decoded.type === 'command' && decoded.payload).toEqual(payload)
    }
  })

  it('names the bad argument of a clip command', () => {
    const noAttempt = command({ name: 'clip.resend', args: { clipId: newEventId() } })
    expect(rejection(() => decodeEvent(Buffer.from(JSON.stringify(noAttempt)))).details.field).toBe(
      'payload.args.attempt',
    )
    const noArgs = command({ name: 'clip.verified' })
    expect(rejection(() => decodeEvent(Buffer.from(JSON.stringify(noArgs)))).code).toBe('PROTOCOL_MALFORMED')
  })
})

describe('encodeNewEvent', () => {
  it('builds, validates and encodes in one step, naming the field of a bad init', () => {
    const { envelope, buffer } = encodeNewEvent({
      deviceId: 'front-door',
      seq: 3,
      type: 'ack',
      payload: { ids: [newEventId()] },
    })
    expect(envelope.class).toBe('high')
    expect(decodeEvent(buffer, { deviceId: 'front-door' })).toEqual(envelope)
    const bad = rejection(() =>
      encodeNewEvent({ deviceId: 'front-door', seq: 4, type: 'ack', payload: { ids: ['not-a-ulid'] } }),
    )
    expect(bad.details.field).toBe('payload.ids.0')
    const chunk = exampleEnvelopes().find((e) => e.type === 'clip.chunk') as Envelope<'clip.chunk'>
    expect(rejection(() => encodeNewEvent({ ...chunk })).code).toBe('PROTOCOL_MALFORMED')
  })
})

describe('ack size', () => {
  it('carries a full ack of maxAckIds ids and as many rejections', () => {
    const ids = Array.from({ length: maxAckIds }, () => newEventId())
    const rejected = ids.map((id) => ({ id, code: 'X'.repeat(64), retry: false }))
    const ack = createEnvelope({ deviceId: 'front-door', seq: 0, type: 'ack', payload: { ids, rejected } })
    const decoded = decodeEvent(encodeEvent(ack), { deviceId: 'front-door' })
    expect(decoded.type === 'ack' && decoded.payload.ids.length).toBe(maxAckIds)
  })
})
