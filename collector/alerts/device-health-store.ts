import type { DoorbellError } from '../../shared/errors.js'
import type { DeviceHealthRecord } from './device-health-monitor.js'

/** What was found on disk: the records (none when the file is missing), or why they were ignored. */
export interface DeviceHealthLoad {
  readonly records: readonly DeviceHealthRecord[]
  /** HEALTH_STATE_INVALID when the file exists but cannot be read or parsed; its records are ignored. */
  readonly err?: DoorbellError
}

/**
 * Where the device health state is kept across restarts. Every implementation passes
 * test/collector/store/contracts/device-health-store.contract.ts.
 */
export interface DeviceHealthStore {
  /** What was saved last (no records before the first save). */
  load(): Promise<DeviceHealthLoad>
  /** Replaces the saved state; rejects when it cannot be written. Saves land in call order. */
  save(records: readonly DeviceHealthRecord[], nowMs: number): Promise<void>
}
