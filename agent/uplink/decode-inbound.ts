import { DoorbellError } from '../../shared/errors.js'
import {
  decodeEvent,
  type Envelope,
  maxAckIds,
  maxEventBytes,
  validateEnvelope,
} from '../../shared/protocol/index.js'

/**
 * Largest ack this device accepts: maxAckIds ids of 29 bytes each plus the envelope. The codec's
 * maxEventBytes (16 KiB) would refuse a legal ack of more than about 540 ids (a group commit of two full
 * batches), so acks get their own bound derived from maxAckIds.
 */
export const maxAckEnvelopeBytes = maxAckIds * 2 * 29 + 4096

/** Decodes a message on the device's ack or command topic; throws DoorbellError when it is not for us. */
export function decodeInbound(kind: 'ack' | 'command', payload: Buffer, deviceId: string): Envelope {
  if (kind === 'command' || payload.length <= maxEventBytes) return decodeEvent(payload, { deviceId })
  if (payload.length > maxAckEnvelopeBytes) {
    throw new DoorbellError(
      'PROTOCOL_OVERSIZED',
      `ack is ${payload.length} bytes, the limit is ${maxAckEnvelopeBytes}`,
    )
  }
  let value: unknown
  try {
    value = JSON.parse(payload.toString('utf8'))
  } catch (err) {
    throw new DoorbellError('PROTOCOL_MALFORMED', 'ack is not valid JSON', { cause: err })
  }
  const envelope = validateEnvelope(value)
  if (envelope.deviceId !== deviceId) {
    throw new DoorbellError('PROTOCOL_MISMATCH', `ack for ${envelope.deviceId} on the topic of ${deviceId}`)
  }
  return envelope
}
