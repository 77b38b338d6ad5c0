/**
 * Messages on the live session's `control` data channel between the device and the collector: JSON, one
 * per data-channel message. `ping`/`pong` measure the round trip the device adapts its stream to;
 * `quality` tells the collector (and through it the viewers) what the device sends now.
 */
export type ControlMessage =
  | { readonly type: 'ping'; readonly sentAtMs: number }
  | { readonly type: 'pong'; readonly sentAtMs: number }
  | { readonly type: 'quality'; readonly quality: 'full' | 'keyframes' | 'audio' }

/** Label of the data channel. */
export const controlChannelLabel = 'control'

/** Parses one control message; undefined for anything else (counted by the caller, never thrown). */
export function parseControlMessage(raw: string | Buffer | ArrayBuffer): ControlMessage | undefined {
  if (typeof raw !== 'string' || raw.length > 256) return undefined
  try {
    const value = JSON.parse(raw) as { type?: unknown; sentAtMs?: unknown; quality?: unknown }
    if ((value.type === 'ping' || value.type === 'pong') && typeof value.sentAtMs === 'number')
      return { type: value.type, sentAtMs: value.sentAtMs }
    if (
      value.type === 'quality' &&
      (value.quality === 'full' || value.quality === 'keyframes' || value.quality === 'audio')
    )
      return { type: 'quality', quality: value.quality }
  } catch {
    return undefined
  }
  return undefined
}

/** The fixed media sections of every live session's SDP, by mid (docs/live.md, "Signalling"). */
export const liveMids = { video: 'video', audio: 'audio', talk: 'talk' } as const
