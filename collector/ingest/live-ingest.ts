import type { InboundPublish, IngestDeps, IngestStep } from './publish-steps.js'

/** The device's token bucket applies to signalling too: over it, the message is refused and counted. */
export function rateLimitSignal(publish: InboundPublish, deps: IngestDeps): boolean {
  if (deps.rateLimiter.tryTake(publish.topic.deviceId)) return true
  deps.onRejected('rate_limited', { deviceId: publish.topic.deviceId })
  deps.drop(publish.packet)
  return false
}

/** Hands the signal to the live view and routes the publish nowhere: it is volatile and for the collector. */
export function handOffSignal(publish: InboundPublish, deps: IngestDeps): boolean {
  deps.onLiveSignal(publish.topic.deviceId, publish.payload)
  deps.drop(publish.packet)
  return false
}

/** The steps of a publish on a device's live topic (docs/live.md), after checkAccess: never stored. */
export const liveSteps: readonly IngestStep[] = [rateLimitSignal, handOffSignal]
