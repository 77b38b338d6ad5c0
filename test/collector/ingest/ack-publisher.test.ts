import { describe, expect, it } from 'vitest'
import { AckPublisher } from '../../../collector/ingest/ack-publisher.js'
import {
  decodeEvent,
  maxAckEnvelopeBytes,
  maxAckIds,
  newEventId,
  parseTopic,
  topics,
} from '../../../shared/protocol/index.js'

describe('AckPublisher', () => {
  it('splits a large ack into envelopes the agent can decode, each within the ack bounds', async () => {
    const sent: { topic: string; payload: Buffer }[] = []
    const publisher = new AckPublisher(async (topic, payload) => void sent.push({ topic, payload }))
    const ids = Array.from({ length: 2 * maxAckIds + 300 }, () => newEventId())
    const rejected = Array.from({ length: maxAckIds + 30 }, () => ({
      deviceId: 'porch',
      id: newEventId(),
      code: 'PROTOCOL_MALFORMED' as const,
      isRetryable: false,
      reason: 'malformed' as const,
    }))
    const count = await publisher.publish({ deviceId: 'porch', ids, rejected })
    expect(count).toBe(sent.length)
    expect(sent.length).toBe(3)
    const seenIds: string[] = []
    const seenRejected: string[] = []
    for (const { topic, payload } of sent) {
      expect(topic).toBe(topics.ack('porch'))
      expect(payload.length).toBeLessThanOrEqual(maxAckEnvelopeBytes)
      const envelope = decodeEvent(payload, parseTopic(topics.event('porch', 'high')))
      if (envelope.type !== 'ack') throw new Error('not an ack')
      expect(envelope.payload.ids.length).toBeLessThanOrEqual(maxAckIds)
      expect(envelope.payload.rejected.length).toBeLessThanOrEqual(maxAckIds)
      seenIds.push(...envelope.payload.ids)
      seenRejected.push(...envelope.payload.rejected.map((r) => r.id))
    }
    expect(seenIds).toEqual(ids)
    expect(seenRejected).toEqual(rejected.map((r) => r.id))
  })
})
