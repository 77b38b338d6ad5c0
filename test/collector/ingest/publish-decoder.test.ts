import { describe, expect, it } from 'vitest'
import { decodePublish } from '../../../collector/ingest/publish-decoder.js'
import { encodeBatch, parseTopic, topics } from '../../../shared/protocol/index.js'
import { press, reading } from '../collector-harness.js'

describe('decodePublish', () => {
  it('stores the good readings of a batch and refuses the bad one by id', () => {
    const good = [reading('porch', 1), reading('porch', 2)]
    const bad = { ...reading('porch', 3), payload: { celsius: 'hot', sensor: 's' } }
    const payload = Buffer.from(JSON.stringify([good[0], bad, good[1]]))
    const result = decodePublish(parseTopic(topics.batch('porch', 'medium')), payload, 5)
    expect(result.items.map((i) => (i.kind === 'event' ? i.event.id : ''))).toEqual(good.map((e) => e.id))
    expect(result.rejections).toEqual([
      expect.objectContaining({
        id: bad.id,
        code: 'PROTOCOL_MALFORMED',
        isRetryable: false,
        reason: 'malformed',
      }),
    ])
  })

  it('refuses an envelope of another device or class than its topic says', () => {
    const foreign = decodePublish(
      parseTopic(topics.event('porch', 'high')),
      Buffer.from(JSON.stringify(press('garage', 1))),
      0,
    )
    expect(foreign.rejections[0]).toMatchObject({ reason: 'mismatch', code: 'PROTOCOL_MISMATCH' })
    const wrongClass = decodePublish(
      parseTopic(topics.event('porch', 'medium')),
      Buffer.from(JSON.stringify(press('porch', 1))),
      0,
    )
    expect(wrongClass.rejections[0]).toMatchObject({ reason: 'mismatch' })
  })

  it('refuses a high-class batch and a non-JSON batch without throwing', () => {
    const high = decodePublish(
      parseTopic(topics.batch('porch', 'high')),
      encodeBatch([reading('porch', 1)]),
      0,
    )
    expect(high.items).toEqual([])
    expect(high.rejections).toHaveLength(1)
    const junk = decodePublish(parseTopic(topics.batch('porch', 'medium')), Buffer.from('[1,'), 0)
    expect(junk.rejections).toEqual([expect.objectContaining({ reason: 'malformed' })])
  })

  it('refuses ack and command types from a device', () => {
    const fake = { ...press('porch', 1), type: 'command', payload: { name: 'arm' } }
    const result = decodePublish(
      parseTopic(topics.event('porch', 'high')),
      Buffer.from(JSON.stringify(fake)),
      0,
    )
    expect(result.items).toEqual([])
    expect(result.rejections[0]).toMatchObject({ id: fake.id, isRetryable: false })
  })
})
