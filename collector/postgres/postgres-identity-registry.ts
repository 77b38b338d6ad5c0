import { DoorbellError } from '../../shared/errors.js'
import {
  assertIdentityName,
  credentialOf,
  type IdentityRecords,
  isSlowToVerify,
  loginOf,
} from '../registry/identity-login.js'
import type {
  DeviceRecord,
  Login,
  ManagedIdentityRegistry,
  Principal,
  ServiceUserRecord,
} from '../registry/identity-registry.js'
import { hashGeneratedSecret, newSecret } from '../registry/secret-hash.js'
import { PostgresChannelListener } from './postgres-channel-listener.js'
import { asStoreError, type PostgresDatabase } from './postgres-database.js'
import {
  changeIdentities,
  type IdentityKind,
  type IdentityRow,
  type IdentityUpdate,
  insertIdentity,
  readIdentityChanges,
  recordOf,
  registryChangesChannel,
  rotateIdentity,
  updateIdentity,
  upgradeIdentityHashes,
} from './postgres-identity-rows.js'

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
  readonly #records: IdentityRecords = {
    device: (deviceId) => this.#devices.get(deviceId),
    user: (name) => this.#users.get(name),
  }
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
      try {
        await listener.start()
      } catch (err) {
        throw asStoreError(listen.url, err)
      }
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
    const { revision, rows, isWhole } = await readIdentityChanges(this.#db, this.#revision)
    if (revision === this.#revision && !isWhole) return false
    if (isWhole) {
      this.#devices.clear()
      this.#users.clear()
    }
    for (const row of rows) this.#apply(row)
    this.#revision = revision
    return true
  }

  #apply(row: IdentityRow): void {
    this.#devices.delete(row.name)
    this.#users.delete(row.name)
    const record = recordOf(row)
    if (record && 'deviceId' in record) this.#devices.set(row.name, record)
    else if (record) this.#users.set(row.name, record)
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
    return loginOf(this.#records, username, password, (_kind, record) =>
      this.#queueUpgrade(username, record.secretHash, password),
    )
  }

  isSlowToVerify(username: string): boolean {
    return isSlowToVerify(this.#records, username)
  }

  credentialOf(principal: Principal): string | undefined {
    return credentialOf(this.#records, principal)
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

  async #add(kind: IdentityKind, name: string, nowMs: number): Promise<string> {
    assertIdentityName(name)
    const secret = newSecret()
    const createdAt = new Date(nowMs).toISOString()
    await this.#change((client, revision) =>
      insertIdentity(client, revision, { kind, name, secretHash: hashGeneratedSecret(secret), createdAt }),
    )
    return secret
  }

  async rotateDevice(deviceId: string, nowMs = Date.now()): Promise<string> {
    const secret = newSecret()
    await this.#change((client, revision) =>
      rotateIdentity(client, revision, deviceId, hashGeneratedSecret(secret), nowMs),
    )
    return secret
  }

  setDeviceDisabled(deviceId: string, isDisabled: boolean): Promise<void> {
    return this.#update('device', deviceId, { isDisabled }, new DoorbellError('DEVICE_NOT_FOUND', deviceId))
  }

  removeDevice(deviceId: string): Promise<void> {
    return this.#update('device', deviceId, 'removed', new DoorbellError('DEVICE_NOT_FOUND', deviceId))
  }

  removeUser(name: string): Promise<void> {
    return this.#update('service', name, 'removed', new DoorbellError('USER_NOT_FOUND', name))
  }

  async #update(kind: IdentityKind, name: string, update: IdentityUpdate, notFound: Error): Promise<void> {
    await this.#change(async (client, revision) => {
      if (!(await updateIdentity(client, revision, kind, name, update))) throw notFound
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
        count = await upgradeIdentityHashes(client, revision, upgrades)
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

  /** Writes one change, then reads it back into memory, so the caller's next login sees it. */
  async #change(write: Parameters<typeof changeIdentities>[1]): Promise<void> {
    await changeIdentities(this.#db, write)
    await this.reloadIfChanged()
  }

  /** Stops following other processes' changes; the pool is the caller's. */
  async close(): Promise<void> {
    await this.#listener?.stop()
    this.#listener = undefined
  }
}
