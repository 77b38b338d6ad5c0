import {
  homeAssistantPrefix,
  type ParsedTopic,
  parseTopic,
  topicRoot,
  topics,
} from '../../shared/protocol/index.js'
import type { MqttPrincipal as Principal } from './principal.js'

/**
 * MQTT rights of each principal. A device publishes only under its own prefix, and only the kinds a device
 * sends; it subscribes only to its own ack and command topics. A service user is read-only: it may
 * subscribe to any filter inside doorbell/v1/ and inside homeassistant/ (the retained discovery configs
 * the collector publishes), and publish nothing. $SYS is refused to everyone. Operators and homeowners
 * have no MQTT login.
 */

/** Why a publish is refused, as counted in the rejection metric. */
export type PublishRefusal = 'not_a_device' | 'foreign_topic' | 'bad_topic'

/** Decides whether a principal may publish on topic: the parsed topic, or why not. */
export function checkPublish(
  principal: Principal,
  topic: string,
): { readonly topic: ParsedTopic } | { readonly refusal: PublishRefusal } {
  if (principal.kind !== 'device') return { refusal: 'not_a_device' }
  let parsed: ParsedTopic
  try {
    parsed = parseTopic(topic)
  } catch {
    return {
      refusal: topic.startsWith(`${topicRoot}/${principal.deviceId}/`) ? 'bad_topic' : 'foreign_topic',
    }
  }
  if (parsed.deviceId !== principal.deviceId) return { refusal: 'foreign_topic' }
  if (parsed.kind === 'ack' || parsed.kind === 'command') return { refusal: 'bad_topic' }
  return { topic: parsed }
}

/** True when a principal may subscribe to the topic filter. */
export function isSubscribeAllowed(principal: Principal, filter: string): boolean {
  if (principal.kind === 'device') {
    return filter === topics.ack(principal.deviceId) || filter === topics.command(principal.deviceId)
  }
  // Read-only service user: anything under doorbell/v1/ or homeassistant/ (wildcards included), nothing else.
  return filter.startsWith(`${topicRoot}/`) || filter.startsWith(`${homeAssistantPrefix}/`)
}

/**
 * True when a client id is acceptable for the principal: its own name, or `<name>:<suffix>` for extra
 * connections (tools, tests). Names cannot contain ':', so no principal can take over another's session.
 */
export function isClientIdAllowed(principal: Principal, clientId: string): boolean {
  const name = principal.kind === 'device' ? principal.deviceId : principal.name
  return clientId === name || clientId.startsWith(`${name}:`)
}
