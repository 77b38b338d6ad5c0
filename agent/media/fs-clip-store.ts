import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { isDoorbellError } from '../../shared/errors.js'
import { ulidCharsSource, ulidPattern } from '../../shared/protocol/ids.js'
import type { PayloadInputOf } from '../../shared/protocol/messages.js'
import { clipManifestPayloadOf, describeClipFile } from './clip-chunker.js'
import type { RecordedClip } from './clip-recorder.js'
import { ClipUploadState } from './clip-upload-state.js'

/** A clip held on the Pi and its upload plan. */
export interface StoredClip {
  readonly clipId: string
  readonly path: string
  readonly bytes: number
  readonly upload: ClipUploadState
}

/** Why a clip left the store. */
export interface ClipEviction {
  readonly clipId: string
  readonly bytes: number
  /** False when the hard bound forced out a clip whose upload had not finished: data lost, count it. */
  readonly wasUploaded: boolean
  /** Whether the collector had verified the whole clip (`clip.verified`); only then is it surely safe. */
  readonly wasVerified: boolean
}

/** Collaborators and bounds of the store. */
export interface FsClipStoreDeps {
  readonly dir: string
  /** Soft bound: above it, fully uploaded clips are evicted, verified ones first, oldest first. */
  readonly maxBytes: number
  /** Hard bound: above it, the oldest clip goes even mid-upload. */
  readonly hardMaxBytes: number
  readonly chunkBytes: number
  readonly onEvicted?: (eviction: ClipEviction) => void
}

const clipFile = new RegExp(`^(${ulidCharsSource})\\.mp4$`)
const uploadStateFile = new RegExp(`^(${ulidCharsSource})\\.upload\\.json$`)

/**
 * Finished clips on the Pi's disk, bounded in bytes. Eviction takes the oldest uploaded clip the
 * collector has verified first, then the oldest uploaded but unverified one (every chunk acked, but the
 * collector may still find the whole file bad and ask for it again: `clip.resend`); a clip still
 * uploading stays while the total is under hardMaxBytes, above it the oldest clip goes whatever its state
 * (a full SD card would stop everything else the agent stores).
 */
export class FsClipStore {
  readonly dir: string
  readonly #deps: FsClipStoreDeps
  /** Clips by id; ULIDs sort by start time, so sorted keys are oldest first. */
  readonly #clips = new Map<string, StoredClip>()

  constructor(deps: FsClipStoreDeps) {
    this.#deps = deps
    this.dir = deps.dir
  }

  /** Creates the folder, drops half-written files, and reloads every clip and its upload plan. */
  async open(): Promise<void> {
    mkdirSync(this.dir, { recursive: true })
    for (const name of readdirSync(this.dir)) {
      const path = join(this.dir, name)
      if (name.endsWith('.part.mp4') || name.endsWith('.tmp')) {
        rmSync(path, { force: true })
        continue
      }
      const match = clipFile.exec(name)
      if (!match?.[1]) continue
      const clipId = match[1]
      const statePath = ClipUploadState.pathFor(path)
      let upload: ClipUploadState
      try {
        upload = await ClipUploadState.open(statePath)
      } catch (err) {
        if (!isDoorbellError(err, 'CLIP_STATE_INVALID')) throw err
        // Lost or torn state: plan the upload again from chunk 0 (the collector deduplicates).
        upload = await ClipUploadState.create(
          statePath,
          clipId,
          await describeClipFile(path, this.#deps.chunkBytes),
        )
      }
      this.#clips.set(clipId, { clipId, path, bytes: statSync(path).size, upload })
    }
    for (const name of readdirSync(this.dir)) {
      const match = uploadStateFile.exec(name)
      if (match?.[1] && !this.#clips.has(match[1])) rmSync(join(this.dir, name), { force: true })
    }
    this.enforceBounds()
  }

  /**
   * Adopts a clip the recorder wrote into this folder: hashes it, plans its upload, enforces the bounds.
   * Returns the manifest payload to queue (low class), or undefined if the clip alone broke the hard bound.
   */
  async add(
    clip: RecordedClip,
  ): Promise<{ stored: StoredClip; manifest: PayloadInputOf<'clip.manifest'> } | undefined> {
    if (!ulidPattern.test(clip.clipId)) throw new RangeError(`not a clip id: ${clip.clipId}`)
    const description = await describeClipFile(clip.path, this.#deps.chunkBytes)
    const manifest = clipManifestPayloadOf(clip, description)
    const upload = await ClipUploadState.create(
      ClipUploadState.pathFor(clip.path),
      clip.clipId,
      description,
      {
        manifest,
      },
    )
    const stored: StoredClip = { clipId: clip.clipId, path: clip.path, bytes: description.bytes, upload }
    this.#clips.set(clip.clipId, stored)
    this.enforceBounds()
    if (!this.#clips.has(clip.clipId)) return undefined
    return { stored, manifest }
  }

  /** The held clips, oldest first (the uplink uploads in this order). */
  list(): StoredClip[] {
    return [...this.#clips.keys()].sort().map((id) => this.#clips.get(id) as StoredClip)
  }

  get(clipId: string): StoredClip | undefined {
    return this.#clips.get(clipId)
  }

  /** Bytes of all held clips. */
  totalBytes(): number {
    let total = 0
    for (const clip of this.#clips.values()) total += clip.bytes
    return total
  }

  /** Applies the bounds; call after an upload completes so uploaded clips can go. */
  enforceBounds(): void {
    const { maxBytes, hardMaxBytes } = this.#deps
    let total = this.totalBytes()
    // Unverified clips last: a verification lost on the way (a collector restart while the device was
    // offline) must not pin clips for ever, so they are still evicted, but only after every verified one.
    for (const isVerified of [true, false]) {
      for (const clip of this.list()) {
        if (total <= maxBytes) return
        if (!clip.upload.isComplete || clip.upload.isVerified !== isVerified) continue
        this.#evict(clip, true)
        total -= clip.bytes
      }
    }
    for (const clip of this.list()) {
      if (total <= hardMaxBytes) return
      this.#evict(clip, clip.upload.isComplete)
      total -= clip.bytes
    }
  }

  /** Removes a clip and its plan (e.g. a failed upload the integrator gives up on). */
  remove(clipId: string): void {
    const clip = this.#clips.get(clipId)
    if (clip) this.#evict(clip, clip.upload.isComplete, false)
  }

  #evict(clip: StoredClip, wasUploaded: boolean, shouldReport = true): void {
    this.#clips.delete(clip.clipId)
    rmSync(clip.path, { force: true })
    rmSync(clip.upload.path, { force: true })
    if (shouldReport) {
      const wasVerified = clip.upload.isVerified
      this.#deps.onEvicted?.({ clipId: clip.clipId, bytes: clip.bytes, wasUploaded, wasVerified })
    }
  }
}
