import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RedisEngine, startRedis } from '../../../bench/engines/redis-engine.js'
import {
  deliveryKeyHeader,
  idempotencyKeyHeader,
  verifyWebhook,
} from '../../../collector/alerts/webhook-channel.js'
import type { ComposedCollector } from '../../../collector/main.js'
import type { StoredEvent } from '../../../collector/store/event-store.js'
import { eventually } from '../../support/eventually.js'
import { type Receiver, snapshotOf, startReceiver } from '../alerts/alerts-harness.js'
import { press } from '../collector-harness.js'
import { usePostgresSuite } from '../postgres/postgres-suite.js'
import { type FleetNodes, startFleetNodes } from './fleet-nodes.js'

const secret = 'fleet-webhook-secret-0123'

function stored(envelope: ReturnType<typeof press>): StoredEvent {
  return { ...envelope, receivedAtMs: Date.now() }
}

/** Two in-process nodes on one PostgreSQL and Redis, each with the same homeowner and webhook. */
describe('fleet alerts', () => {
  const postgres = usePostgresSuite()
  let redis: RedisEngine
  let receiver: Receiver
  let fleet: FleetNodes
  let nodes: ComposedCollector[]
  let url: string

  beforeAll(async () => {
    redis = await startRedis()
    receiver = await startReceiver()
    url = await postgres.freshDatabase()
    fleet = await startFleetNodes(2, url, redis.url, {
      postgres: { alertPollMs: 100 },
      alerts: {
        channels: [{ kind: 'webhook', name: 'hook', url: receiver.url, secret }],
        users: [
          { name: 'alice', channels: ['hook'], kinds: ['press'], cooldownMs: 0 },
          // Told of motion only: no press reaches bob, so no update of one may either.
          { name: 'bob', channels: ['hook'], kinds: ['motion'], cooldownMs: 0 },
        ],
      },
    })
    nodes = fleet.nodes
  }, 60_000)

  afterAll(async () => {
    await fleet?.close()
    await receiver?.close()
    await redis?.close()
  })

  const keysOf = (alertId: string) =>
    receiver.requests
      .filter((r) => r.headers['x-doorbell-alert-id'] === alertId)
      .map((r) => r.headers[deliveryKeyHeader])

  it('pushes a press that two nodes stored at the same moment once, signed, with its delivery key', async () => {
    const ring = stored(press('porch', 1))
    const [a, b] = nodes as [ComposedCollector, ComposedCollector]
    // Both commits pass findExisting before either inserts: the race a failover resend can meet.
    await Promise.all([
      a.store.commit({ events: [ring], chunks: [] }),
      b.store.commit({ events: [ring], chunks: [] }),
    ])
    await eventually(() => keysOf(ring.id).length > 0, 'the press at the webhook', 10_000)
    await Promise.all(nodes.map((node) => node.alerts.whenIdle()))
    expect(keysOf(ring.id)).toEqual([`${ring.id}:hook:alice`])
    const request = receiver.requests.find((r) => r.headers['x-doorbell-alert-id'] === ring.id)
    const body = request?.body.toString() ?? ''
    expect(request?.headers[idempotencyKeyHeader]).toBe(`"${ring.id}:hook:alice"`)
    expect(
      verifyWebhook(secret, body, request?.headers['x-doorbell-signature'] as string, Date.now() / 1000),
    ).toBe(true)
    expect(JSON.parse(body)).toMatchObject({ id: ring.id, kind: 'press', deviceId: 'porch' })
  })

  it('pushes presses and their snapshots stored on either node once each', async () => {
    const rings = Array.from({ length: 20 }, (_, i) => stored(press(`door-${i % 4}`, i + 10)))
    const snapshots = rings.map((ring, i) => stored(snapshotOf(ring.deviceId, i + 100, ring.id)))
    await Promise.all(
      rings.map((ring, i) =>
        (nodes[i % 2] as ComposedCollector).store.commit({
          events: [ring, snapshots[i] as StoredEvent],
          chunks: [],
        }),
      ),
    )
    // Each is stored again through the other node, as a device resends after a failover.
    await Promise.all(
      rings.map((ring, i) =>
        (nodes[(i + 1) % 2] as ComposedCollector).store.commit({
          events: [ring, snapshots[i] as StoredEvent],
          chunks: [],
        }),
      ),
    )
    await eventually(
      () => [...rings, ...snapshots].every((event) => keysOf(event.id).length > 0),
      'every press and snapshot at the webhook',
      15_000,
    )
    await Promise.all(nodes.map((node) => node.alerts.whenIdle()))
    for (const event of [...rings, ...snapshots]) expect(keysOf(event.id)).toEqual([`${event.id}:hook:alice`])
    const text = await (nodes[0] as ComposedCollector).metrics.registry.metrics()
    expect(text).toContain('doorbell_collector_fleet_alert_backlog{queue="intake"} 0')
    expect(text).toContain('doorbell_collector_fleet_alert_backlog{queue="outbox"} 0')
  })

  it('pushes a snapshot stored through either node, later, as an update to the homeowner its press reached', async () => {
    const [a, b] = nodes as [ComposedCollector, ComposedCollector]
    for (const [pressNode, snapshotNode] of [
      [a, b],
      [b, a],
    ] as const) {
      const ring = stored(press('porch', 500))
      await pressNode.store.commit({ events: [ring], chunks: [] })
      await eventually(() => keysOf(ring.id).length > 0, 'the press at the webhook', 10_000)
      const snapshot = stored(snapshotOf('porch', 501, ring.id))
      await snapshotNode.store.commit({ events: [snapshot], chunks: [] })
      await eventually(() => keysOf(snapshot.id).length > 0, 'the snapshot at the webhook', 10_000)
      await Promise.all(nodes.map((node) => node.alerts.whenIdle()))
      expect(keysOf(snapshot.id)).toEqual([`${snapshot.id}:hook:alice`])
      const update = receiver.requests.find((r) => r.headers['x-doorbell-alert-id'] === snapshot.id)
      expect(JSON.parse(update?.body.toString() ?? '{}')).toMatchObject({ tag: ring.id, isUpdate: true })
    }
  })

  it('routes the other presses of a pass when one stored event cannot be routed, and keeps that one', async () => {
    const db = await postgres.connect(url)
    // Sorts first in the intake; a press without a payload makes alertFromEvent throw.
    const poisonId = '00000000000000000000000000'
    await db.query('INSERT INTO alert_intake (event_id, body) VALUES ($1, $2)', [
      poisonId,
      JSON.stringify({ id: poisonId, type: 'button.press', class: 'high', deviceId: 'porch' }),
    ])
    const ring = stored(press('porch', 900))
    await (nodes[0] as ComposedCollector).store.commit({ events: [ring], chunks: [] })
    await eventually(() => keysOf(ring.id).length > 0, 'the press at the webhook', 10_000)
    const left = await db.query<{ event_id: string }>('SELECT event_id FROM alert_intake')
    expect(left.rows).toEqual([{ event_id: poisonId }])
    await db.query('DELETE FROM alert_intake')
  })
})
