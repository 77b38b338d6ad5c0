import { createHash, randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { crc32 } from 'node:zlib'
import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunningCollector } from '../../../collector/main.js'
import {
  createEnvelope,
  encodeChunk,
  encodeEvent,
  newEventId,
  topics,
} from '../../../shared/protocol/index.js'
import { eventually } from '../../support/eventually.js'
import {
  addDevice,
  connectDevice,
  type DeviceInbox,
  startCollector,
  tempDir,
  testConfig,
} from '../collector-harness.js'

describe('clip ingest', () => {
  const dir = tempDir('collector-clips')
  let collector: RunningCollector
  let client: MqttClient
  let inbox: DeviceInbox

  beforeAll(async () => {
    const secret = await addDevice(dir.path, 'porch')
    collector = await startCollector(testConfig(dir.path))
    ;({ client, inbox } = await connectDevice(collector.mqttPort, 'porch', secret))
  })

  afterAll(async () => {
    await client?.endAsync()
    await collector?.close()
    dir.cleanup()
  })

  it('writes verified chunks to the clip file, acks each, and finalizes the clip when its sha256 matches', async () => {
    const chunkBytes = 64 * 1024
    const body = randomBytes(chunkBytes * 3 + 1000)
    const clipId = newEventId()
    const manifest = createEnvelope({
      deviceId: 'porch',
      seq: 1,
      type: 'clip.manifest',
      payload: {
        clipId,
        contentType: 'video/mp4',
        startedAt: new Date().toISOString(),
        durationMs: 10_000,
        prerollMs: 2000,
        hasAudio: false,
        bytes: body.length,
        sha256: createHash('sha256').update(body).digest('hex'),
        chunkBytes,
        chunkCount: 4,
      },
    })
    client.publish(topics.event('porch', 'low'), encodeEvent(manifest), { qos: 1 })
    const chunkIds: string[] = []
    // Out of order, one sent twice, and one corrupted copy first.
    for (const index of [2, 0, 3, 1, 2]) {
      const data = body.subarray(index * chunkBytes, (index + 1) * chunkBytes)
      const envelope = createEnvelope({
        deviceId: 'porch',
        seq: 2 + index,
        type: 'clip.chunk',
        id: chunkIds[index] ?? newEventId(),
        payload: { clipId, index, offset: index * chunkBytes, size: data.length, crc32: crc32(data) },
      })
      chunkIds[index] = envelope.id
      const frame = encodeChunk(envelope, data)
      if (index === 1) {
        const corrupted = Buffer.from(frame)
        corrupted[corrupted.length - 1] = (corrupted.at(-1) ?? 0) ^ 0xff
        client.publish(topics.chunk('porch'), corrupted, { qos: 1 })
      }
      client.publish(topics.chunk('porch'), frame, { qos: 1 })
    }
    await eventually(
      () => [manifest.id, ...chunkIds].every((id) => inbox.acked.has(id)),
      'chunk acks',
      10_000,
    )
    expect(inbox.rejected).toContainEqual(expect.objectContaining({ id: chunkIds[1], retry: true }))
    const clip = await eventually(
      async () => {
        const record = await collector.store.getClip(clipId)
        return record?.state === 'complete' ? record : undefined
      },
      'the clip complete',
      10_000,
    )
    expect(clip.manifestId).toBe(manifest.id)
    const path = await collector.clips.clipFile('porch', clipId)
    expect(path).toBeDefined()
    expect(readFileSync(path as string).equals(body)).toBe(true)
    expect(await collector.store.listChunkIndexes(clipId)).toEqual([0, 1, 2, 3])
    // The device may now evict its copy.
    await eventually(() => inbox.commands.length > 0, 'the clip.verified command', 5_000)
    expect(inbox.commands).toEqual([{ name: 'clip.verified', args: { clipId } }])
  })
})
