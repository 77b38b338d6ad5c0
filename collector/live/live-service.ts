import { randomBytes } from 'node:crypto'
import { DoorbellError, isDoorbellError } from '../../shared/errors.js'
import { newEventId } from '../../shared/protocol/index.js'
import { TokenBucketRateLimiter } from '../broker/token-bucket.js'
import { readDeviceSignal } from './device-signal.js'
import { type CollectorLiveConfig, isAllowed } from './live-config.js'
import type { LiveContext, LiveEvent, LiveJoin } from './live-events.js'
import { LiveFallback } from './live-fallback.js'
import { LiveMetrics } from './live-metrics.js'
import { LiveRecorder } from './live-recorder.js'
import {
  CollectorLiveSession,
  type LiveEndReason,
  type LivePrincipal,
  type LiveViewerStatus,
} from './live-session.js'
import type { MseSocket } from './mse-viewer-stream.js'
import { type CollectorPeerSettings, freeUdpPort } from './peer-config.js'
import { iceServersFor } from './turn-credentials.js'

export type { LiveContext, LiveEvent, LiveJoin } from './live-events.js'

/**
 * The collector's live view (docs/live.md), shaped as an extension: start(ctx), stop(). Homeowners join
 * over the HTTP API; the first viewer of a device starts a session (a `live.start` command carrying the
 * collector's offer and a per-session token over the device's authenticated MQTT link), the device answers
 * on its live topic, and its one stream is relayed to every viewer. Sessions end when the last viewer
 * leaves, after the idle timeout, at the maximum length, or when the device stops; each is recorded as
 * `live.started` and `live.ended` events. Bad signalling is refused with a code, counted, and changes nothing.
 */
export class LiveService {
  readonly #config: CollectorLiveConfig
  readonly #now: () => number
  readonly #onEvent: (event: LiveEvent) => void
  readonly #sessions = new Map<string, CollectorLiveSession>()
  readonly #viewerDevice = new Map<string, string>()
  readonly #requests: TokenBucketRateLimiter
  readonly #fallback: LiveFallback
  #ctx: LiveContext | undefined
  #recorder: LiveRecorder | undefined
  #metrics: LiveMetrics | undefined
  #peers: CollectorPeerSettings | undefined
  #sweepTimer: NodeJS.Timeout | undefined

