import { DoorbellError } from '../../shared/errors.js'
import { GopCache } from '../../shared/live/gop-cache.js'
import type { PayloadOf } from '../../shared/protocol/index.js'
import { DeviceLink } from './device-link.js'
import type { CollectorLiveConfig } from './live-config.js'
import { FlowingAudio, fallbackStreamOptions } from './live-fallback.js'
import type { MseSocket } from './mse-viewer-stream.js'
import type { CollectorPeerSettings } from './peer-config.js'
import { ViewerPeer } from './viewer-peer.js'
import {
  MseViewerTransport,
  type ViewerConnection,
  type ViewerTransport,
  WebRtcViewerTransport,
} from './viewer-transport.js'

/** Why a session ended, as recorded in `live.ended`. */
export type LiveEndReason = PayloadOf<'live.ended'>['reason']

/** A signed-in homeowner as the live view sees them. */
export interface LivePrincipal {
  readonly user: string
  readonly role: 'owner' | 'viewer'
}

/** One browser watching. */
interface Viewer {
  readonly id: string
  readonly principal: LivePrincipal
  /** WebRTC first; the fallback's WebSocket once the page switched to it. */
  transport: ViewerTransport
  lastSeenMs: number
}

/** Collaborators of one session. */
export interface CollectorLiveSessionDeps {
  readonly deviceId: string
  readonly sessionId: string
  readonly token: string
  readonly startedBy: string
  readonly config: CollectorLiveConfig
  readonly peers: CollectorPeerSettings
  readonly now: () => number
  /** The session is over (every peer closed); the owner records `live.ended` and tells the device. */
  readonly onEnded: (session: CollectorLiveSession, reason: LiveEndReason) => void
}

/** What a viewer's page polls: whether the session still runs and what the door sends. */
export interface LiveViewerStatus {
  readonly state: 'starting' | 'live' | 'ended'
  readonly quality: 'full' | 'keyframes' | 'audio'
  readonly viewerCount: number
  readonly isTalking: boolean
  readonly connection?: ViewerConnection | undefined
  readonly endReason?: LiveEndReason | undefined
}

/**
 * One live session of one device at the collector: the link to the device (one upload) and every viewer
 * it is relayed to, each over WebRTC or the fallback (viewer-transport.ts). The session keeps the device's
 * latest group of pictures, from which a new viewer's first frame comes at once.
 */
export class CollectorLiveSession {
  readonly deviceId: string
  readonly sessionId: string
  readonly token: string
  readonly startedBy: string
  readonly startedAtMs: number
  readonly #deps: CollectorLiveSessionDeps
  readonly #gop: GopCache
  readonly #viewers = new Map<string, Viewer>()
  readonly #viewerNames: string[] = []
  #device: DeviceLink | undefined
  #state: 'starting' | 'live' | 'ended' = 'starting'
  #endReason: LiveEndReason | undefined
  #quality: 'full' | 'keyframes' | 'audio' = 'full'
  #talker: string | undefined
  #hasTalked = false
  #deviceDownSinceMs: number | undefined
  readonly #audio = new FlowingAudio()

  constructor(deps: CollectorLiveSessionDeps) {
    this.#deps = deps
    this.deviceId = deps.deviceId
    this.sessionId = deps.sessionId
    this.token = deps.token
    this.startedBy = deps.startedBy
    this.startedAtMs = deps.now()
    this.#gop = new GopCache(deps.config.maxGopBytes)
  }

  get state(): 'starting' | 'live' | 'ended' {
    return this.#state
  }

  get viewerCount(): number {
    return this.#viewers.size
  }

  /** Everyone who watched, once each, in the order they joined. */
  get viewerNames(): readonly string[] {
    return this.#viewerNames
  }

  get hasTalked(): boolean {
    return this.#hasTalked
  }

  /** Bytes received from the device. */
  get bytesFromDevice(): number {
    return this.#device?.bytesReceived ?? 0
  }

  /** Makes the offer to the device (what `live.start` carries). */
  async offerToDevice(): Promise<string> {
    const device = await DeviceLink.offer(this.#deps.peers, {
      onVideo: (packet) => this.#relayVideo(packet),
      onAudio: (packet) => {
        this.#audio.note(packet, this.#deps.now())
        for (const viewer of this.#viewers.values()) viewer.transport.relayAudio(packet)
      },
      onQuality: (quality) => {
        this.#quality = quality
      },
      onState: (state) => this.#onDeviceState(state),
    })
    if (this.#state === 'ended') {
      device.close()
      throw new DoorbellError('LIVE_UNAVAILABLE', 'the session ended while it started')
    }
    this.#device = device
    return device.offerSdp
  }

