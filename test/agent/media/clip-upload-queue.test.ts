import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { chunkFrameOf } from '../../../agent/media/clip-chunker.js'
import type { RecordedClip } from '../../../agent/media/clip-recorder.js'
import { type ClipUploadOutcome, ClipUploadQueue } from '../../../agent/media/clip-upload-queue.js'
import { FsClipStore } from '../../../agent/media/fs-clip-store.js'
import { decodeChunk, newEventId } from '../../../shared/protocol/index.js'

const KiB = 1024
let dir: string

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'doorbell-queue-'))
})

afterEach(() => rmSync(dir, { recursive: true, force: true }))

function writeClip(bytes: number, startedAtMs: number): RecordedClip {
  const clipId = newEventId(startedAtMs)
  const path = join(dir, `${clipId}.mp4`)
  writeFileSync(path, randomBytes(bytes))
  return {
    clipId,
    path,
    bytes,
    startedAtMs,
    durationMs: 5000,
    prerollMs: 2000,
    hasAudio: false,
    triggerAtMs: startedAtMs,
  }
}

async function setup(maxInFlightChunks = 2, maxInFlightBytes?: number) {
  const store = new FsClipStore({
    dir,
    maxBytes: 10 * 1024 * KiB,
    hardMaxBytes: 20 * 1024 * KiB,
    chunkBytes: 64 * KiB,
  })
  await store.open()
  const done: ClipUploadOutcome[] = []
  const queue = new ClipUploadQueue({
    store,
    maxInFlightChunks,
    ...(maxInFlightBytes === undefined ? {} : { maxInFlightBytes }),
    onClipDone: (d) => done.push(d),
  })
  return { store, queue, done }
}

