import { DoorbellError, isDoorbellError } from '../../shared/errors.js'
import {
  createEnvelope,
  type Envelope,
  liveStartArgs,
  liveStopArgs,
  type liveStopReasons,
  type MessageType,
  type PayloadInputOf,
  topics,
} from '../../shared/protocol/index.js'
import type { Speaker } from '../speaker/speaker.js'
import type { LiveConfig } from './live-config.js'
import type { LiveQuality } from './live-quality.js'
import { type LiveMicrophone, LiveSession } from './live-session.js'
import type { RtpVideoTap } from './rtp-video-tap.js'

/** What the live side reports; main.ts logs it. */
export interface AgentLiveEvents {
  started(sessionId: string): void
  stopped(sessionId: string, reason: (typeof liveStopReasons)[number]): void
  quality(sessionId: string, quality: LiveQuality): void
  /** A live command that was malformed, stale or for another session: refused, nothing changed. */
  refused(err: DoorbellError): void
  fault(where: string, err: unknown): void
}

/** Collaborators of the live side. */
export interface AgentLiveDeps {
  readonly deviceId: string
  readonly config: LiveConfig
  /** Publishes on the device's live topic (QoS 1, straight to MQTT: never the outbox). */
  readonly publish: (topic: string, payload: Buffer) => Promise<void>
  /** The outbox's latest seq: signalling carries it without taking one (like presence). */
  readonly lastSeq: () => number
  readonly tap: RtpVideoTap | undefined
  readonly microphone: LiveMicrophone | undefined
  readonly speaker: Speaker | undefined
  readonly ffmpegPath: string
  readonly now: () => number
  readonly events: AgentLiveEvents
}

/**
 * The device's live view (docs/live.md): the collector's `live.start` command carries its offer and a
 * per-session token; this answers on the live topic and streams until `live.stop`, the peer going away
 * or the device's own maximum. One session at a time: the collector relays it to every viewer, so a new
 * start replaces the old session. Nothing here touches the outbox, so live signalling can never wait in
 * front of (or be replayed after) a press; while a session runs, `isActive` pauses clip uploads.
 */
export class AgentLive {
  readonly #deps: AgentLiveDeps
  #session: { id: string; token: string; live: LiveSession | undefined } | undefined
  #startedCount = 0

  constructor(deps: AgentLiveDeps) {
    this.#deps = deps
  }

  /** True while a session streams (or is being set up): the low class waits. */
  get isActive(): boolean {
    return this.#session !== undefined
  }

  /** Sessions started since the agent started. */
  get startedCount(): number {
    return this.#startedCount
  }

  /** The running session, for tests and health. */
  get session(): LiveSession | undefined {
    return this.#session?.live
  }

  /** A `live.start` or `live.stop` command from the collector. Never throws. */
  async command(command: Envelope<'command'>): Promise<void> {
    try {
      if (command.payload.name === 'live.start') await this.#start(command)
      else if (command.payload.name === 'live.stop') await this.#stop(command)
    } catch (err) {
      if (isDoorbellError(err)) this.#deps.events.refused(err)
      else this.#deps.events.fault('live', err)
    }
  }

  /** Ends any session (agent shutdown). */
  async close(): Promise<void> {
    const session = this.#session
    this.#session = undefined
    await session?.live?.stop()
  }

  async #start(command: Envelope<'command'>): Promise<void> {
    const parsed = liveStartArgs.safeParse(command.payload.args)
    if (!parsed.success) throw new DoorbellError('LIVE_SIGNAL_INVALID', parsed.error.issues[0]?.message)
    const args = parsed.data
    const { config } = this.#deps
    if (!config.enabled) return this.#refuse(args, 'busy')
    const ageMs = this.#deps.now() - Date.parse(command.capturedAt)
    if (ageMs > config.startMaxAgeMs) return this.#refuse(args, 'expired')
    if (!this.#deps.tap) return this.#refuse(args, 'camera-unavailable')
    // The collector relays one session to every viewer: a new one replaces what runs.
    await this.close()
    const entry: { id: string; token: string; live: LiveSession | undefined } = {
      id: args.sessionId,
      token: args.token,
      live: undefined,
    }
    this.#session = entry
    let started: Awaited<ReturnType<typeof LiveSession.start>>
    try {
      started = await LiveSession.start({
        config,
        args,
        tap: this.#deps.tap,
        microphone: this.#deps.microphone,
        speaker: this.#deps.speaker,
        ffmpegPath: this.#deps.ffmpegPath,
        onEnded: (reason) => {
          if (this.#session !== entry) return
          this.#session = undefined
          void this.#signal('live.stopped', { sessionId: entry.id, token: entry.token, reason })
          this.#deps.events.stopped(entry.id, reason)
        },
        onQuality: (quality) => this.#deps.events.quality(entry.id, quality),
        onError: (where, err) => this.#deps.events.fault(where, err),
      })
    } catch (err) {
      if (this.#session === entry) this.#session = undefined
      const reason = isDoorbellError(err, 'LIVE_SIGNAL_INVALID') ? 'bad-offer' : 'failed'
      await this.#refuse(args, reason)
      throw err
    }
    if (this.#session !== entry) {
      // Stopped while the answer was being made.
      await started.session.stop()
      return
    }
    entry.live = started.session
    this.#startedCount += 1
    await this.#signal('live.answer', {
      sessionId: args.sessionId,
      token: args.token,
      sdp: started.answerSdp,
    })
    this.#deps.events.started(args.sessionId)
  }

  async #stop(command: Envelope<'command'>): Promise<void> {
    const parsed = liveStopArgs.safeParse(command.payload.args)
    if (!parsed.success) throw new DoorbellError('LIVE_SIGNAL_INVALID', parsed.error.issues[0]?.message)
    const session = this.#session
    if (!session || session.id !== parsed.data.sessionId || session.token !== parsed.data.token) {
      throw new DoorbellError('LIVE_SIGNAL_INVALID', `live.stop for a session that is not running here`)
    }
    this.#session = undefined
    await session.live?.stop()
    this.#deps.events.stopped(session.id, 'stopped')
  }

  async #refuse(
    args: { sessionId: string; token: string },
    reason: (typeof liveStopReasons)[number],
  ): Promise<void> {
    await this.#signal('live.stopped', { sessionId: args.sessionId, token: args.token, reason })
    this.#deps.events.stopped(args.sessionId, reason)
  }

  async #signal<T extends MessageType>(type: T, payload: PayloadInputOf<T>): Promise<void> {
    const envelope = createEnvelope({
      deviceId: this.#deps.deviceId,
      seq: this.#deps.lastSeq(),
      type,
      payload,
      capturedAtMs: this.#deps.now(),
    })
    try {
      await this.#deps.publish(topics.live(this.#deps.deviceId), Buffer.from(JSON.stringify(envelope)))
    } catch (err) {
      this.#deps.events.fault('live.signal', err)
    }
  }
}
