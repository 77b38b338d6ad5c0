import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { DoorbellError } from '../../shared/errors.js'
import { writeFileAtomicSync } from '../../shared/files/atomic-file.js'
import { isValidDeviceId } from '../../shared/protocol/index.js'
import type { DeviceRecord, IdentityRegistry, Principal, ServiceUserRecord } from './identity-registry.js'
import { hashSecret, newSecret, verifySecret } from './secret-hash.js'

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

/**
 * Devices and service users in one JSON file (mode 0600) beside the store. A file, not Level, because
 * Level allows one process at a time and the admin CLI must work while the collector runs: the CLI
 * rewrites the file atomically (write, fsync, rename) and the collector reloads it when its mtime changes.
 */
export class FileIdentityRegistry implements IdentityRegistry {
  readonly path: string
  #data: RegistryFile = emptyRegistry()
  #stamp = ''
  #revision = 0

  constructor(dataDir: string) {
    this.path = join(dataDir, registryFileName)
    this.reloadIfChanged()
  }

  /**
   * Counts the changes taken from disk. A watcher compares it rather than relying on reloadIfChanged():
   * any login reloads first, so the change would be seen by that caller and not by the watcher.
   */
  get revision(): number {
    return this.#revision
  }

  /** Re-reads the file if it changed on disk; returns true when it did. */
  reloadIfChanged(): boolean {
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

  async authenticate(username: string, password: string): Promise<Principal | undefined> {
    this.reloadIfChanged()
    const device = Object.hasOwn(this.#data.devices, username) ? this.#data.devices[username] : undefined
    if (device) {
      if (device.isDisabled) return undefined
      return (await verifySecret(password, device.secretHash))
        ? { kind: 'device', deviceId: device.deviceId }
        : undefined
    }
    const user = Object.hasOwn(this.#data.users, username) ? this.#data.users[username] : undefined
    if (user) {
      return (await verifySecret(password, user.secretHash))
        ? { kind: 'service', name: user.name }
        : undefined
    }
    return undefined
  }

  isActive(principal: Principal): boolean {
    if (principal.kind === 'device') return this.isDeviceEnabled(principal.deviceId)
    return Object.hasOwn(this.#data.users, principal.name)
  }

  isDeviceEnabled(deviceId: string): boolean {
    const device = Object.hasOwn(this.#data.devices, deviceId) ? this.#data.devices[deviceId] : undefined
    return device !== undefined && !device.isDisabled
  }

  /** Ids of the devices that may connect (enabled), sorted. */
  enabledDeviceIds(): string[] {
    return this.listDevices()
      .filter((d) => !d.isDisabled)
      .map((d) => d.deviceId)
  }

  /** Devices, sorted by id. */
  listDevices(): DeviceRecord[] {
    this.reloadIfChanged()
    return Object.values(this.#data.devices).sort((a, b) => a.deviceId.localeCompare(b.deviceId))
  }

  /** Service users, sorted by name. */
  listUsers(): ServiceUserRecord[] {
    this.reloadIfChanged()
    return Object.values(this.#data.users).sort((a, b) => a.name.localeCompare(b.name))
  }

  /** Registers a device and returns its secret, which is not stored anywhere in clear. */
  async addDevice(deviceId: string, nowMs = Date.now()): Promise<string> {
    this.#assertName(deviceId)
    this.reloadIfChanged()
    if (Object.hasOwn(this.#data.devices, deviceId) || Object.hasOwn(this.#data.users, deviceId)) {
      throw new DoorbellError('DEVICE_EXISTS', deviceId)
    }
    const secret = newSecret()
    this.#data.devices[deviceId] = {
      deviceId,
      secretHash: await hashSecret(secret),
      isDisabled: false,
      createdAt: new Date(nowMs).toISOString(),
    }
    this.#save()
    return secret
  }

  /** Issues a new secret for a device; the old one stops working at once. */
  async rotateDevice(deviceId: string, nowMs = Date.now()): Promise<string> {
    const device = this.#device(deviceId)
    const secret = newSecret()
    this.#data.devices[deviceId] = {
      ...device,
      secretHash: await hashSecret(secret),
      rotatedAt: new Date(nowMs).toISOString(),
    }
    this.#save()
    return secret
  }

  /** Disables or re-enables a device; a disabled device cannot connect and is cut off if connected. */
  setDeviceDisabled(deviceId: string, isDisabled: boolean): void {
    const device = this.#device(deviceId)
    this.#data.devices[deviceId] = { ...device, isDisabled }
    this.#save()
  }

  /** Removes a device from the registry (its stored events stay). */
  removeDevice(deviceId: string): void {
    this.#device(deviceId)
    delete this.#data.devices[deviceId]
    this.#save()
  }

  /** Adds a read-only service user and returns its secret. */
  async addUser(name: string, nowMs = Date.now()): Promise<string> {
    this.#assertName(name)
    this.reloadIfChanged()
    if (Object.hasOwn(this.#data.users, name) || Object.hasOwn(this.#data.devices, name)) {
      throw new DoorbellError('USER_EXISTS', name)
    }
    const secret = newSecret()
    this.#data.users[name] = {
      name,
      secretHash: await hashSecret(secret),
      createdAt: new Date(nowMs).toISOString(),
    }
    this.#save()
    return secret
  }

  /** Removes a service user. */
  removeUser(name: string): void {
    this.reloadIfChanged()
    if (!Object.hasOwn(this.#data.users, name)) throw new DoorbellError('USER_NOT_FOUND', name)
    delete this.#data.users[name]
    this.#save()
  }

  #assertName(name: string): void {
    // Device ids and user names share one namespace and the device-id alphabet (no ':'), so a service
    // user's client id `<name>:<anything>` can never take over a device's session.
    if (!isValidDeviceId(name)) {
      throw new DoorbellError(
        'USAGE',
        `${JSON.stringify(name)}: use 1-64 of [A-Za-z0-9_-], starting with a letter or digit`,
      )
    }
  }

  #device(deviceId: string): DeviceRecord {
    this.reloadIfChanged()
    const device = Object.hasOwn(this.#data.devices, deviceId) ? this.#data.devices[deviceId] : undefined
    if (!device) throw new DoorbellError('DEVICE_NOT_FOUND', deviceId)
    return device
  }

  #save(): void {
    writeFileAtomicSync(this.path, `${JSON.stringify(this.#data, null, 2)}\n`, { mode: 0o600 })
    this.#stamp = ''
    this.reloadIfChanged()
  }
}
