import type { ClipRecord } from '../store/clip-record.js'
import type { StoredEvent } from '../store/event-store.js'
import type { Statement } from './postgres-database.js'

/* The row writes of PostgresEventStore's transactions, each one statement for a whole batch. */

/*
 * The batch travels as one JSON array of the stored envelopes, and the columns are read out of each
 * element here: one JSON.stringify in the node instead of seven parameter arrays escaped element by
 * element by the client (the bodies, JSON already, were escaped a second time as array text).
 */
const insertEventsText = `INSERT INTO events (device_id, event_id, seq, class, type, received_at_ms, body)
     SELECT e->>'deviceId', e->>'id', (e->>'seq')::bigint, e->>'class', e->>'type',
            (e->>'receivedAtMs')::bigint, e
       FROM jsonb_array_elements($1::jsonb) AS batch(e)
     ON CONFLICT DO NOTHING`

/**
 * One statement for the whole batch, duplicates skipped by the unique keys ((device_id, event_id), and
 * the id alone), so a copy arriving at any node at any time is one row.
 * Of the events whose ids are in intakeIds, those this statement inserted are queued in alert_intake by
 * the same statement (migrations/0003_alert_intake.sql): a copy another transaction inserted first is not
 * among them (PostgreSQL waits for that transaction, then skips the row), so each is queued once.
 * Named, so PostgreSQL parses and plans it once per connection rather than at every group commit.
 */
export function insertEvents(events: readonly StoredEvent[], intakeIds: readonly string[] = []): Statement {
  const values: unknown[] = [JSON.stringify(events)]
  if (intakeIds.length === 0) return { name: 'doorbell_insert_events', text: insertEventsText, values }
  return {
    name: 'doorbell_insert_events_intake',
    text: `WITH inserted AS (${insertEventsText} RETURNING event_id, body)
     INSERT INTO alert_intake (event_id, body)
     SELECT event_id, body FROM inserted WHERE event_id = ANY($2::text[])
     ON CONFLICT DO NOTHING`,
    values: [...values, intakeIds],
  }
}

/**
 * Writes clip records, the last one of a clip winning: 'replace' overwrites a record (a state change),
 * 'keep' leaves an existing one (a manifest stored again must not reset its clip).
 */
export function writeClips(records: readonly ClipRecord[], mode: 'replace' | 'keep'): Statement {
  const rows = [...new Map(records.map((record) => [record.clipId, record])).values()]
  return {
    text: `INSERT INTO clips (clip_id, device_id, state, record)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[])
     ON CONFLICT (clip_id) DO ${mode === 'replace' ? 'UPDATE SET state = EXCLUDED.state, record = EXCLUDED.record' : 'NOTHING'}`,
    values: [
      rows.map((r) => r.clipId),
      rows.map((r) => r.deviceId),
      rows.map((r) => r.state),
      rows.map((r) => JSON.stringify(r)),
    ],
  }
}
