import { DoorbellError } from '../errors.js'
import { type EventClass, eventClasses } from './classes.js'
import { isValidDeviceId } from './ids.js'

/**
 * The only place topics are built or parsed. Layout (all under `doorbell/v1/<deviceId>/`):
 *   event/<class>  device -> collector, one JSON envelope
 *   batch/<class>  device -> collector, a JSON array of envelopes (medium readings)
 *   chunk          device -> collector, one binary clip-chunk frame
 *   status         device -> collector, retained presence (also the last will)
 *   ack            collector -> device, acknowledgement of durably stored ids
 *   command        collector -> device
 *   live           device -> collector, live-view signalling (never stored, never in the outbox)
 */

export const topicRoot = 'doorbell/v1'

/** Home Assistant's default MQTT discovery prefix; the collector publishes retained configs under it. */
export const homeAssistantPrefix = 'homeassistant'

/** What a topic carries. */
export type TopicKind = 'event' | 'batch' | 'chunk' | 'status' | 'ack' | 'command' | 'live'

/** A parsed topic. `eventClass` is present for event and batch topics. */
export interface ParsedTopic {
  readonly deviceId: string
  readonly kind: TopicKind
  readonly eventClass?: EventClass
}

function assertDeviceId(deviceId: string): void {
  if (!isValidDeviceId(deviceId)) {
    throw new DoorbellError('PROTOCOL_TOPIC', `invalid device id ${JSON.stringify(deviceId)}`, {
      details: { field: 'deviceId' },
    })
  }
}

/** Builds the topic for one kind of message. */
export const topics = {
  /** Prefix every topic of one device lives under (no trailing slash). */
  devicePrefix(deviceId: string): string {
    assertDeviceId(deviceId)
    return `${topicRoot}/${deviceId}`
  },
  event(deviceId: string, eventClass: EventClass): string {
    return `${topics.devicePrefix(deviceId)}/event/${eventClass}`
  },
  batch(deviceId: string, eventClass: EventClass): string {
    return `${topics.devicePrefix(deviceId)}/batch/${eventClass}`
  },
  chunk(deviceId: string): string {
    return `${topics.devicePrefix(deviceId)}/chunk`
  },
  status(deviceId: string): string {
    return `${topics.devicePrefix(deviceId)}/status`
  },
  ack(deviceId: string): string {
    return `${topics.devicePrefix(deviceId)}/ack`
  },
  command(deviceId: string): string {
    return `${topics.devicePrefix(deviceId)}/command`
  },
  /** The device's live-view signalling (answer, stopped) to the collector: volatile, never stored. */
  live(deviceId: string): string {
    return `${topics.devicePrefix(deviceId)}/live`
  },
  /** State of one Home Assistant entity of a device, published by the collector (never by a device). */
  homeAssistantState(deviceId: string, entity: string): string {
    return `${topics.devicePrefix(deviceId)}/ha/${entity}`
  },
  /** Retained Home Assistant MQTT discovery config of one entity of a device. */
  homeAssistantConfig(component: string, deviceId: string, entity: string): string {
    assertDeviceId(deviceId)
    return `${homeAssistantPrefix}/${component}/doorbell_${deviceId}/${entity}/config`
  },
  /** Subscription filter for one kind across all devices, for the collector and service users. */
  allDevices(kind: TopicKind): string {
    return kind === 'event' || kind === 'batch' ? `${topicRoot}/+/${kind}/+` : `${topicRoot}/+/${kind}`
  },
} as const

/** Parses a topic; throws PROTOCOL_TOPIC naming the part that is wrong. */
export function parseTopic(topic: string): ParsedTopic {
  const parts = topic.split('/')
  if (parts[0] !== 'doorbell' || parts[1] !== 'v1') {
    throw new DoorbellError('PROTOCOL_TOPIC', `${JSON.stringify(topic)} is not under ${topicRoot}/`)
  }
  const deviceId = parts[2] ?? ''
  assertDeviceId(deviceId)
  const kind = parts[3]
  if (kind === 'event' || kind === 'batch') {
    const eventClass = parts[4]
    if (parts.length !== 5 || !eventClasses.includes(eventClass as EventClass)) {
      throw new DoorbellError(
        'PROTOCOL_TOPIC',
        `${JSON.stringify(topic)}: expected ${kind}/<high|medium|low>`,
      )
    }
    return { deviceId, kind, eventClass: eventClass as EventClass }
  }
  if (
    (kind === 'chunk' || kind === 'status' || kind === 'ack' || kind === 'command' || kind === 'live') &&
    parts.length === 4
  ) {
    return { deviceId, kind }
  }
  throw new DoorbellError(
    'PROTOCOL_TOPIC',
    `${JSON.stringify(topic)}: unknown topic kind ${JSON.stringify(kind)}`,
  )
}
