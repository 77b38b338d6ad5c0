import { EventEmitter } from 'node:events'
import { join } from 'node:path'
import type { DoorbellError } from '../shared/errors.js'
import { createEnvelope, type Envelope, type liveStopReasons } from '../shared/protocol/index.js'
import { type Clock, SystemClock } from './clock/clock.js'
import type { AgentConfig } from './config/agent-config.js'
import { Debouncer } from './gpio/debouncer.js'
import type { AgentHardware } from './hardware.js'
import { AgentLive } from './live/agent-live.js'
import type { LiveQuality } from './live/live-quality.js'
import { type AgentMediaDeps, AgentMediaLink, type ClipResendReport } from './media/agent-media.js'
import type { ClipUploadOutcome } from './media/clip-upload-queue.js'
import type { ClipEviction } from './media/fs-clip-store.js'
import { LevelOutboxStore } from './outbox/level-outbox-store.js'
import { Outbox, type RecordInput } from './outbox/outbox.js'
import type { OutboxStore } from './outbox/outbox-store.js'
import { ReadingBatcher } from './readings/reading-batcher.js'
import { SensorSampler } from './readings/sensor-sampler.js'
import type { Speaker } from './speaker/speaker.js'
import { createUplink } from './uplink/create-uplink.js'
import type { LowClassSource } from './uplink/low-class-source.js'
import { OutboxSender } from './uplink/outbox-sender.js'
import type { Uplink } from './uplink/uplink.js'

/** Agent version reported in health. */
export const agentVersion = '0.1.0'

/** Collaborators of the agent; everything but hardware has a default built from config. */
export interface AgentDeps {
  readonly hardware: AgentHardware
  readonly clock?: Clock
  readonly uplink?: Uplink
  readonly store?: OutboxStore
  /** Low-class media (clip chunks); a function gets the agent's outbox (see ClipUploadLowClass). */
  readonly lowClass?: LowClassSource | ((outbox: Outbox) => LowClassSource)
  /** Camera, clips and microphone (issue 5); absent: no media. Its clip upload is the low class. */
  readonly media?: AgentMediaDeps
  /** How long close() waits for in-flight events to be acked before disconnecting. */
  readonly drainTimeoutMs?: number
  /** Plays two-way talk from a live view (docs/live.md); absent: talk is not played. */
  readonly speaker?: Speaker
}

/** What the agent reports; main.ts logs it. */
export interface AgentEvents {
  /** An event was durably recorded in the outbox. */
  recorded: [envelope: Envelope]
  /** A sensor, input or store failed at its boundary; the agent keeps running. */
  fault: [where: string, error: unknown]
  armed: [isArmed: boolean]
  /** A clip left the Pi's store; wasUploaded false means it was lost to the hard bound. */
  clipEvicted: [eviction: ClipEviction]
  /** A clip's upload finished (every chunk acked) or failed for good. */
  clipDone: [outcome: ClipUploadOutcome]
  /** The collector asked for a clip again (its whole file failed the check); what the agent did. */
  clipResend: [report: ClipResendReport]
  /** A live session answered and streams (docs/live.md). */
  liveStarted: [sessionId: string]
  /** A live session stopped, or was refused. */
  liveStopped: [sessionId: string, reason: (typeof liveStopReasons)[number]]
  /** The live stream changed quality on the uplink's account. */
  liveQuality: [sessionId: string, quality: LiveQuality]
  /** A live command was malformed, stale or for another session: refused, nothing changed. */
  liveRefused: [err: DoorbellError]
}

/** A running agent, as startAgent returns it. */
export interface RunningAgent extends EventEmitter<AgentEvents> {
  readonly deviceId: string
  readonly outbox: Outbox
  readonly sender: OutboxSender
  readonly uplink: Uplink
  readonly batcher: ReadingBatcher
  /** The media side when media is wired (deps.media). */
  readonly media?: AgentMediaLink | undefined
  /** The live view side. */
  readonly live: AgentLive
  readonly isArmed: boolean
  setArmed(isArmed: boolean): void
  /** Samples every sensor now (the simulated twins' control endpoint uses it). */
  sampleNow(): Promise<void>
  /** Stops inputs, stores pending readings, waits for in-flight acks (bounded) and disconnects. */
  close(): Promise<void>
}

class Agent extends EventEmitter<AgentEvents> implements RunningAgent {
  readonly deviceId: string
  readonly outbox: Outbox
  readonly sender: OutboxSender
  readonly uplink: Uplink
  readonly batcher: ReadingBatcher
  readonly media: AgentMediaLink | undefined
  readonly live: AgentLive
  readonly #config: AgentConfig
  readonly #deps: AgentDeps
  readonly #clock: Clock
  readonly #debouncers: Debouncer[] = []
  readonly #startedAtMs: number
  #isArmed: boolean
  #sampler: SensorSampler | undefined

