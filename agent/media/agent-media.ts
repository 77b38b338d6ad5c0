import { clipResendArgs, clipVerifiedArgs, type PayloadOf } from '../../shared/protocol/index.js'
import type { Microphone } from '../audio/microphone.js'
import { PcmFanout } from '../audio/pcm-fanout.js'
import { SoundLevelMonitor } from '../audio/sound-level-monitor.js'
import type { Clock, TimerHandle } from '../clock/clock.js'
import type { RtpVideoTap } from '../live/rtp-video-tap.js'
import type { Outbox, RecordInput } from '../outbox/outbox.js'
import type { ReadingBatcher } from '../readings/reading-batcher.js'
import { ClipUploadLowClass } from '../uplink/clip-upload-low-class.js'
import type { RecordedClip } from './clip-recorder.js'
import { type ClipUploadOutcome, ClipUploadQueue } from './clip-upload-queue.js'
import type { ClipEviction, StoredClip } from './fs-clip-store.js'
import type { MediaConfig } from './media-config.js'
import type { MediaPorts, MediaService, MediaStats } from './media-service.js'

/** How the agent gets its media: a factory (the service needs ports wired to the agent) and a microphone. */
export interface AgentMediaDeps {
  /** Builds the media service around the ports the agent supplies. */
  readonly service: (ports: MediaPorts) => MediaService
  /** The microphone whose levels become `sound.level` readings; absent or disabled: none. */
  readonly microphone?: Microphone
  /** Where the camera pipeline also sends its video for live views; absent: live view has no video. */
  readonly liveTap?: RtpVideoTap
}

/**
 * What the agent did with a `clip.resend`: `resending` (every chunk queued again), `duplicate` (that attempt
 * was already acted on), `unavailable` (the clip is gone: a `clip.unavailable` event answers), `ignored`
 * (media is not running, so the store cannot tell; the collector asks again on the next connect).
 */
export interface ClipResendReport {
  readonly clipId: string
  readonly attempt: number
  readonly outcome: 'resending' | 'duplicate' | 'unavailable' | 'ignored'
}

/** What the media link reports; the agent forwards it, main.ts logs. */
export interface AgentMediaEvents {
  fault(where: string, err: unknown): void
  clipEvicted(eviction: ClipEviction): void
  clipDone(outcome: ClipUploadOutcome): void
  clipResend(report: ClipResendReport): void
}

/** Collaborators of the link. */
export interface AgentMediaLinkDeps {
  readonly deviceId: string
  readonly config: MediaConfig
  readonly media: AgentMediaDeps
  readonly outbox: Outbox
  readonly batcher: ReadingBatcher
  readonly clock: Clock
  /** Records events (one outbox write); failures are the caller's to report. */
  readonly record: (inputs: readonly RecordInput[]) => Promise<void>
  readonly events: AgentMediaEvents
  /** Whether high event `id` has already been handed to the uplink (or acked). */
  readonly isSent: (id: string) => boolean
  /** Pause of the clip upload after the collector refused a chunk for now (outbox.retryDelayMs). */
  readonly retryDelayMs: number
  /** Longest a trigger waits for its press to be published before the media work starts anyway. */
  readonly triggerDelayMaxMs?: number
  /** While true (a live view uses the uplink) no clip chunk is sent. */
  readonly isUploadPaused?: () => boolean
}

/**
 * The media side wired into the agent: a press or armed motion triggers a snapshot (medium
 * `snapshot` with relatesTo) and a clip (low `clip.manifest`, then chunks through the sender's low-class
 * seam, paced); the microphone's levels become `sound.level` readings. Notify first, enrich later: a
 * trigger starts only once its press has been handed to the uplink (or after triggerDelayMaxMs when
 * offline), so spawning ffmpeg never sits between a press and its publish.
 */
export class AgentMediaLink {
  readonly service: MediaService
  readonly uploads: ClipUploadQueue
  readonly lowClass: ClipUploadLowClass
  /** The microphone's PCM, shared by the sound-level monitor and a live session's encoder. */
  readonly microphoneShare = new PcmFanout()
  /** `clip.resend` commands by what was done with them. */
  readonly resendCounts: Record<ClipResendReport['outcome'], number> = {
    resending: 0,
    duplicate: 0,
    unavailable: 0,
    ignored: 0,
  }
  readonly #deps: AgentMediaLinkDeps
  readonly #pending: { atMs: number; relatesTo: string }[] = []
  #timer: TimerHandle | undefined
  #isStarted = false

  constructor(deps: AgentMediaLinkDeps) {
    this.#deps = deps
    const { events } = deps
    this.service = deps.media.service({
      onSnapshot: (payload) =>
        this.#record({ type: 'snapshot', payload, capturedAtMs: deps.clock.now(), eventClass: 'medium' }),
      onClip: (manifest) =>
        this.#record({ type: 'clip.manifest', payload: manifest, capturedAtMs: deps.clock.now() }),
      onError: (err, where) => events.fault(`media.${where}`, err),
      onClipEvicted: (eviction) => events.clipEvicted(eviction),
    })
    this.uploads = new ClipUploadQueue({
      store: this.service.store,
      maxInFlightChunks: deps.config.upload.maxInFlightChunks,
      maxInFlightBytes: deps.config.upload.maxInFlightBytes,
      onClipDone: (done) => events.clipDone(done),
    })
    this.lowClass = new ClipUploadLowClass({
      deviceId: deps.deviceId,
      uploads: this.uploads,
      outbox: deps.outbox,
      minIntervalMs: 1000 / deps.config.upload.maxChunksPerS,
      retryDelayMs: deps.retryDelayMs,
      ...(deps.isUploadPaused ? { isPaused: deps.isUploadPaused } : {}),
    })
  }

