import { statusPayload } from '../../shared/protocol/index.js'
import type { InboundPublish, IngestDeps, IngestStep } from './publish-steps.js'

/**
 * Presence from a status payload: a bare `{state}` or a `status` envelope (protocol v1 allows both).
 * Anything else is refused (malformed) and reaches no subscriber, so the retained status stays true.
 */
export function parseStatus(publish: InboundPublish, deps: IngestDeps): boolean {
  const state = presenceOf(publish.payload)
  if (state === undefined) {
    deps.onRejected('malformed', { deviceId: publish.topic.deviceId })
    deps.drop(publish.packet)
    return false
  }
  publish.presence = state
  return true
}

/** Tells the collector; the publish itself goes on to the broker and stays retained (the last will too). */
export function reportPresence(publish: InboundPublish, deps: IngestDeps): boolean {
  deps.onPresence(publish.topic.deviceId, publish.presence)
  return false
}

/** The steps of a status publish, after checkAccess: retained, never rate-limited or stored. */
export const statusSteps: readonly IngestStep[] = [parseStatus, reportPresence]

function presenceOf(payload: Buffer): 'online' | 'offline' | undefined {
  try {
    const value = JSON.parse(payload.toString('utf8')) as { type?: unknown; payload?: unknown } | null
    const body = value && typeof value === 'object' && value.type === 'status' ? value.payload : value
    const result = statusPayload.safeParse(body)
    return result.success ? result.data.state : undefined
  } catch {
    return undefined
  }
}
