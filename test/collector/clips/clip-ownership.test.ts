import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunningCollector } from '../../../collector/main.js'
import { encodeEvent, newEventId, topics } from '../../../shared/protocol/index.js'
import { eventually } from '../../support/eventually.js'
import {
  addDevice,
  type ClipUpload,
  clipUpload,
  connectDevice,
  type DeviceInbox,
  rejections,
  startCollector,
  tempDir,
  testConfig,
} from '../collector-harness.js'

const chunkBytes = 16 * 1024

describe('clip ownership', () => {
  const dir = tempDir('clip-ownership')
  let collector: RunningCollector
  const devices = {} as Record<'porch' | 'garage', { client: MqttClient; inbox: DeviceInbox }>

  beforeAll(async () => {
    const porchSecret = await addDevice(dir.path, 'porch')
    const garageSecret = await addDevice(dir.path, 'garage')
    collector = await startCollector(testConfig(dir.path))
    devices.porch = await connectDevice(collector.mqttPort, 'porch', porchSecret)
    devices.garage = await connectDevice(collector.mqttPort, 'garage', garageSecret)
  })
  afterAll(async () => {
    await devices.porch?.client.endAsync()
    await devices.garage?.client.endAsync()
    await collector?.close()
    dir.cleanup()
  })

  const send = (deviceId: 'porch' | 'garage', clip: ClipUpload, chunks = clip.chunks) => {
    const { client } = devices[deviceId]
    client.publish(topics.event(deviceId, 'low'), encodeEvent(clip.manifest), { qos: 1 })
    for (const chunk of chunks) client.publish(topics.chunk(deviceId), chunk.frame, { qos: 1 })
  }

  it("one device cannot replace or add to another device's clip", async () => {
    const clipId = newEventId()
    const porchBody = randomBytes(chunkBytes * 2 + 100)
    const porch = clipUpload('porch', clipId, porchBody, chunkBytes)
    // The porch's manifest and first chunk arrive; then the garage names the same clip id.
    send('porch', porch, porch.chunks.slice(0, 1))
    await eventually(() => devices.porch.inbox.acked.has(porch.manifest.id), 'the porch manifest acked')
    const garage = clipUpload('garage', clipId, randomBytes(chunkBytes * 3), chunkBytes)
    send('garage', garage)
    const garageIds = [garage.manifest.id, ...garage.chunks.map((c) => c.id)]
    await eventually(
      () =>
        garageIds.every(
          (id) =>
            devices.garage.inbox.acked.has(id) || devices.garage.inbox.rejected.some((r) => r.id === id),
        ),
      'the garage answered',
    )
    const refused = devices.garage.inbox.rejected.filter((r) => garageIds.includes(r.id))
    console.log(`CLIP-FOREIGN garage items=${garageIds.length} refused=${refused.length}`)
    expect(refused).toEqual(garageIds.map((id) => ({ id, code: 'CLIP_FOREIGN', retry: false })))
    expect(await rejections(collector, 'clip_foreign')).toBe(garageIds.length)

    // The porch finishes its clip, which completes intact and stays the porch's.
    send('porch', porch, porch.chunks.slice(1))
    const record = await eventually(async () => {
      const clip = await collector.store.getClip(clipId)
      return clip?.state === 'complete' ? clip : undefined
    }, 'the porch clip complete')
    expect(record.deviceId).toBe('porch')
    expect(readFileSync((await collector.clips.clipFile('porch', clipId)) as string).equals(porchBody)).toBe(
      true,
    )
    expect(await collector.store.listChunkIndexes(clipId)).toEqual([0, 1, 2].slice(0, porch.chunks.length))
    const manifests = await collector.store.queryEvents({ type: 'clip.manifest' })
    expect(
      manifests.items.filter((e) => e.type === 'clip.manifest' && e.payload.clipId === clipId),
    ).toHaveLength(1)
  })
})

describe('clip ownership across a restart', () => {
  it("a clip whose chunks came before its manifest stays its device's after the collector restarts", async () => {
    const dir = tempDir('clip-ownership-restart')
    const porchSecret = await addDevice(dir.path, 'porch')
    const garageSecret = await addDevice(dir.path, 'garage')
    const clipId = newEventId()
    const porch = clipUpload('porch', clipId, randomBytes(chunkBytes * 2), chunkBytes)
    let collector = await startCollector(testConfig(dir.path))
    try {
      const first = await connectDevice(collector.mqttPort, 'porch', porchSecret)
      const [chunk] = porch.chunks
      first.client.publish(topics.chunk('porch'), chunk?.frame ?? Buffer.alloc(0), { qos: 1 })
      await eventually(() => first.inbox.acked.has(chunk?.id ?? ''), 'the first chunk acked')
      await first.client.endAsync()
      await collector.close()
      collector = await startCollector(testConfig(dir.path))
      const garage = await connectDevice(collector.mqttPort, 'garage', garageSecret)
      const foreign = clipUpload('garage', clipId, randomBytes(chunkBytes), chunkBytes)
      garage.client.publish(topics.event('garage', 'low'), encodeEvent(foreign.manifest), { qos: 1 })
      await eventually(
        () => garage.inbox.rejected.some((r) => r.id === foreign.manifest.id),
        'the garage manifest refused',
      )
      expect(garage.inbox.rejected).toContainEqual({
        id: foreign.manifest.id,
        code: 'CLIP_FOREIGN',
        retry: false,
      })
      expect(await collector.store.getClip(clipId)).toBeUndefined()
      await garage.client.endAsync()
    } finally {
      await collector.close()
      dir.cleanup()
    }
  })
})
