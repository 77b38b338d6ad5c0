import { mkdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { DoorbellError } from '../../shared/errors.js'
import { writeFileAtomicSync } from '../../shared/files/atomic-file.js'
import { withFileLock } from './file-lock.js'
import {
  assertIdentityName,
  credentialOf,
  type IdentityRecords,
  isSlowToVerify,
  loginOf,
  rotationStamp,
} from './identity-login.js'
import type {
  DeviceRecord,
  Login,
  ManagedIdentityRegistry,
  Principal,
  ServiceUserRecord,
} from './identity-registry.js'
import { hashGeneratedSecret, newSecret } from './secret-hash.js'

/** On-disk shape of the registry file. */
interface RegistryFile {
  version: 1
  devices: Record<string, DeviceRecord>
  users: Record<string, ServiceUserRecord>
}

/** The registry file's name inside the data folder. */
export const registryFileName = 'registry.json'

function emptyRegistry(): RegistryFile {
  return { version: 1, devices: {}, users: {} }
}

function own<T>(map: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(map, key) ? map[key] : undefined
}

/** A slow hash verified at a login, waiting to be replaced by its fast form in the file. */
interface HashUpgrade {
  readonly kind: 'device' | 'service'
  readonly name: string
  readonly oldHash: string
  readonly newHash: string
}

/**
 * Devices and service users in one JSON file (mode 0600) beside the store. A file, not Level, because
 * Level allows one process at a time and the admin CLI must work while the collector runs. Every
 * read-modify-write (the CLI's changes, the collector's hash upgrades) holds `registry.json.lock`, reads
 * the file afresh and replaces it atomically (write, fsync, rename); the collector reloads it when its
 * mtime changes.
 */
export class FileIdentityRegistry implements ManagedIdentityRegistry {
  readonly path: string
  #data: RegistryFile = emptyRegistry()
  /** Looks into whatever #data holds now (a reload replaces it). */
  readonly #records: IdentityRecords = {
    device: (deviceId) => own(this.#data.devices, deviceId),
    user: (name) => own(this.#data.users, name),
  }
  #stamp = ''
  #revision = 0
  readonly #upgrades = new Map<string, HashUpgrade>()

  constructor(dataDir: string) {
    this.path = join(dataDir, registryFileName)
    this.#reloadIfChanged()
  }

  get revision(): number {
    return this.#revision
  }

  async reloadIfChanged(): Promise<boolean> {
    return this.#reloadIfChanged()
  }

  #reloadIfChanged(): boolean {
    let stamp: string
    try {
      const stat = statSync(this.path)
      stamp = `${stat.mtimeMs}:${stat.size}:${stat.ino}`
    } catch {
      stamp = 'missing'
    }
    if (stamp === this.#stamp) return false
    this.#stamp = stamp
    this.#revision += 1
    if (stamp === 'missing') {
      this.#data = emptyRegistry()
      return true
    }
    const parsed = JSON.parse(readFileSync(this.path, 'utf8')) as Partial<RegistryFile>
    this.#data = { version: 1, devices: parsed.devices ?? {}, users: parsed.users ?? {} }
    return true
  }

  async authenticate(username: string, password: string): Promise<Login | undefined> {
    this.#reloadIfChanged()
    return loginOf(this.#records, username, password, (kind, record) =>
      this.#queueUpgrade(kind, username, record.secretHash, password),
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
    const device = own(this.#data.devices, deviceId)
    return device !== undefined && !device.isDisabled
  }

  enabledDeviceIds(): string[] {
    return this.listDevices()
      .filter((d) => !d.isDisabled)
      .map((d) => d.deviceId)
  }

  listDevices(): DeviceRecord[] {
    this.#reloadIfChanged()
    return Object.values(this.#data.devices).sort((a, b) => a.deviceId.localeCompare(b.deviceId))
  }

  listUsers(): ServiceUserRecord[] {
    this.#reloadIfChanged()
    return Object.values(this.#data.users).sort((a, b) => a.name.localeCompare(b.name))
  }

  async addDevice(deviceId: string, nowMs = Date.now()): Promise<string> {
    assertIdentityName(deviceId)
    const secret = newSecret()
    this.#mutate((data) => {
      if (own(data.devices, deviceId) || own(data.users, deviceId)) {
        throw new DoorbellError('DEVICE_EXISTS', deviceId)
      }
      data.devices[deviceId] = {
        deviceId,
        secretHash: hashGeneratedSecret(secret),
        isDisabled: false,
        createdAt: new Date(nowMs).toISOString(),
      }
    })
    return secret
  }

  async rotateDevice(deviceId: string, nowMs = Date.now()): Promise<string> {
    const secret = newSecret()
    this.#mutate((data) => {
      const device = this.#device(data, deviceId)
      data.devices[deviceId] = {
        ...device,
        secretHash: hashGeneratedSecret(secret),
        rotatedAt: rotationStamp(device, nowMs),
      }
    })
    return secret
  }

  async setDeviceDisabled(deviceId: string, isDisabled: boolean): Promise<void> {
    this.#mutate((data) => {
      data.devices[deviceId] = { ...this.#device(data, deviceId), isDisabled }
    })
  }

  async removeDevice(deviceId: string): Promise<void> {
    this.#mutate((data) => {
      this.#device(data, deviceId)
      delete data.devices[deviceId]
    })
  }

  async addUser(name: string, nowMs = Date.now()): Promise<string> {
    assertIdentityName(name)
    const secret = newSecret()
    this.#mutate((data) => {
      if (own(data.users, name) || own(data.devices, name)) throw new DoorbellError('USER_EXISTS', name)
      data.users[name] = {
        name,
        secretHash: hashGeneratedSecret(secret),
        createdAt: new Date(nowMs).toISOString(),
      }
    })
    return secret
  }

  async removeUser(name: string): Promise<void> {
    this.#mutate((data) => {
      if (!own(data.users, name)) throw new DoorbellError('USER_NOT_FOUND', name)
      delete data.users[name]
    })
  }

  /**
   * Replaces each slow hash verified since the last call by its fast form, if the record still holds
   * the hash that was verified (a rotation in between wins). One write for any number of upgrades, so
   * the first reconnect storm after an upgrade rewrites the file once or twice, not once per device.
   */
  async flushHashUpgrades(): Promise<number> {
    if (this.#upgrades.size === 0) return 0
    const upgrades = [...this.#upgrades.values()]
    this.#upgrades.clear()
    let count = 0
    const mutate = (change: (data: RegistryFile) => void): void => {
      try {
        this.#mutate(change)
      } catch (err) {
        // Not written (the lock was busy): keep them for the next flush, unless a newer one came in.
        for (const u of upgrades)
          if (!this.#upgrades.has(`${u.kind}:${u.name}`)) this.#upgrades.set(`${u.kind}:${u.name}`, u)
        throw err
      }
    }
    mutate((data) => {
      for (const upgrade of upgrades) {
        const map = upgrade.kind === 'device' ? data.devices : data.users
        const record = own<DeviceRecord | ServiceUserRecord>(map, upgrade.name)
        if (record?.secretHash !== upgrade.oldHash) continue
        map[upgrade.name] = { ...record, secretHash: upgrade.newHash } as DeviceRecord & ServiceUserRecord
        count += 1
      }
    })
    return count
  }

  #queueUpgrade(kind: HashUpgrade['kind'], name: string, oldHash: string, secret: string): void {
    const newHash = hashGeneratedSecret(secret)
    this.#upgrades.set(`${kind}:${name}`, { kind, name, oldHash, newHash })
    // The next login of this name is fast already, before the file is rewritten.
    const map = kind === 'device' ? this.#data.devices : this.#data.users
    const record = own<DeviceRecord | ServiceUserRecord>(map, name)
    if (record) map[name] = { ...record, secretHash: newHash } as DeviceRecord & ServiceUserRecord
  }

  #device(data: RegistryFile, deviceId: string): DeviceRecord {
    const device = own(data.devices, deviceId)
    if (!device) throw new DoorbellError('DEVICE_NOT_FOUND', deviceId)
    return device
  }

  /** Read the file afresh, change it and write it back, all under the lock. */
  #mutate(change: (data: RegistryFile) => void): void {
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 })
    withFileLock(this.path, () => {
      this.#stamp = ''
      this.#reloadIfChanged()
      const data = structuredClone(this.#data)
      change(data)
      writeFileAtomicSync(this.path, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600 })
      this.#stamp = ''
      this.#reloadIfChanged()
    })
  }
}
