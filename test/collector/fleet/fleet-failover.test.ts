import { copyFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freeLoopbackPort } from '../../../bench/engines/free-port.js'
import { type HaproxyEngine, startHaproxy } from '../../../bench/engines/haproxy-engine.js'
import { type RedisEngine, startRedis } from '../../../bench/engines/redis-engine.js'
import { PostgresEventStore } from '../../../collector/postgres/postgres-event-store.js'
import { registryFileName } from '../../../collector/registry/file-identity-registry.js'
import { encodeEvent, topics } from '../../../shared/protocol/index.js'
import { type CollectorProcess, startCollectorProcess } from '../../faults/support/collector-process.js'
import { eventually } from '../../support/eventually.js'
import { addDevice, press, tempDir } from '../collector-harness.js'
import { usePostgresSuite } from '../postgres/postgres-suite.js'
import { connectSessionDevice } from './fleet-nodes.js'

/** Three `doorbell-collector` processes on one PostgreSQL and one Redis, behind HAProxy in TCP mode. */
describe('fleet failover through HAProxy', () => {
  const postgres = usePostgresSuite()
  const dir = tempDir('fleet-failover')
  let redis: RedisEngine
  let proxy: HaproxyEngine
  let postgresUrl: string
  const nodes: CollectorProcess[] = []
  let secret: string

  beforeAll(async () => {
    redis = await startRedis()
    postgresUrl = await postgres.freshDatabase()
    const ports = [await freeLoopbackPort(), await freeLoopbackPort(), await freeLoopbackPort()]
    const first = join(dir.path, 'node1')
    secret = await addDevice(first, 'porch')
    for (const [i, port] of ports.entries()) {
      const dataDir = join(dir.path, `node${i + 1}`)
      if (i > 0) {
        await addDevice(dataDir, 'placeholder')
        copyFileSync(join(first, registryFileName), join(dataDir, registryFileName))
      }
      const config = join(dir.path, `node${i + 1}.yaml`)
      writeFileSync(
        config,
        [
          `dataDir: ${dataDir}`,
          'host: 127.0.0.1',
          `mqtt: { port: ${port}, wsPort: null }`,
          'http: { port: null }',
          'store: { engine: postgres, isSyncWrite: false }',
          `postgres: { url: '${postgresUrl}', maxConnections: 4 }`,
          `redis: { url: '${redis.url}' }`,
        ].join('\n'),
      )
      nodes.push(await startCollectorProcess(config))
    }
    proxy = await startHaproxy({ services: [{ name: 'mqtt', backendPorts: ports }] })
  }, 90_000)

  afterAll(async () => {
    await proxy?.close()
    await Promise.all(nodes.map((node) => node.stop()))
    await redis?.close()
    dir.cleanup()
  })

  /** The node process that logged the device's connection last. */
  function nodeOf(clientId: string): CollectorProcess | undefined {
    let latest: { node: CollectorProcess; atMs: number } | undefined
    for (const node of nodes) {
      for (const line of node.lines) {
        const entry = JSON.parse(line) as { msg?: string; clientId?: string; time?: string }
        if (entry.msg !== 'client connected' || entry.clientId !== clientId) continue
        const atMs = Date.parse(entry.time ?? '')
        if (!latest || atMs >= latest.atMs) latest = { node, atMs }
      }
    }
    return latest?.node
  }

  it('keeps the session of a device whose node is killed: it reconnects to another node within 5 s and is acked there', async () => {
    const port = proxy.ports.mqtt as number
    const device = await connectSessionDevice(port, 'porch', secret)
    await device.client.subscribeAsync([topics.ack('porch'), topics.command('porch')], { qos: 1 })
    const before = press('porch', 1)
    device.client.publish(topics.event('porch', 'high'), encodeEvent(before), { qos: 1 })
    await eventually(() => device.acked.has(before.id), 'the ack before the kill')
    const victim = await eventually(() => nodeOf('porch'), 'the node the device is on')
    device.client.on('error', () => {})

    const killedAtMs = Date.now()
    await victim.kill9()
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
      await eventually(() => nodeOf('porch') !== victim, 'the connection logged by another node', 2000)
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
