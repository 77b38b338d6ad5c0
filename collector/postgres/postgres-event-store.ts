import { eventClasses, ulidTimePrefix } from '../../shared/protocol/index.js'
import { type ClipRecord, newClipRecord } from '../store/clip-record.js'
import {
  type CommitBatch,
  defaultEventPageSize,
  type EventKey,
  type EventPage,
  type EventQuery,
  type EventStore,
  maxEventPageSize,
  type RetentionMs,
  type RetentionResult,
  type StoredEvent,
} from '../store/event-store.js'
import type { PostgresDatabase, Statement } from './postgres-database.js'
import { insertEvents, writeClips } from './postgres-event-rows.js'
import { type StoredEventsNotify, storedEventsPayloads } from './stored-events-channel.js'

/** Rows one retention statement deletes: short transactions, so ingest never waits long behind a sweep. */
const retentionPage = 1000

/** What a PostgresEventStore does beside storing, both inside each commit's transaction. */
export interface PostgresEventStoreOptions {
  /**
   * Announces each commit's events on a channel (NOTIFY, sent by PostgreSQL only when the transaction
   * commits), so other nodes' live timelines show them (StoredEventsListener).
   */
  readonly notify?: StoredEventsNotify
  /**
   * Which events go into alert_intake when they are stored for the first time (the alerts' predicate):
   * an event that several nodes stored (a resend during a failover) is routed once for the whole fleet.
   */
  readonly isAlertIntake?: (event: StoredEvent) => boolean
}

/**
 * Event store of a fleet, on PostgreSQL (schema in migrations/0001_events.sql). Every node writes here;
 * the unique (device_id, event_id) and ON CONFLICT DO NOTHING keep an event stored once whichever node it
 * reaches, and a commit is one transaction, so an ack (sent after commit) never names a row that is not there.
 */
export class PostgresEventStore implements EventStore {
  readonly #db: PostgresDatabase
  readonly #notify: StoredEventsNotify | undefined
  readonly #isAlertIntake: ((event: StoredEvent) => boolean) | undefined
  #isClosed = false

  constructor(db: PostgresDatabase, options: PostgresEventStoreOptions = {}) {
    this.#db = db
    this.#notify = options.notify
    this.#isAlertIntake = options.isAlertIntake
  }

  get isOpen(): boolean {
    return !this.#isClosed && this.#db.isOpen
  }

