import type { PayloadOf } from '../../shared/protocol/index.js'
import type { PostgresDatabase } from './postgres-database.js'

/** What one node heard from one device since its last write; absent fields were not heard. */
export interface DeviceObservation {
  readonly deviceId: string
  readonly lastSeenMs?: number
  readonly health?: { readonly payload: PayloadOf<'health'>; readonly atMs: number }
  readonly presence?: { readonly state: 'online' | 'offline'; readonly atMs: number }
}

/** One device's merged row, as the fleet heard it. */
export interface MergedObservation {
  readonly deviceId: string
  readonly lastSeenMs: number | null
  readonly health: { readonly payload: PayloadOf<'health'>; readonly atMs: number } | null
  readonly presence: { readonly state: 'online' | 'offline'; readonly atMs: number } | null
}

interface ObservationRow {
  device_id: string
  last_seen_ms: string | null
  health: PayloadOf<'health'> | null
  last_health_ms: string | null
  presence: 'online' | 'offline' | null
  presence_at_ms: string | null
  next: string
}

/**
 * The fleet's merged device observations (migrations/0004_device_observations.sql). Writes merge field by
 * field, the later time winning, so nodes writing at once in any order end with the latest of each.
 */
export class PostgresDeviceObservations {
  readonly #db: PostgresDatabase

  constructor(db: PostgresDatabase) {
    this.#db = db
  }

  /** Merges one batch, one statement. */
  async write(observations: readonly DeviceObservation[]): Promise<void> {
    if (observations.length === 0) return
    await this.#db.query(
      `INSERT INTO device_observations AS o
         (device_id, last_seen_ms, health, last_health_ms, presence, presence_at_ms)
       SELECT * FROM unnest($1::text[], $2::bigint[], $3::jsonb[], $4::bigint[], $5::text[], $6::bigint[])
       ON CONFLICT (device_id) DO UPDATE SET
         last_seen_ms = GREATEST(o.last_seen_ms, EXCLUDED.last_seen_ms),
         health = CASE WHEN EXCLUDED.last_health_ms > COALESCE(o.last_health_ms, -1)
           THEN EXCLUDED.health ELSE o.health END,
         last_health_ms = GREATEST(o.last_health_ms, EXCLUDED.last_health_ms),
         presence = CASE WHEN EXCLUDED.presence_at_ms > COALESCE(o.presence_at_ms, -1)
           THEN EXCLUDED.presence ELSE o.presence END,
         presence_at_ms = GREATEST(o.presence_at_ms, EXCLUDED.presence_at_ms),
         changed_at = clock_timestamp()`,
      [
        observations.map((o) => o.deviceId),
        observations.map((o) => o.lastSeenMs ?? null),
        observations.map((o) => (o.health ? JSON.stringify(o.health.payload) : null)),
        observations.map((o) => o.health?.atMs ?? null),
        observations.map((o) => o.presence?.state ?? null),
        observations.map((o) => o.presence?.atMs ?? null),
      ],
    )
  }

  /**
   * Rows changed after since (the database's clock, kept as its text so no precision is lost; undefined:
   * every row), and the time to ask from next. The next time lies marginMs before the latest change seen,
   * so a write whose transaction was slow to commit is read on the next call too; readers apply what they
   * read idempotently.
   */
  async changedSince(
    since: string | undefined,
    marginMs: number,
  ): Promise<{ rows: MergedObservation[]; next: string | undefined }> {
    const result = await this.#db.query<ObservationRow>(
      `WITH changed AS (
         SELECT * FROM device_observations WHERE $1::timestamptz IS NULL OR changed_at > $1::timestamptz)
       SELECT device_id, last_seen_ms, health, last_health_ms, presence, presence_at_ms,
         (SELECT (max(changed_at) - $2 * interval '1 millisecond')::text FROM changed) AS next
       FROM changed ORDER BY changed_at`,
      [since ?? null, marginMs],
    )
    const next = result.rows[0]?.next ?? since
    return {
      rows: result.rows.map((row) => ({
        deviceId: row.device_id,
        lastSeenMs: row.last_seen_ms === null ? null : Number(row.last_seen_ms),
        health:
          row.health === null || row.last_health_ms === null
            ? null
            : { payload: row.health, atMs: Number(row.last_health_ms) },
        presence:
          row.presence === null || row.presence_at_ms === null
            ? null
            : { state: row.presence, atMs: Number(row.presence_at_ms) },
      })),
      next,
    }
  }
}
