import { z } from 'zod'
import type { DoorbellError } from '../../shared/errors.js'
import { isValidDeviceId } from '../../shared/protocol/index.js'
import { JsonFileWriter, readCheckedJsonFile } from '../json-file.js'

/**
 * What Home Assistant was last told about a device: `announced` (its discovery configs were published)
 * or `withdrawn` (empty configs were published because the device left the registry's enabled set).
 */
export type DiscoveryStatus = 'announced' | 'withdrawn'

/** On-disk shape, version 1: `{version, devices: [{deviceId, status}...]}`. */
const fileSchema = z.strictObject({
  version: z.literal(1),
  devices: z.array(
    z.strictObject({
      deviceId: z.string().refine(isValidDeviceId, 'expected a device id'),
      status: z.enum(['announced', 'withdrawn']),
    }),
  ),
})

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

/**
 * The discovery state in one JSON file (`<dataDir>/alerts/home-assistant-discovery.json`), rewritten
 * atomically like the other alert files. An invalid file never stops the collector: load() returns no
 * devices and the error, and the next save replaces the file.
 */
export class FileDiscoveryStateStore implements DiscoveryStateStore {
  readonly path: string
  readonly #writer: JsonFileWriter

  constructor(path: string) {
    this.path = path
    this.#writer = new JsonFileWriter(path)
  }

  async load(): Promise<DiscoveryStateLoad> {
    const { value, err } = await readCheckedJsonFile(this.path, fileSchema, 'DISCOVERY_STATE_INVALID')
    const devices = new Map(value?.devices.map((d) => [d.deviceId, d.status]))
    return err ? { devices, err } : { devices }
  }

  save(devices: ReadonlyMap<string, DiscoveryStatus>): Promise<void> {
    const sorted = [...devices].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return this.#writer.write({
      version: 1,
      devices: sorted.map(([deviceId, status]) => ({ deviceId, status })),
    })
  }
}
