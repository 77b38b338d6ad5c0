import type { DoorbellError } from '../../shared/errors.js'

/**
 * What Home Assistant was last told about a device: `announced` (its discovery configs were published)
 * or `withdrawn` (empty configs were published because the device left the registry's enabled set).
 */
export type DiscoveryStatus = 'announced' | 'withdrawn'

/** What was found on disk: the statuses (none when the file is missing), or why they were ignored. */
export interface DiscoveryStateLoad {
  readonly devices: ReadonlyMap<string, DiscoveryStatus>
  /** DISCOVERY_STATE_INVALID when the file exists but cannot be read or parsed; it is ignored. */
  readonly err?: DoorbellError
}

/**
 * Where Home Assistant discovery remembers, across restarts, which devices it announced or withdrew.
 * Every implementation passes test/collector/store/contracts/discovery-state-store.contract.ts.
 */
export interface DiscoveryStateStore {
  /** What was saved last (nothing before the first save). */
  load(): Promise<DiscoveryStateLoad>
  /** Replaces the saved state; rejects when it cannot be written. Saves land in call order. */
  save(devices: ReadonlyMap<string, DiscoveryStatus>): Promise<void>
}
