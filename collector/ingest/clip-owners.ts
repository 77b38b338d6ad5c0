import type { EventStore } from '../store/event-store.js'
import type { IngestItem } from './ingest-item.js'

/** Clip owners remembered by default (clips in flight; a lookup of the record answers the rest). */
export const defaultRememberedClipOwners = 10_000

/**
 * Which device a clip id belongs to: the device of its record (the manifest that started it) or, before
 * any manifest, of its stored chunks (EventStore.findClipOwners), or else the first device in this batch. A clip id is a ULID the device
 * chose, so another device can name the same id; its manifest or chunks would otherwise land on the
 * first device's clip. Owners are remembered in a bounded map, oldest first out, so a clip streaming 50
 * chunks a second costs one record lookup, not one per chunk.
 */
export class ClipOwners {
  readonly #store: Pick<EventStore, 'findClipOwners'>
  readonly #maxRemembered: number
  readonly #owners = new Map<string, string>()

  constructor(store: Pick<EventStore, 'findClipOwners'>, maxRemembered = defaultRememberedClipOwners) {
    this.#store = store
    this.#maxRemembered = maxRemembered
  }

  /**
   * Ids of the manifests and chunks among items (skipping ids in `skip`) whose clip another device owns.
   * A clip without an owner is claimed by the first of them, in order.
   */
  async findForeign(items: readonly IngestItem[], skip: ReadonlySet<string>): Promise<Set<string>> {
    const claims: { id: string; deviceId: string; clipId: string }[] = []
    for (const item of items) {
      if (item.kind === 'chunk') {
        const { id, deviceId, payload } = item.envelope
        if (!skip.has(id)) claims.push({ id, deviceId, clipId: payload.clipId })
      } else if (item.event.type === 'clip.manifest' && !skip.has(item.event.id)) {
        claims.push({ id: item.event.id, deviceId: item.event.deviceId, clipId: item.event.payload.clipId })
      }
    }
    if (claims.length === 0) return new Set()
    const unknown = [...new Set(claims.map((c) => c.clipId))].filter((clipId) => !this.#owners.has(clipId))
    if (unknown.length > 0) {
      for (const [clipId, deviceId] of await this.#store.findClipOwners(unknown))
        this.#remember(clipId, deviceId)
    }
    const foreign = new Set<string>()
    for (const claim of claims) {
      const owner = this.#owners.get(claim.clipId)
      if (owner === undefined) this.#remember(claim.clipId, claim.deviceId)
      else if (owner !== claim.deviceId) foreign.add(claim.id)
    }
    return foreign
  }

  #remember(clipId: string, deviceId: string): void {
    this.#owners.delete(clipId)
    this.#owners.set(clipId, deviceId)
    if (this.#owners.size > this.#maxRemembered) {
      this.#owners.delete(this.#owners.keys().next().value as string)
    }
  }
}
