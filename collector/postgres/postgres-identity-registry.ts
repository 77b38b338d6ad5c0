import type pg from 'pg'
import { DoorbellError } from '../../shared/errors.js'
import {
  assertIdentityName,
  checkSecret,
  credentialStamp,
  rotationStamp,
} from '../registry/identity-login.js'
import type {
  DeviceRecord,
  Login,
  ManagedIdentityRegistry,
  Principal,
  ServiceUserRecord,
} from '../registry/identity-registry.js'
import { hashGeneratedSecret, newSecret, secretHashKind } from '../registry/secret-hash.js'
import { PostgresChannelListener } from './postgres-channel-listener.js'
import type { PostgresDatabase } from './postgres-database.js'

/** The NOTIFY channel a registry change is announced on (its payload: the new revision). */
export const registryChangesChannel = 'doorbell_registry_changes'

/** A row of `identities` as read. */
interface IdentityRow {
  readonly name: string
  readonly kind: 'device' | 'service'
  readonly secret_hash: string
  readonly is_disabled: boolean
  readonly is_removed: boolean
  readonly created_at: string
  readonly rotated_at: string | null
  readonly revision: string
}

/** A slow hash verified at a login, waiting to be replaced by its fast form. */
interface HashUpgrade {
  readonly name: string
  readonly oldHash: string
  readonly newHash: string
}

/** How a registry hears of other processes' changes (a collector node); without it, a one-shot handle. */
export interface RegistryListenOptions {
  /** The database's URL: the listener holds a connection of its own. */
  readonly url: string
  readonly applicationName: string
  /** The listener's connection failed, or a reload after an announcement failed. */
  readonly onError?: (err: Error) => void
}

/**
 * Devices and service users in PostgreSQL, for every node of a fleet. Each node holds the whole registry
 * in memory, so a login checks its secret without a round trip, as the file registry does. Every change
 * raises the registry's revision in its transaction and announces it (NOTIFY); each node then reads the
 * rows changed since the revision it has, so doorbell-admin's change cuts a device on whichever node it
 * is connected to. A node that missed announcements (its listener reconnected) reads the changes then,
 * and the collector's periodic reloadIfChanged reads the revision as a backstop.
 */
export class PostgresIdentityRegistry implements ManagedIdentityRegistry {
  readonly #db: PostgresDatabase
  readonly #devices = new Map<string, DeviceRecord>()
  readonly #users = new Map<string, ServiceUserRecord>()
  readonly #upgrades = new Map<string, HashUpgrade>()
  readonly #watchers = new Set<() => void>()
  #revision = 0
  #reloads: Promise<unknown> = Promise.resolve()
  #listener: PostgresChannelListener | undefined
  #onError: (err: Error) => void = () => {}

  private constructor(db: PostgresDatabase) {
    this.#db = db
  }

  /** Reads the registry; with listen, also follows other processes' changes until close(). */
  static async open(db: PostgresDatabase, listen?: RegistryListenOptions): Promise<PostgresIdentityRegistry> {
    const registry = new PostgresIdentityRegistry(db)
    if (listen) {
      registry.#onError = listen.onError ?? (() => {})
      // Listening before the first read, so no change can fall between the read and the LISTEN.
      const listener = new PostgresChannelListener({
        url: listen.url,
        channel: registryChangesChannel,
        applicationName: listen.applicationName,
        onNotification: () => registry.#announced(),
        onResync: () => registry.#announced(),
        onError: registry.#onError,
      })
      await listener.start()
      registry.#listener = listener
    }
    try {
      await registry.reloadIfChanged()
    } catch (err) {
      await registry.close()
      throw err
    }
    return registry
  }

  get revision(): number {
    return this.#revision
  }

  watch(onChange: () => void): void {
    this.#watchers.add(onChange)
  }

  /** One reload at a time, each from the revision the previous one reached. */
  reloadIfChanged(): Promise<boolean> {
    const next = this.#reloads.then(() => this.#reload())
    this.#reloads = next.catch(() => undefined)
    return next
  }

  async #reload(): Promise<boolean> {
    const current = await this.#db.query<{ revision: string }>('SELECT revision FROM identity_revision')
    const revision = Number(current.rows[0]?.revision ?? 0)
    if (revision === this.#revision) return false
    if (revision < this.#revision) {
      // The database went back (restored from a backup): read it whole.
      this.#devices.clear()
      this.#users.clear()
      this.#revision = 0
    }
    const changed = await this.#db.query<IdentityRow>(
      `SELECT name, kind, secret_hash, is_disabled, is_removed, created_at, rotated_at, revision
         FROM identities WHERE revision > $1`,
      [this.#revision],
    )
    // Changes commit in revision order, so rows up to the revision read are all visible here.
    let seen = revision
    for (const row of changed.rows) {
      this.#apply(row)
      seen = Math.max(seen, Number(row.revision))
    }
    this.#revision = seen
    return true
  }

