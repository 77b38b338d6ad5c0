import { Level } from 'level'
import { DoorbellError } from '../../shared/errors.js'
import {
  chunkKey,
  classKey,
  clipChunkKey,
  clipKey,
  deviceKey,
  eventKey,
  resendKey,
  ulidTimePrefix,
} from './event-keys.js'
import type {
  ClipRecord,
  CommitBatch,
  EventPage,
  EventQuery,
  EventStore,
  RetentionMs,
  RetentionResult,
  StoredEvent,
} from './event-store.js'
import { type ChainedBatch, delChunkReceipts, sweepLevelRetention } from './level-retention-sweep.js'

/** Options of the Level store. */
export interface LevelEventStoreOptions {
  /** Folder of the Level database. */
  readonly path: string
  /** fsync every commit: survives power loss; without it a commit survives a process crash only. */
  readonly isSyncWrite: boolean
}

const maxPageSize = 1000

/** Event store on an embedded Level database (classic-level, LevelDB). */
export class LevelEventStore implements EventStore {
  readonly #db: Level<string, string>
  readonly #isSyncWrite: boolean
  /**
   * Set when a write failed (disk full): LevelDB keeps appending to a log whose tail is torn, and on the
   * next open it drops the records after the tear, acked ones included (seen in test/faults). The next
   * commit first reopens the database, which recovers the log and starts a new one.
   */
  #isTorn = false
  #reopening: Promise<void> | undefined

  private constructor(db: Level<string, string>, isSyncWrite: boolean) {
    this.#db = db
    this.#isSyncWrite = isSyncWrite
  }

  /** Opens (creating if needed) the store; STORE_OPEN_FAILED names the path when it cannot. */
  static async open(options: LevelEventStoreOptions): Promise<LevelEventStore> {
    const db = new Level<string, string>(options.path, { valueEncoding: 'utf8' })
    try {
      await db.open()
    } catch (err) {
      throw new DoorbellError('STORE_OPEN_FAILED', `${options.path}: ${(err as Error).message}`, {
        cause: err,
        details: { path: options.path },
      })
    }
    return new LevelEventStore(db, options.isSyncWrite)
  }

  get isOpen(): boolean {
    return this.#db.status === 'open'
  }

  async findExisting(eventIds: readonly string[], chunkIds: readonly string[]): Promise<Set<string>> {
    const found = new Set<string>()
    const ids = [...eventIds, ...chunkIds]
    if (ids.length === 0) return found
    const keys = [...eventIds.map(eventKey), ...chunkIds.map(chunkKey)]
    const present = await this.#db.hasMany(keys)
    for (let i = 0; i < ids.length; i++) if (present[i]) found.add(ids[i] as string)
    return found
  }

  async findClips(clipIds: readonly string[]): Promise<Set<string>> {
    if (clipIds.length === 0) return new Set()
    const present = await this.#db.hasMany(clipIds.map(clipKey))
    return new Set(clipIds.filter((_, i) => present[i]))
  }

  async latestEventId(deviceId: string): Promise<string> {
    const prefix = deviceKey(deviceId, '')
    const keys = await this.#db.keys({ gte: prefix, lt: `${prefix}~`, reverse: true, limit: 1 }).all()
    return keys[0]?.slice(prefix.length) ?? ''
  }

