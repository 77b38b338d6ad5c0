import { z } from 'zod'
import type { EventClass } from './classes.js'
import { ulidPattern } from './ids.js'
import { maxAckIds, maxChunkDataBytes, maxSnapshotImageBytes } from './limits.js'

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
  /** Media counters when the camera runs: clips held on the Pi, their bytes, ring segments. */
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

/** Commands whose args have a schema; the others take none. */
const commandArgs: Partial<Record<string, z.ZodType>> = {
  'clip.resend': clipResendArgs,
  'clip.verified': clipVerifiedArgs,
}

export const commandPayload = z
  .strictObject({
    /**
     * arm, disarm, snapshot, ping: asked by a person. clip.resend: the collector asks for a clip again
     * (chunks all arrived but the file failed its check); clip.verified: the collector holds the clip whole.
     */
    name: z.enum(['arm', 'disarm', 'snapshot', 'ping', 'clip.resend', 'clip.verified']),
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
} as const satisfies Record<string, { payload: z.ZodType; classes: readonly EventClass[] }>

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