  #apply(row: IdentityRow): void {
    this.#devices.delete(row.name)
    this.#users.delete(row.name)
    if (row.is_removed) return
    if (row.kind === 'device') {
      this.#devices.set(row.name, {
        deviceId: row.name,
        secretHash: row.secret_hash,
        isDisabled: row.is_disabled,
        createdAt: row.created_at,
        ...(row.rotated_at ? { rotatedAt: row.rotated_at } : {}),
      })
    } else {
      this.#users.set(row.name, { name: row.name, secretHash: row.secret_hash, createdAt: row.created_at })
    }
  }

  #announced(): void {
    this.reloadIfChanged().then(
      (isChanged) => {
        if (isChanged) for (const onChange of this.#watchers) onChange()
      },
      (err: unknown) => this.#onError(err as Error),
    )
  }

  async authenticate(username: string, password: string): Promise<Login | undefined> {
    const device = this.#devices.get(username)
    const user = device ? undefined : this.#users.get(username)
    const record = device ?? user
    const check = await checkSecret(password, record?.secretHash)
    if (check === 'slow-match' && record) this.#queueUpgrade(username, record.secretHash, password)
    if (check === 'no-match' || !record || device?.isDisabled) return undefined
    const principal: Principal = device
      ? { kind: 'device', deviceId: device.deviceId }
      : { kind: 'service', name: username }
    return { principal, credential: credentialStamp(record) }
  }

  isSlowToVerify(username: string): boolean {
    const record = this.#devices.get(username) ?? this.#users.get(username)
    return record !== undefined && secretHashKind(record.secretHash) === 'scrypt'
  }

  credentialOf(principal: Principal): string | undefined {
    if (principal.kind === 'device') {
      const device = this.#devices.get(principal.deviceId)
      return device && !device.isDisabled ? credentialStamp(device) : undefined
    }
    const user = this.#users.get(principal.name)
    return user ? credentialStamp(user) : undefined
  }

  isActive(principal: Principal): boolean {
    return this.credentialOf(principal) !== undefined
  }

  isDeviceEnabled(deviceId: string): boolean {
    const device = this.#devices.get(deviceId)
    return device !== undefined && !device.isDisabled
  }

  enabledDeviceIds(): string[] {
    return this.listDevices()
      .filter((d) => !d.isDisabled)
      .map((d) => d.deviceId)
  }

  listDevices(): DeviceRecord[] {
    return [...this.#devices.values()].sort((a, b) => a.deviceId.localeCompare(b.deviceId))
  }

  listUsers(): ServiceUserRecord[] {
    return [...this.#users.values()].sort((a, b) => a.name.localeCompare(b.name))
  }

  addDevice(deviceId: string, nowMs = Date.now()): Promise<string> {
    return this.#add('device', deviceId, nowMs)
  }

  addUser(name: string, nowMs = Date.now()): Promise<string> {
    return this.#add('service', name, nowMs)
  }

  async #add(kind: IdentityRow['kind'], name: string, nowMs: number): Promise<string> {
    assertIdentityName(name)
    const secret = newSecret()
    await this.#change(async (client, revision) => {
      // A removed name's row is reused; a live one of either kind refuses the name.
      const added = await client.query(
        `INSERT INTO identities (name, kind, secret_hash, created_at, revision) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (name) DO UPDATE SET kind = EXCLUDED.kind, secret_hash = EXCLUDED.secret_hash,
           is_disabled = false, is_removed = false, created_at = EXCLUDED.created_at, rotated_at = NULL,
           revision = EXCLUDED.revision
         WHERE identities.is_removed`,
        [name, kind, hashGeneratedSecret(secret), new Date(nowMs).toISOString(), revision],
      )
      if (added.rowCount === 0)
        throw new DoorbellError(kind === 'device' ? 'DEVICE_EXISTS' : 'USER_EXISTS', name)
    })
    return secret
  }

  async rotateDevice(deviceId: string, nowMs = Date.now()): Promise<string> {
    const secret = newSecret()
    await this.#change(async (client, revision) => {
      const found = await client.query<IdentityRow>(
        `SELECT created_at, rotated_at FROM identities
          WHERE name = $1 AND kind = 'device' AND NOT is_removed`,
        [deviceId],
      )
      const row = found.rows[0]
      if (!row) throw new DoorbellError('DEVICE_NOT_FOUND', deviceId)
      const device = { createdAt: row.created_at, ...(row.rotated_at ? { rotatedAt: row.rotated_at } : {}) }
      await client.query(
        'UPDATE identities SET secret_hash = $2, rotated_at = $3, revision = $4 WHERE name = $1',
        [deviceId, hashGeneratedSecret(secret), rotationStamp(device as DeviceRecord, nowMs), revision],
      )
    })
    return secret
  }

  setDeviceDisabled(deviceId: string, isDisabled: boolean): Promise<void> {
    return this.#update(
      'device',
      deviceId,
      'is_disabled = $3',
      [isDisabled],
      new DoorbellError('DEVICE_NOT_FOUND', deviceId),
    )
  }

  removeDevice(deviceId: string): Promise<void> {
    return this.#remove('device', deviceId, new DoorbellError('DEVICE_NOT_FOUND', deviceId))
  }

  removeUser(name: string): Promise<void> {
    return this.#remove('service', name, new DoorbellError('USER_NOT_FOUND', name))
  }

  #remove(kind: IdentityRow['kind'], name: string, notFound: DoorbellError): Promise<void> {
    // The hash goes with the identity; the row stays so that other nodes read the removal.
    return this.#update(kind, name, "is_removed = true, secret_hash = 'removed'", [], notFound)
  }

  async #update(
    kind: IdentityRow['kind'],
    name: string,
    assignments: string,
    values: readonly unknown[],
    notFound: DoorbellError,
  ): Promise<void> {
    await this.#change(async (client, revision) => {
      const updated = await client.query(
        `UPDATE identities SET ${assignments}, revision = $2 WHERE name = $1 AND kind = '${kind}' AND NOT is_removed`,
        [name, revision, ...values],
      )
      if (updated.rowCount === 0) throw notFound
    })
  }

  /**
   * Replaces each slow hash verified since the last call by its fast form, if the row still holds the
   * hash that was verified (a rotation in between wins). One statement for any number of upgrades.
   */
  async flushHashUpgrades(): Promise<number> {
    if (this.#upgrades.size === 0) return 0
    const upgrades = [...this.#upgrades.values()]
    this.#upgrades.clear()
    let count = 0
    try {
      await this.#change(async (client, revision) => {
        const result = await client.query(
          `UPDATE identities AS i SET secret_hash = u.new_hash, revision = $4
             FROM unnest($1::text[], $2::text[], $3::text[]) AS u(name, old_hash, new_hash)
            WHERE i.name = u.name AND i.secret_hash = u.old_hash AND NOT i.is_removed`,
          [
            upgrades.map((u) => u.name),
            upgrades.map((u) => u.oldHash),
            upgrades.map((u) => u.newHash),
            revision,
          ],
        )
        count = result.rowCount ?? 0
      })
    } catch (err) {
      // Not written (the database away): kept for the next flush, unless a newer one came in.
      for (const u of upgrades) if (!this.#upgrades.has(u.name)) this.#upgrades.set(u.name, u)
      throw err
    }
    return count
  }

  #queueUpgrade(name: string, oldHash: string, secret: string): void {
    const newHash = hashGeneratedSecret(secret)
    this.#upgrades.set(name, { name, oldHash, newHash })
    // The next login of this name is fast already, before the row is rewritten.
    const device = this.#devices.get(name)
    if (device) this.#devices.set(name, { ...device, secretHash: newHash })
    const user = this.#users.get(name)
    if (user) this.#users.set(name, { ...user, secretHash: newHash })
  }

  /**
   * One change in one transaction: takes the revision row's lock (so changes commit in revision order),
   * raises it, writes, and announces the new revision at commit. Then reads it back into memory, so the
   * caller's next login sees it.
   */
  async #change(write: (client: pg.PoolClient, revision: number) => Promise<void>): Promise<void> {
    await this.#db.transaction(async (client) => {
      const raised = await client.query<{ revision: string }>(
        'UPDATE identity_revision SET revision = revision + 1 RETURNING revision',
      )
      const revision = Number(raised.rows[0]?.revision)
      await write(client, revision)
      await client.query('SELECT pg_notify($1, $2)', [registryChangesChannel, String(revision)])
    })
    await this.reloadIfChanged()
  }

  /** Stops following other processes' changes; the pool is the caller's. */
  async close(): Promise<void> {
    await this.#listener?.stop()
    this.#listener = undefined
  }
}
