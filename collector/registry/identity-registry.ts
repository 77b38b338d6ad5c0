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

/** Read side of the device and user registry, as the broker sees it. */
export interface IdentityRegistry {
  /** Verifies a username/password pair; undefined when unknown, disabled or wrong. */
  authenticate(username: string, password: string): Promise<Principal | undefined>
  /** True while the principal still exists and is enabled (checked to cut revoked clients). */
  isActive(principal: Principal): boolean
  /** True when a device with this id exists and is enabled (used for certificate auth). */
  isDeviceEnabled(deviceId: string): boolean
}
