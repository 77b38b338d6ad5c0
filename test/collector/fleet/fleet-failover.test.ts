import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RedisEngine, startRedis } from '../../../bench/engines/redis-engine.js'
import { PostgresEventStore } from '../../../collector/postgres/postgres-event-store.js'
import { encodeEvent, topics } from '../../../shared/protocol/index.js'
import { eventually } from '../../support/eventually.js'
import { press, tempDir } from '../collector-harness.js'
import { usePostgresSuite } from '../postgres/postgres-suite.js'
import { type FleetCluster, startFleetCluster } from './fleet-cluster.js'
import { connectSessionDevice } from './fleet-nodes.js'

/** Three `doorbell-collector` processes on one PostgreSQL and one Redis, behind HAProxy in TCP mode. */
describe('fleet failover through HAProxy', () => {
  const postgres = usePostgresSuite()
  const dir = tempDir('fleet-failover')
  let redis: RedisEngine
  let cluster: FleetCluster
  let postgresUrl: string

  beforeAll(async () => {
    redis = await startRedis()
    postgresUrl = await postgres.freshDatabase()
    cluster = await startFleetCluster({
      dir: dir.path,
      nodeCount: 3,
      postgresUrl,
      redisUrl: redis.url,
      deviceIds: ['porch'],
    })
  }, 90_000)

  afterAll(async () => {
    await cluster?.close()
    await redis?.close()
    dir.cleanup()
  })

  it('keeps the session of a device whose node is killed: it reconnects to another node within 5 s and is acked there', async () => {
    const port = cluster.mqttPort
    const secret = cluster.secrets.get('porch') as string
    const device = await connectSessionDevice(port, 'porch', secret)
    await device.client.subscribeAsync([topics.ack('porch'), topics.command('porch')], { qos: 1 })
    const before = press('porch', 1)
    device.client.publish(topics.event('porch', 'high'), encodeEvent(before), { qos: 1 })
    await eventually(() => device.acked.has(before.id), 'the ack before the kill')
    const victim = await eventually(() => cluster.nodeOf('porch'), 'the node the device is on')
    device.client.on('error', () => {})

    const killedAtMs = Date.now()
    await cluster.kill9(victim)
    await eventually(() => !device.client.connected, 'the device to see its node gone', 5000)
    await device.client.endAsync(true)
    // As the agent's uplink does: connect again at once through the same address, clean session off.
    let again: Awaited<ReturnType<typeof connectSessionDevice>> | undefined
    while (!again) {
      again = await connectSessionDevice(port, 'porch', secret).catch(() => undefined)
      if (!again) await new Promise((resolve) => setTimeout(resolve, 50))
    }
    const reconnectMs = Date.now() - killedAtMs
    process.stdout.write(`FLEET-FAILOVER kill9 to reconnected: ${reconnectMs} ms\n`)
    try {
      expect(reconnectMs).toBeLessThan(5000)
      expect(again.isSessionPresent).toBe(true)
      await eventually(
        () => cluster.nodeOf('porch') !== victim,
        'the connection logged by another node',
        2000,
      )
      // No SUBSCRIBE this time: the session's ack subscription came from Redis.
      const after = press('porch', 2)
      again.client.publish(topics.event('porch', 'high'), encodeEvent(after), { qos: 1 })
      // The press from before the kill, sent again as the agent would, is acked and not stored twice.
      again.client.publish(topics.event('porch', 'high'), encodeEvent(before), { qos: 1 })
      await eventually(
        () => again.acked.has(after.id) && again.acked.has(before.id),
        'the acks on the new node',
      )
      const store = new PostgresEventStore(await postgres.connect(postgresUrl))
      const page = await store.queryEvents({ deviceId: 'porch' })
      expect(page.items.map((e) => e.seq)).toEqual([1, 2])
    } finally {
      await again.client.endAsync()
    }
  })
})
