import { topics } from '../../shared/protocol/index.js'
import { topicMatchesFilter } from '../broker/topic-filter.js'
import type { StoredEvent } from '../store/event-store.js'
import type { HealthTransition } from './device-health-monitor.js'
import type { DiscoveryStateLoad, DiscoveryStateStore, DiscoveryStatus } from './discovery-state-store.js'
import { discoveryConfigs, discoveryConfigTopics, retainedStateTopics } from './home-assistant-entities.js'

/** Publishes through the collector's own broker. */
export type BrokerPublish = (topic: string, payload: Buffer, options?: { retain?: boolean }) => Promise<void>

/** Collaborators of the Home Assistant discovery. */
export interface HomeAssistantDiscoveryDeps {
  readonly publish: BrokerPublish
  readonly onError: (err: unknown) => void
  /** Least time between two retained publishes of one sensor state; default 1000. */
  readonly minIntervalMs?: number
  /** Which devices were announced or withdrawn, kept across restarts; default: this run only. */
  readonly state?: DiscoveryStateStore
  /** What `state` held at start (the caller awaits its load before building the discovery). */
  readonly saved?: DiscoveryStateLoad
}

/**
 * Home Assistant MQTT discovery. The first time an enabled device is seen, a retained config
 * per entity goes to `homeassistant/<component>/doorbell_<id>/<entity>/config`; states go to
 * `doorbell/v1/<id>/ha/<entity>`, which read-only service users (Home Assistant's login) may subscribe to.
 * Availability follows the device's retained status topic (its last will), so HA greys it out when offline.
 *
 * A device that leaves the registry's enabled set (disabled or removed) is withdrawn: an empty retained
 * message on each config and retained state topic, which deletes the retained message (MQTT-3.3.1-10)
 * and makes Home Assistant delete the entity. Home Assistant forgets an entity only when it receives
 * that empty config, and an empty retained message reaches only the clients subscribed at that moment,
 * so the empty configs of withdrawn devices are sent again whenever a service user subscribes to a
 * filter matching them. Announced and withdrawn devices are saved (state), so a device removed while
 * the collector was down is withdrawn at the next start, and an announced one is announced again at
 * once (the broker's retained messages live in memory). A re-enabled device is announced again.
 */
export class HomeAssistantDiscovery {
  readonly #publish: BrokerPublish
  readonly #onError: (err: unknown) => void
  readonly #minIntervalMs: number
  readonly #state: DiscoveryStateStore | undefined
  /** What Home Assistant was last told about each device, this run or earlier. */
  readonly #statuses: Map<string, DiscoveryStatus>
  /** Devices whose configs were published in this run. */
  readonly #published = new Set<string>()
  /** The registry's enabled devices, once known; only these are announced. */
  #enabled: ReadonlySet<string> | undefined
  #isClosed = false
  /** Retained sensor states: when each topic was last published, and the latest value held back. */
  readonly #throttle = new Map<string, { lastMs: number; pending?: string; timer?: NodeJS.Timeout }>()

  constructor(deps: HomeAssistantDiscoveryDeps) {
    this.#publish = deps.publish
    this.#onError = deps.onError
    this.#minIntervalMs = deps.minIntervalMs ?? 1000
    this.#state = deps.state
    if (deps.saved?.err) this.#onError(deps.saved.err)
    this.#statuses = new Map(deps.saved?.devices)
  }

