import { checkClock } from './check-clock.js'
import { decodeChunkPublish } from './publish-decoder.js'
import {
  checkStorageQuota,
  clearRetain,
  type InboundPublish,
  type IngestStep,
  rateLimit,
  shedLoad,
  submit,
} from './publish-steps.js'

/** A binary clip-chunk frame from `chunk`: its CRC and bounds checked (publish-decoder.ts). */
export function decodeChunk(publish: InboundPublish): boolean {
  publish.decoded = decodeChunkPublish(publish.topic, publish.payload)
  return true
}

/** The steps of a chunk publish, after checkAccess. */
export const chunkSteps: readonly IngestStep[] = [
  clearRetain,
  decodeChunk,
  checkClock,
  // Before the budgets: a publish refused as busy is sent again, and must not pay for its first try.
  shedLoad,
  rateLimit,
  checkStorageQuota,
  submit,
]
