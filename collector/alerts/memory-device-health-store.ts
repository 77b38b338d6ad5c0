import type { DeviceHealthRecord } from './device-health-monitor.js'
import type { DeviceHealthLoad, DeviceHealthStore } from './device-health-store.js'

/** The device health state in memory, lost with the process: the simulated store, for tests. */
export class MemoryDeviceHealthStore implements DeviceHealthStore {
  #records: readonly DeviceHealthRecord[] = []

  async load(): Promise<DeviceHealthLoad> {
    return { records: structuredClone(this.#records) }
  }

  async save(records: readonly DeviceHealthRecord[]): Promise<void> {
    this.#records = structuredClone(records)
  }
}
