import type { ErrorCode } from '../../shared/errors.js'
import type { Envelope } from '../../shared/protocol/index.js'
import type { StoredEvent } from '../store/event-store.js'

/** Why something was refused; the label of the rejection counter. */
export type RejectReason =
  | 'malformed'
  | 'oversized'
  | 'unknown_type'
  | 'mismatch'
  | 'bad_topic'
  | 'foreign_topic'
  | 'not_a_device'
  | 'rate_limited'
  | 'chunk_crc'
  | 'store_failed'
  | 'overloaded'
  | 'packet_too_large'
  | 'malformed_length'
  | 'auth_failed'
  | 'auth_busy'
  | 'client_id_rejected'
  | 'subscribe_refused'
  | 'connect_timeout'
  | 'tls_handshake'

/** Something to store: an event envelope, or a verified clip chunk. */
export type IngestItem =
  | { readonly kind: 'event'; readonly event: StoredEvent }
  | {
      readonly kind: 'chunk'
      readonly envelope: Extract<Envelope, { type: 'clip.chunk' }>
      readonly data: Buffer
    }

/** A refusal to report to the device in its next ack (when the id is known) and to count. */
export interface Rejection {
  readonly deviceId: string
  /** The envelope id, when it could be read; the device drops (retry false) or resends it. */
  readonly id?: string
  /** A code from the error catalogue, sent to the device in the ack. */
  readonly code: ErrorCode
  readonly isRetryable: boolean
  readonly reason: RejectReason
}

/** Result of decoding one publish: items to store and rejections to report. */
export interface DecodedPublish {
  readonly items: IngestItem[]
  readonly rejections: Rejection[]
}
