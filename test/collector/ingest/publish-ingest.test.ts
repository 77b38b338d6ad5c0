import type { Client, PublishPacket } from 'aedes'
import { describe, expect, it } from 'vitest'
import type { MqttPrincipal } from '../../../collector/access/principal.js'
import type { IngestItem, Rejection, RejectReason } from '../../../collector/ingest/ingest-item.js'
import { createPublishIngest } from '../../../collector/ingest/publish-ingest.js'
import { encodeBatch, encodeEvent, topics } from '../../../shared/protocol/index.js'
import { press, reading } from '../collector-harness.js'

/** A hand-written sink and rate limiter, and what the steps told them. */
function rig(options: { tokens?: number; queued?: number } = {}) {
  const submitted: IngestItem[] = []
  const refused: Rejection[] = []
  const counted: RejectReason[] = []
  const presence: string[] = []
  const dropped: string[] = []
  let tokens = options.tokens ?? Number.POSITIVE_INFINITY
  const budgetsTaken: string[] = []
  const clients = new Map<Client, MqttPrincipal>()
  const ingest = createPublishIngest({
    principalOf: (client) => clients.get(client),
    rateLimiter: {
      tryTake: () => {
        budgetsTaken.push('rate')
        return tokens-- > 0
      },
    },
    storageQuota: {
      tryTake: () => {
        budgetsTaken.push('storage')
        return true
      },
    },
    // The rig's clock stands at 1000 ms; the clock check has its own test (test/collector/clock-skew.test.ts).
    maxClockAheadMs: Number.POSITIVE_INFINITY,
    sink: {
      queuedCount: options.queued ?? 0,
      submit: (item) => void submitted.push(item),
      reject: (rejection) => void refused.push(rejection),
    },
    maxQueuedItems: 100,
    now: () => 1000,
    onRejected: (reason) => void counted.push(reason),
    onPresence: (deviceId, state) => void presence.push(`${deviceId} ${state}`),
    onLiveSignal: () => undefined,
    drop: (packet) => void dropped.push(packet.topic),
  })
  const porch = { id: 'porch' } as Client
  clients.set(porch, { kind: 'device', deviceId: 'porch' })
  const packet = (topic: string, payload: Buffer | string, retain = false): PublishPacket =>
    ({ cmd: 'publish', topic, payload, qos: 1, retain, dup: false }) as PublishPacket
  return { ingest, porch, packet, submitted, refused, counted, presence, dropped, budgetsTaken }
}

describe('publish ingest steps', () => {
  it('stores a device’s event and clears its retain flag', () => {
    const r = rig()
    const event = press('porch', 1)
    const p = r.packet(topics.event('porch', 'high'), encodeEvent(event), true)
    r.ingest.accept(r.porch, p)
    expect(r.submitted.map((i) => (i.kind === 'event' ? i.event.id : ''))).toEqual([event.id])
    expect(r.submitted[0]).toMatchObject({ event: { receivedAtMs: 1000 } })
    expect(p.retain).toBe(false)
    expect(r.dropped).toEqual([])
  })

  it('refuses with retry every envelope of a batch over the device’s rate, and drops the publish', () => {
    const r = rig({ tokens: 0 })
    const batch = [reading('porch', 1), reading('porch', 2)]
    r.ingest.accept(r.porch, r.packet(topics.batch('porch', 'medium'), encodeBatch(batch)))
    expect(r.submitted).toEqual([])
    expect(r.refused.map((x) => [x.id, x.reason, x.isRetryable])).toEqual([
      [batch[0]?.id, 'rate_limited', true],
      [batch[1]?.id, 'rate_limited', true],
    ])
    expect(r.counted).toEqual(['rate_limited', 'rate_limited'])
    expect(r.dropped).toHaveLength(1)
  })

  it('refuses with retry (COLLECTOR_BUSY) while the commit queue is full', () => {
    const r = rig({ queued: 100 })
    const event = reading('porch', 3)
    r.ingest.accept(r.porch, r.packet(topics.event('porch', 'medium'), encodeEvent(event)))
    expect(r.refused).toMatchObject([{ id: event.id, code: 'COLLECTOR_BUSY', reason: 'overloaded' }])
  })

  it('a publish refused as busy spends neither the device’s rate nor its storage budget', () => {
    for (const [topic, payload] of [
      [topics.event('porch', 'medium'), encodeEvent(reading('porch', 4))],
      [topics.batch('porch', 'medium'), encodeBatch([reading('porch', 5), reading('porch', 6)])],
    ] as const) {
      const busy = rig({ queued: 100 })
      busy.ingest.accept(busy.porch, busy.packet(topic, payload))
      expect(busy.refused.map((x) => x.code)).not.toContain('RATE_LIMITED')
      expect(busy.budgetsTaken).toEqual([])
      const idle = rig()
      idle.ingest.accept(idle.porch, idle.packet(topic, payload))
      expect(idle.budgetsTaken).toEqual(['rate', 'storage'])
    }
  })

  it('reports presence from a status publish and refuses a malformed one without presence', () => {
    const r = rig()
    r.ingest.accept(r.porch, r.packet(topics.status('porch'), '{"state":"online"}', true))
    r.ingest.accept(r.porch, r.packet(topics.status('porch'), '{"state":"sleeping"}', true))
    expect(r.presence).toEqual(['porch online'])
    expect(r.counted).toEqual(['malformed'])
    expect(r.dropped).toHaveLength(1)
  })

  it('honours a presence will left by a client of an earlier run, and drops anything else without a client', () => {
    const r = rig()
    r.ingest.accept(null, r.packet(topics.status('porch'), '{"state":"offline"}', true))
    expect(r.dropped).toEqual([])
    r.ingest.accept(null, r.packet(topics.event('porch', 'high'), encodeEvent(press('porch', 4))))
    expect(r.dropped).toHaveLength(1)
    expect(r.submitted).toEqual([])
  })

  it('refuses a publish on another device’s topic before decoding it', () => {
    const r = rig()
    r.ingest.accept(r.porch, r.packet(topics.event('garage', 'high'), 'not even json'))
    expect(r.counted).toEqual(['foreign_topic'])
    expect(r.refused).toEqual([])
    expect(r.dropped).toHaveLength(1)
  })
})
