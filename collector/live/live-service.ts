import { randomBytes } from 'node:crypto'
import { createSocket } from 'node:dgram'
import type { Registry } from 'prom-client'
import { DoorbellError, isDoorbellError } from '../../shared/errors.js'
import {
  createEnvelope,
  decodeEvent,
  type Envelope,
  type LiveIceServer,
  newEventId,
  type PayloadInputOf,
} from '../../shared/protocol/index.js'
import { TokenBucketRateLimiter } from '../broker/token-bucket.js'
import type { CollectorLiveConfig } from './live-config.js'
import { LiveMetrics } from './live-metrics.js'
import {
  CollectorLiveSession,
  type LiveEndReason,
  type LivePrincipal,
  type LiveViewerStatus,
} from './live-session.js'
import type { CollectorPeerSettings } from './peer-config.js'

/** What the live view needs from the running collector. */
export interface LiveContext {
  /** Publishes a command envelope to a device (its command topic). */
  readonly sendCommand: (deviceId: string, payload: PayloadInputOf<'command'>) => Promise<unknown>
  /** Stores an event the collector itself records (`live.started`, `live.ended`), like any other event. */
  readonly record: (envelope: Envelope) => Promise<void>
  /** Whether a device is online (its retained status). */
  readonly isOnline: (deviceId: string) => boolean
  readonly metrics: Registry
}

/** What the live view reports on the collector's bus; main.ts logs it. */
export type LiveEvent =
  | {
      readonly kind: 'live_started'
      readonly deviceId: string
      readonly sessionId: string
      readonly startedBy: string
    }
  | {
      readonly kind: 'live_ended'
      readonly deviceId: string
      readonly sessionId: string
      readonly reason: LiveEndReason
      readonly durationMs: number
    }
  | { readonly kind: 'live_refused'; readonly code: string; readonly detail: string }
  | { readonly kind: 'live_failed'; readonly deviceId: string; readonly err: unknown }

/** A new viewer: the offer its browser answers, and what it may do. */
export interface LiveJoin {
  readonly viewerId: string
  readonly sessionId: string
  readonly sdp: string
  readonly canTalk: boolean
  readonly iceServers: readonly LiveIceServer[]
}

