import { createHash, randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RedisEngine, startRedis } from '../../../bench/engines/redis-engine.js'
import type { ClipManifest, ClipStore, ClipVerdict } from '../../../collector/clips/clip-store.js'
import { FileClipStore } from '../../../collector/clips/file-clip-store.js'
import { encodeEvent, newEventId, topics } from '../../../shared/protocol/index.js'
import { eventually } from '../../support/eventually.js'
import { clipUpload } from '../collector-harness.js'
import { usePostgresSuite } from '../postgres/postgres-suite.js'
import { connectSessionDevice, type FleetNodes, startFleetNodes } from './fleet-nodes.js'

/** A file clip store whose whole-file checks wait until the test opens the gate. */
class GatedClipStore implements ClipStore {
  readonly #inner: FileClipStore
  readonly #gate: Promise<void>
  finalizeCount = 0

  constructor(dataDir: string, gate: Promise<void>) {
    this.#inner = new FileClipStore(dataDir)
    this.#gate = gate
  }

  writeChunk(deviceId: string, clipId: string, offsetBytes: number, data: Buffer): Promise<void> {
    return this.#inner.writeChunk(deviceId, clipId, offsetBytes, data)
  }

  async finalize(deviceId: string, manifest: ClipManifest): Promise<ClipVerdict> {
    this.finalizeCount += 1
    await this.#gate
    return this.#inner.finalize(deviceId, manifest)
  }

  clipFile(deviceId: string, clipId: string): Promise<string | undefined> {
    return this.#inner.clipFile(deviceId, clipId)
  }

  deleteClip(deviceId: string, clipId: string): Promise<void> {
    return this.#inner.deleteClip(deviceId, clipId)
  }
}

/** Two in-process nodes; node A's clip checks wait for the test, so the device can move to node B first. */
describe('fleet clip resend', () => {
  const postgres = usePostgresSuite()
  let redis: RedisEngine
  let fleet: FleetNodes
  let openGate: () => void = () => {}
  let gated: GatedClipStore | undefined

  beforeAll(async () => {
    redis = await startRedis()
    const gate = new Promise<void>((resolve) => {
      openGate = resolve
    })
    fleet = await startFleetNodes(2, await postgres.freshDatabase(), redis.url, {}, (index, dataDir) => {
      if (index !== 0) return {}
      gated = new GatedClipStore(dataDir, gate)
      return { stores: { clips: gated } }
    })
  }, 60_000)

  afterAll(async () => {
    openGate()
    await fleet?.close()
    await redis?.close()
  })

  it('delivers the clip.resend node A asks for to the device now connected to node B', async () => {
    const [a, b] = fleet.nodes
    if (!a || !b || !gated) throw new Error('nodes not started')
    const secret = await fleet.addDevice('porch')
    await eventually(
      () => a.enabledDeviceIds().includes('porch') && b.enabledDeviceIds().includes('porch'),
      'both nodes to know the device',
      5000,
    )
    const onA = await connectSessionDevice(a.mqttPort, 'porch', secret)
    await onA.client.subscribeAsync([topics.ack('porch'), topics.command('porch')], { qos: 1 })
    // A clip whose chunks all pass their CRC but whose whole file does not match the manifest's sha256.
    const chunkBytes = 16 * 1024
    const body = randomBytes(chunkBytes * 2)
    const clipId = newEventId()
    const clip = clipUpload('porch', clipId, body, chunkBytes, {
      sha256: createHash('sha256').update('another body').digest('hex'),
    })
    onA.client.publish(topics.event('porch', 'low'), encodeEvent(clip.manifest), { qos: 1 })
    for (const chunk of clip.chunks) onA.client.publish(topics.chunk('porch'), chunk.frame, { qos: 1 })
    const ids = [clip.manifest.id, ...clip.chunks.map((chunk) => chunk.id)]
    await eventually(() => ids.every((id) => onA.acked.has(id)), 'the acks from node A', 10_000)
    await eventually(() => gated?.finalizeCount === 1, "node A's whole-file check begun", 5000)
    await onA.client.endAsync()

    const onB = await connectSessionDevice(b.mqttPort, 'porch', secret)
    try {
      expect(onB.isSessionPresent).toBe(true)
      await onB.client.subscribeAsync([topics.ack('porch'), topics.command('porch')], { qos: 1 })
      openGate()
      await eventually(() => onB.commands.length > 0, 'the clip.resend on node B', 10_000)
      expect(onB.commands).toEqual([{ name: 'clip.resend', args: { clipId, attempt: 1 } }])
      expect(onA.commands).toEqual([])
      expect((await b.store.getClip(clipId))?.state).toBe('awaiting-resend')
    } finally {
      await onB.client.endAsync(true)
    }
  })
})
