import { createHash, randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RedisEngine, startRedis } from '../../../bench/engines/redis-engine.js'
import type { ClipManifest } from '../../../collector/clips/clip-store.js'
import type { RunningCollector } from '../../../collector/collector-core.js'
import type { StoredEvent } from '../../../collector/store/event-store.js'
import { eventually } from '../../support/eventually.js'
import { metric } from '../collector-harness.js'
import { usePostgresSuite } from '../postgres/postgres-suite.js'
import { clipAt, DAY_MS, pressAt } from '../store/contracts/event-fixtures.js'
import { type FleetNodes, startFleetNodes } from './fleet-nodes.js'

const passes = 'doorbell_collector_retention_passes_total'
const ran = (node: RunningCollector) => metric(node, passes, 'outcome="ran"')

/** Three in-process nodes sweeping every second, with a retention lease of 1.5 s. */
describe('fleet retention', () => {
  const postgres = usePostgresSuite()
  let redis: RedisEngine
  let fleet: FleetNodes
  let url: string

  beforeAll(async () => {
    redis = await startRedis()
    url = await postgres.freshDatabase()
    fleet = await startFleetNodes(3, url, redis.url, {
      retentionSweepIntervalMs: 1000,
      postgres: { leaseTtlMs: 1500 },
    })
  }, 60_000)

  afterAll(async () => {
    await fleet?.close()
    await redis?.close()
  })

  it('sweeps on one node of the fleet, and on another once that node stops', async () => {
    const { nodes } = fleet
    await eventually(
      async () =>
        (await Promise.all(nodes.map((node) => metric(node, passes, 'outcome="skipped"')))).filter(
          (n) => n >= 2,
        ).length === 2,
      'two skipped turns on the nodes without the lease',
      10_000,
    )
    const counts = await Promise.all(nodes.map(ran))
    const leader = counts.findIndex((n) => n > 0)
    expect(counts.filter((n) => n > 0)).toHaveLength(1)
    expect(counts[leader]).toBeGreaterThanOrEqual(2)

    // An expired press stored through a node without the lease is deleted by the one with it.
    const other = nodes[(leader + 1) % 3] as RunningCollector
    const old = pressAt('porch', 1, Date.now() - 400 * DAY_MS)
    await other.store.commit({ events: [old], chunks: [] })
    await eventually(
      async () => (await other.store.getEvent(old.id)) === undefined,
      'the old press swept',
      5000,
    )

    // So is an expired clip with its body in PostgreSQL, and the copy another node had served from.
    const clip = clipAt('porch', Date.now() - 400 * DAY_MS, 1)
    const body = randomBytes(10)
    const payload = clip.manifest.payload as ClipManifest
    const manifest = { ...payload, sha256: createHash('sha256').update(body).digest('hex') }
    const stored = { ...clip.manifest, payload: manifest } as StoredEvent
    await other.store.commit({ events: [stored], chunks: [] })
    await other.clips.writeChunk('porch', clip.clipId, 0, body)
    expect(await other.clips.finalize('porch', manifest)).toBe('complete')
    // Copies on the sweeping node and on the third, which is never asked for the clip again.
    const copy = (await nodes[leader]?.clips.clipFile('porch', clip.clipId)) as string
    const third = nodes[(leader + 2) % 3] as RunningCollector
    const thirdCopy = (await third.clips.clipFile('porch', clip.clipId)) as string
    expect(existsSync(copy) && existsSync(thirdCopy)).toBe(true)
    await eventually(
      async () => (await other.store.getClip(clip.clipId)) === undefined,
      'the old clip swept',
      5000,
    )
    const db = await postgres.connect(url)
    const left = await db.query(
      'SELECT (SELECT count(*) FROM clip_chunks)::int AS chunks, (SELECT count(*) FROM clip_bodies)::int AS bodies',
    )
    expect(left.rows).toEqual([{ chunks: 0, bodies: 0 }])
    expect(await other.clips.clipFile('porch', clip.clipId)).toBeUndefined()
    expect(existsSync(copy)).toBe(false)
    await eventually(() => !existsSync(thirdCopy), "the third node's copy pruned", 5000)

    await (nodes[leader] as RunningCollector).close()
    const rest = nodes.filter((_, i) => i !== leader)
    const before = await Promise.all(rest.map(ran))
    await eventually(
      async () => (await Promise.all(rest.map(ran))).some((n, i) => n > (before[i] as number)),
      'a sweep on another node',
      5000,
    )
    // Still one sweeper: the other remaining node keeps skipping.
    const after = await Promise.all(rest.map(ran))
    expect(after.filter((n, i) => n > (before[i] as number))).toHaveLength(1)
  }, 30_000)
})