  /** Cancels held-back sensor states; nothing is published after close. */
  close(): void {
    this.#isClosed = true
    for (const entry of this.#throttle.values()) if (entry.timer) clearTimeout(entry.timer)
    this.#throttle.clear()
  }

  /**
   * The registry's enabled devices (at start and after each change): withdraws announced devices that
   * are no longer enabled; announces again those withdrawn before, or announced in an earlier run.
   */
  onDevices(enabledDeviceIds: readonly string[]): void {
    const enabled = new Set(enabledDeviceIds)
    this.#enabled = enabled
    for (const [deviceId, status] of this.#statuses) {
      if (!enabled.has(deviceId)) {
        if (status === 'announced') this.#withdraw(deviceId)
      } else if (!this.#published.has(deviceId)) this.#announce(deviceId)
    }
  }

  /** A service user (Home Assistant) subscribed: it gets the empty configs of withdrawn devices it matches. */
  onServiceSubscribed(filters: readonly string[]): void {
    for (const [deviceId, status] of this.#statuses) {
      if (status !== 'withdrawn') continue
      for (const topic of discoveryConfigTopics(deviceId)) {
        if (filters.some((filter) => topicMatchesFilter(filter, topic))) this.#send(topic, '', true)
      }
    }
  }

  onStored(events: readonly StoredEvent[]): void {
    for (const event of events) {
      if (!this.#isEnabled(event.deviceId)) continue
      this.#announce(event.deviceId)
      const { deviceId } = event
      switch (event.type) {
        case 'button.press':
          this.#sendState(
            deviceId,
            'press',
            JSON.stringify({ event_type: 'press', button: event.payload.button, id: event.id }),
            false,
          )
          break
        case 'motion':
          this.#sendState(deviceId, 'motion', 'ON', false)
          break
        case 'temperature':
          this.#sendThrottled(
            topics.homeAssistantState(deviceId, 'temperature'),
            String(event.payload.celsius),
          )
          break
        case 'light':
          this.#sendThrottled(topics.homeAssistantState(deviceId, 'light'), String(event.payload.lux))
          break
        case 'health':
          this.#sendState(deviceId, 'health', JSON.stringify({ status: 'online', ...event.payload }), true)
          break
        case 'snapshot':
          this.#sendState(deviceId, 'snapshot', Buffer.from(event.payload.data, 'base64'), true)
          break
      }
    }
  }

  onHealth(transition: HealthTransition): void {
    // A disabled device's last will arrives after it was withdrawn: it must not announce it again.
    if (!this.#isEnabled(transition.deviceId)) return
    this.#announce(transition.deviceId)
    this.#sendState(
      transition.deviceId,
      'health',
      JSON.stringify({ status: transition.state, reason: transition.reason }),
      true,
    )
  }

  #isEnabled(deviceId: string): boolean {
    return !this.#enabled || this.#enabled.has(deviceId)
  }

  #announce(deviceId: string): void {
    if (this.#published.has(deviceId)) return
    this.#published.add(deviceId)
    for (const [topic, config] of discoveryConfigs(deviceId)) this.#send(topic, JSON.stringify(config), true)
    this.#setStatus(deviceId, 'announced')
  }

  #withdraw(deviceId: string): void {
    this.#published.delete(deviceId)
    for (const topic of retainedStateTopics(deviceId)) {
      const entry = this.#throttle.get(topic)
      if (entry?.timer) clearTimeout(entry.timer)
      this.#throttle.delete(topic)
    }
    for (const topic of [...discoveryConfigTopics(deviceId), ...retainedStateTopics(deviceId)])
      this.#send(topic, '', true)
    this.#setStatus(deviceId, 'withdrawn')
  }

  #setStatus(deviceId: string, status: DiscoveryStatus): void {
    if (this.#statuses.get(deviceId) === status) return
    this.#statuses.set(deviceId, status)
    this.#state?.save(this.#statuses).catch((err: unknown) => this.#onError(err))
  }

  /**
   * Readings can arrive by the hundred (a backlog after an outage): a retained sensor state is published
   * at most once per minIntervalMs per topic, the latest value trailing, so Home Assistant ends on the
   * newest reading without a retained publish per reading.
   */
  #sendThrottled(topic: string, payload: string): void {
    const nowMs = Date.now()
    const entry = this.#throttle.get(topic)
    if (!entry || nowMs - entry.lastMs >= this.#minIntervalMs) {
      if (entry?.timer) clearTimeout(entry.timer)
      this.#throttle.set(topic, { lastMs: nowMs })
      this.#send(topic, payload, true)
      return
    }
    entry.pending = payload
    if (entry.timer) return
    entry.timer = setTimeout(
      () => {
        const latest = entry.pending
        this.#throttle.set(topic, { lastMs: Date.now() })
        if (latest) this.#send(topic, latest, true)
      },
      this.#minIntervalMs - (nowMs - entry.lastMs),
    )
    entry.timer.unref()
  }

  /** Publishes the state of one entity of a device. */
  #sendState(deviceId: string, entity: string, payload: string | Buffer, retain: boolean): void {
    this.#send(topics.homeAssistantState(deviceId, entity), payload, retain)
  }

  #send(topic: string, payload: string | Buffer, retain: boolean): void {
    if (this.#isClosed) return
    const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload
    this.#publish(topic, body, { retain }).catch(this.#onError)
  }
}
