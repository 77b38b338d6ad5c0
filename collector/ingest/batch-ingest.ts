import { checkClock } from './check-clock.js'
import { decodeBatchPublish } from './publish-decoder.js'
import {
  checkStorageQuota,
  clearRetain,
  type InboundPublish,
  type IngestDeps,
  type IngestStep,
  rateLimit,
  shedLoad,
  submit,
} from './publish-steps.js'

/** A JSON array from `batch/medium`: each reading is decoded, and refused, on its own. */
export function decodeBatch(publish: InboundPublish, deps: IngestDeps): boolean {
  publish.decoded = decodeBatchPublish(publish.topic, publish.payload, deps.now())
  return true
}

/** The steps of a batch publish, after checkAccess; the whole batch takes one token of the rate limit. */
export const batchSteps: readonly IngestStep[] = [
  clearRetain,
  decodeBatch,
  checkClock,
  // Before the budgets: a publish refused as busy is sent again, and must not pay for its first try.
  shedLoad,
  rateLimit,
  checkStorageQuota,
  submit,
]