  /**
   * By id, as the Level store: an id already stored under any device is not stored again. One statement,
   * so events and receipts are seen in one snapshot (a commit is visible whole or not at all).
   */
  async findExisting(events: readonly EventKey[], chunks: readonly EventKey[]): Promise<Set<string>> {
    if (events.length === 0 && chunks.length === 0) return new Set()
    const rows = await this.#db.query<{ id: string }>(
      `SELECT event_id AS id FROM events WHERE event_id = ANY($1::text[])
       UNION ALL SELECT chunk_id AS id FROM chunk_receipts WHERE chunk_id = ANY($2::text[])`,
      [events.map((key) => key.id), chunks.map((key) => key.id)],
    )
    return new Set(rows.rows.map((row) => row.id))
  }

  async findClips(clipIds: readonly string[]): Promise<Set<string>> {
    if (clipIds.length === 0) return new Set()
    const rows = await this.#db.query<{ id: string }>(
      'SELECT clip_id AS id FROM clips WHERE clip_id = ANY($1::text[])',
      [clipIds],
    )
    return new Set(rows.rows.map((row) => row.id))
  }

  async latestEventId(deviceId: string): Promise<string> {
    const rows = await this.#db.query<{ id: string }>(
      'SELECT event_id AS id FROM events WHERE device_id = $1 ORDER BY event_id DESC LIMIT 1',
      [deviceId],
    )
    return rows.rows[0]?.id ?? ''
  }

  /**
   * The batch's writes as one transaction: its events (and their alert intake) in one statement, the
   * announcement of those a live view shows, its chunk receipts, its new clip records. A batch of readings
   * alone is one statement, run without BEGIN and COMMIT (PostgresDatabase.runAtomically).
   */
  async commit(batch: CommitBatch): Promise<void> {
    if (batch.events.length === 0 && batch.chunks.length === 0) return
    const statements: Statement[] = []
    if (batch.events.length > 0) {
      const isAlertIntake = this.#isAlertIntake
      const intakeIds = isAlertIntake ? batch.events.filter(isAlertIntake).map((e) => e.id) : []
      statements.push(insertEvents(batch.events, intakeIds))
    }
    const notify = this.#notify
    const announced = notify?.isAnnounced ? batch.events.filter(notify.isAnnounced) : batch.events
    if (notify && announced.length > 0) {
      // Readings are not announced: no live view shows them, and every other node would read them back.
      for (const payload of storedEventsPayloads(notify.nodeId, announced))
        statements.push({ text: 'SELECT pg_notify($1, $2)', values: [notify.channel, payload] })
    }
    if (batch.chunks.length > 0) {
      const { chunks } = batch
      statements.push({
        text: `INSERT INTO chunk_receipts (chunk_id, device_id, clip_id, chunk_index, size_bytes)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::int[])
           ON CONFLICT DO NOTHING`,
        values: [
          chunks.map((c) => c.id),
          chunks.map((c) => c.deviceId),
          chunks.map((c) => c.clipId),
          chunks.map((c) => c.index),
          chunks.map((c) => c.size),
        ],
      })
    }
    // A stored manifest starts its clip's record; stored again, it leaves the record as it is.
    const manifests = batch.events.flatMap((e) =>
      e.type === 'clip.manifest' ? [newClipRecord(e.deviceId, e.id, e.payload)] : [],
    )
    if (manifests.length > 0) statements.push(writeClips(manifests, 'keep'))
    await this.#db.runAtomically(statements)
  }

  async saveClip(record: ClipRecord): Promise<void> {
    await this.#db.runAtomically([writeClips([record], 'replace')])
  }

  async forgetClipChunks(record: ClipRecord): Promise<void> {
    await this.#db.runAtomically([
      { text: 'DELETE FROM chunk_receipts WHERE clip_id = $1', values: [record.clipId] },
      writeClips([record], 'replace'),
    ])
  }

  async listClipsAwaitingResend(deviceId: string): Promise<ClipRecord[]> {
    const rows = await this.#db.query<{ record: ClipRecord }>(
      "SELECT record FROM clips WHERE device_id = $1 AND state = 'awaiting-resend' ORDER BY clip_id",
      [deviceId],
    )
    return rows.rows.map((row) => row.record)
  }

  async getEvent(id: string): Promise<StoredEvent | undefined> {
    const rows = await this.#db.query<{ body: StoredEvent }>(
      'SELECT body FROM events WHERE event_id = $1 LIMIT 1',
      [id],
    )
    return rows.rows[0]?.body
  }

  async queryEvents(query: EventQuery): Promise<EventPage> {
    const limit = Math.min(Math.max(1, query.limit ?? defaultEventPageSize), maxEventPageSize)
    const isNewestFirst = query.isNewestFirst === true
    const where: string[] = []
    const values: unknown[] = []
    const param = (value: unknown): string => {
      values.push(value)
      return `$${values.length}`
    }
    if (query.deviceId !== undefined) where.push(`device_id = ${param(query.deviceId)}`)
    if (query.eventClass !== undefined) where.push(`class = ${param(query.eventClass)}`)
    if (query.type !== undefined) where.push(`type = ${param(query.type)}`)
    if (query.relatesTo !== undefined)
      where.push(
        `type IN ('snapshot', 'clip.manifest') AND body->'payload'->>'relatesTo' = ${param(query.relatesTo)}`,
      )
    if (query.fromMs !== undefined) where.push(`event_id >= ${param(ulidTimePrefix(query.fromMs))}`)
    if (query.toMs !== undefined) where.push(`event_id < ${param(ulidTimePrefix(query.toMs))}`)
    if (query.cursor) where.push(`event_id ${isNewestFirst ? '<' : '>'} ${param(query.cursor)}`)
    // One row past the page tells whether there is a next one.
    const sql = `SELECT body FROM events ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY event_id ${isNewestFirst ? 'DESC' : 'ASC'} LIMIT ${param(limit + 1)}`
    const rows = await this.#db.query<{ body: StoredEvent }>(sql, values)
    const items = rows.rows.slice(0, limit).map((row) => row.body)
    const last = items.at(-1)
    return rows.rows.length > limit && last ? { items, nextCursor: last.id } : { items }
  }

  async getClip(clipId: string): Promise<ClipRecord | undefined> {
    const rows = await this.#db.query<{ record: ClipRecord }>('SELECT record FROM clips WHERE clip_id = $1', [
      clipId,
    ])
    return rows.rows[0]?.record
  }

  async findClipOwners(clipIds: readonly string[]): Promise<Map<string, string>> {
    if (clipIds.length === 0) return new Map()
    // A record names the owner; without one, any receipt of the clip does (chunks before the manifest).
    const rows = await this.#db.query<{ clipId: string; deviceId: string }>(
      `SELECT clip_id AS "clipId", device_id AS "deviceId" FROM clips WHERE clip_id = ANY($1::text[])
       UNION ALL
       SELECT DISTINCT ON (clip_id) clip_id, device_id FROM chunk_receipts
        WHERE clip_id = ANY($1::text[]) AND clip_id NOT IN (SELECT clip_id FROM clips WHERE clip_id = ANY($1::text[]))`,
      [clipIds],
    )
    return new Map(rows.rows.map((row) => [row.clipId, row.deviceId]))
  }

  async listChunkIndexes(clipId: string): Promise<number[]> {
    const rows = await this.#db.query<{ index: number }>(
      'SELECT DISTINCT chunk_index AS index FROM chunk_receipts WHERE clip_id = $1 ORDER BY chunk_index',
      [clipId],
    )
    return rows.rows.map((row) => row.index)
  }

  /**
   * Deletes expired events class by class, a page per transaction; an expired clip.manifest takes its clip
   * record, chunk receipts and clip body along in the same transaction. Then receipts of chunks whose clip has no
   * record and began before the low-class cutoff go too (a manifest that never came).
   */
  async sweepRetention(nowMs: number, retention: RetentionMs): Promise<RetentionResult> {
    let deletedCount = 0
    const expiredClips: RetentionResult['expiredClips'] = []
    for (const eventClass of eventClasses) {
      const keepMs = retention[eventClass]
      if (!keepMs) continue
      const cutoff = ulidTimePrefix(nowMs - keepMs)
      for (;;) {
        const page = await this.#db.transaction(async (client) => {
          const deleted = await client.query<{ deviceId: string; clipId: string | null }>(
            `DELETE FROM events WHERE ctid IN (
               SELECT ctid FROM events WHERE class = $1 AND event_id < $2 LIMIT $3 FOR UPDATE SKIP LOCKED)
             RETURNING device_id AS "deviceId",
               CASE WHEN type = 'clip.manifest' THEN body->'payload'->>'clipId' END AS "clipId"`,
            [eventClass, cutoff, retentionPage],
          )
          const clips = deleted.rows.flatMap((row) =>
            row.clipId ? [{ deviceId: row.deviceId, clipId: row.clipId }] : [],
          )
          if (clips.length > 0) {
            const clipIds = clips.map((clip) => clip.clipId)
            await client.query('DELETE FROM clips WHERE clip_id = ANY($1::text[])', [clipIds])
            await client.query('DELETE FROM chunk_receipts WHERE clip_id = ANY($1::text[])', [clipIds])
            // The bodies too (PostgresClipStore), in this transaction: a crash before the sweep's deleteClip
            // must not leave bodies whose record is gone. By device and clip, their primary keys' order.
            const keys = [clips.map((clip) => clip.deviceId), clipIds]
            for (const table of ['clip_bodies', 'clip_chunks']) {
              await client.query(
                `DELETE FROM ${table} WHERE (device_id, clip_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
                keys,
              )
            }
          }
          return { count: deleted.rowCount ?? 0, clips }
        })
        deletedCount += page.count
        expiredClips.push(...page.clips)
        if (page.count < retentionPage) break
      }
    }
    if (retention.low) {
      const orphans = await this.#db.query<{ deviceId: string; clipId: string }>(
        `WITH gone AS (
           DELETE FROM chunk_receipts r WHERE r.clip_id < $1
             AND NOT EXISTS (SELECT 1 FROM clips c WHERE c.clip_id = r.clip_id)
           RETURNING device_id, clip_id)
         SELECT DISTINCT device_id AS "deviceId", clip_id AS "clipId" FROM gone`,
        [ulidTimePrefix(nowMs - retention.low)],
      )
      expiredClips.push(...orphans.rows)
    }
    return { deletedCount, expiredClips }
  }

  /** Marks the store closed; the node's PostgresDatabase (shared with its other stores) ends the pool. */
  async close(): Promise<void> {
    this.#isClosed = true
  }
}
