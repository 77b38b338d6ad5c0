import { randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import pg from 'pg'
import { registryChangesChannel } from '../collector/postgres/postgres-identity-rows.js'
import { registryFileName } from '../collector/registry/file-identity-registry.js'
import { hashGeneratedSecret } from '../collector/registry/secret-hash.js'

/** count new device ids `<prefix>-<i>` with a random secret each. */
export function newDeviceSecrets(prefix: string, count: number): Map<string, string> {
  const secrets = new Map<string, string>()
  for (let i = 0; i < count; i++) secrets.set(`${prefix}-${i}`, randomBytes(32).toString('base64url'))
  return secrets
}

/** Writes the registry file doorbell-admin would write for these devices, in one write for all. */
export function writeRegistryFile(dataDir: string, secrets: ReadonlyMap<string, string>): void {
  mkdirSync(dataDir, { recursive: true })
  const records: Record<string, unknown> = {}
  const createdAt = new Date().toISOString()
  for (const [deviceId, secret] of secrets)
    records[deviceId] = { deviceId, secretHash: hashGeneratedSecret(secret), isDisabled: false, createdAt }
  writeFileSync(join(dataDir, registryFileName), JSON.stringify({ version: 1, devices: records, users: {} }))
}

/**
 * Adds the devices to a fleet's registry in PostgreSQL in one statement (doorbell-admin would take one
 * transaction per device), as one change of the registry's revision, announced to running nodes.
 */
export async function insertRegistryRows(url: string, secrets: ReadonlyMap<string, string>): Promise<void> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query('BEGIN')
    const raised = await client.query<{ revision: string }>(
      'UPDATE identity_revision SET revision = revision + 1 RETURNING revision',
    )
    const revision = raised.rows[0]?.revision
    const ids = [...secrets.keys()]
    const hashes = [...secrets.values()].map(hashGeneratedSecret)
    await client.query(
      `INSERT INTO identities (name, kind, secret_hash, created_at, revision)
       SELECT name, 'device', hash, $3, $4 FROM unnest($1::text[], $2::text[]) AS d(name, hash)`,
      [ids, hashes, new Date().toISOString(), revision],
    )
    await client.query('SELECT pg_notify($1, $2)', [registryChangesChannel, revision])
    await client.query('COMMIT')
  } finally {
    await client.end()
  }
}
