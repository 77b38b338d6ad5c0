import { randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { FileClipStore } from '../../../collector/clips/file-clip-store.js'
import { type ComposedCollector, startCollector } from '../../../collector/main.js'
import { encodeEvent, topics } from '../../../shared/protocol/index.js'
import { eventually } from '../../support/eventually.js'
import { addDevice, clipUpload, connectDevice, press, tempDir, testConfig } from '../collector-harness.js'

/** A clip store on a slow disk: each chunk's write and sync takes syncMs. */
class SlowDiskClipStore extends FileClipStore {
  syncMs = 0

  override async writeChunk(
    deviceId: string,
    clipId: string,
    offsetBytes: number,
    data: Buffer,
  ): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, this.syncMs))
    await super.writeChunk(deviceId, clipId, offsetBytes, data)
  }
}

describe('a press beside a clip upload', () => {
  const dir = tempDir('press-beside-clip')
  let running: ComposedCollector | undefined
  afterEach(async () => {
    await running?.close()
    running = undefined
  })

  it("is acked without waiting for the clip's chunks to be synced, and the chunks are stored after it", async () => {
    const clips = new SlowDiskClipStore(dir.path)
    const secret = await addDevice(dir.path, 'porch')
    running = await startCollector(testConfig(dir.path), { stores: { clips } })
    const { client, inbox } = await connectDevice(running.mqttPort, 'porch', secret)
    try {
      const upload = clipUpload('porch', '01J00000000000000000000009', randomBytes(48 * 1024), 16 * 1024)
      await client.publishAsync(topics.event('porch', 'low'), encodeEvent(upload.manifest), { qos: 1 })
      await eventually(() => inbox.acked.has(upload.manifest.id), 'the manifest acked', 5000)
      clips.syncMs = 1500
      const sentMs = Date.now()
      // Three chunks whose syncs take 1.5 s, then a press a moment later.
      for (const chunk of upload.chunks)
        void client.publishAsync(topics.chunk('porch'), chunk.frame, { qos: 1 })
      await new Promise((resolve) => setTimeout(resolve, 50))
      const ring = press('porch', 10)
      await client.publishAsync(topics.event('porch', 'high'), encodeEvent(ring), { qos: 1 })
      await eventually(() => inbox.acked.has(ring.id), 'the press acked', 5000)
      const pressAckMs = Date.now() - sentMs
      const chunksAckedWithPress = upload.chunks.filter((chunk) => inbox.acked.has(chunk.id)).length
      await eventually(
        () => upload.chunks.every((chunk) => inbox.acked.has(chunk.id)),
        'the chunks acked',
        10_000,
      )
      const chunksAckMs = Date.now() - sentMs
      console.log(`PRESS-BESIDE-CLIP press acked after ${pressAckMs} ms, chunks after ${chunksAckMs} ms`)
      expect(chunksAckedWithPress).toBe(0)
      expect(pressAckMs).toBeLessThan(1000)
      expect((await running.store.queryEvents({ type: 'button.press' })).items.map((e) => e.id)).toEqual([
        ring.id,
      ])
    } finally {
      await client.endAsync()
    }
  })
})
