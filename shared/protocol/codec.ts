import { crc32 } from 'node:zlib'
import { DoorbellError } from '../errors.js'
import type { EventClass } from './classes.js'
import { createEnvelope, type Envelope, type EnvelopeInit, validateEnvelope } from './envelope.js'
import {
  maxAckEnvelopeBytes,
  maxBatchBytes,
  maxBatchItems,
  maxChunkDataBytes,
  maxChunkHeaderBytes,
  maxEventBytes,
  maxSnapshotEnvelopeBytes,
} from './limits.js'
import type { MessageType } from './messages.js'
import type { ParsedTopic } from './topics.js'

/**
 * Encoding and decoding of protocol v1 payloads. Every decoder checks the size before parsing, then the
 * shape, then that the envelope matches the topic it came on. Every failure is a DoorbellError naming
 * the field; details.id carries the envelope id when it could be read, so the collector can nack it.
 */

/** What the topic said: the decoded envelopes must belong to this device (and class). */
export type TopicExpectation = Pick<ParsedTopic, 'deviceId' | 'eventClass'>

/** Leading bytes of a clip-chunk frame: "DBC1". */
export const chunkFrameMagic = Buffer.from('DBC1', 'ascii')

/** The size limit of one JSON envelope of the given type. */
export function maxEnvelopeBytesFor(type: string): number {
  if (type === 'snapshot') return maxSnapshotEnvelopeBytes
  if (type === 'ack') return maxAckEnvelopeBytes
  return maxEventBytes
}

/** The largest JSON envelope of any type: the bound checked before parsing. */
const maxAnyEnvelopeBytes = Math.max(maxSnapshotEnvelopeBytes, maxAckEnvelopeBytes, maxEventBytes)

function assertSize(what: string, bytes: number, limit: number): void {
  if (bytes > limit) {
    throw new DoorbellError('PROTOCOL_OVERSIZED', `${what} is ${bytes} bytes, the limit is ${limit}`, {
      details: { field: what, bytes, limit },
    })
  }
}

function parseJson(buffer: Buffer, what: string): unknown {
  try {
    return JSON.parse(buffer.toString('utf8'))
  } catch (err) {
    throw new DoorbellError('PROTOCOL_MALFORMED', `${what} is not valid JSON`, {
      cause: err,
      details: { field: what },
    })
  }
}

function assertMatchesTopic(envelope: Envelope, expect: TopicExpectation | undefined): void {
  if (!expect) return
  if (envelope.deviceId !== expect.deviceId) {
    throw new DoorbellError(
      'PROTOCOL_MISMATCH',
      `deviceId ${envelope.deviceId} published on the topic of ${expect.deviceId}`,
      { details: { field: 'deviceId', id: envelope.id } },
    )
  }
  if (expect.eventClass && envelope.class !== expect.eventClass) {
    throw new DoorbellError(
      'PROTOCOL_MISMATCH',
      `class ${envelope.class} published on a ${expect.eventClass} topic`,
      { details: { field: 'class', id: envelope.id } },
    )
  }
}

/** Encodes one envelope as JSON, validating it and its size first. */
export function encodeEvent(envelope: Envelope): Buffer {
  return encodeValid(validateEnvelope(envelope))
}

/**
 * Builds, validates and encodes a new envelope in one step: the envelope and its JSON. Validates once, where
 * createEnvelope then encodeEvent validate twice (an ack lists up to maxAckIds ids, each checked as a ULID).
 */
export function encodeNewEvent<T extends MessageType>(
  init: EnvelopeInit<T>,
): {
  envelope: Envelope<T>
  buffer: Buffer
} {
  const envelope = createEnvelope(init)
  return { envelope, buffer: encodeValid(envelope as Envelope) }
}

function encodeValid(valid: Envelope): Buffer {
  if (valid.type === 'clip.chunk') {
    throw new DoorbellError(
      'PROTOCOL_MALFORMED',
      'type: clip.chunk travels in a chunk frame, use encodeChunk',
    )
  }
  const buffer = Buffer.from(JSON.stringify(valid))
  assertSize('envelope', buffer.length, maxEnvelopeBytesFor(valid.type))
  return buffer
}

/** Decodes one JSON envelope from an event topic. */
export function decodeEvent(buffer: Buffer, expect?: TopicExpectation): Envelope {
  assertSize('envelope', buffer.length, maxAnyEnvelopeBytes)
  const value = parseJson(buffer, 'envelope')
  // Only snapshots and acks may exceed maxEventBytes; check before the (costlier) schema validation.
  const type = (value as { type?: unknown } | null)?.type
  assertSize('envelope', buffer.length, maxEnvelopeBytesFor(typeof type === 'string' ? type : ''))
  const envelope = validateEnvelope(value)
  if (envelope.type === 'clip.chunk') {
    throw new DoorbellError('PROTOCOL_MALFORMED', 'type: clip.chunk is only accepted on the chunk topic', {
      details: { field: 'type', id: envelope.id },
    })
  }
  assertMatchesTopic(envelope, expect)
  return envelope
}

