import { createHash, randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { crc32 } from 'node:zlib'
import { Level } from 'level'
import type { MqttClient } from 'mqtt'
import { ulid } from 'ulid'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CollectorEvent, RunningCollector } from '../../../collector/main.js'
import { createEnvelope, encodeChunk, encodeEvent, topics } from '../../../shared/protocol/index.js'
import { eventually } from '../../support/eventually.js'
import {
  addDevice,
  connectDevice,
  type DeviceInbox,
  manifestAt,
  metric,
  startCollector,
  tempDir,
  testConfig,
} from '../collector-harness.js'

const DAY_MS = 86_400_000
const chunkBytes = 8 * 1024

/** A clip of three chunks whose ids carry the time atMs (ulid() is not monotonic, so any time works). */
function clipAt(atMs: number, options: { isCorrupt?: boolean } = {}) {
  const body = randomBytes(chunkBytes * 2 + 100)
  const manifest = manifestAt(atMs, {
    bytes: body.length,
    sha256: options.isCorrupt ? 'f'.repeat(64) : createHash('sha256').update(body).digest('hex'),
    chunkBytes,
    chunkCount: 3,
  })
  const { clipId } = manifest.payload
  const chunkIds = [0, 1, 2].map(() => ulid(atMs + 11_000))
  /** The frame of chunk index, under its planned id or another (a resend plans new ids). */
  const chunk = (index: number, id = chunkIds[index] as string) => {
    const data = body.subarray(index * chunkBytes, (index + 1) * chunkBytes)
    const envelope = createEnvelope({
      deviceId: 'porch',
      seq: 2,
      id,
      type: 'clip.chunk',
      payload: { clipId, index, offset: index * chunkBytes, size: data.length, crc32: crc32(data) },
    })
    return { id, frame: encodeChunk(envelope, data) }
  }
  return { clipId, manifest, chunkIds, chunk }
}

describe('clip retention', () => {
  const dir = tempDir('collector-clip-retention')
  let collector: RunningCollector
  let client: MqttClient
  let inbox: DeviceInbox
  /** Added to the collector's clock: the test moves it two days on to expire the first clips. */
  let offsetMs = 0
  const events: CollectorEvent[] = []

  beforeAll(async () => {
    const secret = await addDevice(dir.path, 'porch')
    collector = await startCollector(
      testConfig(dir.path, { retentionDays: { low: 1 }, retentionSweepIntervalMs: 1000 }),
      { now: () => Date.now() + offsetMs, onEvent: (event) => events.push(event) },
    )
    ;({ client, inbox } = await connectDevice(collector.mqttPort, 'porch', secret))
  })

  afterAll(async () => {
    await client?.endAsync()
    await collector?.close()
    dir.cleanup()
  })

  const send = (topic: string, payload: Buffer) => client.publishAsync(topic, payload, { qos: 1 })
  const sendManifest = (clip: ReturnType<typeof clipAt>) =>
    send(topics.event('porch', 'low'), encodeEvent(clip.manifest))
  const sendChunk = (clip: ReturnType<typeof clipAt>, index: number, id?: string) =>
    send(topics.chunk('porch'), clip.chunk(index, id).frame)
  const ackedAll = (ids: readonly string[], what: string) =>
    eventually(() => ids.every((id) => inbox.acked.has(id)), what, 10_000)

  it('deletes every key and file of an expired clip, refuses its late chunks and keeps live clips whole', async () => {
    const startMs = Date.now()
    // Expiring: one clip still uploading (two chunks of three), one awaiting a resend after a bad check.
    const partial = clipAt(startMs)
    const corrupt = clipAt(startMs, { isCorrupt: true })
    await sendManifest(partial)
    await sendManifest(corrupt)
    await ackedAll([partial.manifest.id, corrupt.manifest.id], 'the manifests acked')
    for (const index of [0, 1]) await sendChunk(partial, index)
    for (const index of [0, 1, 2]) await sendChunk(corrupt, index)
    await ackedAll([...partial.chunkIds.slice(0, 2), ...corrupt.chunkIds], 'the chunks acked')
    await eventually(
      async () => (await collector.store.getClip(corrupt.clipId))?.state === 'awaiting-resend',
      'the corrupt clip awaiting a resend',
      10_000,
    )
    const partPath = join(dir.path, 'clips', 'porch', `${partial.clipId}.part`)
    expect(existsSync(partPath)).toBe(true)

    // The device stays away longer than the low-class retention.
    offsetMs = 2 * DAY_MS
    // The sweep reports once it has removed the records and then the files: wait for the report, since
    // the records are gone (what getClip sees) a moment before the files.
    await eventually(
      () => events.some((e) => e.kind === 'retention'),
      'the retention sweep removing both clips',
      10_000,
    )
    expect(events.filter((e) => e.kind === 'retention')).toEqual([
      { kind: 'retention', deletedCount: 2, deletedClipCount: 2 },
    ])
    expect(await collector.store.getClip(partial.clipId)).toBeUndefined()
    expect(await collector.store.getClip(corrupt.clipId)).toBeUndefined()
    expect(existsSync(partPath)).toBe(false)

    // Live clips after the sweep: one in the usual order, one whose chunk comes before its manifest.
    const live = clipAt(Date.now() + offsetMs)
    await sendManifest(live)
    for (const index of [0, 1, 2]) await sendChunk(live, index)
    const early = clipAt(Date.now() + offsetMs)
    await sendChunk(early, 0)
    await ackedAll([live.manifest.id, ...live.chunkIds, early.chunkIds[0] as string], 'the live clips acked')
    await sendManifest(early)
    for (const index of [1, 2]) await sendChunk(early, index)
    for (const clip of [live, early]) {
      await eventually(
        async () => (await collector.store.getClip(clip.clipId))?.state === 'complete',
        'a live clip complete',
        10_000,
      )
    }

    // Late chunks of the expired clips: one never sent, one sent before (its ack lost), one resent.
    const late = [partial.chunkIds[2], partial.chunkIds[1], ulid(Date.now())] as string[]
    inbox.acked.clear()
    await sendChunk(partial, 2)
    await sendChunk(partial, 1)
    await sendChunk(corrupt, 0, late[2])
    await eventually(
      () => late.every((id) => inbox.rejected.some((r) => r.id === id)),
      'the late chunks refused',
      10_000,
    )
    for (const id of late) {
      expect(inbox.rejected.filter((r) => r.id === id)).toEqual([{ id, code: 'CLIP_EXPIRED', retry: false }])
      expect(inbox.acked.has(id)).toBe(false)
    }
    expect(await metric(collector, 'doorbell_collector_rejections_total', 'reason="expired"')).toBe(3)
    expect(existsSync(partPath)).toBe(false)
    expect(await collector.clips.clipFile('porch', live.clipId)).toBeDefined()

    await collector.flush()
    await collector.close()
    const db = new Level<string, string>(join(dir.path, 'events'), { valueEncoding: 'utf8' })
    const keys = await db.keys().all()
    await db.close()
    const gone = [partial, corrupt].flatMap((clip) => [clip.clipId, clip.manifest.id, ...clip.chunkIds])
    expect(
      keys.filter((key) => gone.some((id) => key.includes(id)) || late.some((id) => key.includes(id))),
    ).toEqual([])
    const count = (prefix: string) => keys.filter((key) => key.startsWith(prefix)).length
    expect({ 'k!': count('k!'), 'kc!': count('kc!'), 'cr!': count('cr!'), 'clip!': count('clip!') }).toEqual({
      'k!': 6,
      'kc!': 6,
      'cr!': 0,
      'clip!': 2,
    })
  })
})
