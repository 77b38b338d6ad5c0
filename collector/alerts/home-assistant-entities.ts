import { topics } from '../../shared/protocol/index.js'

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

/** Entities whose state is published retained (press and motion are momentary, not retained). */
const retainedStateEntities = ['temperature', 'light', 'health', 'snapshot'] as const

/** The Home Assistant MQTT discovery configs of one device: [topic, JSON payload]. */
export function discoveryConfigs(deviceId: string): [string, Record<string, unknown>][] {
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

/** The discovery config topics of one device. */
export function discoveryConfigTopics(deviceId: string): string[] {
  return entities.map(([component, entity]) => topics.homeAssistantConfig(component, deviceId, entity))
}

/** The state topics of one device that hold a retained message. */
export function retainedStateTopics(deviceId: string): string[] {
  return retainedStateEntities.map((entity) => topics.homeAssistantState(deviceId, entity))
}
