import { isAbsolute, join } from 'node:path'
import type { PayloadInputOf } from '../../shared/protocol/messages.js'
import { buildCapturePipeline } from './capture-command.js'
import { type ClipTrigger, FfmpegClipRecorder, type RecordedClip } from './clip-recorder.js'
import { type CameraCapture, FfmpegCameraCapture } from './ffmpeg-camera-capture.js'
import { type ClipEviction, FsClipStore, type StoredClip } from './fs-clip-store.js'
import type { MediaConfig } from './media-config.js'
import { FsSegmentRing, type SegmentRingStats } from './segment-ring.js'
import { FfmpegSnapshotTaker, type Snapshot, snapshotPayloadOf } from './snapshot-taker.js'

/** Where the media service hands its results; main.ts wires these to the outbox and the logger. */
export interface MediaPorts {
  /** A JPEG for a trigger: queue it as a medium `snapshot` event, a follow-up to the alert already sent. */
  onSnapshot(payload: PayloadInputOf<'snapshot'>, snapshot: Snapshot): void
  /** A clip is stored and its upload planned: queue the low `clip.manifest`; chunks are pulled from `store`. */
  onClip(manifest: PayloadInputOf<'clip.manifest'>, clip: StoredClip): void
  /** A failure at one boundary; the service keeps running. */
  onError(err: Error, where: 'camera' | 'snapshot' | 'clip'): void
  onClipEvicted?(eviction: ClipEviction): void
}

/** Collaborators of the media service. */
export interface MediaServiceDeps {
  readonly config: MediaConfig
  /** The agent's data folder; a relative clips.dir lives under it. */
  readonly dataDir: string
  readonly ports: MediaPorts
  /** Replaces the ffmpeg camera (tests). */
  readonly camera?: CameraCapture
  /** The live view's tap port (agent/live/rtp-video-tap.ts), read at each camera (re)start. */
  readonly liveRtpPort?: () => number | undefined
}

/** Counters of the media side. */
export interface MediaStats {
  readonly ring: SegmentRingStats
  readonly clips: number
  readonly clipBytes: number
}

/** What one trigger started, for callers that want to wait (tests, the demo); the agent does not. */
export interface TriggerResult {
  readonly snapshot: Promise<Snapshot | undefined>
  readonly clip: Promise<RecordedClip | undefined>
}

/**
 * The camera side of the agent, composed: capture into the ring, snapshot and clip per trigger, bounded
 * clip store with upload plans. trigger() returns at once: a press is published before any media work
 * (notify first, enrich later), and every media failure goes to ports.onError, never to the caller.
 */
export class MediaService {
  readonly store: FsClipStore
  readonly ring: FsSegmentRing
  readonly #deps: MediaServiceDeps
  readonly #camera: CameraCapture
  readonly #recorder: FfmpegClipRecorder
  readonly #snapshots: FfmpegSnapshotTaker
  #clipInProgress: Promise<unknown> = Promise.resolve()
  readonly #clipsInProgress = new WeakMap<Promise<RecordedClip>, Promise<RecordedClip | undefined>>()

  constructor(deps: MediaServiceDeps) {
    this.#deps = deps
    const { config } = deps
    this.ring = new FsSegmentRing({
      dir: config.ring.dir,
      limits: { maxSegments: config.ring.maxSegments, maxBytes: config.ring.maxBytes },
      pollMs: config.ring.pollMs,
    })
    const clipsDir = isAbsolute(config.clips.dir) ? config.clips.dir : join(deps.dataDir, config.clips.dir)
    this.store = new FsClipStore({
      dir: clipsDir,
      maxBytes: config.clips.maxBytes,
      hardMaxBytes: config.clips.hardMaxBytes,
      chunkBytes: config.chunkBytes,
      ...(deps.ports.onClipEvicted ? { onEvicted: deps.ports.onClipEvicted } : {}),
    })
    this.#camera =
      deps.camera ??
      new FfmpegCameraCapture({
        pipeline: () => {
          const liveRtpPort = deps.liveRtpPort?.()
          return buildCapturePipeline(config, {
            segmentStartNumber: this.ring.nextIndex(),
            ...(liveRtpPort === undefined ? {} : { liveRtpPort }),
          })
        },
        events: { onFailure: (err) => deps.ports.onError(err, 'camera') },
        niceness: config.childNiceness,
      })
    this.#recorder = new FfmpegClipRecorder({
      ring: this.ring,
      outputDir: clipsDir,
      prerollMs: config.prerollMs,
      postrollMs: config.postrollMs,
      segmentMs: config.ring.segmentMs,
      ffmpegPath: config.ffmpegPath,
      ffprobePath: config.ffprobePath,
      niceness: config.childNiceness,
    })
    this.#snapshots = new FfmpegSnapshotTaker({
      ring: this.ring,
      maxBytes: config.snapshot.maxBytes,
      quality: config.snapshot.quality,
      maxAgeMs: 2 * config.ring.segmentMs + 1000,
      waitForSegmentMs: 2 * config.ring.segmentMs + 1000,
      ffmpegPath: config.ffmpegPath,
      niceness: config.childNiceness,
    })
  }

  /** Opens the clip store (resuming upload plans) and starts the camera into the ring. */
  async start(): Promise<void> {
    await this.store.open()
    if (!this.#deps.config.enabled) return
    this.ring.start()
    this.#camera.start()
  }

  /**
   * Stops the camera, finishes a clip still being collected with what was recorded (so a press just
   * before shutdown keeps its clip), then empties the ring; stored clips stay for upload.
   */
  async stop(): Promise<void> {
    await this.#camera.stop()
    this.ring.poll() // adopt the segment ffmpeg closed on SIGTERM
    await this.#recorder.flush()
    await this.#clipInProgress
    this.ring.stop()
  }

  /** Counters for the health reading and logs. */
  stats(): MediaStats {
    return { ring: this.ring.stats(), clips: this.store.list().length, clipBytes: this.store.totalBytes() }
  }

  /** A snapshot alone (the collector's `snapshot` command): handed to ports.onSnapshot, never throws. */
  snapshot(relatesTo?: string): Promise<Snapshot | undefined> {
    const { ports } = this.#deps
    if (!this.#deps.config.enabled) return Promise.resolve(undefined)
    return this.#snapshots.take().then(
      (shot) => {
        ports.onSnapshot(snapshotPayloadOf(shot.jpeg, relatesTo), shot)
        return shot
      },
      (err: Error) => {
        ports.onError(err, 'snapshot')
        return undefined
      },
    )
  }

  /** Starts a snapshot and a clip for a press or motion at trigger.atMs; returns without waiting. */
  trigger(trigger: ClipTrigger): TriggerResult {
    const { ports } = this.#deps
    if (!this.#deps.config.enabled)
      return { snapshot: Promise.resolve(undefined), clip: Promise.resolve(undefined) }
    const snapshot = this.snapshot(trigger.relatesTo)
    // A trigger during a clip's collection joins it (same promise): store and announce it once.
    const recording = this.#recorder.record(trigger)
    let clip = this.#clipsInProgress.get(recording)
    if (!clip) {
      clip = recording
        .then(async (recorded) => {
          const added = await this.store.add(recorded)
          if (added) ports.onClip(added.manifest, added.stored)
          return recorded
        })
        .catch((err: Error) => {
          ports.onError(err, 'clip')
          return undefined
        })
      this.#clipsInProgress.set(recording, clip)
      this.#clipInProgress = clip
    }
    return { snapshot, clip }
  }
}
