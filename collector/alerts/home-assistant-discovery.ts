import { topics } from '../../shared/protocol/index.js'
import type { StoredEvent } from '../store/event-store.js'
import type { AlertObserver } from './alert-service.js'
import type { HealthTransition } from './device-health-monitor.js'

/** Publishes through the collector's own broker. */
export type BrokerPublish = (topic: string, payload: Buffer, options?: { retain?: boolean }) => Promise<void>

/** The entities each doorbell gets in Home Assistant: [component, entity id, config without topics]. */
const entities = [
  ['event', 'press', { name: 'Press', device_class: 'doorbell', event_types: ['press'] }],
  [
    'binary_sensor',
    'motion',
    { name: 'Motion', device_class: 'motion', payload_on: 'ON', payload_off: 'OFF', off_delay: 30 },
  ],
  [
    'sensor',
    'temperature',
    {
      name: 'Temperature',
      device_class: 'temperature',
      unit_of_measurement: '°C',
      state_class: 'measurement',
    },
  ],
  [
    'sensor',
    'light',
    { name: 'Light', device_class: 'illuminance', unit_of_measurement: 'lx', state_class: 'measurement' },
  ],
  [
    'sensor',
    'health',
    { name: 'Health', icon: 'mdi:heart-pulse', value_template: '{{ value_json.status }}' },
  ],
  ['image', 'snapshot', { name: 'Last snapshot', content_type: 'image/jpeg' }],
] as const

/**
 * Home Assistant MQTT discovery (issue 9). The first time a device is seen in this run, a retained config
 * per entity goes to `homeassistant/<component>/doorbell_<id>/<entity>/config`; states go to
 * `doorbell/v1/<id>/ha/<entity>`, which read-only service users (Home Assistant's login) may subscribe to.
 * Availability follows the device's retained status topic (its last will), so HA greys it out when offline.
 */
export class HomeAssistantDiscovery implements AlertObserver {
  readonly #publish: BrokerPublish
  readonly #onError: (err: unknown) => void
  readonly #announced = new Set<string>()
  readonly #minIntervalMs: number
  /** Retained sensor states: when each topic was last published, and the latest value held back. */
  readonly #throttle = new Map<string, { lastMs: number; pending?: string; timer?: NodeJS.Timeout }>()

  constructor(deps: { publish: BrokerPublish; onError: (err: unknown) => void; minIntervalMs?: number }) {
    this.#publish = deps.publish
    this.#onError = deps.onError
    this.#minIntervalMs = deps.minIntervalMs ?? 1000
  }

  /** Cancels held-back sensor states. */
  close(): void {
    for (const entry of this.#throttle.values()) if (entry.timer) clearTimeout(entry.timer)
    this.#throttle.clear()
  }

  /** The discovery configs of one device: [topic, JSON payload]. */
  static configsFor(deviceId: string): [string, Record<string, unknown>][] {
    const device = {
      identifiers: [`doorbell_${deviceId}`],
      name: `Doorbell ${deviceId}`,
      manufacturer: 'Open-source doorbell',
      model: 'doorbell agent',
    }
    const availability = {
      topic: topics.status(deviceId),
      value_template: '{{ value_json.state if value_json.state is defined else value_json.payload.state }}',
      payload_available: 'online',
      payload_not_available: 'offline',
    }
    return entities.map(([component, entity, config]) => {
      const stateTopic = topics.homeAssistantState(deviceId, entity)
      const topicFields =
        component === 'image'
          ? { image_topic: stateTopic }
          : entity === 'health'
            ? { state_topic: stateTopic, json_attributes_topic: stateTopic }
            : { state_topic: stateTopic }
      return [
        topics.homeAssistantConfig(component, deviceId, entity),
        {
          ...config,
          ...topicFields,
          unique_id: `doorbell_${deviceId}_${entity}`,
          object_id: `doorbell_${deviceId}_${entity}`,
          availability: [availability],
          device,
        },
      ]
    })
  }

  onStored(events: readonly StoredEvent[]): void {
    for (const event of events) {
      this.#announce(event.deviceId)
      const state = (entity: string, payload: string | Buffer, retain: boolean): void =>
        this.#send(topics.homeAssistantState(event.deviceId, entity), payload, retain)
      switch (event.type) {
        case 'button.press':
          state(
            'press',
            JSON.stringify({ event_type: 'press', button: event.payload.button, id: event.id }),
            false,
          )
          break
        case 'motion':
          state('motion', 'ON', false)
          break
        case 'temperature':
          this.#sendThrottled(
            topics.homeAssistantState(event.deviceId, 'temperature'),
            String(event.payload.celsius),
          )
          break
        case 'light':
          this.#sendThrottled(topics.homeAssistantState(event.deviceId, 'light'), String(event.payload.lux))
          break
        case 'health':
          state('health', JSON.stringify({ status: 'online', ...event.payload }), true)
          break
        case 'snapshot':
          state('snapshot', Buffer.from(event.payload.data, 'base64'), true)
          break
      }
    }
  }

  onHealth(transition: HealthTransition): void {
    this.#announce(transition.deviceId)
    this.#send(
      topics.homeAssistantState(transition.deviceId, 'health'),
      JSON.stringify({ status: transition.state, reason: transition.reason }),
      true,
    )
  }

  #announce(deviceId: string): void {
    if (this.#announced.has(deviceId)) return
    this.#announced.add(deviceId)
    for (const [topic, config] of HomeAssistantDiscovery.configsFor(deviceId)) {
      this.#send(topic, JSON.stringify(config), true)
    }
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

  #send(topic: string, payload: string | Buffer, retain: boolean): void {
    const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload
    this.#publish(topic, body, { retain }).catch(this.#onError)
  }
}