describe('ClipUploadQueue', () => {
  it('sends nothing for a clip until its manifest is acknowledged', async () => {
    const { store, queue } = await setup()
    const added = await store.add(writeClip(100 * KiB, Date.now() - 10_000))
    expect(await queue.next()).toBeUndefined()
    await queue.handleManifestAck(added?.stored.clipId as string)
    expect((await queue.next())?.chunk.index).toBe(0)
  })

  it('keeps at most maxInFlightChunks unanswered', async () => {
    const { store, queue } = await setup(2)
    const added = await store.add(writeClip(300 * KiB, Date.now() - 10_000))
    await queue.handleManifestAck(added?.stored.clipId as string)
    const a = await queue.next()
    const b = await queue.next()
    expect(await queue.next()).toBeUndefined()
    await queue.handleAck([a?.chunk.id as string])
    expect((await queue.next())?.chunk.index).toBe(2)
    expect(b?.chunk.index).toBe(1)
  })

  it('keeps at most maxInFlightBytes unanswered, but always lets one chunk go', async () => {
    const { store, queue } = await setup(10, 100 * KiB)
    const added = await store.add(writeClip(300 * KiB, Date.now() - 10_000))
    await queue.handleManifestAck(added?.stored.clipId as string)
    const a = await queue.next()
    expect(queue.inFlightBytes).toBe(64 * KiB)
    expect(await queue.next()).toBeUndefined() // 128 KiB would exceed the 100 KiB window
    await queue.handleAck([a?.chunk.id as string])
    expect(queue.inFlightBytes).toBe(0)
    expect((await queue.next())?.chunk.index).toBe(1)
  })

  it('sends a chunk the collector deferred again after the pause, never failing the clip for it', async () => {
    const { store, queue } = await setup(2)
    const added = await store.add(writeClip(100 * KiB, Date.now() - 5_000))
    await queue.handleManifestAck(added?.stored.clipId as string)
    for (let i = 0; i < 8; i++) {
      const next = await queue.next()
      expect(next?.chunk.index).toBe(0)
      expect(queue.handleDeferred([next?.chunk.id as string], 30)).toBe(1)
      expect(await queue.next()).toBeUndefined() // paused
      await new Promise((resolve) => setTimeout(resolve, 40))
    }
    expect(added?.stored.upload.isFailed).toBe(false)
  })

  it('lets one chunk go even when it is larger than maxInFlightBytes', async () => {
    const { store, queue } = await setup(10, 1)
    const added = await store.add(writeClip(200 * KiB, Date.now() - 5_000))
    await queue.handleManifestAck(added?.stored.clipId as string)
    expect((await queue.next())?.chunk.index).toBe(0)
    expect(await queue.next()).toBeUndefined()
    queue.releaseInFlight()
    expect(queue.inFlightBytes).toBe(0)
  })

  it('uploads a whole clip that reassembles byte-identical, then reports it done', async () => {
    const { store, queue, done } = await setup(3)
    const added = await store.add(writeClip(333 * KiB, Date.now() - 10_000))
    const clipId = added?.stored.clipId as string
    await queue.handleManifestAck(clipId)
    const received = new Map<number, Buffer>()
    for (let seq = 1; seq < 100; seq += 1) {
      const next = await queue.next()
      if (!next) break
      const { frame } = chunkFrameOf({
        deviceId: 'd1',
        seq,
        id: next.chunk.id,
        clipId,
        span: next.chunk,
        data: next.data,
      })
      const decoded = decodeChunk(frame) // what the collector does
      received.set(decoded.envelope.payload.index, decoded.data)
      await queue.handleAck([decoded.envelope.id])
    }
    const file = Buffer.concat(
      [...received.keys()].sort((x, y) => x - y).map((i) => received.get(i) as Buffer),
    )
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')
    expect(sha(file)).toBe(sha(readFileSync(added?.stored.path as string)))
    expect(done).toEqual([{ clipId, outcome: 'uploaded' }])
  })

  it('resends a chunk rejected with retry, and drops a clip rejected for good', async () => {
    const { store, queue, done } = await setup(1)
    const added = await store.add(writeClip(200 * KiB, Date.now() - 10_000))
    const clipId = added?.stored.clipId as string
    await queue.handleManifestAck(clipId)
    const first = await queue.next()
    await queue.handleRejected([{ id: first?.chunk.id as string, retry: true }])
    const again = await queue.next()
    expect(again?.chunk.index).toBe(0)
    await queue.handleRejected([{ id: again?.chunk.id as string, retry: false }])
    expect(done).toEqual([{ clipId, outcome: 'failed' }])
    expect(store.get(clipId)).toBeUndefined()
  })

  it('on a clip.resend sends every chunk again, ignoring acks of the copies sent before', async () => {
    const { store, queue, done } = await setup(2)
    const added = await store.add(writeClip(200 * KiB, Date.now() - 10_000))
    const clipId = added?.stored.clipId as string
    await queue.handleManifestAck(clipId)
    const firstIds: string[] = []
    for (let next = await queue.next(); next; next = await queue.next()) {
      firstIds.push(next.chunk.id)
      await queue.handleAck([next.chunk.id])
    }
    expect(done).toEqual([{ clipId, outcome: 'uploaded' }])
    const stale = firstIds.slice(-1)

    expect(await queue.handleResend(clipId, 1)).toBe('resending')
    expect(await queue.handleResend(clipId, 1)).toBe('duplicate')
    expect(await queue.handleAck(stale)).toBe(0)
    const again: number[] = []
    for (let next = await queue.next(); next; next = await queue.next()) {
      expect(firstIds).not.toContain(next.chunk.id)
      again.push(next.chunk.index)
      await queue.handleAck([next.chunk.id])
    }
    expect(again).toEqual([0, 1, 2, 3])
    expect(done).toEqual([
      { clipId, outcome: 'uploaded' },
      { clipId, outcome: 'uploaded' },
    ])
    expect(await queue.handleResend(newEventId(), 1)).toBe('missing')
  })

  it('marks a clip verified on clip.verified', async () => {
    const { store, queue } = await setup(1)
    const added = await store.add(writeClip(100 * KiB, Date.now() - 10_000))
    expect(await queue.handleVerified(added?.stored.clipId as string)).toBe(true)
    expect(store.get(added?.stored.clipId as string)?.upload.isVerified).toBe(true)
    expect(await queue.handleVerified(newEventId())).toBe(false)
  })

  it('routes an ack for a chunk sent before a restart', async () => {
    const { store, queue } = await setup(1)
    const added = await store.add(writeClip(200 * KiB, Date.now() - 10_000))
    await queue.handleManifestAck(added?.stored.clipId as string)
    const sent = await queue.next()
    const restarted = await setup(1)
    expect(await restarted.queue.handleAck([sent?.chunk.id as string, newEventId()])).toBe(1)
    expect((await restarted.queue.next())?.chunk.index).toBe(1)
    expect(store.list()).toHaveLength(1)
  })
})