  /** Opens the clip store (resuming uploads), starts the camera and the microphone. */
  async start(): Promise<void> {
    // Bound before the camera starts: the pipeline is told the tap's port.
    await this.#deps.media.liveTap?.open()
    await this.service.start()
    this.#isStarted = true
    const { config, media, events } = this.#deps
    if (media.microphone && config.microphone.enabled) {
      const mic = config.microphone
      media.microphone.start(this.microphoneShare)
      this.microphoneShare.add(
        new SoundLevelMonitor({
          sampleRateHz: media.microphone.sampleRateHz,
          windowMs: mic.windowMs,
          loudDbfs: mic.loudDbfs,
          loudCooldownMs: mic.loudCooldownMs,
          reportIntervalMs: mic.reportIntervalMs,
          onReading: (r) =>
            this.#deps.batcher.add({ type: 'sound.level', payload: r.payload, capturedAtMs: r.capturedAtMs }),
          onError: (err) => events.fault('microphone', err),
        }),
      )
    }
  }

  /** A press or armed motion was recorded: queue its snapshot and clip until the press is on its way. */
  trigger(atMs: number, relatesTo: string): void {
    if (!this.#isStarted || !this.#deps.config.enabled) return
    if (this.#deps.isSent(relatesTo)) {
      this.service.trigger({ atMs, relatesTo })
      return
    }
    this.#pending.push({ atMs, relatesTo })
    this.#timer ??= this.#deps.clock.setTimeout(
      () => this.releaseTriggers(),
      this.#deps.triggerDelayMaxMs ?? 200,
    )
  }

  /** High events were handed to the uplink (or the wait ran out): start the queued media work now. */
  releaseTriggers(): void {
    this.#deps.clock.clearTimeout(this.#timer)
    this.#timer = undefined
    for (const t of this.#pending.splice(0)) this.service.trigger(t)
  }

  /**
   * Stores a finished clip file (already in the clip folder as `<clipId>.mp4`) and records its manifest:
   * what a trigger does once its clip is assembled; tests and the benchmark use it with their own file.
   */
  async enqueueClip(clip: RecordedClip): Promise<StoredClip | undefined> {
    const added = await this.service.store.add(clip)
    if (!added) return undefined
    await this.#deps.record([
      { type: 'clip.manifest', payload: added.manifest, capturedAtMs: this.#deps.clock.now() },
    ])
    return added.stored
  }

  /** The collector's `snapshot` command. */
  snapshot(): void {
    if (this.#isStarted) void this.service.snapshot()
  }

  /**
   * The collector's clip commands. `clip.resend`: upload the clip again (the caller pumps the sender), or
   * answer `clip.unavailable` when it is gone. `clip.verified`: the clip may now be evicted. Never throws.
   */
  async clipCommand(command: PayloadOf<'command'>): Promise<void> {
    try {
      if (command.name === 'clip.verified') {
        if (this.#isStarted) await this.uploads.handleVerified(clipVerifiedArgs.parse(command.args).clipId)
      } else if (command.name === 'clip.resend') {
        const { clipId, attempt } = clipResendArgs.parse(command.args)
        const outcome = await this.#resend(clipId, attempt)
        this.resendCounts[outcome] += 1
        this.#deps.events.clipResend({ clipId, attempt, outcome })
      }
    } catch (err) {
      this.#deps.events.fault('media.resend', err)
    }
  }

  async #resend(clipId: string, attempt: number): Promise<ClipResendReport['outcome']> {
    if (!this.#isStarted) return 'ignored'
    const result = await this.uploads.handleResend(clipId, attempt)
    if (result !== 'missing') return result
    // A recorded event, kept until acked: the answer survives a reconnect, and the collector stops asking.
    await this.#deps.record([
      { type: 'clip.unavailable', payload: { clipId, attempt }, capturedAtMs: this.#deps.clock.now() },
    ])
    return 'unavailable'
  }

  /** Counters for the health reading. */
  stats(): MediaStats | undefined {
    return this.#isStarted ? this.service.stats() : undefined
  }

  /** Stops the microphone and the camera; a clip being collected is finished with what was recorded. */
  async stop(): Promise<void> {
    this.releaseTriggers()
    await this.#deps.media.microphone?.stop()
    if (this.#isStarted) await this.service.stop()
    this.#deps.media.liveTap?.close()
    this.#isStarted = false
  }

  #record(input: RecordInput): void {
    this.#deps.record([input]).catch((err) => this.#deps.events.fault('outbox', err))
  }
}
