import { ulid } from 'ulid'
import { afterAll, describe, expect, it } from 'vitest'
import { type ClipRecord, withClipState } from '../../../../collector/store/clip-record.js'
import {
  type ChunkReceipt,
  defaultEventPageSize,
  type EventQuery,
  type EventStore,
  maxEventPageSize,
  type StoredEvent,
} from '../../../../collector/store/event-store.js'
import { baseMs, clipAt, DAY_MS, keyOf, pressAt, readingAt, snapshotAt } from './event-fixtures.js'
import type { StoreHarness } from './store-harness.js'

/** How the suite gets event stores of one implementation. */
export type EventStoreHarness = StoreHarness<EventStore>

/** Every page of a query, checking the page bound on the way. */
async function allPages(store: EventStore, query: EventQuery): Promise<StoredEvent[]> {
  const items: StoredEvent[] = []
  let cursor: string | undefined
  for (let pages = 0; pages < 10_000; pages++) {
    const page = await store.queryEvents({ ...query, ...(cursor ? { cursor } : {}) })
    expect(page.items.length).toBeLessThanOrEqual(query.limit ?? defaultEventPageSize)
    items.push(...page.items)
    cursor = page.nextCursor
    if (!cursor) return items
  }
  throw new Error('paging did not end')
}

/** Forty events over an hour, on two devices, of three types and two classes, with related media. */
function mixedEvents(): StoredEvent[] {
  const events: StoredEvent[] = []
  for (let i = 0; i < 40; i++) {
    const deviceId = i % 2 === 0 ? 'front' : 'back'
    const atMs = baseMs + i * 90_000
    events.push(i % 5 === 0 ? pressAt(deviceId, i, atMs) : readingAt(deviceId, i, atMs))
  }
  const press = events[10] as StoredEvent
  events.push(snapshotAt('front', 100, baseMs + 10 * 90_000 + 1_000, press.id))
  events.push(snapshotAt('front', 101, baseMs + 10 * 90_000 + 2_000))
  events.push(clipAt('front', baseMs + 10 * 90_000 + 3_000, 1, press.id).manifest)
  return events
}

const hourMs = 3_600_000

/** A clip's record, which the test needs to exist. */
async function clipOf(store: EventStore, clipId: string): Promise<ClipRecord> {
  const record = await store.getClip(clipId)
  if (!record) throw new Error(`no record of clip ${clipId}`)
  return record
}

const sortedIds = (events: readonly StoredEvent[]) => events.map((e) => e.id).sort()

/**
 * The contract every EventStore passes (the aedes-persistence abstract-suite pattern): run it with a
 * harness of the implementation. Nothing here knows how a store keeps its data.
 */