/** Encodes a batch of envelopes of one class as a JSON array. */
export function encodeBatch(envelopes: readonly Envelope[]): Buffer {
  if (envelopes.length === 0 || envelopes.length > maxBatchItems) {
    throw new DoorbellError(
      'PROTOCOL_OVERSIZED',
      `batch holds ${envelopes.length} envelopes, 1-${maxBatchItems} allowed`,
      {
        details: { field: 'batch' },
      },
    )
  }
  const valid = envelopes.map((e) => validateEnvelope(e))
  const buffer = Buffer.from(JSON.stringify(valid))
  assertSize('batch', buffer.length, maxBatchBytes)
  return buffer
}

/** Decodes a batch; one bad element rejects the whole batch, naming its index. */
export function decodeBatch(buffer: Buffer, expect?: TopicExpectation): Envelope[] {
  assertSize('batch', buffer.length, maxBatchBytes)
  const value = parseJson(buffer, 'batch')
  if (!Array.isArray(value)) {
    throw new DoorbellError('PROTOCOL_MALFORMED', 'batch: expected a JSON array of envelopes', {
      details: { field: 'batch' },
    })
  }
  if (value.length === 0 || value.length > maxBatchItems) {
    throw new DoorbellError(
      'PROTOCOL_OVERSIZED',
      `batch holds ${value.length} envelopes, 1-${maxBatchItems} allowed`,
      {
        details: { field: 'batch' },
      },
    )
  }
  return value.map((item, index) => {
    try {
      const envelope = validateEnvelope(item)
      assertMatchesTopic(envelope, expect)
      return envelope
    } catch (err) {
      if (!(err instanceof DoorbellError)) throw err
      throw new DoorbellError(err.code, `batch[${index}].${err.message.replace(/^[^:]*: /, '')}`, {
        cause: err,
        details: { ...err.details, field: `batch[${index}].${String(err.details.field ?? '')}` },
      })
    }
  })
}

/** A decoded clip chunk: its envelope and its body. */
export interface ChunkFrame {
  readonly envelope: Envelope<'clip.chunk'>
  readonly data: Buffer
}

/**
 * Encodes a clip chunk as a binary frame: "DBC1", u32 big-endian header length, the JSON envelope,
 * then the raw body. Binary avoids base64's 33 % on a slow uplink.
 */
export function encodeChunk(envelope: Envelope<'clip.chunk'>, data: Buffer): Buffer {
  const valid = validateEnvelope(envelope)
  if (valid.type !== 'clip.chunk') {
    throw new DoorbellError('PROTOCOL_MALFORMED', `type: expected clip.chunk, got ${valid.type}`)
  }
  if (valid.payload.size !== data.length) {
    throw new DoorbellError(
      'PROTOCOL_MALFORMED',
      `payload.size is ${valid.payload.size}, the body has ${data.length} bytes`,
    )
  }
  const header = Buffer.from(JSON.stringify(valid))
  assertSize('chunk header', header.length, maxChunkHeaderBytes)
  const length = Buffer.alloc(4)
  length.writeUInt32BE(header.length)
  return Buffer.concat([chunkFrameMagic, length, header, data])
}

/** Decodes and verifies a clip-chunk frame; a CRC mismatch is PROTOCOL_MALFORMED on payload.crc32. */
export function decodeChunk(buffer: Buffer, expect?: TopicExpectation): ChunkFrame {
  assertSize('chunk frame', buffer.length, 8 + maxChunkHeaderBytes + maxChunkDataBytes)
  if (buffer.length < 8 || !buffer.subarray(0, 4).equals(chunkFrameMagic)) {
    throw new DoorbellError('PROTOCOL_MALFORMED', 'chunk frame: missing the DBC1 magic', {
      details: { field: 'frame' },
    })
  }
  const headerBytes = buffer.readUInt32BE(4)
  assertSize('chunk header', headerBytes, maxChunkHeaderBytes)
  if (8 + headerBytes > buffer.length) {
    throw new DoorbellError('PROTOCOL_MALFORMED', 'chunk frame: header length runs past the end', {
      details: { field: 'frame' },
    })
  }
  const envelope = validateEnvelope(parseJson(buffer.subarray(8, 8 + headerBytes), 'chunk header'))
  if (envelope.type !== 'clip.chunk') {
    throw new DoorbellError('PROTOCOL_MALFORMED', `type: expected clip.chunk, got ${envelope.type}`, {
      details: { field: 'type', id: envelope.id },
    })
  }
  assertMatchesTopic(envelope, expect)
  const data = buffer.subarray(8 + headerBytes)
  if (data.length !== envelope.payload.size) {
    throw new DoorbellError(
      'PROTOCOL_MALFORMED',
      `payload.size is ${envelope.payload.size}, the body has ${data.length} bytes`,
      {
        details: { field: 'payload.size', id: envelope.id },
      },
    )
  }
  if (crc32(data) !== envelope.payload.crc32) {
    throw new DoorbellError('PROTOCOL_MALFORMED', 'payload.crc32 does not match the chunk body', {
      details: { field: 'payload.crc32', id: envelope.id },
    })
  }
  return { envelope, data }
}

/** Checks that a class is allowed on a batch topic: only medium readings are batched in v1. */
export function isBatchableClass(eventClass: EventClass): boolean {
  return eventClass === 'medium'
}
