import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RedisEngine, startRedis } from '../../../bench/engines/redis-engine.js'
import type { ComposedCollector } from '../../../collector/main.js'
import { encodeEvent, topics } from '../../../shared/protocol/index.js'
import { eventually } from '../../support/eventually.js'
import { press } from '../collector-harness.js'
import { usePostgresSuite } from '../postgres/postgres-suite.js'
import { connectSessionDevice, type FleetNodes, startFleetNodes } from './fleet-nodes.js'

const password = 'correct horse battery staple'

/** Reads an SSE response until text matches, or the deadline. */
async function readUntil(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  pattern: RegExp,
  deadlineMs: number,
): Promise<string> {
  const decoder = new TextDecoder()
  let text = ''
  const deadline = Date.now() + deadlineMs
  while (!pattern.test(text)) {
    const timeout = new Promise<'timeout'>((resolve) =>
      setTimeout(() => resolve('timeout'), Math.max(0, deadline - Date.now())),
    )
    const chunk = await Promise.race([reader.read(), timeout])
    if (chunk === 'timeout' || chunk.done) break
    text += decoder.decode(chunk.value)
  }
  return text
}

/** Three in-process nodes with HTTP on, one PostgreSQL and one Redis. */
describe('fleet live timeline', () => {
  const postgres = usePostgresSuite()
  let redis: RedisEngine
  let fleet: FleetNodes

  beforeAll(async () => {
    redis = await startRedis()
    fleet = await startFleetNodes(3, await postgres.freshDatabase(), redis.url, { http: { port: 0 } })
  }, 60_000)

  afterAll(async () => {
    await fleet?.close()
    await redis?.close()
  })

  /** Signs in on node and opens its live stream. */
  async function openStream(node: ComposedCollector): Promise<ReadableStreamDefaultReader<Uint8Array>> {
    const base = `http://127.0.0.1:${node.httpPort}`
    const login = await fetch(`${base}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'alice', password }),
    })
    expect(login.status).toBe(200)
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? ''
    const before = node.dashboard.hub?.clientCount ?? 0
    const stream = await fetch(`${base}/api/events/stream`, { headers: { cookie } })
    const reader = stream.body?.getReader()
    if (!reader) throw new Error('no body')
    await eventually(() => node.dashboard.hub?.clientCount === before + 1, 'the stream open', 5000)
    return reader
  }

  it('shows a dashboard on node A live a press stored through node C', async () => {
    const [a, , c] = fleet.nodes as [ComposedCollector, ComposedCollector, ComposedCollector]
    const secret = await fleet.addDevice('porch')
    await eventually(() => c.enabledDeviceIds().includes('porch'), 'node C to know the device', 5000)
    await a.stores.homeowners.add('alice', password, 'owner')
    const reader = await openStream(a)

    const device = await connectSessionDevice(c.mqttPort, 'porch', secret)
    try {
      await device.client.subscribeAsync([topics.ack('porch')], { qos: 1 })
      const ring = press('porch', 1)
      device.client.publish(topics.event('porch', 'high'), encodeEvent(ring), { qos: 1 })
      await eventually(() => device.acked.has(ring.id), 'the ack from node C', 5000)
      const text = await readUntil(reader, new RegExp(`id: ${ring.id}\\n`), 5000)
      expect(text).toContain(`event: stored\nid: ${ring.id}\n`)
      expect(text).toContain('"deviceId":"porch"')
    } finally {
      await reader.cancel()
      await device.client.endAsync(true)
    }
  })

  it('tells the dashboard to reload when its node lost announcements while PostgreSQL restarted', async () => {
    const [a] = fleet.nodes as [ComposedCollector]
    const reader = await openStream(a)
    try {
      await postgres.engine.stop()
      await postgres.engine.start()
      const text = await readUntil(reader, /event: resync\n/, 15_000)
      expect(text).toContain('event: resync\n')
    } finally {
      await reader.cancel()
    }
  }, 30_000)
})
