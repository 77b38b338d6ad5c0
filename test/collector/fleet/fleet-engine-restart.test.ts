import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RedisEngine, startRedis } from '../../../bench/engines/redis-engine.js'
import { encodeEvent, topics } from '../../../shared/protocol/index.js'
import { eventually } from '../../support/eventually.js'
import { press } from '../collector-harness.js'
import { usePostgresSuite } from '../postgres/postgres-suite.js'
import { connectSessionDevice, type FleetNodes, startFleetNodes } from './fleet-nodes.js'

describe('fleet node while PostgreSQL restarts', () => {
  const postgres = usePostgresSuite()
  let redis: RedisEngine
  let fleet: FleetNodes

  beforeAll(async () => {
    redis = await startRedis()
    fleet = await startFleetNodes(1, await postgres.freshDatabase(), redis.url)
  }, 60_000)

  afterAll(async () => {
    await fleet?.close()
    await redis?.close()
  })

  it('refuses events with retry while PostgreSQL is down, stores them once it is back, and keeps what it acked', async () => {
    const [node] = fleet.nodes as [(typeof fleet.nodes)[0]]
    const secret = await fleet.addDevice('porch')
    const device = await connectSessionDevice(node.mqttPort, 'porch', secret)
    const refusals: { id: string; code: string; retry: boolean }[] = []
    device.client.on('message', (topic, message) => {
      if (topic !== topics.ack('porch')) return
      const ack = JSON.parse(message.toString()) as { payload: { rejected: typeof refusals } }
      refusals.push(...ack.payload.rejected)
    })
    try {
      await device.client.subscribeAsync([topics.ack('porch'), topics.command('porch')], { qos: 1 })
      const before = press('porch', 1)
      device.client.publish(topics.event('porch', 'high'), encodeEvent(before), { qos: 1 })
      await eventually(() => device.acked.has(before.id), 'the ack before the outage')

      await postgres.engine.stop()
      const during = press('porch', 2)
      device.client.publish(topics.event('porch', 'high'), encodeEvent(during), { qos: 1 })
      const refusal = await eventually(() => refusals.find((r) => r.id === during.id), 'the refusal')
      expect(refusal).toMatchObject({ code: 'POSTGRES_UNAVAILABLE', retry: true })
      expect(device.acked.has(during.id)).toBe(false)

      await postgres.engine.start()
      // As the agent does with a refusal marked retry: send it again later, until acked.
      await eventually(
        async () => {
          device.client.publish(topics.event('porch', 'high'), encodeEvent(during), { qos: 1 })
          await new Promise((resolve) => setTimeout(resolve, 200))
          return device.acked.has(during.id)
        },
        'the ack after the restart',
        20_000,
      )
      const page = await node.store.queryEvents({ deviceId: 'porch' })
      expect(page.items.map((e) => e.seq)).toEqual([1, 2])
    } finally {
      await device.client.endAsync()
    }
  })
})
