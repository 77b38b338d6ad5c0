import { describe, expect, it } from 'vitest'
import { checkPublish, isClientIdAllowed, isSubscribeAllowed } from '../../../collector/access/mqtt-rights.js'
import { topics } from '../../../shared/protocol/index.js'

const device = { kind: 'device', deviceId: 'front-door' } as const
const service = { kind: 'service', name: 'homeassistant' } as const

describe('MQTT rights', () => {
  it('lets a device publish events, batches, chunks and status under its own prefix only', () => {
    for (const topic of [
      topics.event('front-door', 'high'),
      topics.batch('front-door', 'medium'),
      topics.chunk('front-door'),
      topics.status('front-door'),
    ]) {
      expect(checkPublish(device, topic)).toHaveProperty('topic')
    }
    expect(checkPublish(device, topics.event('back-door', 'high'))).toEqual({ refusal: 'foreign_topic' })
    expect(checkPublish(device, topics.ack('front-door'))).toEqual({ refusal: 'bad_topic' })
    expect(checkPublish(device, 'doorbell/v1/front-door/whatever')).toEqual({ refusal: 'bad_topic' })
    expect(checkPublish(device, '$SYS/broker/x')).toEqual({ refusal: 'foreign_topic' })
  })

  it('makes service users read-only', () => {
    expect(checkPublish(service, topics.event('front-door', 'high'))).toEqual({ refusal: 'not_a_device' })
    expect(isSubscribeAllowed(service, 'doorbell/v1/+/event/+')).toBe(true)
    expect(isSubscribeAllowed(service, 'doorbell/v1/#')).toBe(true)
    expect(isSubscribeAllowed(service, '#')).toBe(false)
    expect(isSubscribeAllowed(service, '$SYS/#')).toBe(false)
  })

  it('lets a device subscribe to its own ack and command topics only', () => {
    expect(isSubscribeAllowed(device, topics.ack('front-door'))).toBe(true)
    expect(isSubscribeAllowed(device, topics.command('front-door'))).toBe(true)
    expect(isSubscribeAllowed(device, topics.ack('back-door'))).toBe(false)
    expect(isSubscribeAllowed(device, 'doorbell/v1/front-door/#')).toBe(false)
    expect(isSubscribeAllowed(device, '#')).toBe(false)
  })

  it('ties client ids to the principal so no one can take over another session', () => {
    expect(isClientIdAllowed(device, 'front-door')).toBe(true)
    expect(isClientIdAllowed(device, 'front-door:tool')).toBe(true)
    expect(isClientIdAllowed(device, 'front-door-2')).toBe(false)
    expect(isClientIdAllowed(service, 'homeassistant:1')).toBe(true)
    expect(isClientIdAllowed(service, 'front-door')).toBe(false)
  })
})
