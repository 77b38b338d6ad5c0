import { Level } from 'level'
import { DoorbellError } from '../../shared/errors.js'
import { type ClipRecord, newClipRecord } from './clip-record.js'
import { isDiskFull } from './disk-full.js'
import type {
  ChunkReceipt,
  CommitBatch,
  EventKey,
  EventPage,
  EventQuery,
  EventStore,
  RetentionMs,
  RetentionResult,
  StoredEvent,
} from './event-store.js'
import { decodeClipRecord, encodeClipRecord } from './level-clip-codec.js'
import {
  chunkKey,
  classKey,
  clipChunkKey,
  clipChunkPrefix,
  clipKey,
  deviceKey,
  eventKey,
  resendKey,
} from './level-event-keys.js'
import { queryLevelEvents } from './level-event-query.js'
import { type ChainedBatch, delChunkReceipts, sweepLevelRetention } from './level-retention-sweep.js'

/** Options of the Level store. */
export interface LevelEventStoreOptions {
  /** Folder of the Level database. */
  readonly path: string
  /** fsync every commit: survives power loss; without it a commit survives a process crash only. */
  readonly isSyncWrite: boolean
}

/**
 * Event store on an embedded Level database (classic-level, LevelDB); key layout in level-event-keys.ts.
 * An event id is one `e!` key whichever device sent it, so besides the same device's copies, an id
 * another device already used is found by findExisting too: no device can replace another's event.
 */
export class LevelEventStore implements EventStore {
  readonly #db: Level<string, string>
  readonly #path: string
  readonly #isSyncWrite: boolean
  /**
   * Set when a write failed (disk full): LevelDB keeps appending to a log whose tail is torn, and on the
   * next open it drops the records after the tear, acked ones included (seen in test/faults). The next
   * write first reopens the database, which recovers the log and starts a new one.
   */
  #isTorn = false
  #reopening: Promise<void> | undefined

  private constructor(db: Level<string, string>, options: LevelEventStoreOptions) {
    this.#db = db
    this.#path = options.path
    this.#isSyncWrite = options.isSyncWrite
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
    return new LevelEventStore(db, options)
  }

  get isOpen(): boolean {
    return this.#db.status === 'open'
  }

  async findExisting(events: readonly EventKey[], chunks: readonly EventKey[]): Promise<Set<string>> {
    const found = new Set<string>()
    const ids = [...events.map((e) => e.id), ...chunks.map((c) => c.id)]
    if (ids.length === 0) return found
    const keys = [...events.map((e) => eventKey(e.id)), ...chunks.map((c) => chunkKey(c.id))]
    const present = await this.#db.hasMany(keys)
    for (let i = 0; i < ids.length; i++) if (present[i]) found.add(ids[i] as string)
    return found
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
    for (const clip of await this.#newClips(batch.events)) putClip(chained, clip)
    await this.#write(chained)
  }

  /** Records of the manifests in a commit whose clip has none yet (a manifest stored again keeps its). */
  async #newClips(events: readonly StoredEvent[]): Promise<ClipRecord[]> {
    const clips = new Map<string, ClipRecord>()
    for (const event of events) {
      if (event.type !== 'clip.manifest' || clips.has(event.payload.clipId)) continue
      clips.set(event.payload.clipId, newClipRecord(event.deviceId, event.id, event.payload))
    }
    if (clips.size === 0) return []
    const present = await this.#db.hasMany([...clips.keys()].map(clipKey))
    return [...clips.values()].filter((_, i) => !present[i])
  }

  async saveClip(record: ClipRecord): Promise<void> {
    if (this.#isTorn) await this.#reopen()
    const chained = this.#db.batch()
    putClip(chained, record)
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
    return values.flatMap((value) => {
      const record = value === undefined ? undefined : decodeClipRecord(value)
      return record?.state === 'awaiting-resend' ? [record] : []
    })
  }

  async #write(chained: ChainedBatch): Promise<void> {
    try {
      await chained.write({ sync: this.#isSyncWrite })
    } catch (err) {
      this.#isTorn = true
      throw await this.#writeError(err)
    }
  }

  /** STORE_DISK_FULL or STORE_WRITE_FAILED, decided on typed values (disk-full.ts). */
  async #writeError(err: unknown): Promise<DoorbellError> {
    const code = (await isDiskFull(err, this.#path)) ? 'STORE_DISK_FULL' : 'STORE_WRITE_FAILED'
    return new DoorbellError(code, (err as Error).message, { cause: err })
  }

  /** Closes and reopens after a failed write; one reopen shared by concurrent commits. */
  #reopen(): Promise<void> {
    this.#reopening ??= (async () => {
      try {
        await this.#db.close()
        await this.#db.open()
        this.#isTorn = false
      } catch (err) {
        throw await this.#writeError(err)
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

  queryEvents(query: EventQuery): Promise<EventPage> {
    return queryLevelEvents(this.#db, query)
  }

  async getClip(clipId: string): Promise<ClipRecord | undefined> {
    const value = await this.#db.get(clipKey(clipId))
    return value === undefined ? undefined : decodeClipRecord(value)
  }

  async findClips(clipIds: readonly string[]): Promise<Set<string>> {
    if (clipIds.length === 0) return new Set()
    const present = await this.#db.hasMany(clipIds.map(clipKey))
    return new Set(clipIds.filter((_, i) => present[i]))
  }

  async findClipOwners(clipIds: readonly string[]): Promise<Map<string, string>> {
    const owners = new Map<string, string>()
    if (clipIds.length === 0) return owners
    const records = await this.#db.getMany(clipIds.map(clipKey))
    await Promise.all(
      clipIds.map(async (clipId, i) => {
        const value = records[i]
        const record = value === undefined ? undefined : decodeClipRecord(value)
        if (record) {
          owners.set(clipId, record.deviceId)
          return
        }
        // No record yet: the first chunk index names a receipt, which names its device.
        const prefix = clipChunkPrefix(clipId)
        const [chunkId] = await this.#db.values({ gte: prefix, lt: `${prefix}~`, limit: 1 }).all()
        const receipt = chunkId === undefined ? undefined : await this.#db.get(chunkKey(chunkId))
        if (receipt !== undefined) owners.set(clipId, (JSON.parse(receipt) as ChunkReceipt).deviceId)
      }),
    )
    return owners
  }

  async listChunkIndexes(clipId: string): Promise<number[]> {
    const prefix = clipChunkPrefix(clipId)
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

/** Queues a clip record and keeps the index of clips awaiting a resend in step with its state. */
function putClip(chained: ChainedBatch, clip: ClipRecord): void {
  chained.put(clipKey(clip.clipId), encodeClipRecord(clip))
  if (clip.state === 'awaiting-resend') chained.put(resendKey(clip.deviceId, clip.clipId), '')
  else chained.del(resendKey(clip.deviceId, clip.clipId))
}
