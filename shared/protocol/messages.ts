import { z } from 'zod'
import type { EventClass } from './classes.js'
import { ulidPattern } from './ids.js'
import { maxAckIds, maxChunkDataBytes, maxLiveSdpBytes, maxSnapshotImageBytes } from './limits.js'

/**
 * The payload schema of every protocol v1 message type, and the classes each type may travel in.
 * docs/protocol.md explains each class choice.
 */

const eventId = z.string().regex(ulidPattern, 'expected a ULID')
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex digits')
const isoTime = z.iso.datetime({ offset: true })
const nonNegativeInt = z.number().int().nonnegative()

export const buttonPressPayload = z.strictObject({
  /** Which button, for doors with more than one. */
  button: z.string().min(1).max(32).default('front'),
})

export const motionPayload = z.strictObject({
  /** Whether the system was armed: armed motion is high class, otherwise medium. */
  armed: z.boolean(),
  zone: z.string().min(1).max(32).optional(),
})

export const soundLevelPayload = z.strictObject({
  /** RMS level over the window, in dBFS (0 is full scale). */
  dbfs: z.number().min(-200).max(0),
  peakDbfs: z.number().min(-200).max(0),
  windowMs: z.number().int().positive().max(600_000),
  /** True when the level crossed the loud-sound threshold. */
  isLoud: z.boolean(),
})

export const temperaturePayload = z.strictObject({
  celsius: z.number().min(-60).max(150),
  sensor: z.string().min(1).max(64),
})

export const lightPayload = z.strictObject({
  lux: z.number().min(0).max(200_000),
  sensor: z.string().min(1).max(64),
})

export const healthPayload = z.strictObject({
  uptimeS: z.number().nonnegative(),
  version: z.string().min(1).max(32),
  cpuTempC: z.number().min(-60).max(150).nullable(),
  diskFreeBytes: nonNegativeInt.nullable(),
  /** Events waiting in the outbox, per class. */
  outbox: z.strictObject({ high: nonNegativeInt, medium: nonNegativeInt, low: nonNegativeInt }),
  outboxBytes: nonNegativeInt,
  wifiRssiDbm: z.number().min(-130).max(0).nullable(),
  /** Media counters when the camera runs (issue 5): clips held on the Pi, their bytes, ring segments. */
  media: z
    .strictObject({ clips: nonNegativeInt, clipBytes: nonNegativeInt, segments: nonNegativeInt })
    .optional(),
})

export const statusPayload = z.strictObject({
  state: z.enum(['online', 'offline']),
})

export const snapshotPayload = z
  .strictObject({
    /** The event (press or motion) this snapshot enriches. */
    relatesTo: eventId.optional(),
    contentType: z.literal('image/jpeg'),
    bytes: z.number().int().positive().max(maxSnapshotImageBytes),
    sha256: sha256Hex,
    /** The JPEG, base64. */
    data: z.base64(),
  })
  .refine((p) => Buffer.byteLength(p.data, 'base64') === p.bytes, {
    message: 'decoded length differs from bytes',
    path: ['data'],
  })

export const clipManifestPayload = z
  .strictObject({
    clipId: eventId,
    relatesTo: eventId.optional(),
    contentType: z.literal('video/mp4'),
    startedAt: isoTime,
    durationMs: z.number().int().positive(),
    prerollMs: nonNegativeInt,
    hasAudio: z.boolean(),
    bytes: z.number().int().positive(),
    sha256: sha256Hex,
    chunkBytes: z.number().int().positive().max(maxChunkDataBytes),
    chunkCount: z.number().int().positive(),
  })
  .refine((p) => p.chunkCount === Math.ceil(p.bytes / p.chunkBytes), {
    message: 'chunkCount must equal ceil(bytes / chunkBytes)',
    path: ['chunkCount'],
  })

export const clipChunkPayload = z.strictObject({
  clipId: eventId,
  index: nonNegativeInt,
  offset: nonNegativeInt,
  size: z.number().int().positive().max(maxChunkDataBytes),
  /** CRC-32 (IEEE, as zlib.crc32) of the chunk body. */
  crc32: z.number().int().min(0).max(0xffff_ffff),
})

