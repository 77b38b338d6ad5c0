import { createHash, randomBytes } from 'node:crypto'
import type { ClipManifest } from '../../../collector/clips/clip-store.js'
import type { RunningCollector } from '../../../collector/main.js'
import { withClipState } from '../../../collector/store/clip-record.js'
import type { StoredEvent } from '../../../collector/store/event-store.js'
import { createEnvelope, newEventId } from '../../../shared/protocol/index.js'

/** What storeMedia put into a collector: a verified clip, and a press with its snapshot. */
export interface StoredMedia {
  readonly clipId: string
  readonly body: Buffer
  readonly pressId: string
  readonly snapshotId: string
  readonly jpeg: Buffer
}

/** Stores a verified two-chunk clip of clipBytes and a press of device 'porch' with its JPEG snapshot. */
export async function storeMedia(collector: RunningCollector, clipBytes = 100_000): Promise<StoredMedia> {
  const body = randomBytes(clipBytes)
  const clipId = newEventId()
  const pressId = newEventId()
  const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), randomBytes(500)])
  const chunkBytes = 65_536
  const manifest: ClipManifest = {
    clipId,
    relatesTo: pressId,
    contentType: 'video/mp4',
    startedAt: new Date().toISOString(),
    durationMs: 4000,
    prerollMs: 2000,
    hasAudio: false,
    bytes: body.length,
    sha256: createHash('sha256').update(body).digest('hex'),
    chunkBytes,
    chunkCount: Math.ceil(body.length / chunkBytes),
  }
  for (let offset = 0; offset < body.length; offset += chunkBytes) {
    await collector.clips.writeChunk('porch', clipId, offset, body.subarray(offset, offset + chunkBytes))
  }
  if ((await collector.clips.finalize('porch', manifest)) !== 'complete') throw new Error('clip not complete')
  const press = createEnvelope({ deviceId: 'porch', seq: 1, type: 'button.press', payload: {}, id: pressId })
  const snapshot = createEnvelope({
    deviceId: 'porch',
    seq: 2,
    type: 'snapshot',
    payload: {
      relatesTo: pressId,
      contentType: 'image/jpeg',
      bytes: jpeg.length,
      sha256: createHash('sha256').update(jpeg).digest('hex'),
      data: jpeg.toString('base64'),
    },
  })
  const manifestEvent = createEnvelope({
    deviceId: 'porch',
    seq: 3,
    type: 'clip.manifest',
    payload: manifest,
  })
  const receivedAtMs = Date.now()
  await collector.store.commit({
    events: [press, snapshot, manifestEvent].map((e) => ({ ...e, receivedAtMs }) as StoredEvent),
    chunks: [],
  })
  const record = await collector.store.getClip(clipId)
  if (!record) throw new Error('no clip record from the manifest')
  await collector.store.saveClip(withClipState(record, { state: 'complete' }))
  return { clipId, body, pressId, snapshotId: snapshot.id, jpeg }
}
