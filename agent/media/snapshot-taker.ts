import { createHash } from 'node:crypto'
import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { DoorbellError } from '../../shared/errors.js'
import { newEventId } from '../../shared/protocol/ids.js'
import type { PayloadInputOf } from '../../shared/protocol/messages.js'
import { ffmpegRunArgs, runProcess } from './run-process.js'
import type { FsSegmentRing, Segment } from './segment-ring.js'

/** A JPEG taken from the camera. */
export interface Snapshot {
  readonly jpeg: Buffer
  /** Approximate wall-clock time of the frame: the end of the segment it came from. */
  readonly capturedAtMs: number
  /** The mjpeg quality and width that made it fit. */
  readonly quality: number
  readonly widthPx: number | undefined
}

/** Collaborators of the snapshot taker. */
export interface SnapshotTakerDeps {
  readonly ring: FsSegmentRing
  readonly maxBytes: number
  /** Starting mjpeg quality (2 best .. 31); raised until the JPEG fits. */
  readonly quality: number
  /** How long to wait for a segment when the ring is empty or its newest segment is stale. */
  readonly waitForSegmentMs?: number
  /** A newest segment older than this (the camera stalled) is not used; a fresh one is awaited. */
  readonly maxAgeMs?: number
  readonly nowMs?: () => number
  readonly ffmpegPath?: string
  /** Nice value of the ffmpeg runs (media.childNiceness); 0 or absent leaves them as the agent's. */
  readonly niceness?: number
}

const maxAttempts = 6

/**
 * Takes a JPEG from the newest closed ring segment (its last frame, at most one segment old), so a
 * snapshot costs one short decode and no second camera client. Quality and then width are lowered until
 * it fits maxBytes (the protocol's maxSnapshotImageBytes).
 */
export class FfmpegSnapshotTaker {
  readonly #deps: SnapshotTakerDeps

  constructor(deps: SnapshotTakerDeps) {
    this.#deps = deps
  }

  /** Takes one snapshot; throws CAMERA_FAILED when no segment exists or no size fits. */
  async take(): Promise<Snapshot> {
    const segment = await this.#newestSegment()
    const { ring } = this.#deps
    ring.pin(segment)
    try {
      let quality = this.#deps.quality
      let widthPx: number | undefined
      for (let attempt = 0; attempt < maxAttempts; attempt += 1) {
        const jpeg = await this.#grab(segment, quality, widthPx)
        if (jpeg.length <= this.#deps.maxBytes)
          return { jpeg, capturedAtMs: segment.endedAtMs, quality, widthPx }
        // Too big: coarser quantiser first (cheap, keeps detail), then half the width.
        if (quality < 20) quality = Math.min(31, quality + 8)
        else widthPx = Math.max(160, Math.floor((widthPx ?? jpegWidthPx(jpeg) ?? 640) / 2 / 2) * 2)
      }
      throw new DoorbellError('CAMERA_FAILED', `no snapshot fits ${this.#deps.maxBytes} bytes`)
    } finally {
      ring.unpin(segment)
    }
  }

  async #newestSegment(): Promise<Segment> {
    const { ring } = this.#deps
    const latest = ring.latest()
    const nowMs = (this.#deps.nowMs ?? Date.now)()
    if (latest && (this.#deps.maxAgeMs === undefined || nowMs - latest.endedAtMs <= this.#deps.maxAgeMs))
      return latest
    const waitMs = this.#deps.waitForSegmentMs ?? 3000
    return await new Promise<Segment>((resolve, reject) => {
      const timer = setTimeout(() => {
        unsubscribe()
        reject(new DoorbellError('CAMERA_FAILED', `no video segment within ${waitMs} ms`))
      }, waitMs)
      const unsubscribe = ring.onSegment((segment) => {
        clearTimeout(timer)
        unsubscribe()
        resolve(segment)
      })
    })
  }

  async #grab(segment: Segment, quality: number, widthPx: number | undefined): Promise<Buffer> {
    const out = join(this.#deps.ring.dir, `snap-${newEventId()}.jpg`)
    try {
      // -update 1 keeps overwriting one image, so the file ends holding the segment's last frame.
      await runProcess(
        this.#deps.ffmpegPath ?? 'ffmpeg',
        [
          ...ffmpegRunArgs,
          '-i',
          segment.path,
          '-an',
          ...(widthPx ? ['-vf', `scale=${widthPx}:-2`] : []),
          '-q:v',
          String(quality),
          '-update',
          '1',
          '-f',
          'image2',
          out,
        ],
        { timeoutMs: 10_000, niceness: this.#deps.niceness ?? 0 },
      )
      return readFileSync(out)
    } catch (err) {
      throw new DoorbellError('CAMERA_FAILED', `snapshot: ${(err as Error).message}`, { cause: err })
    } finally {
      rmSync(out, { force: true })
    }
  }
}

/** Reads a JPEG's width from its start-of-frame marker. */
export function jpegWidthPx(jpeg: Buffer): number | undefined {
  let offset = 2
  while (offset + 9 < jpeg.length) {
    if (jpeg[offset] !== 0xff) return undefined
    const marker = jpeg[offset + 1] as number
    const length = jpeg.readUInt16BE(offset + 2)
    if (marker >= 0xc0 && marker <= 0xc3) return jpeg.readUInt16BE(offset + 7)
    offset += 2 + length
  }
  return undefined
}

/** The protocol's snapshot payload for a JPEG, to send as a follow-up to the alert (notify first). */
export function snapshotPayloadOf(jpeg: Buffer, relatesTo?: string): PayloadInputOf<'snapshot'> {
  return {
    ...(relatesTo ? { relatesTo } : {}),
    contentType: 'image/jpeg',
    bytes: jpeg.length,
    sha256: createHash('sha256').update(jpeg).digest('hex'),
    data: jpeg.toString('base64'),
  }
}
