import { z } from 'zod'
import type { DoorbellError } from '../../shared/errors.js'
import { healthPayload, isValidDeviceId } from '../../shared/protocol/index.js'
import { readCheckedJsonFile, writeJsonFile } from '../json-file.js'
import type { DeviceHealthRecord } from './device-health-monitor.js'

const timeMs = z.number().int().nonnegative()

/** On-disk shape, version 1: `{version, savedAt, devices: [record...]}`; times are epoch milliseconds. */
const fileSchema = z.strictObject({
  version: z.literal(1),
  savedAt: z.string(),
  devices: z.array(
    z.strictObject({
      deviceId: z.string().refine(isValidDeviceId, 'expected a device id'),
      isOnline: z.boolean(),
      lastSeenMs: timeMs.nullable(),
      offlineSinceMs: timeMs.nullable(),
      health: healthPayload.nullable(),
      lastHealthMs: timeMs.nullable(),
    }),
  ),
})

/** What was found on disk: the records (none when the file is missing), or why they were ignored. */
export interface DeviceHealthLoad {
  readonly records: readonly DeviceHealthRecord[]
  /** HEALTH_STATE_INVALID when the file exists but cannot be read or parsed; its records are ignored. */
  readonly err?: DoorbellError
}

/** Where the device health state is kept across restarts. */
export interface DeviceHealthStore {
  load(): DeviceHealthLoad
  /** Replaces the saved state; throws when it cannot be written. */
  save(records: readonly DeviceHealthRecord[], nowMs: number): void
}

/**
 * The device health state in one JSON file (`<dataDir>/alerts/device-health.json`), rewritten atomically
 * (temp file + rename), like the other alert files. An invalid file never stops the collector: load()
 * returns no records and the error, and the next save replaces the file.
 */
export class FileDeviceHealthStore implements DeviceHealthStore {
  readonly path: string

  constructor(path: string) {
    this.path = path
  }

  load(): DeviceHealthLoad {
    const { value, err } = readCheckedJsonFile(this.path, fileSchema, 'HEALTH_STATE_INVALID')
    return err ? { records: [], err } : { records: value?.devices ?? [] }
  }

  save(records: readonly DeviceHealthRecord[], nowMs: number): void {
    writeJsonFile(this.path, { version: 1, savedAt: new Date(nowMs).toISOString(), devices: records })
  }
}