/** Arguments of `clip.resend`: the clip whose whole-file check failed, and which request this is (1, 2, ...). */
export const clipResendArgs = z.strictObject({
  clipId: eventId,
  /** The same attempt may be delivered twice (queued, then asked again on reconnect): a device acts once. */
  attempt: z.number().int().positive(),
})

/** Arguments of `clip.verified`: the clip the collector checked whole (size and sha256) and stored. */
export const clipVerifiedArgs = z.strictObject({ clipId: eventId })

/** The per-session secret of a live view: 32 random bytes, base64url. The device echoes it in every answer. */
const liveToken = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'expected 43 base64url characters')
const sdp = z.string().min(10).max(maxLiveSdpBytes)

/** A STUN or TURN server the device may use to reach the collector (TURN credentials are time-limited). */
export const liveIceServer = z.strictObject({
  url: z
    .string()
    .max(256)
    .regex(/^(stun|turn|turns):[^\s]+$/, 'expected a stun:, turn: or turns: URL'),
  username: z.string().min(1).max(128).optional(),
  credential: z.string().min(1).max(128).optional(),
})

/** One ICE server of a `live.start`. */
export type LiveIceServer = z.output<typeof liveIceServer>

/** Arguments of `live.start`: the collector's offer for one live session of this device. */
export const liveStartArgs = z.strictObject({
  sessionId: eventId,
  token: liveToken,
  /** The collector's SDP offer: it receives video and audio and sends talk audio. */
  sdp,
  /** Ceiling of the live stream (video and audio), kbit/s; the device adapts below it. */
  maxBitrateKbps: z.number().int().min(32).max(20_000).optional(),
  iceServers: z.array(liveIceServer).max(4).optional(),
})

/** Validated `live.start` arguments. */
export type LiveStartArgs = z.output<typeof liveStartArgs>

/** Arguments of `live.stop`: the session is over, stop sending now. */
export const liveStopArgs = z.strictObject({ sessionId: eventId, token: liveToken })

/** Commands whose args have a schema; the others take none. */
const commandArgs: Partial<Record<string, z.ZodType>> = {
  'clip.resend': clipResendArgs,
  'clip.verified': clipVerifiedArgs,
  'live.start': liveStartArgs,
  'live.stop': liveStopArgs,
}

export const commandPayload = z
  .strictObject({
    /**
     * arm, disarm, snapshot, ping: asked by a person. clip.resend: the collector asks for a clip again
     * (chunks all arrived but the file failed its check); clip.verified: the collector holds the clip whole.
     * live.start, live.stop: a live view begins (with the collector's offer) or ends (docs/live.md).
     */
    name: z.enum([
      'arm',
      'disarm',
      'snapshot',
      'ping',
      'clip.resend',
      'clip.verified',
      'live.start',
      'live.stop',
    ]),
    args: z.record(z.string(), z.unknown()).optional(),
  })
  .superRefine((payload, ctx) => {
    const schema = commandArgs[payload.name]
    if (!schema) return
    const result = schema.safeParse(payload.args)
    for (const issue of result.error?.issues ?? []) {
      ctx.addIssue({ code: 'custom', message: issue.message, path: ['args', ...issue.path] })
    }
  })

/** The device's answer to `clip.resend` when it no longer holds the clip (evicted): the collector stops asking. */
export const clipUnavailablePayload = z.strictObject({
  clipId: eventId,
  /** The `clip.resend` attempt this answers. */
  attempt: z.number().int().positive(),
})

/** The device's answer to `live.start`, on its live topic; never stored, never in the outbox. */
export const liveAnswerPayload = z.strictObject({ sessionId: eventId, token: liveToken, sdp })

/** Why a device stopped (or never started) sending a live session. */
export const liveStopReasons = [
  'stopped',
  'busy',
  'camera-unavailable',
  'bad-offer',
  'expired',
  'disconnected',
  'max-length',
  'failed',
] as const

/** The device stopped sending a live session by itself (or refused it), on its live topic. */
export const liveStoppedPayload = z.strictObject({
  sessionId: eventId,
  token: liveToken,
  reason: z.enum(liveStopReasons),
})

