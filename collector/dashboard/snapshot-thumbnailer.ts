import sharp from 'sharp'
import { ConcurrencyGate } from '../broker/concurrency-gate.js'
import type { DashboardConfig } from './dashboard-config.js'

/** What asking for a thumbnail gave. */
export type ThumbnailResult =
  | { readonly kind: 'made' | 'cached'; readonly jpeg: Buffer }
  /** Too many thumbnails are being made or waiting; ask again shortly. */
  | { readonly kind: 'busy' }
  /** The snapshot is not an image sharp can decode within the limits (a device sent garbage). */
  | { readonly kind: 'undecodable'; readonly err: Error }

/**
 * Small JPEGs of snapshots for the timeline, made with sharp (libvips) on demand and kept in a bounded
 * LRU. A camera snapshot is up to 192 KiB; a 320 px thumbnail of it is about a tenth of that, which is
 * what a phone fetches per row (docs/dashboard.md has the measurement). libvips decodes a JPEG at 1/2,
 * 1/4 or 1/8 scale when the target is small enough, so a thumbnail costs a few milliseconds.
 */
export class SharpSnapshotThumbnailer {
  readonly #options: DashboardConfig['thumbnails']
  readonly #gate: ConcurrencyGate
  readonly #cache = new Map<string, Buffer>()
  readonly #inFlight = new Map<string, Promise<ThumbnailResult>>()
  #cachedBytes = 0

  constructor(options: DashboardConfig['thumbnails']) {
    this.#options = options
    this.#gate = new ConcurrencyGate(options.maxRunning, options.maxWaiting)
    // Our own cache holds the results; libvips' operation cache would keep decoded images on top of it.
    sharp.cache(false)
    sharp.concurrency(1)
  }

  /** Bytes of thumbnails held in memory. */
  get cachedBytes(): number {
    return this.#cachedBytes
  }

  /** The thumbnail of snapshot `snapshotId`, whose JPEG `readJpeg` gives when it must be made. */
  async thumbnail(snapshotId: string, readJpeg: () => Buffer): Promise<ThumbnailResult> {
    const cached = this.#cache.get(snapshotId)
    if (cached) {
      this.#cache.delete(snapshotId)
      this.#cache.set(snapshotId, cached)
      return { kind: 'cached', jpeg: cached }
    }
    // Two tabs (or a reload) asking at once share one resize.
    const pending = this.#inFlight.get(snapshotId)
    if (pending) return await pending
    const made = this.#make(snapshotId, readJpeg).finally(() => this.#inFlight.delete(snapshotId))
    this.#inFlight.set(snapshotId, made)
    return await made
  }

  async #make(snapshotId: string, readJpeg: () => Buffer): Promise<ThumbnailResult> {
    const result = await this.#gate.run(() => this.#resize(readJpeg()))
    if (!result) return { kind: 'busy' }
    if (result.kind === 'made') this.#remember(snapshotId, result.jpeg)
    return result
  }

  async #resize(input: Buffer): Promise<ThumbnailResult> {
    const side = this.#options.maxSidePx
    try {
      const jpeg = await sharp(input, { limitInputPixels: this.#options.maxInputPixels, failOn: 'error' })
        .rotate()
        .resize({ width: side, height: side, fit: 'inside', withoutEnlargement: true })
        .jpeg({ quality: this.#options.quality })
        .toBuffer()
      return { kind: 'made', jpeg }
    } catch (err) {
      return { kind: 'undecodable', err: err as Error }
    }
  }

  #remember(snapshotId: string, jpeg: Buffer): void {
    if (jpeg.length > this.#options.cacheBytes) return
    this.#cache.set(snapshotId, jpeg)
    this.#cachedBytes += jpeg.length
    for (const [id, old] of this.#cache) {
      if (this.#cachedBytes <= this.#options.cacheBytes) break
      this.#cache.delete(id)
      this.#cachedBytes -= old.length
    }
  }
}
