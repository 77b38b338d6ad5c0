import { describe, expect, it } from 'vitest'
import type { ClipStore } from '../../../collector/clips/clip-store.js'
import type { CommitResult } from '../../../collector/ingest/commit-result.js'
import { GroupCommitWriter } from '../../../collector/ingest/group-commit-writer.js'
import type { IngestItem } from '../../../collector/ingest/ingest-item.js'
import type { CommitBatch, EventKey, EventStore } from '../../../collector/store/event-store.js'
import { DoorbellError } from '../../../shared/errors.js'
import { press, reading } from '../collector-harness.js'

/** A store holding ids in memory; can be told to fail the next commit. */
class FakeEventStore {
  readonly ids = new Set<string>()
  readonly commits: CommitBatch[] = []
  failNext: Error | undefined
  /** When set, commits wait for it (to hold a round in flight). */
  gate: Promise<void> | undefined
  isOpen = true

  /** Ids looked up, to check that new events skip the lookup. */
  readonly lookedUp: string[] = []

  async latestEventId(deviceId: string): Promise<string> {
    let max = ''
    for (const batch of this.commits) {
      for (const e of batch.events) if (e.deviceId === deviceId && e.id > max) max = e.id
    }
    return max
  }

  async findExisting(events: readonly EventKey[]): Promise<Set<string>> {
    const eventIds = events.map((e) => e.id)
    this.lookedUp.push(...eventIds)
    return new Set(eventIds.filter((id) => this.ids.has(id)))
  }

  async commit(batch: CommitBatch): Promise<void> {
    if (this.gate) await this.gate
    if (this.failNext) {
      const err = this.failNext
      this.failNext = undefined
      throw err
    }
    this.commits.push(batch)
    for (const e of batch.events) this.ids.add(e.id)
  }
}

const noClips = {} as ClipStore

function setup() {
  const store = new FakeEventStore()
  const results: CommitResult[] = []
  const failures: unknown[] = []
  const writer = new GroupCommitWriter({
    store: store as unknown as EventStore,
    clips: noClips,
    maxBatchItems: 1000,
    onCommitted: (r) => results.push(r),
    onCommitFailed: (err) => failures.push(err),
  })
  const item = (deviceId: string, seq: number): IngestItem => ({
    kind: 'event',
    event: { ...reading(deviceId, seq), receivedAtMs: 0 },
  })
  return { store, results, failures, writer, item }
}

