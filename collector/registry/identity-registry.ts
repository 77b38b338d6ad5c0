import type { MqttPrincipal } from '../access/principal.js'

/** A device known to the collector. The secret is only ever stored hashed. */
export interface DeviceRecord {
  readonly deviceId: string
  readonly secretHash: string
  readonly isDisabled: boolean
  readonly createdAt: string
  readonly rotatedAt?: string
}

/** A read-only service user (dashboard, home automation). */
export interface ServiceUserRecord {
  readonly name: string
  readonly secretHash: string
  readonly createdAt: string
}

/** Who a connection is, once authenticated (the access module's MQTT principals). */
export type Principal = MqttPrincipal

/** A successful login: who, and which secret it used (see credentialOf). */
export interface Login {
  readonly principal: Principal
  /** Names the secret the login used; changes when the secret is rotated. */
  readonly credential: string
}

/** Read side of the device and user registry, as the broker sees it. */
export interface IdentityRegistry {
  /**
   * Verifies a username/password pair; undefined when unknown, disabled or wrong. Unknown, disabled and
   * known names do the same hash work, so the answer time does not tell which names exist.
   */
  authenticate(username: string, password: string): Promise<Login | undefined>
  /**
   * True when checking this name's secret is slow (a scrypt hash from before the fast format, upgraded at
   * its next successful login): the broker runs such checks through a small gate.
   */
  isSlowToVerify(username: string): boolean
  /** The credential a principal must still hold to stay connected; undefined when it is gone or disabled. */
  credentialOf(principal: Principal): string | undefined
  /** True while the principal still exists and is enabled. */
  isActive(principal: Principal): boolean
  /** True when a device with this id exists and is enabled (used for certificate auth). */
  isDeviceEnabled(deviceId: string): boolean
}

/**
 * The registry as the admin CLI manages it; every implementation passes the identity-registry contract.
 * The reads (lists, credentials) answer from what the registry holds in memory, so a login costs no
 * round trip to a database; changes and reloads are async because a shared engine needs one.
 */
export interface ManagedIdentityRegistry extends IdentityRegistry {
  /** Counts changes seen (own writes and other processes'); a watcher compares it. */
  readonly revision: number
  /** Picks up changes made by another process; true when there were any. */
  reloadIfChanged(): Promise<boolean>
  /**
   * Calls onChange as soon as another process's change has been picked up, where the engine announces
   * changes (PostgreSQL's NOTIFY); absent where the caller must poll reloadIfChanged (a file).
   */
  watch?(onChange: () => void): void
  listDevices(): DeviceRecord[]
  listUsers(): ServiceUserRecord[]
  enabledDeviceIds(): string[]
  /** Registers a device; returns its secret, shown once and stored only hashed. */
  addDevice(deviceId: string, nowMs?: number): Promise<string>
  /** Issues a new secret; the old one stops working at once and its sessions are cut. */
  rotateDevice(deviceId: string, nowMs?: number): Promise<string>
  setDeviceDisabled(deviceId: string, isDisabled: boolean): Promise<void>
  removeDevice(deviceId: string): Promise<void>
  addUser(name: string, nowMs?: number): Promise<string>
  removeUser(name: string): Promise<void>
  /** Writes the upgrades of slow hashes verified since the last call; returns how many were written. */
  flushHashUpgrades(): Promise<number>
}