  /** The device's `live.answer`. */
  acceptDeviceAnswer(sdp: string): void {
    if (!this.#device || this.#state !== 'starting')
      throw new DoorbellError('LIVE_SIGNAL_INVALID', 'no answer is awaited for this session')
    this.#device.acceptAnswer(sdp)
    this.#state = 'live'
  }

  /** Adds a viewer; resolves with its id and the offer its browser answers. */
  async addViewer(id: string, principal: LivePrincipal): Promise<{ sdp: string }> {
    let transport: ViewerTransport | undefined
    const peer = await ViewerPeer.offer(this.#deps.peers, {
      onTalk: (packet) => {
        if (this.#talker === id) this.#device?.sendTalk(packet)
      },
      onState: (state) => {
        // A peer closed because the viewer moved to the fallback does not take the viewer with it.
        if ((state === 'failed' || state === 'closed') && this.#viewers.get(id)?.transport === transport)
          this.removeViewer(id)
      },
    })
    if (this.#state === 'ended') {
      peer.close()
      throw new DoorbellError('LIVE_SESSION_NOT_FOUND', 'the session ended while the viewer joined')
    }
    transport = new WebRtcViewerTransport(peer)
    this.#viewers.set(id, { id, principal, transport, lastSeenMs: this.#deps.now() })
    if (!this.#viewerNames.includes(principal.user)) this.#viewerNames.push(principal.user)
    return { sdp: peer.offerSdp }
  }

  hasViewer(id: string): boolean {
    return this.#viewers.has(id)
  }

  /** The principal a viewer joined as. */
  viewerPrincipal(id: string): LivePrincipal | undefined {
    return this.#viewers.get(id)?.principal
  }

  /** The browser's answer for a viewer. */
  acceptViewerAnswer(id: string, sdp: string): void {
    const { transport } = this.#viewer(id)
    if (!(transport instanceof WebRtcViewerTransport))
      throw new DoorbellError('LIVE_SIGNAL_INVALID', 'this viewer watches over the fallback')
    transport.peer.acceptAnswer(sdp)
    this.touch(id)
  }

  /**
   * Moves a viewer to the fallback (fragmented MP4 over its page's WebSocket): its WebRTC peer closes, the
   * stream starts at the cached group of pictures. Returns what to call when the socket closes: the viewer
   * leaves, unless it has moved on since.
   */
  attachFallback(id: string, socket: MseSocket): () => void {
    const viewer = this.#viewer(id)
    const previous = viewer.transport
    const options = fallbackStreamOptions(this.#deps, this.#audio)
    const transport = new MseViewerTransport(socket, options, this.#gop)
    viewer.transport = transport
    if (this.#talker === id) this.#talker = undefined
    previous.close()
    this.touch(id)
    return () => {
      if (this.#viewers.get(id)?.transport === transport) this.removeViewer(id)
    }
  }

  /** Gives the talk floor to a viewer (the latest asker takes it), or takes it back. */
  setTalking(id: string, isTalking: boolean): void {
    this.#viewer(id)
    if (isTalking) {
      this.#talker = id
      this.#hasTalked = true
    } else if (this.#talker === id) {
      this.#talker = undefined
    }
    this.touch(id)
  }

  /** A keep-alive from a viewer's page. */
  touch(id: string): void {
    this.#viewer(id).lastSeenMs = this.#deps.now()
  }

  status(id: string): LiveViewerStatus {
    const viewer = this.#viewers.get(id)
    return {
      state: viewer ? this.#state : 'ended',
      quality: this.#quality,
      viewerCount: this.#viewers.size,
      isTalking: this.#talker === id,
      connection: viewer?.transport.connection(),
      ...(this.#endReason ? { endReason: this.#endReason } : {}),
    }
  }

  /** A viewer leaves; the last one ends the session. */
  removeViewer(id: string): void {
    const viewer = this.#viewers.get(id)
    if (!viewer) return
    this.#viewers.delete(id)
    if (this.#talker === id) this.#talker = undefined
    viewer.transport.close()
    if (this.#viewers.size === 0) this.end('last-viewer-left')
  }

  /** Drops idle viewers, ends a session past its length or one the device never answered. */
  sweep(): void {
    if (this.#state === 'ended') return
    const nowMs = this.#deps.now()
    const { config } = this.#deps
    const reason: LiveEndReason | undefined =
      nowMs - this.startedAtMs >= config.maxSessionMs
        ? 'max-length'
        : this.#state === 'starting' && nowMs - this.startedAtMs >= config.deviceAnswerTimeoutMs
          ? 'no-answer'
          : this.#deviceDownSinceMs !== undefined && nowMs - this.#deviceDownSinceMs >= 5000
            ? 'device-stopped'
            : undefined
    if (reason) {
      this.end(reason)
      return
    }
    let idleCount = 0
    for (const viewer of [...this.#viewers.values()]) {
      if (nowMs - viewer.lastSeenMs >= config.viewerIdleMs) {
        this.#viewers.delete(viewer.id)
        if (this.#talker === viewer.id) this.#talker = undefined
        viewer.transport.close()
        idleCount += 1
      }
    }
    // Only idle viewers end it here: the first viewer joins after the session is set up.
    if (idleCount > 0 && this.#viewers.size === 0) this.end('idle')
  }

  /** Closes every peer; the device stops sending at once (its peer sees the close) and is told too. */
  end(reason: LiveEndReason): void {
    if (this.#state === 'ended') return
    this.#state = 'ended'
    this.#endReason = reason
    this.#device?.close()
    for (const viewer of this.#viewers.values()) viewer.transport.close()
    this.#viewers.clear()
    this.#gop.clear()
    this.#deps.onEnded(this, reason)
  }

  #viewer(id: string): Viewer {
    const viewer = this.#viewers.get(id)
    if (!viewer) throw new DoorbellError('LIVE_SESSION_NOT_FOUND', 'this viewer is not in the session')
    return viewer
  }

  #relayVideo(packet: Buffer): void {
    this.#gop.push(packet)
    for (const viewer of this.#viewers.values()) viewer.transport.relayVideo(packet, this.#gop)
  }

  #onDeviceState(state: string): void {
    if (state === 'connected') this.#deviceDownSinceMs = undefined
    else if (state === 'failed' || state === 'closed') this.end('device-stopped')
    else if (state === 'disconnected') this.#deviceDownSinceMs ??= this.#deps.now()
  }
}
