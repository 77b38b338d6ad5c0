import { decodeEvent, type Envelope } from '../../shared/protocol/index.js'
import type { CollectorLiveSession } from './live-session.js'

/** What a message on a device's live topic means for its running session. */
export type DeviceSignal =
  | { readonly kind: 'answer'; readonly sdp: string }
  | { readonly kind: 'stopped' }
  | { readonly kind: 'bad'; readonly source: 'malformed' | 'unknown-session' }

/**
 * Reads a message on a device's live topic: an answer or a stop for the session that runs, with its
 * token; anything else (a message that does not decode, another session, a wrong token) is bad.
 */
export function readDeviceSignal(
  deviceId: string,
  payload: Buffer,
  session: CollectorLiveSession | undefined,
): DeviceSignal {
  let envelope: Envelope
  try {
    envelope = decodeEvent(payload, { deviceId })
  } catch {
    return { kind: 'bad', source: 'malformed' }
  }
  if (envelope.type !== 'live.answer' && envelope.type !== 'live.stopped')
    return { kind: 'bad', source: 'unknown-session' }
  const isKnown =
    session !== undefined &&
    envelope.payload.sessionId === session.sessionId &&
    envelope.payload.token === session.token
  if (!isKnown) return { kind: 'bad', source: 'unknown-session' }
  return envelope.type === 'live.stopped'
    ? { kind: 'stopped' }
    : { kind: 'answer', sdp: envelope.payload.sdp }
}