const userName = z.string().min(1).max(64)

/** Recorded by the collector when a homeowner opens a live view of a device (the timeline shows it). */
export const liveStartedPayload = z.strictObject({ sessionId: eventId, startedBy: userName })

/** Recorded by the collector when a live session ends: who watched and for how long. */
export const liveEndedPayload = z.strictObject({
  sessionId: eventId,
  startedBy: userName,
  /** Everyone who watched, once each, in the order they joined. */
  viewers: z.array(userName).max(64),
  durationMs: nonNegativeInt,
  /** Whether anyone talked to the door during the session. */
  hasTalked: z.boolean(),
  reason: z.enum([
    'last-viewer-left',
    'idle',
    'max-length',
    'device-stopped',
    'device-offline',
    'no-answer',
    'shutdown',
  ]),
})

export const ackPayload = z.strictObject({
  /** Ids the collector has durably stored (or had already stored): the device may forget them. */
  ids: z.array(eventId).max(maxAckIds),
  /** Ids the collector refused; `retry` says whether sending again can help (a corrupted chunk). */
  rejected: z
    .array(z.strictObject({ id: eventId, code: z.string().min(1).max(64), retry: z.boolean() }))
    .max(maxAckIds)
    .default([]),
})

/** Every message type of protocol v1, with its payload schema and the classes it may be sent in. */
export const messageTypes = {
  'button.press': { payload: buttonPressPayload, classes: ['high'] },
  motion: { payload: motionPayload, classes: ['high', 'medium'] },
  'sound.level': { payload: soundLevelPayload, classes: ['medium'] },
  temperature: { payload: temperaturePayload, classes: ['medium'] },
  light: { payload: lightPayload, classes: ['medium'] },
  health: { payload: healthPayload, classes: ['medium'] },
  status: { payload: statusPayload, classes: ['medium'] },
  snapshot: { payload: snapshotPayload, classes: ['medium'] },
  'clip.manifest': { payload: clipManifestPayload, classes: ['low'] },
  'clip.chunk': { payload: clipChunkPayload, classes: ['low'] },
  'clip.unavailable': { payload: clipUnavailablePayload, classes: ['medium'] },
  command: { payload: commandPayload, classes: ['high'] },
  ack: { payload: ackPayload, classes: ['high'] },
  'live.answer': { payload: liveAnswerPayload, classes: ['high'] },
  'live.stopped': { payload: liveStoppedPayload, classes: ['high'] },
  'live.started': { payload: liveStartedPayload, classes: ['medium'] },
  'live.ended': { payload: liveEndedPayload, classes: ['medium'] },
} as const satisfies Record<string, { payload: z.ZodType; classes: readonly EventClass[] }>

/** Types only the collector writes: a device publishing one on an event or batch topic is refused. */
export const collectorOnlyTypes: ReadonlySet<string> = new Set([
  'ack',
  'command',
  'live.started',
  'live.ended',
])

/** Live signalling: accepted from a device on its live topic only, never stored. */
export const liveSignalTypes: ReadonlySet<string> = new Set(['live.answer', 'live.stopped'])

/** A protocol v1 message type name. */
export type MessageType = keyof typeof messageTypes

/** The list of type names, for docs and error messages. */
export const messageTypeNames = Object.keys(messageTypes) as MessageType[]

/** The payload of a given type after validation (defaults applied). */
export type PayloadOf<T extends MessageType> = z.output<(typeof messageTypes)[T]['payload']>

/** The payload of a given type as a sender writes it (defaults optional). */
export type PayloadInputOf<T extends MessageType> = z.input<(typeof messageTypes)[T]['payload']>

/** True when name is a protocol v1 message type. */
export function isMessageType(name: unknown): name is MessageType {
  return typeof name === 'string' && Object.hasOwn(messageTypes, name)
}

/** The class a type is sent in by default; motion depends on whether the system is armed. */
export function defaultClassOf(type: MessageType, payload?: { armed?: boolean }): EventClass {
  if (type === 'motion') return payload?.armed ? 'high' : 'medium'
  return messageTypes[type].classes[0]
}
