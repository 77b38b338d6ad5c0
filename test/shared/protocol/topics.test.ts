import { describe, expect, it } from 'vitest'
import { DoorbellError } from '../../../shared/errors.js'
import { eventIdTimeMs, newEventId, parseTopic, topics } from '../../../shared/protocol/index.js'

describe('protocol topics', () => {
  it('builds v1 topics that parse back to what built them', () => {
    expect(topics.event('front-door', 'high')).toBe('doorbell/v1/front-door/event/high')
    expect(parseTopic(topics.event('front-door', 'high'))).toEqual({
      deviceId: 'front-door',
      kind: 'event',
      eventClass: 'high',
    })
    expect(parseTopic(topics.batch('d1', 'medium'))).toEqual({
      deviceId: 'd1',
      kind: 'batch',
      eventClass: 'medium',
    })
    for (const kind of ['chunk', 'status', 'ack', 'command'] as const) {
      expect(parseTopic(topics[kind]('d1'))).toEqual({ deviceId: 'd1', kind })
    }
  })

  it('refuses device ids that would break topic levels', () => {
    for (const bad of ['', 'a/b', '+', '#', 'x'.repeat(65), 'ünicode']) {
      expect(() => topics.event(bad, 'high')).toThrow(DoorbellError)
    }
  })

  it('rejects foreign, truncated and unknown topics', () => {
    for (const bad of [
      'home/front-door',
      'doorbell/v2/d1/event/high',
      'doorbell/v1/d1/event',
      'doorbell/v1/d1/event/urgent',
      'doorbell/v1/d1/event/high/extra',
      'doorbell/v1/d1/telemetry',
      'doorbell/v1/d1/ack/more',
    ]) {
      expect(() => parseTopic(bad), bad).toThrow(/PROTOCOL_TOPIC|topic/)
    }
  })

  it('gives subscription filters across all devices', () => {
    expect(topics.allDevices('event')).toBe('doorbell/v1/+/event/+')
    expect(topics.allDevices('status')).toBe('doorbell/v1/+/status')
  })

  it('makes event ids that sort by time even within one millisecond', () => {
    const ids = Array.from({ length: 100 }, () => newEventId(1_700_000_000_000))
    expect([...ids].sort()).toEqual(ids)
    expect(new Set(ids).size).toBe(100)
    expect(eventIdTimeMs(ids[0] as string)).toBe(1_700_000_000_000)
  })
})

describe('live topic', () => {
  it('builds and parses the device live-signalling topic', () => {
    expect(topics.live('front-door')).toBe('doorbell/v1/front-door/live')
    expect(parseTopic('doorbell/v1/front-door/live')).toEqual({ deviceId: 'front-door', kind: 'live' })
  })
})