export function eventStoreContract(name: string, harness: EventStoreHarness): void {
  describe(`EventStore contract: ${name}`, () => {
    afterAll(async () => {
      await harness.close?.()
    })

    /** Runs a test against a fresh store and closes it after. */
    async function withStore(test: (store: EventStore) => Promise<void>): Promise<void> {
      const store = await harness.create()
      try {
        await test(store)
      } finally {
        if (store.isOpen) await store.close()
      }
    }

    it('finds stored events and chunk receipts by device and id, and nothing else', () =>
      withStore(async (store) => {
        const press = pressAt('front', 1, baseMs)
        const clip = clipAt('front', baseMs + 1000, 2)
        await store.commit({ events: [press, clip.manifest], chunks: clip.chunks })
        const unknown = { deviceId: 'front', id: ulid(baseMs + 50) }
        const found = await store.findExisting(
          [keyOf(press), keyOf(clip.manifest), unknown],
          [keyOf(clip.chunks[0] as ChunkReceipt), { deviceId: 'front', id: ulid(baseMs + 60) }],
        )
        expect([...found].sort()).toEqual([press.id, clip.manifest.id, clip.chunks[0]?.id].sort())
        expect(await store.findExisting([], [])).toEqual(new Set())
      }))

    it('reads an event back as it was committed, and nothing for an unknown id', () =>
      withStore(async (store) => {
        const reading = readingAt('front', 7, baseMs, 21.5)
        await store.commit({ events: [reading], chunks: [] })
        expect(await store.getEvent(reading.id)).toEqual(reading)
        expect(await store.getEvent(ulid(baseMs + 1))).toBeUndefined()
      }))

    it('keeps one copy of an event or a receipt committed twice', () =>
      withStore(async (store) => {
        const first = pressAt('front', 1, baseMs)
        const second = pressAt('front', 2, baseMs + 1000)
        const clip = clipAt('front', baseMs + 2000, 1)
        await store.commit({ events: [first, clip.manifest], chunks: clip.chunks })
        await store.commit({
          events: [{ ...first, receivedAtMs: first.receivedAtMs + 99 }, second, clip.manifest],
          chunks: clip.chunks,
        })
        const all = await allPages(store, { deviceId: 'front' })
        expect(all.map((e) => e.id)).toEqual([first.id, second.id, clip.manifest.id])
        expect(await store.listChunkIndexes(clip.clipId)).toEqual([0])
      }))

    it('gives the greatest event id per device, or an empty string for a device with none', () =>
      withStore(async (store) => {
        const events = mixedEvents()
        await store.commit({ events, chunks: [] })
        for (const deviceId of ['front', 'back']) {
          const ids = events.filter((e) => e.deviceId === deviceId).map((e) => e.id)
          expect(await store.latestEventId(deviceId)).toBe(ids.sort().at(-1))
        }
        expect(await store.latestEventId('nobody')).toBe('')
      }))

    it('shows a commit to concurrent readers whole or not at all', () =>
      withStore(async (store) => {
        const events = Array.from({ length: 1500 }, (_, i) => readingAt('bulk', i, baseMs + i * 10))
        const clip = clipAt('bulk', baseMs + 20_000, 3)
        const keys = [...events, clip.manifest].map(keyOf)
        const committing = store.commit({ events: [...events, clip.manifest], chunks: clip.chunks })
        let isDone = false
        void committing.finally(() => {
          isDone = true
        })
        while (!isDone) {
          // The record first: once it is there, every event and receipt of its commit must be too.
          const record = await store.getClip(clip.clipId)
          const found = await store.findExisting(keys, clip.chunks.map(keyOf))
          expect([0, keys.length + clip.chunks.length]).toContain(found.size)
          if (record) expect(found.size).toBe(keys.length + clip.chunks.length)
        }
        await committing
        expect((await store.findExisting(keys, clip.chunks.map(keyOf))).size).toBe(keys.length + 3)
      }))

    it('starts a clip record from a stored manifest, and a manifest stored again does not reset it', () =>
      withStore(async (store) => {
        const clip = clipAt('front', baseMs, 2)
        await store.commit({ events: [clip.manifest], chunks: [] })
        const record = await store.getClip(clip.clipId)
        expect(record).toEqual({
          clipId: clip.clipId,
          deviceId: 'front',
          manifestId: clip.manifest.id,
          manifest: clip.manifest.type === 'clip.manifest' ? clip.manifest.payload : undefined,
          resendCount: 0,
          state: 'receiving',
        })
        expect(await store.findClips([clip.clipId, ulid(baseMs + 5)])).toEqual(new Set([clip.clipId]))
        await store.saveClip(withClipState(await clipOf(store, clip.clipId), { state: 'complete' }))
        await store.commit({ events: [clip.manifest], chunks: [] })
        expect((await store.getClip(clip.clipId))?.state).toBe('complete')
        expect(await store.getClip(ulid(baseMs + 5))).toBeUndefined()
      }))

    it("names each clip's owner: its record's device, or before a manifest its chunks' device", () =>
      withStore(async (store) => {
        const recorded = clipAt('front', baseMs, 2)
        const early = clipAt('back', baseMs + 1, 2)
        await store.commit({ events: [recorded.manifest], chunks: [] })
        await store.commit({ events: [], chunks: early.chunks.slice(0, 1) })
        const unknown = ulid(baseMs + 7)
        expect(await store.findClipOwners([recorded.clipId, early.clipId, unknown])).toEqual(
          new Map([
            [recorded.clipId, 'front'],
            [early.clipId, 'back'],
          ]),
        )
        expect(await store.findClipOwners([])).toEqual(new Map())
      }))

    const queries: [string, EventQuery, (e: StoredEvent) => boolean][] = [
      ['everything', {}, () => true],
      ['one device', { deviceId: 'front' }, (e) => e.deviceId === 'front'],
      ['one type', { type: 'button.press' }, (e) => e.type === 'button.press'],
      ['one class', { eventClass: 'medium' }, (e) => e.class === 'medium'],
      [
        'a device and a type',
        { deviceId: 'back', type: 'temperature' },
        (e) => e.deviceId === 'back' && e.type === 'temperature',
      ],
      [
        'a device, a class and a time range',
        { deviceId: 'front', eventClass: 'high', fromMs: baseMs + 10 * 90_000, toMs: baseMs + 30 * 90_000 },
        (e) =>
          e.deviceId === 'front' &&
          e.class === 'high' &&
          Date.parse(e.capturedAt) >= baseMs + 10 * 90_000 &&
          Date.parse(e.capturedAt) < baseMs + 30 * 90_000,
      ],
      [
        'a time range',
        { fromMs: baseMs + 5 * 90_000, toMs: baseMs + 6 * 90_000 + 1 },
        (e) =>
          Date.parse(e.capturedAt) >= baseMs + 5 * 90_000 && Date.parse(e.capturedAt) <= baseMs + 6 * 90_000,
      ],
    ]

    for (const isNewestFirst of [false, true]) {
      it(`pages ${isNewestFirst ? 'newest' : 'oldest'} first through every filter with small pages`, () =>
        withStore(async (store) => {
          const events = mixedEvents()
          await store.commit({ events, chunks: [] })
          for (const [label, query, keep] of queries) {
            const expected = sortedIds(events.filter(keep))
            if (isNewestFirst) expected.reverse()
            const got = await allPages(store, { ...query, limit: 3, isNewestFirst })
            expect(
              got.map((e) => e.id),
              label,
            ).toEqual(expected)
          }
        }))
    }

    it('bounds a query by capture time: the lower bound inclusive, the upper exclusive', () =>
      withStore(async (store) => {
        const at = baseMs + 60_000
        const events = [pressAt('front', 1, at - 1), pressAt('front', 2, at), pressAt('front', 3, at + 1)]
        await store.commit({ events, chunks: [] })
        const from = await allPages(store, { fromMs: at })
        expect(from.map((e) => e.seq)).toEqual([2, 3])
        const to = await allPages(store, { toMs: at })
        expect(to.map((e) => e.seq)).toEqual([1])
        const none = await store.queryEvents({ fromMs: at + 2 })
        expect(none).toEqual({ items: [] })
      }))

    it(`returns ${defaultEventPageSize} events without a limit and at most ${maxEventPageSize} with any`, () =>
      withStore(async (store) => {
        const events = Array.from({ length: maxEventPageSize + 5 }, (_, i) =>
          readingAt('bulk', i, baseMs + i),
        )
        await store.commit({ events, chunks: [] })
        const first = await store.queryEvents({})
        expect(first.items.length).toBeLessThanOrEqual(defaultEventPageSize)
        expect(first.nextCursor).toBeDefined()
        const big = await store.queryEvents({ limit: 5 * maxEventPageSize })
        expect(big.items.length).toBeLessThanOrEqual(maxEventPageSize)
        expect(big.nextCursor).toBeDefined()
        const all = await allPages(store, { limit: 5 * maxEventPageSize })
        expect(all.map((e) => e.id)).toEqual(sortedIds(events))
      }))

    it('finds the media that name an event with relatesTo, and only those', () =>
      withStore(async (store) => {
        const events = mixedEvents()
        await store.commit({ events, chunks: [] })
        const press = events[10] as StoredEvent
        const related = await allPages(store, { deviceId: 'front', relatesTo: press.id })
        expect(related.map((e) => e.type)).toEqual(['snapshot', 'clip.manifest'])
        const snapshots = await allPages(store, { relatesTo: press.id, type: 'snapshot' })
        expect(snapshots).toHaveLength(1)
        expect(await allPages(store, { relatesTo: (events[0] as StoredEvent).id })).toEqual([])
      }))

    it('saves clip states and lists the clips awaiting a resend per device, oldest first', () =>
      withStore(async (store) => {
        const clips = [0, 1, 2].map((i) => clipAt('front', baseMs + i * 60_000, 1))
        const other = clipAt('back', baseMs + 30_000, 1)
        await store.commit({ events: [...clips, other].map((c) => c.manifest), chunks: [] })
        const [a, b, c, d] = await Promise.all([...clips, other].map((clip) => clipOf(store, clip.clipId)))
        if (!a || !b || !c || !d) throw new Error('four records expected')
        await store.saveClip(withClipState(c, { state: 'awaiting-resend', resendCount: 1 }))
        await store.saveClip(withClipState(a, { state: 'awaiting-resend', resendCount: 2 }))
        await store.saveClip(withClipState(d, { state: 'awaiting-resend', resendCount: 1 }))
        await store.saveClip(withClipState(b, { state: 'corrupt', corruptReason: 'gone-from-device' }))
        const waiting = await store.listClipsAwaitingResend('front')
        expect(waiting.map((r) => [r.clipId, r.resendCount])).toEqual([
          [a.clipId, 2],
          [c.clipId, 1],
        ])
        expect(await store.getClip(b.clipId)).toMatchObject({
          state: 'corrupt',
          corruptReason: 'gone-from-device',
        })
        await store.saveClip(withClipState(a, { state: 'complete' }))
        expect((await store.listClipsAwaitingResend('front')).map((r) => r.clipId)).toEqual([c.clipId])
        expect((await store.listClipsAwaitingResend('back')).map((r) => r.clipId)).toEqual([d.clipId])
        expect(await store.listClipsAwaitingResend('nobody')).toEqual([])
      }))

    it('lists the chunk indexes of a clip in numeric order', () =>
      withStore(async (store) => {
        const clip = clipAt('front', baseMs, 12)
        const other = clipAt('front', baseMs + 60_000, 2)
        const picked = [10, 2, 0, 11].map((i) => clip.chunks[i] as (typeof clip.chunks)[0])
        await store.commit({ events: [], chunks: [...picked, ...other.chunks] })
        expect(await store.listChunkIndexes(clip.clipId)).toEqual([0, 2, 10, 11])
        expect(await store.listChunkIndexes(other.clipId)).toEqual([0, 1])
        expect(await store.listChunkIndexes(ulid(baseMs + 5))).toEqual([])
      }))

    it("forgets one clip's chunk receipts and writes its record in one step", () =>
      withStore(async (store) => {
        const clip = clipAt('front', baseMs, 3)
        const other = clipAt('front', baseMs + 60_000, 1)
        await store.commit({
          events: [clip.manifest, other.manifest],
          chunks: [...clip.chunks, ...other.chunks],
        })
        const record = await clipOf(store, clip.clipId)
        await store.forgetClipChunks(withClipState(record, { state: 'awaiting-resend', resendCount: 1 }))
        expect(await store.findExisting([], [...clip.chunks, ...other.chunks].map(keyOf))).toEqual(
          new Set([other.chunks[0]?.id]),
        )
        expect(await store.listChunkIndexes(clip.clipId)).toEqual([])
        expect(await store.listChunkIndexes(other.clipId)).toEqual([0])
        expect((await store.listClipsAwaitingResend('front')).map((r) => r.clipId)).toEqual([clip.clipId])
        // Chunks sent again are stored anew.
        await store.commit({ events: [], chunks: clip.chunks })
        expect(await store.listChunkIndexes(clip.clipId)).toEqual([0, 1, 2])
      }))

    it('deletes events past the retention of their class only; 0 keeps a class for ever', () =>
      withStore(async (store) => {
        const nowMs = baseMs + 10 * DAY_MS
        const events = Array.from({ length: 30 }, (_, i) =>
          i % 3 === 0
            ? pressAt('front', i, baseMs + i * 8 * hourMs)
            : readingAt('front', i, baseMs + i * 8 * hourMs),
        )
        await store.commit({ events, chunks: [] })
        const result = await store.sweepRetention(nowMs, { high: 0, medium: 5 * DAY_MS, low: DAY_MS })
        const expired = events.filter(
          (e) => e.class === 'medium' && Date.parse(e.capturedAt) < nowMs - 5 * DAY_MS,
        )
        expect(result).toEqual({ deletedCount: expired.length, expiredClips: [] })
        const left = await allPages(store, {})
        expect(left.map((e) => e.id)).toEqual(sortedIds(events.filter((e) => !expired.includes(e))))
        expect(await store.getEvent((expired[0] as StoredEvent).id)).toBeUndefined()
        expect(await store.findExisting(expired.map(keyOf), [])).toEqual(new Set())
      }))

    it('takes an expired clip whole: record, receipts, resend entry; and old orphan receipts go too', () =>
      withStore(async (store) => {
        const nowMs = baseMs + 30 * DAY_MS
        const retention = { high: 0, medium: 0, low: DAY_MS }
        const expired = clipAt('porch', nowMs - 3 * DAY_MS, 3)
        const live = clipAt('porch', nowMs - 60 * 60_000, 2)
        const oldOrphan = clipAt('porch', nowMs - 2 * DAY_MS, 2)
        const youngOrphan = clipAt('porch', nowMs - 60_000, 1)
        await store.commit({
          events: [expired.manifest, live.manifest],
          chunks: [...expired.chunks, ...live.chunks, ...oldOrphan.chunks, ...youngOrphan.chunks],
        })
        const record = await clipOf(store, expired.clipId)
        await store.saveClip(withClipState(record, { state: 'awaiting-resend', resendCount: 1 }))

        const result = await store.sweepRetention(nowMs, retention)
        expect(result.deletedCount).toBe(1)
        expect(result.expiredClips.map((c) => c.clipId).sort()).toEqual(
          [expired.clipId, oldOrphan.clipId].sort(),
        )
        expect(result.expiredClips.every((c) => c.deviceId === 'porch')).toBe(true)
        expect(await store.getClip(expired.clipId)).toBeUndefined()
        expect(await store.getEvent(expired.manifest.id)).toBeUndefined()
        expect(await store.listClipsAwaitingResend('porch')).toEqual([])
        expect(await store.listChunkIndexes(expired.clipId)).toEqual([])
        expect(await store.listChunkIndexes(oldOrphan.clipId)).toEqual([])
        const receipts = [...expired.chunks, ...live.chunks, ...oldOrphan.chunks, ...youngOrphan.chunks]
        // A chunk may come before its manifest: a young clip without a record keeps its receipt.
        expect(await store.findExisting([], receipts.map(keyOf))).toEqual(
          new Set([...live.chunks, ...youngOrphan.chunks].map((c) => c.id)),
        )
        expect((await store.getClip(live.clipId))?.state).toBe('receiving')
        expect(await store.sweepRetention(nowMs, retention)).toEqual({ deletedCount: 0, expiredClips: [] })
      }))

    it('keeps every clip and orphan receipt when the low class is kept for ever', () =>
      withStore(async (store) => {
        const nowMs = baseMs + 60 * DAY_MS
        const old = clipAt('porch', baseMs, 2)
        const orphan = clipAt('porch', baseMs + 1000, 1)
        await store.commit({ events: [old.manifest], chunks: [...old.chunks, ...orphan.chunks] })
        const result = await store.sweepRetention(nowMs, { high: DAY_MS, medium: DAY_MS, low: 0 })
        expect(result).toEqual({ deletedCount: 0, expiredClips: [] })
        expect((await store.findExisting([], [...old.chunks, ...orphan.chunks].map(keyOf))).size).toBe(3)
        expect(await store.getClip(old.clipId)).toBeDefined()
      }))

    it('is open until closed', async () => {
      const store = await harness.create()
      expect(store.isOpen).toBe(true)
      await store.close()
      expect(store.isOpen).toBe(false)
    })

    it.skipIf(!harness.reopen)(
      'keeps events, clip records, receipts and resend entries across a reopen',
      async () => {
        const store = await harness.create()
        const events = mixedEvents()
        const clip = clipAt('front', baseMs + DAY_MS, 2)
        await store.commit({ events: [...events, clip.manifest], chunks: clip.chunks })
        const record = await clipOf(store, clip.clipId)
        await store.saveClip(withClipState(record, { state: 'awaiting-resend', resendCount: 1 }))
        await store.close()
        const reopened = await (harness.reopen as () => Promise<EventStore>)()
        try {
          const all = await allPages(reopened, { limit: 1000 })
          expect(all.map((e) => e.id)).toEqual(sortedIds([...events, clip.manifest]))
          expect(await reopened.getEvent((events[3] as StoredEvent).id)).toEqual(events[3])
          expect(await reopened.getClip(clip.clipId)).toEqual(
            withClipState(record, { state: 'awaiting-resend', resendCount: 1 }),
          )
          expect((await reopened.listClipsAwaitingResend('front')).map((r) => r.clipId)).toEqual([
            clip.clipId,
          ])
          expect(await reopened.listChunkIndexes(clip.clipId)).toEqual([0, 1])
          expect(await reopened.latestEventId('front')).toBe(clip.manifest.id)
        } finally {
          await reopened.close()
        }
      },
    )
  })
}
