import { z } from 'zod'
import { DoorbellError } from '../errors.js'
import { type EventClass, eventClasses } from './classes.js'
import { acceptCommonEnvelope } from './envelope-fast-path.js'
import { deviceIdPattern, newEventId, ulidPattern } from './ids.js'
import {
  defaultClassOf,
  isMessageType,
  type MessageType,
  messageTypeNames,
  messageTypes,
  type PayloadInputOf,
  type PayloadOf,
} from './messages.js'

/** Protocol version carried in every envelope. */
export const protocolVersion = 1

/** The envelope of every protocol v1 message, typed by its message type. */
export type Envelope<T extends MessageType = MessageType> = {
  [K in T]: {
    /** Protocol version, always 1. */
    readonly v: 1
    /** ULID: unique, sorts by capture time. The deduplication key at the collector. */
    readonly id: string
    readonly deviceId: string
    /** Per-device sequence number, increasing by one for every event the device records. */
    readonly seq: number
    readonly class: EventClass
    readonly type: K
    /** When the device captured it, ISO 8601 with offset. */
    readonly capturedAt: string
    readonly payload: PayloadOf<K>
  }
}[T]

const headerSchema = z.strictObject({
  v: z.literal(protocolVersion),
  id: z.string().regex(ulidPattern, 'expected a ULID'),
  deviceId: z.string().regex(deviceIdPattern, 'expected 1-64 of [A-Za-z0-9_-]'),
  seq: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  class: z.enum(eventClasses),
  type: z.string(),
  capturedAt: z.iso.datetime({ offset: true }),
  payload: z.unknown(),
})

/** Turns zod issues into one readable line naming each field, e.g. `payload.celsius: Too big`. */
export function describeIssues(
  issues: readonly z.core.$ZodIssue[],
  prefix: readonly PropertyKey[] = [],
): string {
  const shown = issues.slice(0, 5).map((issue) => {
    const path = [...prefix, ...issue.path].map(String).join('.') || '(root)'
    return `${path}: ${issue.message}`
  })
  if (issues.length > shown.length) shown.push(`and ${issues.length - shown.length} more`)
  return shown.join('; ')
}

function firstField(issues: readonly z.core.$ZodIssue[], prefix: readonly PropertyKey[] = []): string {
  const first = issues[0]
  return first ? [...prefix, ...first.path].map(String).join('.') : ''
}

const classesOf = (type: string): readonly string[] | undefined =>
  isMessageType(type) ? messageTypes[type].classes : undefined

/**
 * Validates an untrusted value as an envelope. Throws PROTOCOL_UNKNOWN_TYPE for a type outside v1 and
 * PROTOCOL_MALFORMED naming the field for anything else wrong. The common valid envelopes are accepted
 * by plain checks first (envelope-fast-path.ts); everything else, and every rejection, goes through zod.
 */
export function validateEnvelope(value: unknown): Envelope {
  return (acceptCommonEnvelope(value, classesOf) as Envelope | undefined) ?? validateEnvelopeBySchema(value)
}

/** validateEnvelope through the zod schemas alone (the reference the fast path is tested against). */
export function validateEnvelopeBySchema(value: unknown): Envelope {
  const header = headerSchema.safeParse(value)
  if (!header.success) {
    throw new DoorbellError('PROTOCOL_MALFORMED', describeIssues(header.error.issues), {
      details: { field: firstField(header.error.issues) },
    })
  }
  const { type } = header.data
  if (!isMessageType(type)) {
    throw new DoorbellError(
      'PROTOCOL_UNKNOWN_TYPE',
      `type ${JSON.stringify(type).slice(0, 80)}; known types: ${messageTypeNames.join(', ')}`,
      { details: { field: 'type', id: header.data.id } },
    )
  }
  const spec = messageTypes[type]
  if (!(spec.classes as readonly EventClass[]).includes(header.data.class)) {
    throw new DoorbellError(
      'PROTOCOL_MALFORMED',
      `class: type ${type} travels in ${spec.classes.join(' or ')}, not ${header.data.class}`,
      { details: { field: 'class', id: header.data.id } },
    )
  }
  const payload = spec.payload.safeParse(header.data.payload)
  if (!payload.success) {
    throw new DoorbellError('PROTOCOL_MALFORMED', describeIssues(payload.error.issues, ['payload']), {
      details: { field: firstField(payload.error.issues, ['payload']), id: header.data.id },
    })
  }
  return Object.freeze({ ...header.data, type, payload: payload.data }) as Envelope
}

/** What a sender fills in; id, class and capture time get defaults. */
export interface EnvelopeInit<T extends MessageType> {
  readonly deviceId: string
  readonly seq: number
  readonly type: T
  readonly payload: PayloadInputOf<T>
  readonly class?: EventClass
  readonly id?: string
  /** Capture time in ms since the epoch; defaults to now. */
  readonly capturedAtMs?: number
}

/** Builds and validates an envelope; throws PROTOCOL_MALFORMED if the init is wrong. */
export function createEnvelope<T extends MessageType>(init: EnvelopeInit<T>): Envelope<T> {
  const capturedAtMs = init.capturedAtMs ?? Date.now()
  return validateEnvelope({
    v: protocolVersion,
    id: init.id ?? newEventId(capturedAtMs),
    deviceId: init.deviceId,
    seq: init.seq,
    class: init.class ?? defaultClassOf(init.type, init.payload as { armed?: boolean }),
    type: init.type,
    capturedAt: new Date(capturedAtMs).toISOString(),
    payload: init.payload,
  }) as Envelope<T>
}

/** Narrows an envelope to one type. */
export function isEnvelopeOf<T extends MessageType>(
  envelope: Envelope,
  type: T,
): envelope is Extract<Envelope, { type: T }> {
  return envelope.type === type
}
