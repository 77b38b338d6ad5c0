import type { EventStore } from '../store/event-store.js'
import type { QueueEntry } from './ingest-item.js'

/**
 * The greatest stored event id per device. A device's ids are ULIDs from a monotonic factory, so a new
 * event sorts above everything the device stored before and needs no lookup; only ids at or below it
 * (resends after a reconnect, or after the agent's clock stepped back) are looked up in the store.
 */
export class NewestStoredIds {
  readonly #store: Pick<EventStore, 'latestEventId'>
  readonly #byDevice = new Map<string, string>()

  constructor(store: Pick<EventStore, 'latestEventId'>) {
    this.#store = store
  }

  /** Reads the greatest stored id of the devices not seen since start; unknown stays unknown on error. */
  async learn(entries: readonly QueueEntry[]): Promise<void> {
    const unknown = new Set<string>()
    for (const entry of entries) {
      if ('item' in entry && entry.item.kind === 'event' && !this.#byDevice.has(entry.item.event.deviceId)) {
        unknown.add(entry.item.event.deviceId)
      }
    }
    await Promise.all(
      [...unknown].map((deviceId) =>
        this.#store.latestEventId(deviceId).then(
          (id) => this.raise(deviceId, id),
          () => {},
        ),
      ),
    )
  }

  /** Records a stored id of the device. */
  raise(deviceId: string, id: string): void {
    const current = this.#byDevice.get(deviceId)
    if (current === undefined || id > current) this.#byDevice.set(deviceId, id)
  }

  /** False only when the id is above everything its device stored, so it cannot be a duplicate. */
  mayBeStored(deviceId: string, id: string): boolean {
    const max = this.#byDevice.get(deviceId)
    return max === undefined || id <= max
  }
}