/** A free UDP port on the bind address (live.udpPort 0): bound, read and released for the ICE mux. */
async function freeUdpPort(address: string | undefined): Promise<number> {
  const probe = createSocket('udp4')
  await new Promise<void>((resolve) => probe.bind(0, address, resolve))
  const { port } = probe.address()
  await new Promise<void>((resolve) => probe.close(() => resolve()))
  return port
}

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
  readonly #pending = new Set<Promise<unknown>>()
  #ctx: LiveContext | undefined
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
  }

  /** The UDP port every peer uses, once started. */
  get udpPort(): number | undefined {
    return this.#peers?.udpPort
  }

  /** Sessions running now, by device. */
  sessions(): ReadonlyMap<string, CollectorLiveSession> {
    return this.#sessions
  }

  async start(ctx: LiveContext): Promise<void> {
    this.#ctx = ctx
    const udpPort =
      this.#config.udpPort === 0 ? await freeUdpPort(this.#config.bindAddress) : this.#config.udpPort
    this.#peers = { udpPort, bindAddress: this.#config.bindAddress, iceServers: this.#config.iceServers }
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
    await Promise.allSettled([...this.#pending])
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
        iceServers: this.#config.iceServers,
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

  /** A viewer leaves (the page closed, or Stop). */
  leave(viewerId: string, principal: LivePrincipal): void {
    this.#guardSync(() => {
      this.#own(viewerId, principal).removeViewer(viewerId)
      this.#viewerDevice.delete(viewerId)
    })
  }

  /** A message on a device's live topic: its answer, or its stop. Never throws; bad input is counted. */
  onDeviceSignal(deviceId: string, payload: Buffer): void {
    let envelope: Envelope
    try {
      envelope = decodeEvent(payload, { deviceId })
    } catch {
      this.#metrics?.badSignals.inc({ source: 'malformed' })
      return
    }
    const session = this.#sessions.get(deviceId)
    const isKnown =
      (envelope.type === 'live.answer' || envelope.type === 'live.stopped') &&
      session !== undefined &&
      envelope.payload.sessionId === session.sessionId &&
      envelope.payload.token === session.token
    if (!isKnown || !session) {
      this.#metrics?.badSignals.inc({ source: 'unknown-session' })
      return
    }
    if (envelope.type === 'live.stopped') {
      session.end('device-stopped')
      return
    }
    if (envelope.type !== 'live.answer') return
    try {
      session.acceptDeviceAnswer(envelope.payload.sdp)
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
      await ctx.sendCommand(deviceId, {
        name: 'live.start',
        args: {
          sessionId: session.sessionId,
          token: session.token,
          sdp,
          maxBitrateKbps: this.#config.maxBitrateKbps,
          ...(this.#config.iceServers.length > 0 ? { iceServers: this.#config.iceServers } : {}),
        },
      })
    } catch (err) {
      this.#sessions.delete(deviceId)
      session.end('no-answer')
      throw isDoorbellError(err)
        ? err
        : new DoorbellError('LIVE_UNAVAILABLE', (err as Error).message, { cause: err })
    }
    this.#track(
      this.#record(
        deviceId,
        'live.started',
        { sessionId: session.sessionId, startedBy: principal.user },
        session.sessionId,
      ),
    )
    this.#onEvent({ kind: 'live_started', deviceId, sessionId: session.sessionId, startedBy: principal.user })
    return session
  }

  #ended(session: CollectorLiveSession, reason: LiveEndReason): void {
    if (this.#sessions.get(session.deviceId) === session) this.#sessions.delete(session.deviceId)
    for (const [viewerId, deviceId] of this.#viewerDevice) {
      if (deviceId === session.deviceId && !session.hasViewer(viewerId)) this.#viewerDevice.delete(viewerId)
    }
    const durationMs = Math.max(0, this.#now() - session.startedAtMs)
    this.#metrics?.sessions.inc({ reason })
    const { ctx } = this.#running()
    if (reason !== 'device-stopped' && reason !== 'device-offline') {
      // The device also sees its peer close; the command makes the stop certain within a round trip.
      this.#track(
        ctx.sendCommand(session.deviceId, {
          name: 'live.stop',
          args: { sessionId: session.sessionId, token: session.token },
        }),
      )
    }
    this.#track(
      this.#record(session.deviceId, 'live.ended', {
        sessionId: session.sessionId,
        startedBy: session.startedBy,
        viewers: [...session.viewerNames].slice(0, 64),
        durationMs,
        hasTalked: session.hasTalked,
        reason,
      }),
    )
    this.#onEvent({
      kind: 'live_ended',
      deviceId: session.deviceId,
      sessionId: session.sessionId,
      reason,
      durationMs,
    })
  }

  #record<T extends 'live.started' | 'live.ended'>(
    deviceId: string,
    type: T,
    payload: PayloadInputOf<T>,
    id?: string,
  ): Promise<void> {
    const envelope = createEnvelope({
      deviceId,
      // Recorded by the collector, not the device: outside the device's sequence.
      seq: 0,
      type,
      payload,
      ...(id ? { id } : {}),
      capturedAtMs: this.#now(),
    })
    return this.#running().ctx.record(envelope as Envelope)
  }

  #track(promise: Promise<unknown>): void {
    const tracked = promise.catch((err: unknown) => this.#onEvent({ kind: 'live_failed', deviceId: '', err }))
    this.#pending.add(tracked)
    void tracked.finally(() => this.#pending.delete(tracked))
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

  #running(): { ctx: LiveContext; peers: CollectorPeerSettings } {
    if (!this.#ctx || !this.#peers) throw new DoorbellError('LIVE_UNAVAILABLE', 'live view is not running')
    return { ctx: this.#ctx, peers: this.#peers }
  }

  async #guard<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run()
    } catch (err) {
      this.#refused(err)
      throw err
    }
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

/** owner > viewer. */
function isAllowed(principal: LivePrincipal, role: 'owner' | 'viewer'): boolean {
  return role === 'viewer' || principal.role === 'owner'
}