  async commit(batch: CommitBatch): Promise<void> {
    if (this.#isTorn) await this.#reopen()
    const chained = this.#db.batch()
    for (const event of batch.events) {
      chained.put(eventKey(event.id), JSON.stringify(event))
      chained.put(deviceKey(event.deviceId, event.id), '')
      chained.put(classKey(event.class, event.id), '')
    }
    for (const chunk of batch.chunks) {
      chained.put(chunkKey(chunk.id), JSON.stringify(chunk))
      chained.put(clipChunkKey(chunk.clipId, chunk.index), chunk.id)
    }
    for (const clip of batch.clips) putClip(chained, clip)
    await this.#write(chained)
  }

  async forgetClipChunks(record: ClipRecord): Promise<void> {
    if (this.#isTorn) await this.#reopen()
    const chained = this.#db.batch()
    await delChunkReceipts(this.#db, chained, record.clipId)
    putClip(chained, record)
    await this.#write(chained)
  }

  async listClipsAwaitingResend(deviceId: string): Promise<ClipRecord[]> {
    const prefix = resendKey(deviceId, '')
    const keys = await this.#db.keys({ gte: prefix, lt: `${prefix}~` }).all()
    const values = await this.#db.getMany(keys.map((key) => clipKey(key.slice(prefix.length))))
    return values.flatMap((value) => (value === undefined ? [] : [JSON.parse(value) as ClipRecord]))
  }

  async #write(chained: ChainedBatch): Promise<void> {
    try {
      await chained.write({ sync: this.#isSyncWrite })
    } catch (err) {
      this.#isTorn = true
      const isFull = /no space|ENOSPC/i.test(String((err as Error).message))
      throw new DoorbellError(isFull ? 'STORE_DISK_FULL' : 'STORE_WRITE_FAILED', (err as Error).message, {
        cause: err,
      })
    }
  }

  /** Closes and reopens after a failed write; one reopen shared by concurrent commits. */
  #reopen(): Promise<void> {
    this.#reopening ??= (async () => {
      try {
        await this.#db.close()
        await this.#db.open()
        this.#isTorn = false
      } catch (err) {
        const isFull = /no space|ENOSPC/i.test(String((err as Error).message))
        throw new DoorbellError(isFull ? 'STORE_DISK_FULL' : 'STORE_WRITE_FAILED', (err as Error).message, {
          cause: err,
        })
      } finally {
        this.#reopening = undefined
      }
    })()
    return this.#reopening
  }

  async getEvent(id: string): Promise<StoredEvent | undefined> {
    const value = await this.#db.get(eventKey(id))
    return value === undefined ? undefined : (JSON.parse(value) as StoredEvent)
  }

  async queryEvents(query: EventQuery): Promise<EventPage> {
    const limit = Math.min(Math.max(1, query.limit ?? 100), maxPageSize)
    const prefix = query.deviceId
      ? deviceKey(query.deviceId, '')
      : query.eventClass
        ? classKey(query.eventClass, '')
        : eventKey('')
    let low = prefix + (query.fromMs === undefined ? '' : ulidTimePrefix(query.fromMs))
    let high = prefix + (query.toMs === undefined ? '~' : ulidTimePrefix(query.toMs))
    const reverse = query.isNewestFirst === true
    if (query.cursor) {
      // Resume strictly after (or, newest first, before) the cursor id.
      const before = prefix + query.cursor
      const after = `${before}~`
      if (reverse && before < high) high = before
      if (!reverse && after > low) low = after
    }
    const items: StoredEvent[] = []
    // Scanning stops after a bounded number of keys so a selective filter cannot make one page unbounded;
    // the cursor then resumes where the scan stopped.
    let budget = limit * 20 + 1000
    let lastId: string | undefined
    const iterator = this.#db.keys({ gte: low, lt: high, reverse })
    try {
      while (items.length < limit && budget > 0) {
        const keys = await iterator.nextv(Math.min(limit - items.length + 50, budget))
        if (keys.length === 0) {
          lastId = undefined
          break
        }
        budget -= keys.length
        const ids = keys.map((key) => key.slice(prefix.length))
        const values =
          prefix === eventKey('') ? await this.#db.getMany(keys) : await this.#db.getMany(ids.map(eventKey))
        for (let i = 0; i < ids.length; i++) {
          const value = values[i]
          lastId = ids[i]
          if (value === undefined) continue
          const event = JSON.parse(value) as StoredEvent
          if (query.deviceId && event.deviceId !== query.deviceId) continue
          if (query.type && event.type !== query.type) continue
          if (query.eventClass && event.class !== query.eventClass) continue
          items.push(event)
          if (items.length === limit) break
        }
      }
    } finally {
      await iterator.close()
    }
    if (lastId === undefined) return { items }
    // One more key past the last one tells whether there is a next page at all.
    const more = await this.#db
      .keys({
        ...(reverse ? { gte: low, lt: prefix + lastId } : { gt: `${prefix}${lastId}`, lt: high }),
        reverse,
        limit: 1,
      })
      .all()
    return more.length > 0 ? { items, nextCursor: lastId } : { items }
  }

  async getClip(clipId: string): Promise<ClipRecord | undefined> {
    const value = await this.#db.get(clipKey(clipId))
    return value === undefined ? undefined : (JSON.parse(value) as ClipRecord)
  }

  async listChunkIndexes(clipId: string): Promise<number[]> {
    const prefix = clipChunkKey(clipId, 0).slice(0, -8)
    const keys = await this.#db.keys({ gte: prefix, lt: `${prefix}~` }).all()
    return keys.map((key) => Number(key.slice(prefix.length)))
  }

  sweepRetention(nowMs: number, retention: RetentionMs): Promise<RetentionResult> {
    return sweepLevelRetention(this.#db, nowMs, retention)
  }

  async close(): Promise<void> {
    await this.#db.close()
  }
}

/** Queues a clip record and keeps the index of clips awaiting a resend in step with it. */
function putClip(chained: ChainedBatch, clip: ClipRecord): void {
  chained.put(clipKey(clip.clipId), JSON.stringify(clip))
  if (clip.isAwaitingResend) chained.put(resendKey(clip.deviceId, clip.clipId), '')
  else chained.del(resendKey(clip.deviceId, clip.clipId))
}