  constructor(
    config: CollectorLiveConfig,
    deps: { now?: () => number; onEvent?: (event: LiveEvent) => void } = {},
  ) {
    this.#config = config
    this.#now = deps.now ?? Date.now
    this.#onEvent = deps.onEvent ?? (() => undefined)
    this.#requests = new TokenBucketRateLimiter(
      { perSecond: config.maxRequestsPerMinute / 60, burst: Math.max(10, config.maxRequestsPerMinute / 4) },
      this.#now,
    )
    this.#fallback = new LiveFallback({
      config: config.fallback,
      now: this.#now,
      own: (viewerId, principal) => this.#own(viewerId, principal),
      sessionOf: (viewerId) => this.#sessions.get(this.#viewerDevice.get(viewerId) ?? ''),
      onFallback: () => this.#metrics?.fallbacks.inc(),
    })
  }

  /** Sessions running now, by device. */
  sessions(): ReadonlyMap<string, CollectorLiveSession> {
    return this.#sessions
  }

  async start(ctx: LiveContext): Promise<void> {
    this.#ctx = ctx
    this.#recorder = new LiveRecorder(ctx, { now: this.#now, onEvent: this.#onEvent })
    const udpPort =
      this.#config.udpPort === 0 ? await freeUdpPort(this.#config.bindAddress) : this.#config.udpPort
    this.#peers = {
      udpPort,
      bindAddress: this.#config.bindAddress,
      publicAddress: this.#config.publicAddress,
      iceServers: this.#config.iceServers,
    }
    this.#metrics = new LiveMetrics(ctx.metrics, {
      sessions: () => this.#sessions.size,
      viewers: () => [...this.#sessions.values()].reduce((n, s) => n + s.viewerCount, 0),
    })
    this.#sweepTimer = setInterval(() => {
      for (const session of [...this.#sessions.values()]) session.sweep()
    }, 500)
    this.#sweepTimer.unref()
  }

  /** Ends every session (collector shutdown), recording each. */
  async stop(): Promise<void> {
    clearInterval(this.#sweepTimer)
    for (const session of [...this.#sessions.values()]) session.end('shutdown')
    await this.#recorder?.settled()
  }

  /** A homeowner opens the live view of a device: joins its session, starting one if none runs. */
  async join(deviceId: string, principal: LivePrincipal): Promise<LiveJoin> {
    return this.#guard(async () => {
      const { ctx, peers } = this.#running()
      let session = this.#sessions.get(deviceId)
      if (!session) {
        if (!isAllowed(principal, this.#config.startRole))
          throw new DoorbellError(
            'LIVE_FORBIDDEN',
            `starting a live view needs the ${this.#config.startRole} role`,
          )
        if (!ctx.isOnline(deviceId)) throw new DoorbellError('LIVE_UNAVAILABLE', `${deviceId} is offline`)
        session = await this.#startSession(deviceId, principal, peers)
      } else if (session.viewerCount >= this.#config.maxViewersPerDevice) {
        throw new DoorbellError(
          'LIVE_FULL',
          `${session.viewerCount} of ${this.#config.maxViewersPerDevice} watch`,
        )
      }
      const viewerId = randomBytes(16).toString('base64url')
      const { sdp } = await session.addViewer(viewerId, principal)
      this.#viewerDevice.set(viewerId, deviceId)
      return {
        viewerId,
        sessionId: session.sessionId,
        sdp,
        canTalk: isAllowed(principal, this.#config.talkRole),
        iceServers: iceServersFor(this.#config, principal.user, this.#now()),
        ...(this.#config.fallback.enabled ? { fallbackAfterMs: this.#config.fallback.afterMs } : {}),
      }
    })
  }

  /** The browser's SDP answer for a viewer. */
  answer(viewerId: string, principal: LivePrincipal, sdp: unknown): void {
    this.#guardSync(() => {
      if (typeof sdp !== 'string' || sdp.length < 10 || sdp.length > 12 * 1024)
        throw new DoorbellError('LIVE_SIGNAL_INVALID', 'sdp: expected an SDP answer of at most 12 KiB')
      this.#own(viewerId, principal).acceptViewerAnswer(viewerId, sdp)
    })
  }

  /** Push-to-talk: the viewer takes or releases the floor. Needs the talk role, checked here. */
  talk(viewerId: string, principal: LivePrincipal, isTalking: unknown): { isTalking: boolean } {
    return this.#guardSync(() => {
      if (typeof isTalking !== 'boolean')
        throw new DoorbellError('LIVE_SIGNAL_INVALID', 'isTalking: expected a boolean')
      const session = this.#own(viewerId, principal)
      if (isTalking && !isAllowed(principal, this.#config.talkRole))
        throw new DoorbellError('LIVE_FORBIDDEN', `talking needs the ${this.#config.talkRole} role`)
      session.setTalking(viewerId, isTalking)
      return { isTalking }
    })
  }

  /** A keep-alive from the viewer's page; answers with the session's state. */
  keepalive(viewerId: string, principal: LivePrincipal): LiveViewerStatus {
    return this.#guardSync(() => {
      const session = this.#own(viewerId, principal)
      session.touch(viewerId)
      return session.status(viewerId)
    })
  }

  /** The page's WebRTC did not connect: a ticket to open the fallback's WebSocket with (live-fallback.ts). */
  fallbackTicket(viewerId: string, principal: LivePrincipal): { url: string } {
    return this.#guardSync(() => this.#fallback.ticket(viewerId, principal))
  }

  /** Redeems a fallback ticket; the socket then replaces the viewer's WebRTC peer (fallback-socket.ts). */
  openFallback(ticket: string): (socket: MseSocket) => () => void {
    return this.#guardSync(() => this.#fallback.open(ticket))
  }

  /** A viewer leaves (the page closed, or Stop). */
  leave(viewerId: string, principal: LivePrincipal): void {
    this.#guardSync(() => {
      this.#own(viewerId, principal).removeViewer(viewerId)
      this.#viewerDevice.delete(viewerId)
    })
  }

  /** A message on a device's live topic: its answer, or its stop. Never throws; bad input is counted. */
  onDeviceSignal(deviceId: string, payload: Buffer): void {
    const session = this.#sessions.get(deviceId)
    const signal = readDeviceSignal(deviceId, payload, session)
    if (signal.kind === 'bad' || !session) {
      this.#metrics?.badSignals.inc({ source: signal.kind === 'bad' ? signal.source : 'unknown-session' })
      return
    }
    if (signal.kind === 'stopped') {
      session.end('device-stopped')
      return
    }
    try {
      session.acceptDeviceAnswer(signal.sdp)
    } catch {
      this.#metrics?.badSignals.inc({ source: 'answer-refused' })
    }
  }

  /** A device's presence changed: an offline device ends its session. */
  onPresence(deviceId: string, state: 'online' | 'offline'): void {
    if (state === 'offline') this.#sessions.get(deviceId)?.end('device-offline')
  }

  async #startSession(
    deviceId: string,
    principal: LivePrincipal,
    peers: CollectorPeerSettings,
  ): Promise<CollectorLiveSession> {
    const { ctx } = this.#running()
    const nowMs = this.#now()
    const session = new CollectorLiveSession({
      deviceId,
      sessionId: newEventId(nowMs),
      token: randomBytes(32).toString('base64url'),
      startedBy: principal.user,
      config: this.#config,
      peers,
      now: this.#now,
      onEnded: (ended, reason) => this.#ended(ended, reason),
    })
    this.#sessions.set(deviceId, session)
    try {
      const sdp = await session.offerToDevice()
      const iceServers = iceServersFor(this.#config, deviceId, this.#now())
      await ctx.sendCommand(deviceId, {
        name: 'live.start',
        args: {
          sessionId: session.sessionId,
          token: session.token,
          sdp,
          maxBitrateKbps: this.#config.maxBitrateKbps,
          ...(iceServers.length > 0 ? { iceServers } : {}),
        },
      })
    } catch (err) {
      this.#sessions.delete(deviceId)
      session.end('no-answer')
      throw isDoorbellError(err)
        ? err
        : new DoorbellError('LIVE_UNAVAILABLE', (err as Error).message, { cause: err })
    }
    this.#running().recorder.started(session)
    return session
  }

  #ended(session: CollectorLiveSession, reason: LiveEndReason): void {
    if (this.#sessions.get(session.deviceId) === session) this.#sessions.delete(session.deviceId)
    for (const [viewerId, deviceId] of this.#viewerDevice) {
      if (deviceId === session.deviceId && !session.hasViewer(viewerId)) this.#viewerDevice.delete(viewerId)
    }
    this.#metrics?.sessions.inc({ reason })
    this.#running().recorder.ended(session, reason)
  }

  #own(viewerId: string, principal: LivePrincipal): CollectorLiveSession {
    if (!this.#requests.tryTake(viewerId))
      throw new DoorbellError(
        'RATE_LIMITED',
        `more than ${this.#config.maxRequestsPerMinute} requests a minute`,
      )
    const deviceId = this.#viewerDevice.get(viewerId)
    const session = deviceId ? this.#sessions.get(deviceId) : undefined
    // Another homeowner's viewer id is as unknown as a made-up one.
    if (!session?.hasViewer(viewerId) || session.viewerPrincipal(viewerId)?.user !== principal.user)
      throw new DoorbellError('LIVE_SESSION_NOT_FOUND')
    return session
  }

  #running(): { ctx: LiveContext; peers: CollectorPeerSettings; recorder: LiveRecorder } {
    if (!this.#ctx || !this.#peers || !this.#recorder)
      throw new DoorbellError('LIVE_UNAVAILABLE', 'live view is not running')
    return { ctx: this.#ctx, peers: this.#peers, recorder: this.#recorder }
  }

  async #guard<T>(run: () => Promise<T>): Promise<T> {
    return run().catch((err: unknown) => {
      this.#refused(err)
      throw err
    })
  }

  #guardSync<T>(run: () => T): T {
    try {
      return run()
    } catch (err) {
      this.#refused(err)
      throw err
    }
  }

  #refused(err: unknown): void {
    if (!isDoorbellError(err)) return
    this.#metrics?.refused(err.code)
    this.#onEvent({ kind: 'live_refused', code: err.code, detail: err.message })
  }
}
