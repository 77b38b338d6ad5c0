import type pg from 'pg'
import type { ClipRecord } from '../store/clip-record.js'
import type { StoredEvent } from '../store/event-store.js'

/* The row writes of PostgresEventStore's transactions, each one statement for a whole batch. */

/**
 * One statement for the whole batch: arrays unnested into rows, duplicates skipped by the unique keys
 * ((device_id, event_id), and the id alone), so a copy arriving at any node at any time is one row.
 * Returns the ids this statement inserted: a copy another transaction inserted first is not among them
 * (PostgreSQL waits for that transaction, then skips the row).
 */
export async function insertEvents(
  client: pg.PoolClient,
  events: readonly StoredEvent[],
): Promise<Set<string>> {
  const inserted = await client.query<{ id: string }>(
    `INSERT INTO events (device_id, event_id, seq, class, type, received_at_ms, body)
     SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::bigint[], $7::jsonb[])
     ON CONFLICT DO NOTHING RETURNING event_id AS id`,
    [
      events.map((e) => e.deviceId),
      events.map((e) => e.id),
      events.map((e) => e.seq),
      events.map((e) => e.class),
      events.map((e) => e.type),
      events.map((e) => e.receivedAtMs),
      events.map((e) => JSON.stringify(e)),
    ],
  )
  return new Set(inserted.rows.map((row) => row.id))
}

/** Queues newly stored alert-relevant events for routing (migrations/0003_alert_intake.sql). */
export async function insertAlertIntake(
  client: pg.PoolClient,
  events: readonly StoredEvent[],
): Promise<void> {
  await client.query(
    `INSERT INTO alert_intake (event_id, body) SELECT * FROM unnest($1::text[], $2::jsonb[])
     ON CONFLICT DO NOTHING`,
    [events.map((e) => e.id), events.map((e) => JSON.stringify(e))],
  )
}

/**
 * Writes clip records, the last one of a clip winning: 'replace' overwrites a record (a state change),
 * 'keep' leaves an existing one (a manifest stored again must not reset its clip).
 */
export async function writeClips(
  client: pg.PoolClient,
  records: readonly ClipRecord[],
  mode: 'replace' | 'keep',
): Promise<void> {
  const rows = [...new Map(records.map((record) => [record.clipId, record])).values()]
  await client.query(
    `INSERT INTO clips (clip_id, device_id, state, record)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[])
     ON CONFLICT (clip_id) DO ${mode === 'replace' ? 'UPDATE SET state = EXCLUDED.state, record = EXCLUDED.record' : 'NOTHING'}`,
    [
      rows.map((r) => r.clipId),
      rows.map((r) => r.deviceId),
      rows.map((r) => r.state),
      rows.map((r) => JSON.stringify(r)),
    ],
  )
}
