import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RedisEngine, startRedis } from '../../../bench/engines/redis-engine.js'
import { deliveryKeyHeader } from '../../../collector/alerts/webhook-channel.js'
import type { ComposedCollector } from '../../../collector/main.js'
import { eventually } from '../../support/eventually.js'
import { injectLogin } from '../../support/http-client.js'
import { type Receiver, startReceiver } from '../alerts/alerts-harness.js'
import { usePostgresSuite } from '../postgres/postgres-suite.js'
import { type FleetNodes, startFleetNodes } from './fleet-nodes.js'

const password = 'correct horse battery'

/**
 * Alerts a node decides on by itself (a test notification here; offline, online, temperature and operator
 * reports take the same queue) go through the fleet's outbox: a node that stops with one still to retry
 * leaves it to the others, where its own delivery lanes would have dead-lettered it.
 */
describe('fleet: alerts a node derives itself', () => {
  const postgres = usePostgresSuite()
  let redis: RedisEngine
  let receiver: Receiver
  let fleet: FleetNodes
  let a: ComposedCollector
  let b: ComposedCollector
  let url: string

  beforeAll(async () => {
    redis = await startRedis()
    receiver = await startReceiver()
    url = await postgres.freshDatabase()
    fleet = await startFleetNodes(2, url, redis.url, {
      http: { port: 0 },
      postgres: { alertPollMs: 100 },
      alerts: {
        channels: [{ kind: 'webhook', name: 'hook', url: receiver.url, secret: 'fleet-derived-secret-01' }],
        users: [{ name: 'alice', channels: ['hook'], cooldownMs: 0 }],
        retry: { attempts: 5, initialMs: 1500, maxMs: 1500 },
      },
    })
    ;[a, b] = fleet.nodes as [ComposedCollector, ComposedCollector]
    await a.stores.homeowners.add('alice', password, 'owner')
  }, 60_000)

  afterAll(async () => {
    await fleet?.close()
    await receiver?.close()
    await redis?.close()
  })

  it('a test notification whose first send failed is sent by another node after its node stops', async () => {
    const app = a.http as FastifyInstance
    const { cookie, csrf } = await injectLogin(app, 'alice', password)
    // The receiver is down for the first attempt.
    receiver.statuses = [503, 200]
    const asked = await app.inject({
      method: 'POST',
      url: '/api/settings/test-notification',
      headers: { cookie, 'x-csrf-token': csrf },
    })
    expect(asked.statusCode).toBeLessThan(300)
    await eventually(() => receiver.requests.length >= 1, 'the first attempt at the receiver', 5000)
    const key = receiver.requests[0]?.headers[deliveryKeyHeader]
    expect(key).toMatch(/:hook:alice$/)
    // Node A stops while the delivery waits for its retry.
    await a.close()
    await eventually(() => receiver.requests.length >= 2, 'the retry from node B', 10_000)
    await b.alerts.whenIdle()
    expect(receiver.requests.map((r) => r.headers[deliveryKeyHeader])).toEqual([key, key])
    const db = await postgres.connect(url)
    const rows = await db.query<{ state: string; attempts: number }>(
      'SELECT state, attempts FROM alert_outbox WHERE alert_id = $1',
      [String(key).split(':')[0]],
    )
    expect(rows.rows).toEqual([{ state: 'delivered', attempts: 2 }])
  })
})
