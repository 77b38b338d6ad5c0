import type { Client, PublishPacket } from 'aedes'
import type { ParsedTopic } from '../../shared/protocol/index.js'
import { publishTopicOf } from '../access/mqtt-rights.js'
import type { MqttPrincipal } from '../access/principal.js'
import type { DecodedPublish, IngestItem, Rejection, RejectReason } from './ingest-item.js'
import { itemId } from './ingest-item.js'

/**
 * One publish on its way through the steps: each step reads what earlier steps filled in. The broker
 * keeps one of these and refills it for every publish (publish-ingest.ts): the steps run synchronously
 * and keep no reference to it, so the hot path allocates nothing for the pipeline itself.
 */
export interface InboundPublish {
  client: Client | null
  packet: PublishPacket
  principal: MqttPrincipal | undefined
  /** The publish topic, parsed (checkAccess). */
  topic: ParsedTopic
  payload: Buffer
  /** What the decode step of the topic's kind made of the payload. */
  decoded: DecodedPublish
  /** The presence a status publish announces (status-ingest.ts). */
  presence: 'online' | 'offline'
}

/** Where decoded items go: the group-commit writer. */
export interface IngestSink {
  readonly queuedCount: number
  submit(item: IngestItem): void
  reject(rejection: Rejection): void
}

/** What the steps hand their work to; built once per broker. */
export interface IngestDeps {
  readonly principalOf: (client: Client) => MqttPrincipal | undefined
  readonly rateLimiter: { tryTake(deviceId: string): boolean }
  /** Bytes per device per day (limits.deviceBytesPerDay): takes a publish's bytes, false when over. */
  readonly storageQuota: { tryTake(deviceId: string, bytes: number): boolean }
  /** How far ahead of the collector's clock an id or capture time may be (limits.maxClockAheadMs). */
  readonly maxClockAheadMs: number
  readonly sink: IngestSink
  /** Items waiting for a commit beyond which new ones are refused with retry (backpressure). */
  readonly maxQueuedItems: number
  readonly now: () => number
  /** Counts a refusal (the rejection metric). */
  readonly onRejected: (reason: RejectReason, detail: { clientId?: string; deviceId?: string }) => void
  /** A device's presence changed (status topic, or its last will). */
  readonly onPresence: (deviceId: string, state: 'online' | 'offline') => void
  /** A device's live-view signalling (its live topic): for the live extension, never stored. */
  readonly onLiveSignal: (deviceId: string, payload: Buffer) => void
  /** Routes a publish nowhere: it is acknowledged to the device and reaches no subscriber. */
  readonly drop: (packet: PublishPacket) => void
}

/**
 * One step of ingest: true to go on with the next step, false when this step has finished with the
 * publish (refused it, dropped it or handed it off). A step is a plain function of (publish, deps), so a
 * list of them costs no closure per message.
 */
export type IngestStep = (publish: InboundPublish, deps: IngestDeps) => boolean

/** Runs the steps in order until one finishes with the publish. */
export function runSteps(steps: readonly IngestStep[], publish: InboundPublish, deps: IngestDeps): void {
  for (let i = 0; i < steps.length; i++) {
    if (!(steps[i] as IngestStep)(publish, deps)) return
  }
}

/**
 * Who may publish here (access/mqtt-rights.ts), and parses the topic. A will left by a client of a
 * previous broker run has no client; only presence wills are honoured.
 */
export function checkAccess(publish: InboundPublish, deps: IngestDeps): boolean {
  const { client, packet } = publish
  const principal = client ? deps.principalOf(client) : undefined
  if (!principal) {
    if (!(client === null && packet.topic.endsWith('/status'))) deps.drop(packet)
    return false
  }
  const checked = publishTopicOf(principal, packet.topic)
  if (typeof checked === 'string') {
    deps.onRejected(checked, { clientId: client?.id })
    deps.drop(packet)
    return false
  }
  publish.principal = principal
  publish.topic = checked
  publish.payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload)
  return true
}

/** A device's event is stored by the collector, not retained by the broker. */
export function clearRetain(publish: InboundPublish): boolean {
  publish.packet.retain = false
  return true
}

/**
 * The device's token bucket (access/quotas.ts). Over its rate, every envelope of the publish is refused
 * with retry, counted through the rejections (reason rate_limited) like every refusal of an envelope.
 * A publish with nothing left to store (all refused before, say as busy) takes no token.
 */
export function rateLimit(publish: InboundPublish, deps: IngestDeps): boolean {
  if (publish.decoded.items.length === 0) return true
  if (deps.rateLimiter.tryTake(publish.topic.deviceId)) return true
  refuseItems(publish, 'RATE_LIMITED', 'rate_limited')
  return true
}

/**
 * The device's storage budget (limits.deviceBytesPerDay, a token bucket of bytes refilled over a day):
 * with retention, it bounds what one device can make the collector keep. Over it, every item of the
 * publish is refused with retry (STORAGE_QUOTA, reason storage_quota), so nothing accepted is lost.
 */
export function checkStorageQuota(publish: InboundPublish, deps: IngestDeps): boolean {
  if (publish.decoded.items.length === 0) return true
  if (deps.storageQuota.tryTake(publish.topic.deviceId, publish.payload.length)) return true
  refuseItems(publish, 'STORAGE_QUOTA', 'storage_quota')
  return true
}

/** Backpressure: when the store cannot keep up, refuse with retry instead of growing memory. */
export function shedLoad(publish: InboundPublish, deps: IngestDeps): boolean {
  if (deps.sink.queuedCount >= deps.maxQueuedItems) refuseItems(publish, 'COLLECTOR_BUSY', 'overloaded')
  return true
}

/**
 * Hands the items to the group-commit writer and reports the refusals (each goes into the device's next
 * ack). A publish that carried nothing storable reaches no subscriber.
 */
export function submit(publish: InboundPublish, deps: IngestDeps): boolean {
  const { items, rejections } = publish.decoded
  // Indexed loops: this runs for every publish, and for-of over an array costs more here.
  for (let i = 0; i < rejections.length; i++) {
    const rejection = rejections[i] as Rejection
    deps.onRejected(rejection.reason, { deviceId: rejection.deviceId })
    deps.sink.reject(rejection)
  }
  for (let i = 0; i < items.length; i++) deps.sink.submit(items[i] as IngestItem)
  if (items.length === 0) deps.drop(publish.packet)
  return false
}

/** Turns every item of the publish into a refusal with retry (the device sends it again later). */
function refuseItems(
  publish: InboundPublish,
  code: 'RATE_LIMITED' | 'COLLECTOR_BUSY' | 'STORAGE_QUOTA',
  reason: 'rate_limited' | 'overloaded' | 'storage_quota',
): void {
  const { items, rejections } = publish.decoded
  if (items.length === 0) return
  const deviceId = publish.topic.deviceId
  // A copy: the decoders share one empty rejections array between publishes.
  const refused = [...rejections]
  for (const item of items) refused.push({ deviceId, id: itemId(item), code, isRetryable: true, reason })
  publish.decoded = { items: [], rejections: refused }
}