describe('GroupCommitWriter', () => {
  it('commits items from several devices in one batch and acks each device its own ids', async () => {
    const { store, results, writer, item } = setup()
    const a = item('a', 1)
    const b = item('b', 1)
    writer.submit(a)
    writer.submit(b)
    await writer.flush()
    expect(store.commits).toHaveLength(1)
    expect(results[0]?.acks).toEqual([
      { deviceId: 'a', ids: [a.kind === 'event' ? a.event.id : ''], rejected: [] },
      { deviceId: 'b', ids: [b.kind === 'event' ? b.event.id : ''], rejected: [] },
    ])
  })

  it('stores two copies in one batch once and acks the id once', async () => {
    const { store, results, writer, item } = setup()
    const a = item('a', 1)
    writer.submit(a)
    writer.submit(a)
    await writer.flush()
    expect(store.commits[0]?.events).toHaveLength(1)
    expect(results[0]?.duplicateCount).toBe(1)
    expect(results[0]?.acks[0]?.ids).toHaveLength(1)
  })

  it('acks an id already in the store without storing it again', async () => {
    const { store, results, writer, item } = setup()
    const a = item('a', 1)
    writer.submit(a)
    await writer.flush()
    // A fresh writer (as after a restart) knows nothing in memory; the store answers.
    const again = new GroupCommitWriter({
      store: store as unknown as EventStore,
      clips: noClips,
      maxBatchItems: 1000,
      onCommitted: (r) => results.push(r),
      onCommitFailed: () => {},
    })
    again.submit(a)
    await again.flush()
    expect(store.commits).toHaveLength(1)
    expect(results[1]?.acks[0]?.ids).toEqual([a.kind === 'event' ? a.event.id : ''])
    expect(results[1]?.duplicateCount).toBe(1)
  })

  it('nacks every item of a failed commit with retry, then stores them when resent', async () => {
    const { store, results, failures, writer, item } = setup()
    const a = item('a', 1)
    store.failNext = new DoorbellError('STORE_DISK_FULL', 'test')
    writer.submit(a)
    await writer.flush()
    expect(failures).toHaveLength(1)
    expect(results[0]?.acks[0]?.ids).toEqual([])
    expect(results[0]?.acks[0]?.rejected[0]).toMatchObject({ code: 'STORE_DISK_FULL', isRetryable: true })
    writer.submit(a)
    await writer.flush()
    expect(store.ids.size).toBe(1)
  })

  it('reports rejections in the same ack round as accepted events', async () => {
    const { results, writer, item } = setup()
    writer.submit(item('a', 1))
    writer.reject({
      deviceId: 'a',
      id: '01ARZ3NDEKTSV4RRFFQ69G5FAV',
      code: 'PROTOCOL_MALFORMED',
      isRetryable: false,
      reason: 'malformed',
    })
    await writer.flush()
    expect(results).toHaveLength(1)
    expect(results[0]?.acks[0]?.ids).toHaveLength(1)
    expect(results[0]?.acks[0]?.rejected).toHaveLength(1)
  })

  it('acks a copy that arrives while its first copy is still being committed, after that commit, once', async () => {
    const { store, results, writer, item } = setup()
    let open: () => void = () => {}
    store.gate = new Promise<void>((resolve) => {
      open = resolve
    })
    const a = item('a', 1)
    writer.submit(a)
    await new Promise((resolve) => setTimeout(resolve, 10))
    writer.submit(a)
    await new Promise((resolve) => setTimeout(resolve, 10))
    expect(results).toHaveLength(0)
    open()
    await writer.flush()
    expect(store.commits).toHaveLength(1)
    expect(results.map((r) => r.acks.flatMap((ack) => ack.ids))).toEqual([
      [a.kind === 'event' ? a.event.id : ''],
      [a.kind === 'event' ? a.event.id : ''],
    ])
  })

  it('acks ordinary rounds in commit order around a press round that finished before them', async () => {
    const { store, results, writer, item } = setup()
    let open: () => void = () => {}
    store.gate = new Promise<void>((resolve) => {
      open = resolve
    })
    const first = item('a', 1)
    writer.submit(first)
    await new Promise((resolve) => setTimeout(resolve, 10))
    // Later commits go through at once; the first round is still held.
    store.gate = undefined
    const ring: IngestItem = { kind: 'event', event: { ...press('a', 2), receivedAtMs: 0 } }
    writer.submit(ring)
    await new Promise((resolve) => setTimeout(resolve, 10))
    const later = item('b', 3)
    writer.submit(later)
    await new Promise((resolve) => setTimeout(resolve, 10))
    open()
    await writer.flush()
    const idOf = (i: IngestItem) => (i.kind === 'event' ? i.event.id : '')
    expect(results.map((r) => r.acks.flatMap((ack) => ack.ids))).toEqual([
      [idOf(ring)],
      [idOf(first)],
      [idOf(later)],
    ])
  })

  it('commits high-class events first when more than one batch is waiting', async () => {
    const store = new FakeEventStore()
    const writer = new GroupCommitWriter({
      store: store as unknown as EventStore,
      clips: noClips,
      maxBatchItems: 3,
      maxConcurrentCommits: 1,
      onCommitted: () => {},
      onCommitFailed: () => {},
    })
    for (let seq = 0; seq < 5; seq++)
      writer.submit({ kind: 'event', event: { ...reading('a', seq), receivedAtMs: 0 } })
    writer.submit({ kind: 'event', event: { ...press('a', 5), receivedAtMs: 0 } })
    await writer.flush()
    expect(store.commits[0]?.events.map((e) => e.type)).toEqual([
      'button.press',
      'temperature',
      'temperature',
    ])
  })

  it('lets readings linger for company but commits a press at once', async () => {
    const store = new FakeEventStore()
    const writer = new GroupCommitWriter({
      store: store as unknown as EventStore,
      clips: noClips,
      maxBatchItems: 100,
      lingerMs: 60_000,
      onCommitted: () => {},
      onCommitFailed: () => {},
    })
    writer.submit({ kind: 'event', event: { ...reading('a', 1), receivedAtMs: 0 } })
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(store.commits).toHaveLength(0)
    writer.submit({ kind: 'event', event: { ...press('a', 2), receivedAtMs: 0 } })
    await writer.flush()
    expect(store.commits.map((c) => c.events.length)).toEqual([2])
  })

  it('looks up only ids at or below the greatest id its device already stored', async () => {
    const { store, writer, item } = setup()
    const old = item('a', 1)
    const next = item('a', 2)
    writer.submit(next)
    await writer.flush()
    expect(store.lookedUp).toEqual([])
    writer.submit(old)
    writer.submit(item('a', 3))
    await writer.flush()
    expect(store.lookedUp).toEqual([old.kind === 'event' ? old.event.id : ''])
    expect(store.ids.size).toBe(3)
  })
})
