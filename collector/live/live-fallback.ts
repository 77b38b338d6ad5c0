import { DoorbellError } from '../../shared/errors.js'
import { fallbackStreamPath } from './fallback-socket.js'
import { FallbackTickets } from './fallback-tickets.js'
import type { CollectorLiveConfig } from './live-config.js'
import type { CollectorLiveSession, LivePrincipal } from './live-session.js'
import type { MseSocket, MseStreamOptions } from './mse-viewer-stream.js'

/** Collaborators of the fallback handshake, from the live service. */
export interface LiveFallbackDeps {
  readonly config: CollectorLiveConfig['fallback']
  readonly now: () => number
  /** The session of a viewer the principal owns: rate limited and refused like any viewer request. */
  readonly own: (viewerId: string, principal: LivePrincipal) => CollectorLiveSession
  /** The session a viewer is in, if it still is. */
  readonly sessionOf: (viewerId: string) => CollectorLiveSession | undefined
  /** A viewer moved to the fallback (counted). */
  readonly onFallback: () => void
}

/**
 * How a viewer whose WebRTC does not connect moves to the fallback (docs/live.md, "Fallback"): its page,
 * still the same viewer with the same rights, asks for a one-time ticket, opens the WebSocket with it,
 * and the session sends that viewer fragmented MP4 instead of RTP.
 */
export class LiveFallback {
  readonly #deps: LiveFallbackDeps
  readonly #tickets: FallbackTickets

  constructor(deps: LiveFallbackDeps) {
    this.#deps = deps
    this.#tickets = new FallbackTickets({ ttlMs: deps.config.ticketTtlMs, now: deps.now })
  }

  /** A ticket for the viewer's page; LIVE_UNAVAILABLE when the fallback is off. */
  ticket(viewerId: string, principal: LivePrincipal): { url: string } {
    if (!this.#deps.config.enabled)
      throw new DoorbellError('LIVE_UNAVAILABLE', 'the fallback is off (live.fallback.enabled)')
    this.#deps.own(viewerId, principal)
    const ticket = this.#tickets.issue({ viewerId, user: principal.user })
    return { url: `${fallbackStreamPath}?ticket=${ticket}` }
  }

  /** Redeems a ticket (LIVE_SESSION_NOT_FOUND for an unknown, used or expired one). */
  open(ticket: string): (socket: MseSocket) => () => void {
    const held = this.#tickets.redeem(ticket)
    if (!held) throw new DoorbellError('LIVE_SESSION_NOT_FOUND', 'the fallback ticket is unknown or expired')
    return (socket) => {
      const session = this.#deps.sessionOf(held.viewerId)
      // The viewer may have left (or its session ended) between the ticket and the socket.
      if (!session?.hasViewer(held.viewerId) || session.viewerPrincipal(held.viewerId)?.user !== held.user) {
        socket.close(1008, 'this viewer left')
        return () => undefined
      }
      this.#deps.onFallback()
      return session.attachFallback(held.viewerId, socket)
    }
  }
}

/** How a viewer's fallback stream is set up from `live.fallback`: with the device's sound unless it is off. */
export function fallbackStreamOptions(
  session: { readonly config: CollectorLiveConfig; readonly now: () => number },
  audio: FlowingAudio,
): MseStreamOptions {
  const { fallback } = session.config
  return {
    maxBufferedBytes: fallback.maxBufferedBytes,
    maxAudioSkewMs: fallback.maxAudioSkewMs,
    now: session.now,
    hasAudio: fallback.audio,
    latestAudio: () => audio.latest(session.now()),
  }
}

/** A second without an Opus packet (50 of them, at 20 ms) and the device's sound counts as stopped. */
const flowingWithinMs = 1000

/**
 * The device's newest Opus packet while its sound flows: a fallback stream reads its channel count when
 * it writes its init segment.
 */
export class FlowingAudio {
  #latest: { packet: Buffer; atMs: number } | undefined

  note(packet: Buffer, nowMs: number): void {
    this.#latest = { packet, atMs: nowMs }
  }

  /** The newest packet, if it came within the last second. */
  latest(nowMs: number): Buffer | undefined {
    const latest = this.#latest
    return latest && nowMs - latest.atMs < flowingWithinMs ? latest.packet : undefined
  }
}
