import { crc32 } from 'node:zlib'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodePublish } from '../../collector/ingest/publish-decoder.js'
import { DoorbellError } from '../../shared/errors.js'
import {
  createEnvelope,
  decodeBatch,
  decodeChunk,
  decodeEvent,
  encodeBatch,
  encodeChunk,
  encodeEvent,
  newEventId,
  parseTopic,
  topics,
} from '../../shared/protocol/index.js'
import { envCount, printCountLine } from './support/fault-count.js'

/**
 * Bad input to the protocol decoder: random bytes and mutations of valid messages (fast-check,
 * FAULT_FUZZ_RUNS runs per property). The decoder may only return or throw a DoorbellError; the
 * collector's publish decoder may never throw, and each refusal is a counted rejection.
 */
const runs = envCount('FAULT_FUZZ_RUNS', 2_000)
const deviceId = 'front-door'

const press = encodeEvent(createEnvelope({ deviceId, seq: 1, type: 'button.press', payload: {} }))
const batch = encodeBatch(
  Array.from({ length: 5 }, (_, i) =>
    createEnvelope({
      deviceId,
      seq: 2 + i,
      type: 'temperature',
      payload: { celsius: 20 + i, sensor: 'bme280' },
    }),
  ),
)
const chunkData = Buffer.from('0123456789abcdef0123456789abcdef')
const chunk = encodeChunk(
  createEnvelope({
    deviceId,
    seq: 9,
    type: 'clip.chunk',
    payload: { clipId: newEventId(), index: 0, offset: 0, size: chunkData.length, crc32: crc32(chunkData) },
  }),
  chunkData,
)

/** A valid message with bytes flipped, inserted, removed or truncated. */
function mutated(valid: Buffer): fc.Arbitrary<Buffer> {
  return fc
    .array(
      fc.tuple(
        fc.constantFrom('flip', 'insert', 'delete', 'truncate'),
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
      ),
      { minLength: 1, maxLength: 8 },
    )
    .map((edits) => {
      let bytes = Buffer.from(valid)
      for (const [kind, at, value] of edits) {
        const i = at % Math.max(1, bytes.length)
        if (kind === 'flip') bytes[i] = (bytes[i] ?? 0) ^ (value || 1)
        else if (kind === 'insert')
          bytes = Buffer.concat([bytes.subarray(0, i), Buffer.from([value]), bytes.subarray(i)])
        else if (kind === 'delete') bytes = Buffer.concat([bytes.subarray(0, i), bytes.subarray(i + 1)])
        else bytes = bytes.subarray(0, i)
      }
      return bytes
    })
}

const anyBytes = fc.uint8Array({ maxLength: 2048 }).map((a) => Buffer.from(a))
const jsonish = fc.json({ maxDepth: 4 }).map((s) => Buffer.from(s))

function onlyDoorbellErrors(decode: (b: Buffer) => unknown, tally: { ok: number; refused: number }) {
  return (bytes: Buffer) => {
    try {
      decode(bytes)
      tally.ok += 1
    } catch (err) {
      if (!(err instanceof DoorbellError)) throw err
      expect(err.code).toMatch(/^PROTOCOL_/)
      tally.refused += 1
    }
  }
}

describe('fault: fuzzing the protocol decoder', () => {
  it('decodeEvent, decodeBatch and decodeChunk refuse garbage with a protocol error and never crash', () => {
    const tally = { ok: 0, refused: 0 }
    const expectTopic = { deviceId }
    for (const [decode, valid] of [
      [(b: Buffer) => decodeEvent(b, expectTopic), press],
      [(b: Buffer) => decodeBatch(b, expectTopic), batch],
      [(b: Buffer) => decodeChunk(b, expectTopic), chunk],
    ] as const) {
      const check = onlyDoorbellErrors(decode, tally)
      fc.assert(fc.property(anyBytes, check), { numRuns: runs })
      fc.assert(fc.property(jsonish, check), { numRuns: runs })
      fc.assert(fc.property(mutated(valid), check), { numRuns: runs })
    }
    printCountLine('decoder-fuzz', { sent: tally.ok + tally.refused, stored: tally.ok, duplicated: 0 }, tally)
    expect(tally.refused).toBeGreaterThan(0)
  })

  it("the collector's publish decoder never throws and counts every refusal", () => {
    const tally = { inputs: 0, items: 0, rejections: 0 }
    const targets = [
      [parseTopic(topics.event(deviceId, 'high')), press],
      [parseTopic(topics.batch(deviceId, 'medium')), batch],
      [parseTopic(topics.chunk(deviceId)), chunk],
    ] as const
    for (const [topic, valid] of targets) {
      fc.assert(
        fc.property(fc.oneof(anyBytes, jsonish, mutated(valid)), (bytes) => {
          const decoded = decodePublish(topic, bytes, Date.now())
          tally.inputs += 1
          tally.items += decoded.items.length
          tally.rejections += decoded.rejections.length
          // Every input yields something: items to store or counted rejections, never silence.
          expect(decoded.items.length + decoded.rejections.length).toBeGreaterThan(0)
        }),
        { numRuns: runs },
      )
    }
    printCountLine('publish-decoder-fuzz', { sent: tally.inputs, stored: tally.items, duplicated: 0 }, tally)
    expect(tally.rejections).toBeGreaterThan(0)
  })
})
