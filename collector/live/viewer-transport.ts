import { fastStartTimestamps, type GopCache } from '../../shared/live/gop-cache.js'
import { rtpTimestamp } from '../../shared/live/rtp-packet.js'
import { type MseSocket, type MseStreamOptions, MseViewerStream } from './mse-viewer-stream.js'
import type { ViewerPeer } from './viewer-peer.js'

/** The connection a viewer's page shows in its indicator. */
export interface ViewerConnection {
  readonly type: string
  readonly transport: string
}

/** How the device's stream reaches one viewer: WebRTC, or the fallback over the page's WebSocket. */
export interface ViewerTransport {
  readonly kind: 'webrtc' | 'mse'
  /** One packet of the device's video, already in `gop` (the cached group, for a viewer's first frame). */
  relayVideo(packet: Buffer, gop: GopCache): void
  relayAudio(packet: Buffer): void
  connection(): ViewerConnection | undefined
  close(): void
}

/**
 * A WebRTC viewer. It first gets the cached group of pictures with its timestamps squeezed into the last
 * few ms before the newest frame, so the browser decodes the keyframe and plays through to live at once,
 * instead of waiting for the next keyframe or starting behind live by a GOP. It never gets a P-frame before
 * a keyframe, and no audio before the picture.
 */
export class WebRtcViewerTransport implements ViewerTransport {
  readonly kind = 'webrtc'
  readonly peer: ViewerPeer
  #isPrimed = false

  constructor(peer: ViewerPeer) {
    this.peer = peer
  }

  relayVideo(packet: Buffer, gop: GopCache): void {
    if (!this.peer.isOpen) return
    if (this.#isPrimed) {
      this.peer.sendVideo(packet)
      return
    }
    const cached = gop.packets()
    // No keyframe yet: a viewer must not get P-frames it cannot decode.
    if (cached.length === 0) return
    const squeezed = fastStartTimestamps(cached)
    for (const p of cached) this.peer.sendVideo(p, squeezed.get(rtpTimestamp(p)))
    this.#isPrimed = true
  }

  relayAudio(packet: Buffer): void {
    if (this.#isPrimed) this.peer.sendAudio(packet)
  }

  connection(): ViewerConnection | undefined {
    return this.peer.connection()
  }

  close(): void {
    this.peer.close()
  }
}

/** A fallback viewer: fragmented MP4 over the page's WebSocket (mse-viewer-stream.ts), picture and sound. */
export class MseViewerTransport implements ViewerTransport {
  readonly kind = 'mse'
  readonly stream: MseViewerStream

  /** Starts the stream at the cached group of pictures, so the first frame shows at once. */
  constructor(socket: MseSocket, options: MseStreamOptions, gop: GopCache) {
    this.stream = new MseViewerStream(socket, options)
    this.stream.prime(gop.packets())
  }

  relayVideo(packet: Buffer): void {
    this.stream.sendVideo(packet)
  }

  relayAudio(packet: Buffer): void {
    this.stream.sendAudio(packet)
  }

  connection(): ViewerConnection {
    return { type: 'mse', transport: 'WebSocket' }
  }

  close(): void {
    this.stream.close()
  }
}
