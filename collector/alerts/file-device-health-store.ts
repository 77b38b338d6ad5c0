import { z } from 'zod'
import { healthPayload, isValidDeviceId } from '../../shared/protocol/index.js'
import { JsonFileWriter, readCheckedJsonFile } from '../json-file.js'
import type { DeviceHealthRecord } from './device-health-monitor.js'
import type { DeviceHealthLoad, DeviceHealthStore } from './device-health-store.js'

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

/**
 * The device health state in one JSON file (`<dataDir>/alerts/device-health.json`), rewritten atomically
 * (temp file + rename), like the other alert files. An invalid file never stops the collector: load()
 * returns no records and the error, and the next save replaces the file.
 */
export class FileDeviceHealthStore implements DeviceHealthStore {
  readonly path: string
  readonly #writer: JsonFileWriter

  constructor(path: string) {
    this.path = path
    this.#writer = new JsonFileWriter(path)
  }

  async load(): Promise<DeviceHealthLoad> {
    const { value, err } = await readCheckedJsonFile(this.path, fileSchema, 'HEALTH_STATE_INVALID')
    return err ? { records: [], err } : { records: value?.devices ?? [] }
  }

  save(records: readonly DeviceHealthRecord[], nowMs: number): Promise<void> {
    return this.#writer.write({ version: 1, savedAt: new Date(nowMs).toISOString(), devices: records })
  }
}
