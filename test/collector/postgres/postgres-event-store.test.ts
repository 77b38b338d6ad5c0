import { ulid } from 'ulid'
import { beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { PostgresEventStore } from '../../../collector/postgres/postgres-event-store.js'
import type { ChunkReceipt, ClipRecord, StoredEvent } from '../../../collector/store/event-store.js'
import { createEnvelope, newEventId } from '../../../shared/protocol/index.js'
import { manifestAt } from '../collector-harness.js'
import { usePostgresSuite } from './postgres-suite.js'

const baseMs = Date.UTC(2026, 0, 1)
const DAY_MS = 86_400_000

function stored(
  deviceId: string,
  seq: number,
  atMs: number,
  type: 'temperature' | 'button.press',
): StoredEvent {
  const envelope =
    type === 'temperature'
      ? createEnvelope({ deviceId, seq, type, payload: { celsius: 20, sensor: 's' }, capturedAtMs: atMs })
      : createEnvelope({ deviceId, seq, type, payload: {}, capturedAtMs: atMs })
  return { ...envelope, receivedAtMs: atMs }
}

describe('PostgresEventStore', () => {
  const suite = usePostgresSuite()
  let url: string
  let store: PostgresEventStore
  const events: StoredEvent[] = []

  // Created once: newEventId is monotonic per process, so ids for earlier times made later would carry
  // the later time.
  beforeAll(() => {
    for (let i = 0; i < 30; i++) {
      const device = i % 2 === 0 ? 'front' : 'back'
      events.push(stored(device, i, baseMs + i * 60_000, i % 3 === 0 ? 'button.press' : 'temperature'))
    }
  })

  beforeEach(async () => {
    url = await suite.freshDatabase()
    store = new PostgresEventStore(await suite.connect(url))
    await store.commit({ events, chunks: [], clips: [] })
  })

  it('finds stored ids for deduplication and returns an event as it was stored', async () => {
    const found = await store.findExisting([events[0]?.id as string, '01ARZ3NDEKTSV4RRFFQ69G5FAV'], [])
    expect([...found]).toEqual([events[0]?.id])
    expect(await store.getEvent(events[4]?.id as string)).toEqual(events[4])
    expect(await store.latestEventId('back')).toBe(events[29]?.id)
    expect(await store.latestEventId('nobody')).toBe('')
  })

  it('pages through one device with a cursor, oldest first', async () => {
    const seen: string[] = []
    let cursor: string | undefined
    do {
      const page = await store.queryEvents({ deviceId: 'front', limit: 4, ...(cursor ? { cursor } : {}) })
      seen.push(...page.items.map((e) => e.id))
      cursor = page.nextCursor
    } while (cursor)
    expect(seen).toEqual(events.filter((e) => e.deviceId === 'front').map((e) => e.id))
  })

  it('filters by type, class and time range, newest first', async () => {
    const page = await store.queryEvents({
      type: 'button.press',
      fromMs: baseMs + 5 * 60_000,
      toMs: baseMs + 20 * 60_000,
      isNewestFirst: true,
    })
    expect(page.items.map((e) => e.seq)).toEqual([18, 15, 12, 9, 6])
    const high = await store.queryEvents({ eventClass: 'high', deviceId: 'back', limit: 100 })
    expect(high.items.map((e) => e.seq)).toEqual([3, 9, 15, 21, 27])
    expect(high.nextCursor).toBeUndefined()
  })

  it('stores an event once when two nodes commit it at the same moment', async () => {
    const nodeB = new PostgresEventStore(await suite.connect(url))
    const press = stored('front', 100, baseMs + DAY_MS, 'button.press')
    const batch = { events: [press], chunks: [], clips: [] }
    await Promise.all([store.commit(batch), nodeB.commit(batch), store.commit(batch)])
    const page = await nodeB.queryEvents({ deviceId: 'front', fromMs: baseMs + DAY_MS })
    expect(page.items).toEqual([press])
  })

  it('writes a commit whole or not at all', async () => {
    const good = stored('front', 200, baseMs + 2 * DAY_MS, 'button.press')
    // A class the schema refuses makes the whole transaction roll back, the good event with it.
    const bad = {
      ...stored('front', 201, baseMs + 2 * DAY_MS, 'temperature'),
      class: 'urgent',
    } as unknown as StoredEvent
    await expect(store.commit({ events: [good, bad], chunks: [], clips: [] })).rejects.toMatchObject({
      code: 'STORE_WRITE_FAILED',
    })
    expect(await store.getEvent(good.id)).toBeUndefined()
  })

  it('deletes events past the retention of their class only', async () => {
    const nowMs = baseMs + 10 * DAY_MS
    const result = await store.sweepRetention(nowMs, { high: 0, medium: 5 * DAY_MS, low: DAY_MS })
    expect(result.deletedCount).toBe(20)
    const left = await store.queryEvents({ limit: 100 })
    expect(left.items.every((e) => e.class === 'high')).toBe(true)
    expect(left.items).toHaveLength(10)
    expect(await store.getEvent(events[1]?.id as string)).toBeUndefined()
  })

  it('forgets the chunk receipts of a clip sent again and lists the clips awaiting a resend', async () => {
    const clipId = newEventId()
    const otherClipId = newEventId()
    const receipt = (clip: string, index: number) => ({
      id: newEventId(),
      deviceId: 'front',
      clipId: clip,
      index,
      size: 10,
    })
    const chunks = [receipt(clipId, 0), receipt(clipId, 1), receipt(otherClipId, 0)]
    const record = { clipId, deviceId: 'front', isComplete: false }
    await store.commit({ events: [], chunks, clips: [record, { ...record, clipId: otherClipId }] })
    expect(await store.findClips([clipId, 'nope'])).toEqual(new Set([clipId]))
    await store.forgetClipChunks({ ...record, isAwaitingResend: true, resendCount: 1 })

    const ids = chunks.map((c) => c.id)
    expect([...(await store.findExisting([], ids))]).toEqual([chunks[2]?.id])
    expect(await store.listChunkIndexes(clipId)).toEqual([])
    expect(await store.listChunkIndexes(otherClipId)).toEqual([0])
    expect((await store.listClipsAwaitingResend('front')).map((c) => c.clipId)).toEqual([clipId])
    expect(await store.listClipsAwaitingResend('back')).toEqual([])

    await store.commit({ events: [], chunks: [], clips: [{ ...record, isComplete: true, resendCount: 1 }] })
    expect(await store.listClipsAwaitingResend('front')).toEqual([])
    expect(await store.getClip(clipId)).toEqual({ ...record, isComplete: true, resendCount: 1 })
  })

  it('takes an expired clip with every row of it, and orphan receipts past the low cutoff', async () => {
    const nowMs = Date.UTC(2026, 5, 1)
    const clipAt = (atMs: number) => {
      const envelope = manifestAt(atMs, { bytes: 20, sha256: 'a'.repeat(64), chunkBytes: 10, chunkCount: 2 })
      const { clipId } = envelope.payload
      const chunks: ChunkReceipt[] = [0, 1].map((index) => ({
        id: ulid(atMs + 11_000),
        deviceId: 'porch',
        clipId,
        index,
        size: 10,
      }))
      const record: ClipRecord = {
        clipId,
        deviceId: 'porch',
        manifestId: envelope.id,
        manifest: envelope.payload,
        isComplete: false,
        isAwaitingResend: true,
      }
      return { clipId, manifest: { ...envelope, receivedAtMs: atMs } as StoredEvent, chunks, record }
    }
    const old = clipAt(nowMs - 3 * DAY_MS)
    const young = clipAt(nowMs - 1000)
    const orphanOld = clipAt(nowMs - 4 * DAY_MS)
    const orphanYoung = clipAt(nowMs - 2000)
    await store.commit({
      events: [old.manifest, young.manifest],
      chunks: [...old.chunks, ...young.chunks, ...orphanOld.chunks, ...orphanYoung.chunks],
      clips: [old.record, young.record],
    })
    const result = await store.sweepRetention(nowMs, { high: 0, medium: 0, low: DAY_MS })
    expect(result.expiredClips).toEqual(
      expect.arrayContaining([
        { deviceId: 'porch', clipId: old.clipId },
        { deviceId: 'porch', clipId: orphanOld.clipId },
      ]),
    )
    expect(result.expiredClips).toHaveLength(2)
    expect(await store.getClip(old.clipId)).toBeUndefined()
    expect(await store.listChunkIndexes(old.clipId)).toEqual([])
    expect(await store.listChunkIndexes(orphanOld.clipId)).toEqual([])
    expect(await store.listChunkIndexes(young.clipId)).toEqual([0, 1])
    expect(await store.listChunkIndexes(orphanYoung.clipId)).toEqual([0, 1])
    expect((await store.listClipsAwaitingResend('porch')).map((c) => c.clipId)).toEqual([young.clipId])
  })
})
