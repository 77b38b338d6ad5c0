import { z } from 'zod'
import { isValidDeviceId } from '../../shared/protocol/index.js'
import { JsonFileWriter, readCheckedJsonFile } from '../json-file.js'
import type { DiscoveryStateLoad, DiscoveryStateStore, DiscoveryStatus } from './discovery-state-store.js'

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
