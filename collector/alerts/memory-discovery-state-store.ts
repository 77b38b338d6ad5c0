import type { DiscoveryStateLoad, DiscoveryStateStore, DiscoveryStatus } from './discovery-state-store.js'

/** The discovery state in memory, lost with the process: the simulated store, for tests. */
export class MemoryDiscoveryStateStore implements DiscoveryStateStore {
  #devices = new Map<string, DiscoveryStatus>()

  async load(): Promise<DiscoveryStateLoad> {
    return { devices: new Map(this.#devices) }
  }

  async save(devices: ReadonlyMap<string, DiscoveryStatus>): Promise<void> {
    this.#devices = new Map(devices)
  }
}
