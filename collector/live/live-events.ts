import type { Registry } from 'prom-client'
import type { Envelope, LiveIceServer, PayloadInputOf } from '../../shared/protocol/index.js'
import type { LiveEndReason } from './live-session.js'

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
  /** How long the page waits for WebRTC before it switches to the fallback; absent when it is off. */
  readonly fallbackAfterMs?: number
}