  constructor(config: AgentConfig, deps: AgentDeps) {
    super()
    this.#config = config
    this.#deps = deps
    this.#clock = deps.clock ?? new SystemClock()
    this.#startedAtMs = this.#clock.now()
    this.#isArmed = config.armed
    this.deviceId = config.deviceId
    this.outbox = new Outbox({
      store: deps.store ?? new LevelOutboxStore({ directory: join(config.dataDir, 'outbox') }),
      deviceId: config.deviceId,
      maxBytes: config.outbox.maxBytes,
    })
    this.uplink =
      deps.uplink ??
      createUplink(config, { clock: this.#clock, statusMessage: (state) => this.#statusMessage(state) })
    this.batcher = new ReadingBatcher({
      clock: this.#clock,
      options: config.medium,
      store: (inputs) => this.#record(inputs),
    })
    this.media = deps.media
      ? new AgentMediaLink({
          deviceId: config.deviceId,
          config: config.media,
          media: deps.media,
          outbox: this.outbox,
          batcher: this.batcher,
          clock: this.#clock,
          record: (inputs) => this.#record(inputs),
          retryDelayMs: config.outbox.retryDelayMs,
          isSent: (id) => this.sender.isPublished(id) || !this.outbox.has(id),
          // A live view uses the uplink: clip chunks wait (a press, its snapshot and alert never do).
          isUploadPaused: () => this.live.isActive,
          events: {
            fault: (where, err) => this.emit('fault', where, err),
            clipEvicted: (eviction) => this.emit('clipEvicted', eviction),
            clipDone: (outcome) => this.emit('clipDone', outcome),
            clipResend: (report) => this.emit('clipResend', report),
          },
        })
      : undefined
    const lowClass = deps.lowClass
      ? typeof deps.lowClass === 'function'
        ? deps.lowClass(this.outbox)
        : deps.lowClass
      : this.media?.lowClass
    this.sender = new OutboxSender({
      deviceId: config.deviceId,
      outbox: this.outbox,
      uplink: this.uplink,
      clock: this.#clock,
      options: {
        batchMaxItems: config.outbox.sendBatchMaxItems,
        mediumWindow: config.outbox.mediumWindow,
        ackTimeoutMs: config.outbox.ackTimeoutMs,
        retryDelayMs: config.outbox.retryDelayMs,
        lowMaxQueuedBytes: config.media.upload.maxQueuedBytes,
      },
      ...(lowClass ? { lowClass } : {}),
    })
    this.live = new AgentLive({
      deviceId: config.deviceId,
      config: config.live,
      publish: (topic, payload) => this.uplink.publish(topic, payload),
      lastSeq: () => this.outbox.lastSeq,
      tap: deps.media?.liveTap,
      microphone:
        deps.media?.microphone && config.media.microphone.enabled && this.media
          ? {
              sampleRateHz: deps.media.microphone.sampleRateHz,
              add: (sink) => this.media?.microphoneShare.add(sink),
              remove: (sink) => this.media?.microphoneShare.remove(sink),
            }
          : undefined,
      speaker: deps.speaker,
      ffmpegPath: config.media.ffmpegPath,
      now: () => this.#clock.now(),
      events: {
        started: (sessionId) => this.emit('liveStarted', sessionId),
        stopped: (sessionId, reason) => {
          this.emit('liveStopped', sessionId, reason)
          // Clip uploads waited for the live view: resume them.
          this.sender.pump()
        },
        quality: (sessionId, quality) => this.emit('liveQuality', sessionId, quality),
        refused: (err) => this.emit('liveRefused', err),
        fault: (where, err) => this.emit('fault', where, err),
      },
    })
    this.sender.on('command', (command) => this.#onCommand(command))
    // Notify first, enrich later: media work for a press starts once the press is handed to the uplink.
    this.sender.on('sent', (eventClass) => eventClass === 'high' && this.media?.releaseTriggers())
  }

  get isArmed(): boolean {
    return this.#isArmed
  }

  setArmed(isArmed: boolean): void {
    if (isArmed === this.#isArmed) return
    this.#isArmed = isArmed
    this.emit('armed', isArmed)
  }

  async start(): Promise<void> {
    await this.outbox.open()
    if (this.media) {
      // Before the uplink: the clip store must know its plans when the first acks arrive.
      await this.media.start().catch((err) => this.emit('fault', 'media', err))
    }
    this.uplink.start()
    const { hardware } = this.#deps
    await this.#watch('button', hardware.button, this.#config.gpio.button.debounceMs, (atMs) => {
      void this.#recordHigh({ type: 'button.press', payload: { button: 'front' }, capturedAtMs: atMs })
    })
    await this.#watch('motion', hardware.motion, this.#config.gpio.motion.debounceMs, (atMs) => {
      if (this.#isArmed) {
        void this.#recordHigh({
          type: 'motion',
          payload: { armed: true },
          capturedAtMs: atMs,
          eventClass: 'high',
        })
      } else {
        this.batcher.add({
          type: 'motion',
          payload: { armed: false },
          capturedAtMs: atMs,
          eventClass: 'medium',
        })
      }
    })
    this.#sampler = new SensorSampler({
      clock: this.#clock,
      batcher: this.batcher,
      hardware,
      config: this.#config,
      healthStatus: () => {
        const depth = this.outbox.depth()
        return {
          uptimeS: Math.round((this.#clock.now() - this.#startedAtMs) / 1000),
          version: agentVersion,
          outbox: depth.count,
          outboxBytes: depth.totalBytes,
          ...mediaHealth(this.media),
        }
      },
      onError: (name, err) => this.emit('fault', name, err),
    })
    this.#sampler.start()
  }

  async sampleNow(): Promise<void> {
    await this.#sampler?.sampleNow()
  }

  async close(): Promise<void> {
    await this.#sampler?.stop()
    for (const debouncer of this.#debouncers) debouncer.close()
    await Promise.all([this.#deps.hardware.button.close(), this.#deps.hardware.motion.close()])
    await this.live.close().catch((err) => this.emit('fault', 'live', err))
    await this.media?.stop().catch((err) => this.emit('fault', 'media', err))
    await this.batcher.close()
    const deadlineMs = Date.now() + (this.#deps.drainTimeoutMs ?? 3_000)
    while (this.sender.inflightCount > 0 && this.uplink.isOnline && Date.now() < deadlineMs) {
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    this.sender.close()
    await this.uplink.close()
    await this.outbox.close()
    await this.#deps.hardware.close?.()
  }

  async #watch(
    _name: string,
    input: AgentHardware['button'],
    debounceMs: number,
    onActive: (atMs: number) => void,
  ): Promise<void> {
    const debouncer = new Debouncer({
      clock: this.#clock,
      debounceMs,
      onChange: (isActive, atMs) => {
        if (isActive) onActive(atMs)
      },
    })
    this.#debouncers.push(debouncer)
    // An input that cannot be watched is fatal: a doorbell without its button must not look healthy.
    await input.start((isActive, atMs) => debouncer.input(isActive, atMs))
  }

  /** A press or an armed motion: one fsync'd outbox write, then the sender publishes it at once. */
  async #recordHigh(input: RecordInput): Promise<void> {
    try {
      await this.#record([input])
    } catch (err) {
      this.emit('fault', 'outbox', err)
    }
  }

  async #record(inputs: readonly RecordInput[]): Promise<void> {
    const envelopes = await this.outbox.record(inputs)
    for (const envelope of envelopes) {
      this.emit('recorded', envelope)
      if (envelope.class === 'high') this.media?.trigger(Date.parse(envelope.capturedAt), envelope.id)
    }
  }

  #onCommand(command: Envelope<'command'>): void {
    const name = command.payload.name
    if (name === 'arm' || name === 'disarm') this.setArmed(name === 'arm')
    else if (name === 'ping') void this.#sampler?.reportHealth()
    else if (name === 'snapshot') this.media?.snapshot()
    else if (name === 'live.start' || name === 'live.stop') void this.live.command(command)
    else if (name === 'clip.resend' || name === 'clip.verified') {
      // The chunks queued again go out through the low lane, which runs only while nothing higher waits.
      void this.media?.clipCommand(command.payload).then(() => this.sender.pump())
    }
  }

  #statusMessage(state: 'online' | 'offline'): Buffer {
    const envelope = createEnvelope({
      deviceId: this.deviceId,
      // Presence is not an event: it carries the latest seq without taking a new one.
      seq: this.outbox.lastSeq,
      type: 'status',
      payload: { state },
      capturedAtMs: this.#clock.now(),
    })
    return Buffer.from(JSON.stringify(envelope))
  }
}

/** The health reading's media counters, when media runs. */
function mediaHealth(media: AgentMediaLink | undefined): {
  media?: { clips: number; clipBytes: number; segments: number }
} {
  const stats = media?.stats()
  return stats
    ? { media: { clips: stats.clips, clipBytes: stats.clipBytes, segments: stats.ring.segments } }
    : {}
}

/** Starts the agent: opens the outbox, connects, watches inputs and polls sensors. */
export async function startAgent(config: AgentConfig, deps: AgentDeps): Promise<RunningAgent> {
  const agent = new Agent(config, deps)
  try {
    await agent.start()
  } catch (err) {
    await agent.close().catch(() => undefined)
    throw err
  }
  return agent
}
