import { DoorbellError } from '../../shared/errors.js'
import { isValidDeviceId } from '../../shared/protocol/index.js'
import type { DeviceRecord, Login, Principal, ServiceUserRecord } from './identity-registry.js'
import { secretHashKind, verifyGeneratedSecret, verifySecret } from './secret-hash.js'

/** What checking a secret against a stored hash found; a slow match wants its hash upgraded. */
export type SecretCheck = 'match' | 'slow-match' | 'no-match'

/**
 * Checks a login's secret against the hash a registry holds (undefined for an unknown name). Unknown,
 * disabled and known names alike cost one SHA-256 and one constant-time compare, so the answer time does
 * not tell which names exist; only an scrypt hash from before the fast format costs more.
 */
export async function checkSecret(password: string, stored: string | undefined): Promise<SecretCheck> {
  if (stored !== undefined && secretHashKind(stored) === 'scrypt') {
    return (await verifySecret(password, stored)) ? 'slow-match' : 'no-match'
  }
  return verifyGeneratedSecret(password, stored) ? 'match' : 'no-match'
}

/** Names the secret a record holds now: its rotation time (or creation, before any rotation). */
export function credentialStamp(record: DeviceRecord | ServiceUserRecord): string {
  return 'rotatedAt' in record && record.rotatedAt ? record.rotatedAt : record.createdAt
}

/** A rotation's time: strictly later than the stamp it replaces, so two rotations in one millisecond differ. */
export function rotationStamp(device: DeviceRecord, nowMs: number): string {
  const previousMs = Date.parse(device.rotatedAt ?? device.createdAt)
  return new Date(Math.max(nowMs, previousMs + 1)).toISOString()
}

/**
 * Refuses a name outside the device-id alphabet. Device ids and user names share one namespace and that
 * alphabet (no ':'), so a service user's client id `<name>:<anything>` can never take over a device's session.
 */
export function assertIdentityName(name: string): void {
  if (!isValidDeviceId(name)) {
    throw new DoorbellError(
      'USAGE',
      `${JSON.stringify(name)}: use 1-64 of [A-Za-z0-9_-], starting with a letter or digit`,
    )
  }
}

/** A registry's records by name, as every implementation holds them in memory for logins. */
export interface IdentityRecords {
  device(deviceId: string): DeviceRecord | undefined
  user(name: string): ServiceUserRecord | undefined
}

/**
 * The login a username and password make, or undefined when the name is unknown, disabled or the secret
 * wrong (all at the cost of one check, see checkSecret). A match of a slow hash is handed to onSlowMatch,
 * which upgrades it to the fast form.
 */
export async function loginOf(
  records: IdentityRecords,
  username: string,
  password: string,
  onSlowMatch: (kind: 'device' | 'service', record: DeviceRecord | ServiceUserRecord) => void,
): Promise<Login | undefined> {
  const device = records.device(username)
  const record = device ?? records.user(username)
  const check = await checkSecret(password, record?.secretHash)
  if (check === 'slow-match' && record) onSlowMatch(device ? 'device' : 'service', record)
  if (check === 'no-match' || !record || device?.isDisabled) return undefined
  const principal: Principal = device
    ? { kind: 'device', deviceId: device.deviceId }
    : { kind: 'service', name: username }
  return { principal, credential: credentialStamp(record) }
}

/** True when the name's stored hash is the slow (scrypt) kind from before the fast format. */
export function isSlowToVerify(records: IdentityRecords, username: string): boolean {
  const record = records.device(username) ?? records.user(username)
  return record !== undefined && secretHashKind(record.secretHash) === 'scrypt'
}

/** The credential a principal must still hold to stay connected; undefined when it is gone or disabled. */
export function credentialOf(records: IdentityRecords, principal: Principal): string | undefined {
  if (principal.kind === 'device') {
    const device = records.device(principal.deviceId)
    return device && !device.isDisabled ? credentialStamp(device) : undefined
  }
  const user = records.user(principal.name)
  return user ? credentialStamp(user) : undefined
}
