import { checkClock } from './check-clock.js'
import { decodeEventPublish } from './publish-decoder.js'
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

/** One envelope from `event/<class>`: an alert, a press, a reading; checked, then group-committed. */
export function decodeEvent(publish: InboundPublish, deps: IngestDeps): boolean {
  publish.decoded = decodeEventPublish(publish.topic, publish.payload, deps.now())
  return true
}

/** The steps of an event publish, after checkAccess. */
export const eventSteps: readonly IngestStep[] = [
  clearRetain,
  decodeEvent,
  checkClock,
  // Before the budgets: a publish refused as busy is sent again, and must not pay for its first try.
  shedLoad,
  rateLimit,
  checkStorageQuota,
  submit,
]
