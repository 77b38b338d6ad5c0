import type pg from 'pg'
import { DoorbellError } from '../../shared/errors.js'
import { rotationStamp } from '../registry/identity-login.js'
import type { DeviceRecord, ServiceUserRecord } from '../registry/identity-registry.js'
import type { PostgresDatabase } from './postgres-database.js'

/** The NOTIFY channel a registry change is announced on (its payload: the new revision). */
export const registryChangesChannel = 'doorbell_registry_changes'

/** Which of the registry's two kinds a row holds; both share one namespace (the primary key). */
export type IdentityKind = 'device' | 'service'

/** A row of `identities` as read. */
export interface IdentityRow {
  readonly name: string
  readonly kind: IdentityKind
  readonly secret_hash: string
  readonly is_disabled: boolean
  readonly is_removed: boolean
  readonly created_at: string
  readonly rotated_at: string | null
  readonly revision: string
}

/** The record a live row holds, or undefined for a removed one. */
export function recordOf(row: IdentityRow): DeviceRecord | ServiceUserRecord | undefined {
  if (row.is_removed) return undefined
  if (row.kind === 'service')
    return { name: row.name, secretHash: row.secret_hash, createdAt: row.created_at }
  return {
    deviceId: row.name,
    secretHash: row.secret_hash,
    isDisabled: row.is_disabled,
    createdAt: row.created_at,
    ...(row.rotated_at ? { rotatedAt: row.rotated_at } : {}),
  }
}

/**
 * The registry's revision and the rows changed since sinceRevision. Changes commit in revision order
 * (each takes the revision row's lock), so a row of any revision up to the one read is visible here.
 */
export async function readIdentityChanges(
  db: PostgresDatabase,
  sinceRevision: number,
): Promise<{ revision: number; rows: IdentityRow[]; isWhole: boolean }> {
  const current = await db.query<{ revision: string }>('SELECT revision FROM identity_revision')
  const revision = Number(current.rows[0]?.revision ?? 0)
  if (revision === sinceRevision) return { revision, rows: [], isWhole: false }
  // The database went back (restored from a backup): every row, for the caller to start afresh.
  const isWhole = revision < sinceRevision
  const since = isWhole ? -1 : sinceRevision
  const changed = await db.query<IdentityRow>(
    `SELECT name, kind, secret_hash, is_disabled, is_removed, created_at, rotated_at, revision
       FROM identities WHERE revision > $1`,
    [since],
  )
  const seen = changed.rows.reduce((most, row) => Math.max(most, Number(row.revision)), revision)
  return { revision: seen, rows: changed.rows, isWhole }
}

/**
 * One change in one transaction: takes the revision row's lock, raises it, writes, and announces the new
 * revision at commit.
 */
export async function changeIdentities(
  db: PostgresDatabase,
  write: (client: pg.PoolClient, revision: number) => Promise<void>,
): Promise<void> {
  await db.transaction(async (client) => {
    const raised = await client.query<{ revision: string }>(
      'UPDATE identity_revision SET revision = revision + 1 RETURNING revision',
    )
    const revision = Number(raised.rows[0]?.revision)
    await write(client, revision)
    await client.query('SELECT pg_notify($1, $2)', [registryChangesChannel, String(revision)])
  })
}

/** Adds an identity; a removed name's row is reused, a live one of either kind refuses the name. */
export async function insertIdentity(
  client: pg.PoolClient,
  revision: number,
  identity: { kind: IdentityKind; name: string; secretHash: string; createdAt: string },
): Promise<void> {
  const added = await client.query(
    `INSERT INTO identities (name, kind, secret_hash, created_at, revision) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (name) DO UPDATE SET kind = EXCLUDED.kind, secret_hash = EXCLUDED.secret_hash,
       is_disabled = false, is_removed = false, created_at = EXCLUDED.created_at, rotated_at = NULL,
       revision = EXCLUDED.revision
     WHERE identities.is_removed`,
    [identity.name, identity.kind, identity.secretHash, identity.createdAt, revision],
  )
  if (added.rowCount === 0) {
    throw new DoorbellError(identity.kind === 'device' ? 'DEVICE_EXISTS' : 'USER_EXISTS', identity.name)
  }
}

/** Gives a device a new secret hash, stamped strictly later than the one it replaces. */
export async function rotateIdentity(
  client: pg.PoolClient,
  revision: number,
  deviceId: string,
  secretHash: string,
  nowMs: number,
): Promise<void> {
  const found = await client.query<IdentityRow>(
    `SELECT name, kind, secret_hash, is_disabled, is_removed, created_at, rotated_at, revision
       FROM identities WHERE name = $1 AND kind = 'device' AND NOT is_removed`,
    [deviceId],
  )
  const row = found.rows[0]
  if (!row) throw new DoorbellError('DEVICE_NOT_FOUND', deviceId)
  await client.query(
    'UPDATE identities SET secret_hash = $2, rotated_at = $3, revision = $4 WHERE name = $1',
    [deviceId, secretHash, rotationStamp(recordOf(row) as DeviceRecord, nowMs), revision],
  )
}

/** What a change of a live identity sets. */
export type IdentityUpdate = { readonly isDisabled: boolean } | 'removed'

/** Disables, enables or removes a live identity; false when there is none of that kind and name. */
export async function updateIdentity(
  client: pg.PoolClient,
  revision: number,
  kind: IdentityKind,
  name: string,
  update: IdentityUpdate,
): Promise<boolean> {
  // A removed identity's hash goes; its row stays, so that other nodes read the removal.
  const updated =
    update === 'removed'
      ? await client.query(
          `UPDATE identities SET is_removed = true, secret_hash = 'removed', revision = $3
            WHERE name = $1 AND kind = $2 AND NOT is_removed`,
          [name, kind, revision],
        )
      : await client.query(
          `UPDATE identities SET is_disabled = $4, revision = $3
            WHERE name = $1 AND kind = $2 AND NOT is_removed`,
          [name, kind, revision, update.isDisabled],
        )
  return updated.rowCount === 1
}

/** Replaces slow hashes by their fast forms where a row still holds the hash verified; how many did. */
export async function upgradeIdentityHashes(
  client: pg.PoolClient,
  revision: number,
  upgrades: readonly { name: string; oldHash: string; newHash: string }[],
): Promise<number> {
  const result = await client.query(
    `UPDATE identities AS i SET secret_hash = u.new_hash, revision = $4
       FROM unnest($1::text[], $2::text[], $3::text[]) AS u(name, old_hash, new_hash)
      WHERE i.name = u.name AND i.secret_hash = u.old_hash AND NOT i.is_removed`,
    [upgrades.map((u) => u.name), upgrades.map((u) => u.oldHash), upgrades.map((u) => u.newHash), revision],
  )
  return result.rowCount ?? 0
}
