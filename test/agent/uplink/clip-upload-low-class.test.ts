import { describe, expect, it } from 'vitest'
import { MemoryOutboxStore } from '../../../agent/outbox/memory-outbox-store.js'
import { Outbox } from '../../../agent/outbox/outbox.js'
import { ClipUploadLowClass, type ClipUploads } from '../../../agent/uplink/clip-upload-low-class.js'
import { decodeChunk, newEventId } from '../../../shared/protocol/index.js'

const deviceId = 'front-door'

/** A stand-in for ClipUploadQueue recording what the adapter tells it. */
function fakeUploads(clipId: string, chunkId: string) {
  const calls: string[] = []
  let isSent = false
  const data = Buffer.from('0123456789')
  const uploads = {
    async next() {
      if (isSent) return undefined
      isSent = true
      return { clip: { clipId }, chunk: { id: chunkId, index: 0, offset: 0, size: data.length }, data }
    },
    async handleAck(ids: readonly string[]) {
      calls.push(`ack ${ids.length}`)
      return ids.length
    },
    async handleRejected(rejected: readonly unknown[]) {
      calls.push(`rejected ${rejected.length}`)
      return rejected.length
    },
    async handleManifestAck(id: string) {
      calls.push(`manifest ${id === clipId ? 'of the clip' : id}`)
    },
    releaseInFlight() {
      calls.push('release')
    },
    handleDeferred(ids: readonly string[]) {
      calls.push(`deferred ${ids.length}`)
      return ids.length
    },
  } as unknown as ClipUploads
  return { uploads, calls }
}

describe('ClipUploadLowClass (media upload queue on the low-class seam)', () => {
  it('frames chunks for the chunk topic and releases a clip when its manifest event is acked', async () => {
    const outbox = new Outbox({ store: new MemoryOutboxStore(), deviceId, maxBytes: 1e7 })
    await outbox.open()
    const clipId = newEventId()
    const [manifest] = await outbox.record([
      {
        type: 'clip.manifest',
        capturedAtMs: Date.now(),
        payload: {
          clipId,
          contentType: 'video/mp4',
          startedAt: new Date().toISOString(),
          durationMs: 15_000,
          prerollMs: 5_000,
          hasAudio: false,
          bytes: 10,
          sha256: 'a'.repeat(64),
          chunkBytes: 10,
          chunkCount: 1,
        },
      },
    ])
    const chunkId = newEventId()
    const { uploads, calls } = fakeUploads(clipId, chunkId)
    const low = new ClipUploadLowClass({ deviceId, uploads, outbox })
    const unit = await low.next()
    expect(unit?.topic).toBe('doorbell/v1/front-door/chunk')
    const frame = decodeChunk(unit?.payload ?? Buffer.alloc(0), { deviceId })
    expect(frame.envelope).toMatchObject({ id: chunkId, payload: { clipId, index: 0, size: 10 } })
    expect(await low.next()).toBeUndefined()
    await low.onAck({ ids: [manifest?.id ?? ''], rejected: [] })
    low.onOffline()
    expect(calls).toEqual(['manifest of the clip', 'ack 1', 'rejected 0', 'release'])
    calls.length = 0
    await low.onAck({
      ids: [],
      rejected: [
        { id: chunkId, code: 'RATE_LIMITED', retry: true },
        { id: newEventId(), code: 'PROTOCOL_INVALID', retry: true },
      ],
    })
    // A busy collector is not a bad chunk: deferred, not counted towards failing the clip.
    expect(calls).toEqual(['ack 0', 'deferred 1', 'rejected 1'])
  })
})
