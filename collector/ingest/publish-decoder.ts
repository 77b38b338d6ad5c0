import { DoorbellError, isDoorbellError } from '../../shared/errors.js'
import {
  collectorOnlyTypes,
  decodeChunk,
  decodeEvent,
  type Envelope,
  isBatchableClass,
  liveSignalTypes,
  maxBatchBytes,
  maxBatchItems,
  type ParsedTopic,
  ulidPattern,
  validateEnvelope,
} from '../../shared/protocol/index.js'
import { maxClipBytes } from '../clips/file-clip-store.js'
import type { DecodedPublish, Rejection, RejectReason } from './ingest-item.js'

function reasonOf(err: unknown): RejectReason {
  if (!isDoorbellError(err)) return 'malformed'
  switch (err.code) {
    case 'PROTOCOL_OVERSIZED':
      return 'oversized'
    case 'PROTOCOL_UNKNOWN_TYPE':
      return 'unknown_type'
    case 'PROTOCOL_MISMATCH':
      return 'mismatch'
    case 'PROTOCOL_TOPIC':
      return 'bad_topic'
    default:
      return err.details.field === 'payload.crc32' ? 'chunk_crc' : 'malformed'
  }
}

function rejection(deviceId: string, err: unknown, fallbackId?: unknown): Rejection {
  const reason = reasonOf(err)
  const detailId = isDoorbellError(err) ? err.details.id : undefined
  const id = typeof detailId === 'string' ? detailId : fallbackId
  return {
    deviceId,
    ...(typeof id === 'string' && ulidPattern.test(id) ? { id } : {}),
    code: isDoorbellError(err) ? err.code : 'PROTOCOL_MALFORMED',
    // A corrupted chunk body can be sent again and arrive intact; anything else will fail the same way.
    isRetryable: reason === 'chunk_crc',
    reason,
  }
}

function checkTopic(envelope: Envelope, topic: ParsedTopic): void {
  if (envelope.deviceId !== topic.deviceId) {
    throw new DoorbellError(
      'PROTOCOL_MISMATCH',
      `deviceId ${envelope.deviceId} on ${topic.deviceId}'s topic`,
      {
        details: { field: 'deviceId', id: envelope.id },
      },
    )
  }
  if (envelope.class !== topic.eventClass) {
    throw new DoorbellError('PROTOCOL_MISMATCH', `class ${envelope.class} on a ${topic.eventClass} topic`, {
      details: { field: 'class', id: envelope.id },
    })
  }
  if (
    envelope.type === 'clip.chunk' ||
    collectorOnlyTypes.has(envelope.type) ||
    liveSignalTypes.has(envelope.type)
  ) {
    throw new DoorbellError('PROTOCOL_MALFORMED', `type ${envelope.type} is not accepted in a batch`, {
      details: { field: 'type', id: envelope.id },
    })
  }
}

/**
 * Decodes the payload of a publish on a device's own event, batch or chunk topic. Never throws: every
 * problem becomes a Rejection. A batch is decoded element by element, so one bad reading is refused
 * alone and the others are stored.
 */
export function decodePublish(topic: ParsedTopic, payload: Buffer, receivedAtMs: number): DecodedPublish {
  if (topic.kind === 'event') return decodeEventPublish(topic, payload, receivedAtMs)
  if (topic.kind === 'chunk') return decodeChunkPublish(topic, payload)
  if (topic.kind === 'batch') return decodeBatchPublish(topic, payload, receivedAtMs)
  return {
    items: [],
    rejections: [
      rejection(topic.deviceId, new DoorbellError('PROTOCOL_TOPIC', `kind ${topic.kind} carries no events`)),
    ],
  }
}

/** One envelope on an event topic; ack, command and the live records are the collector's own types. */
export function decodeEventPublish(
  topic: ParsedTopic,
  payload: Buffer,
  receivedAtMs: number,
): DecodedPublish {
  try {
    const envelope = decodeEvent(payload, topic)
    if (liveSignalTypes.has(envelope.type)) {
      throw new DoorbellError('PROTOCOL_MALFORMED', `type ${envelope.type} travels on the live topic only`, {
        details: { field: 'type', id: envelope.id },
      })
    }
    if (collectorOnlyTypes.has(envelope.type)) {
      throw new DoorbellError('PROTOCOL_MALFORMED', `type ${envelope.type} is sent by the collector only`, {
        details: { field: 'type', id: envelope.id },
      })
    }
    return { items: [{ kind: 'event', event: { ...envelope, receivedAtMs } }], rejections: [] }
  } catch (err) {
    return { items: [], rejections: [rejection(topic.deviceId, err, peekId(payload))] }
  }
}

/** One binary clip-chunk frame, CRC checked, ending inside the largest clip. */
export function decodeChunkPublish(topic: ParsedTopic, payload: Buffer): DecodedPublish {
  try {
    const frame = decodeChunk(payload, topic)
    if (frame.envelope.payload.offset + frame.data.length > maxClipBytes) {
      throw new DoorbellError('PROTOCOL_OVERSIZED', `chunk ends past ${maxClipBytes} bytes`, {
        details: { field: 'payload.offset', id: frame.envelope.id },
      })
    }
    return { items: [{ kind: 'chunk', envelope: frame.envelope, data: frame.data }], rejections: [] }
  } catch (err) {
    return { items: [], rejections: [rejection(topic.deviceId, err)] }
  }
}

/** A JSON array of envelopes on a batch topic, each decoded (and refused) on its own. */
export function decodeBatchPublish(
  topic: ParsedTopic,
  payload: Buffer,
  receivedAtMs: number,
): DecodedPublish {
  const { deviceId } = topic
  let value: unknown
  try {
    if (payload.length > maxBatchBytes) {
      throw new DoorbellError(
        'PROTOCOL_OVERSIZED',
        `batch is ${payload.length} bytes, the limit is ${maxBatchBytes}`,
      )
    }
    if (!topic.eventClass || !isBatchableClass(topic.eventClass)) {
      throw new DoorbellError('PROTOCOL_TOPIC', `class ${topic.eventClass} is not sent in batches`)
    }
    value = JSON.parse(payload.toString('utf8'))
    if (!Array.isArray(value) || value.length === 0 || value.length > maxBatchItems) {
      throw new DoorbellError(
        'PROTOCOL_MALFORMED',
        `batch: expected an array of 1-${maxBatchItems} envelopes`,
      )
    }
  } catch (err) {
    const items = Array.isArray(value) ? value : []
    const rejections = items.length
      ? items.map((item) => rejection(deviceId, err, (item as { id?: unknown } | null)?.id))
      : [rejection(deviceId, err)]
    return { items: [], rejections }
  }
  const result: DecodedPublish = { items: [], rejections: [] }
  for (const item of value) {
    try {
      const envelope = validateEnvelope(item)
      checkTopic(envelope, topic)
      result.items.push({ kind: 'event', event: { ...envelope, receivedAtMs } })
    } catch (err) {
      result.rejections.push(rejection(deviceId, err, (item as { id?: unknown } | null)?.id))
    }
  }
  return result
}

/** The id of a payload that failed to decode, when it is JSON with a string id, so it can be nacked. */
function peekId(payload: Buffer): string | undefined {
  try {
    const value = JSON.parse(payload.toString('utf8')) as { id?: unknown } | null
    return typeof value?.id === 'string' ? value.id : undefined
  } catch {
    return undefined
  }
}
