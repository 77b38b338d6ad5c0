import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RedisEngine, startRedis } from '../../../bench/engines/redis-engine.js'
import { deliveryKeyHeader } from '../../../collector/alerts/webhook-channel.js'
import type { ComposedCollector } from '../../../collector/main.js'
import { encodeEvent, topics } from '../../../shared/protocol/index.js'
import { eventually } from '../../support/eventually.js'
import { injectLogin } from '../../support/http-client.js'
import { type Receiver, startReceiver } from '../alerts/alerts-harness.js'
import { press } from '../collector-harness.js'
import { usePostgresSuite } from '../postgres/postgres-suite.js'
import { connectSessionDevice, type FleetNodes, type SessionDevice, startFleetNodes } from './fleet-nodes.js'

const password = 'fleet settings owner pw'

/** HH:MM in UTC, offsetMs from now: a quiet-hours window around the test's own time. */
function utcClock(offsetMs: number): string {
  return new Date(Date.now() + offsetMs).toISOString().slice(11, 16)
}

/**
 * Two in-process nodes on one PostgreSQL and Redis. alice signs in on node A only; presses are stored
 * and routed by node B (the polls are slow, so each node routes what it committed itself).
 */
describe('fleet user settings', () => {
  const postgres = usePostgresSuite()
  let redis: RedisEngine
  let receiver: Receiver
  let fleet: FleetNodes
  let a: ComposedCollector
  let b: ComposedCollector
  let owner = { status: 0, cookie: '', csrf: '' }
  let device: SessionDevice

  beforeAll(async () => {
    redis = await startRedis()
    receiver = await startReceiver()
    fleet = await startFleetNodes(2, await postgres.freshDatabase(), redis.url, {
      http: { port: 0 },
      postgres: { alertPollMs: 60_000 },
      alerts: {
        channels: [
          { kind: 'webhook', name: 'hook', url: `${receiver.url}/hook`, secret: 'fleet-settings-secret-01' },
          {
            kind: 'webhook',
            name: 'other',
            url: `${receiver.url}/other`,
            secret: 'fleet-settings-secret-02',
          },
        ],
        users: [{ name: 'alice', channels: ['other'], kinds: ['press'], cooldownMs: 0 }],
      },
    })
    ;[a, b] = fleet.nodes as [ComposedCollector, ComposedCollector]
    await a.stores.homeowners.add('alice', password, 'owner')
    owner = await injectLogin(a.http as FastifyInstance, 'alice', password)
    const secret = await fleet.addDevice('porch')
    await eventually(() => b.enabledDeviceIds().includes('porch'), 'node B to know the device', 5000)
    device = await connectSessionDevice(b.mqttPort, 'porch', secret)
    await device.client.subscribeAsync([topics.ack('porch')], { qos: 1 })
  }, 60_000)

  afterAll(async () => {
    await device?.client.endAsync(true)
    await fleet?.close()
    await receiver?.close()
    await redis?.close()
  })

  const saveOnA = async (settings: object) => {
    const res = await (a.http as FastifyInstance).inject({
      method: 'PUT',
      url: '/api/settings',
      headers: { cookie: owner.cookie, 'x-csrf-token': owner.csrf },
      payload: settings,
    })
    expect(res.statusCode).toBe(200)
    return Date.now()
  }
  const keysOf = (alertId: string) =>
    receiver.requests
      .filter((r) => r.headers['x-doorbell-alert-id'] === alertId)
      .map((r) => r.headers[deliveryKeyHeader])
  /** A press the device sends to node B, which stores it and so routes it at once. */
  const ringOnB = async (seq: number) => {
    const ring = press('porch', seq)
    device.client.publish(topics.event('porch', 'high'), encodeEvent(ring), { qos: 1 })
    await eventually(() => device.acked.has(ring.id), 'the ack from node B', 10_000)
    return ring
  }

  it('routes a press on node B to the channel alice chose on node A', async () => {
    const before = await ringOnB(1)
    await eventually(() => keysOf(before.id).length > 0, 'the press on the config channel', 10_000)
    expect(keysOf(before.id)).toEqual([`${before.id}:other:alice`])

    const savedAtMs = await saveOnA({ channels: ['hook'], kinds: ['press'], quietHours: null })
    await eventually(
      () => b.stores.userSettings.get('alice').channels[0] === 'hook',
      'node B to hear it',
      5000,
    )
    process.stdout.write(`FLEET-SETTINGS saved on A to applied on B: ${Date.now() - savedAtMs} ms\n`)
    const after = await ringOnB(2)
    await eventually(() => keysOf(after.id).length > 0, 'the press on the chosen channel', 10_000)
    await b.alerts.whenIdle()
    expect(keysOf(after.id)).toEqual([`${after.id}:hook:alice`])
  })

  it('keeps a press on node B quiet within the quiet hours alice set on node A', async () => {
    const quietHours = {
      start: utcClock(-3_600_000),
      end: utcClock(3_600_000),
      timeZone: 'UTC',
      allowKinds: [],
    }
    await saveOnA({ channels: ['hook'], kinds: ['press'], quietHours })
    await eventually(() => b.stores.userSettings.get('alice').quietHours !== null, 'node B to hear it', 5000)
    const quiet = await ringOnB(3)
    await eventually(
      async () =>
        (await b.metrics.registry.metrics()).includes(
          'doorbell_alerts_suppressed_total{reason="quiet_hours"',
        ),
      'the press suppressed on node B',
      10_000,
    )
    await b.alerts.whenIdle()
    expect(keysOf(quiet.id)).toEqual([])
    // Allowed again: the next press goes out, so the silence above was the quiet hours, not a stall.
    await saveOnA({
      channels: ['hook'],
      kinds: ['press'],
      quietHours: { ...quietHours, allowKinds: ['press'] },
    })
    await eventually(
      () => b.stores.userSettings.get('alice').quietHours?.allowKinds.includes('press'),
      'node B to hear it',
      5000,
    )
    const allowed = await ringOnB(4)
    await eventually(() => keysOf(allowed.id).length > 0, 'the allowed press', 10_000)
    expect(keysOf(quiet.id)).toEqual([])
  })

  it('refuses a save while PostgreSQL is down with POSTGRES_UNAVAILABLE, and keeps the settings it had', async () => {
    const had = a.stores.userSettings.get('alice')
    await postgres.engine.stop()
    try {
      const res = await (a.http as FastifyInstance).inject({
        method: 'PUT',
        url: '/api/settings',
        headers: { cookie: owner.cookie, 'x-csrf-token': owner.csrf },
        payload: { channels: ['other'], kinds: ['press'], quietHours: null },
      })
      expect(res.statusCode).toBe(503)
      expect(res.headers['retry-after']).toBe('1')
      expect(res.json()).toMatchObject({ code: 'POSTGRES_UNAVAILABLE' })
      expect(a.stores.userSettings.get('alice')).toEqual(had)
    } finally {
      await postgres.engine.start()
    }
  })
})
