import { DoorbellError } from '../../shared/errors.js'
import { isValidDeviceId } from '../../shared/protocol/index.js'
import type { DeviceRecord, ServiceUserRecord } from './identity-registry.js'
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
