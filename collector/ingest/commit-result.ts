import type { ChunkReceipt, StoredEvent } from '../store/event-store.js'
import type { Rejection } from './ingest-item.js'

/** The ack owed to one device after a commit: ids now durable (or already were) and refusals. */
export interface DeviceAck {
  readonly deviceId: string
  readonly ids: string[]
  readonly rejected: Rejection[]
}

/** What one group commit did. */
export interface CommitResult {
  /** Events stored for the first time, in arrival order. */
  readonly stored: StoredEvent[]
  readonly storedChunks: ChunkReceipt[]
  /** Chunks of a clip retention removed (CLIP_EXPIRED), or clip items another device owns (CLIP_FOREIGN). */
  readonly refused: Rejection[]
  readonly duplicateCount: number
  readonly acks: DeviceAck[]
  readonly durationMs: number
}
