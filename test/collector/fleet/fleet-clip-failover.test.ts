import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RedisEngine, startRedis } from '../../../bench/engines/redis-engine.js'
import { PostgresEventStore } from '../../../collector/postgres/postgres-event-store.js'
import { encodeEvent, newEventId, topics } from '../../../shared/protocol/index.js'
import { eventually } from '../../support/eventually.js'
import { clipUpload, tempDir } from '../collector-harness.js'
import { usePostgresSuite } from '../postgres/postgres-suite.js'
import { type FleetCluster, startFleetCluster } from './fleet-cluster.js'
import { connectSessionDevice, type SessionDevice } from './fleet-nodes.js'

const apiToken = 'fleet-clip-token-0123456789'

/**
 * Two `doorbell-collector` processes behind HAProxy with clip bodies in PostgreSQL: a clip's upload
 * starts on one node, which is killed, and ends on the other.
 */
describe('fleet clip failover', () => {
  const postgres = usePostgresSuite()
  const dir = tempDir('fleet-clip-failover')
  let redis: RedisEngine
  let cluster: FleetCluster
  let postgresUrl: string

  beforeAll(async () => {
    redis = await startRedis()
    postgresUrl = await postgres.freshDatabase()
    cluster = await startFleetCluster({
      dir: dir.path,
      nodeCount: 2,
      postgresUrl,
      redisUrl: redis.url,
      deviceIds: ['porch'],
      apiToken,
    })
  }, 90_000)

  afterAll(async () => {
    await cluster?.close()
    await redis?.close()
    dir.cleanup()
  })

  const getClip = (node: number, clipId: string, headers: Record<string, string> = {}) =>
    fetch(`http://127.0.0.1:${cluster.nodes[node]?.httpPort}/api/clips/${clipId}`, {
      headers: { authorization: `Bearer ${apiToken}`, ...headers },
    })

  it('assembles a clip whose upload moved to another node when its node was killed, once, and serves it from every node', async () => {
    const secret = cluster.secrets.get('porch') as string
    const first = await connectSessionDevice(cluster.mqttPort, 'porch', secret)
    await first.client.subscribeAsync([topics.ack('porch'), topics.command('porch')], { qos: 1 })
    const chunkBytes = 16 * 1024
    const body = randomBytes(6 * chunkBytes - 1000)
    const clipId = newEventId()
    const clip = clipUpload('porch', clipId, body, chunkBytes)
    const before = clip.chunks.slice(0, 3)
    first.client.publish(topics.event('porch', 'low'), encodeEvent(clip.manifest), { qos: 1 })
    for (const chunk of before) first.client.publish(topics.chunk('porch'), chunk.frame, { qos: 1 })
    const beforeIds = [clip.manifest.id, ...before.map((chunk) => chunk.id)]
    await eventually(() => beforeIds.every((id) => first.acked.has(id)), 'the first chunks acked', 10_000)
    const victim = await eventually(() => cluster.nodeOf('porch'), 'the node the device is on')
    first.client.on('error', () => {})
    await cluster.kill9(victim)
    await eventually(() => !first.client.connected, 'the device to see its node gone', 5000)
    await first.client.endAsync(true)

    let again: SessionDevice | undefined
    while (!again) {
      again = await connectSessionDevice(cluster.mqttPort, 'porch', secret).catch(() => undefined)
      if (!again) await new Promise((resolve) => setTimeout(resolve, 50))
    }
    const survivor = 1 - victim
    try {
      await eventually(() => cluster.nodeOf('porch') === survivor, 'the device on the other node', 5000)
      // The rest of the upload, and one chunk from before the kill again, as an agent whose ack was lost.
      const after = [...clip.chunks.slice(3), clip.chunks[1] as (typeof clip.chunks)[number]]
      for (const chunk of after) again.client.publish(topics.chunk('porch'), chunk.frame, { qos: 1 })
      await eventually(
        () => after.every((chunk) => again.acked.has(chunk.id)),
        'the last chunks acked',
        10_000,
      )
      const store = new PostgresEventStore(await postgres.connect(postgresUrl))
      await eventually(
        async () => (await store.getClip(clipId))?.state === 'complete',
        'the clip verified on the other node',
        15_000,
      )
      await eventually(
        () => again.commands.some((c) => c.name === 'clip.verified'),
        'clip.verified at the device',
        5000,
      )
      expect(again.commands.filter((c) => c.name === 'clip.verified')).toEqual([
        { name: 'clip.verified', args: { clipId } },
      ])
      const db = await postgres.connect(postgresUrl)
      const rows = await db.query<{ chunks: number; bodies: number }>(
        `SELECT (SELECT count(*) FROM clip_chunks WHERE clip_id = $1)::int AS chunks,
                (SELECT count(*) FROM clip_bodies WHERE clip_id = $1)::int AS bodies`,
        [clipId],
      )
      expect(rows.rows).toEqual([{ chunks: 6, bodies: 1 }])

      const fromSurvivor = await getClip(survivor, clipId)
      expect(fromSurvivor.status).toBe(200)
      expect(Buffer.from(await fromSurvivor.arrayBuffer()).equals(body)).toBe(true)
      // The killed node back: it never held the last chunks, and serves the clip (and ranges of it) all the same.
      await cluster.restart(victim)
      const ranged = await getClip(victim, clipId, { range: 'bytes=20000-40000' })
      expect(ranged.status).toBe(206)
      expect(Buffer.from(await ranged.arrayBuffer()).equals(body.subarray(20000, 40001))).toBe(true)
    } finally {
      await again.client.endAsync(true)
    }
  })
})
