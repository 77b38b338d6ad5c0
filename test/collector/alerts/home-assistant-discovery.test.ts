import mqtt, { type MqttClient } from 'mqtt'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { isSubscribeAllowed } from '../../../collector/access/mqtt-rights.js'
import { HomeAssistantDiscovery } from '../../../collector/alerts/home-assistant-discovery.js'
import { type ComposedCollector, startCollector } from '../../../collector/main.js'
import { FileIdentityRegistry } from '../../../collector/registry/file-identity-registry.js'
import { topics } from '../../../shared/protocol/index.js'
import { eventually } from '../../support/eventually.js'
import { addDevice, press, reading, tempDir, testConfig } from '../collector-harness.js'
import { connectDevice, publishEnvelope, snapshotOf } from './alerts-harness.js'

describe('Home Assistant MQTT discovery', () => {
  let running: ComposedCollector | undefined
  const clients: MqttClient[] = []
  let cleanup: (() => void) | undefined

  afterEach(async () => {
    await Promise.all(clients.map((c) => c.endAsync()))
    clients.length = 0
    await running?.close()
    cleanup?.()
    running = undefined
  })

  it('lets read-only service users read homeassistant/ but devices not', () => {
    expect(isSubscribeAllowed({ kind: 'service', name: 'ha' }, 'homeassistant/#')).toBe(true)
    expect(isSubscribeAllowed({ kind: 'device', deviceId: 'front-door' }, 'homeassistant/#')).toBe(false)
  })

  it('publishes retained configs and states a read-only service user (Home Assistant) receives', async () => {
    const dir = tempDir('alerts-ha')
    cleanup = dir.cleanup
    const deviceSecret = await addDevice(dir.path, 'front-door')
    const haSecret = await new FileIdentityRegistry(dir.path).addUser('homeassistant')
    running = await startCollector(testConfig(dir.path))
    const device = await connectDevice(running.mqttPort, 'front-door', deviceSecret)
    clients.push(device)
    const bell = press('front-door', 0)
    await publishEnvelope(device, reading('front-door', 1, 23.5))
    await publishEnvelope(device, bell)
    await publishEnvelope(device, snapshotOf('front-door', 2, bell.id))
    await running.flush()

    // Home Assistant connects later: the retained configs and states are waiting for it.
    const ha = await mqtt.connectAsync(`mqtt://127.0.0.1:${running.mqttPort}`, {
      clientId: 'homeassistant',
      username: 'homeassistant',
      password: haSecret,
      reconnectPeriod: 0,
    })
    clients.push(ha)
    const seen = new Map<string, Buffer>()
    ha.on('message', (topic, payload) => seen.set(topic, payload))
    const granted = await ha.subscribeAsync(['homeassistant/#', 'doorbell/v1/+/ha/#'], { qos: 1 })
    expect(granted.map((g) => g.qos)).toEqual([1, 1])

    const configTopics = [
      'homeassistant/event/doorbell_front-door/press/config',
      'homeassistant/binary_sensor/doorbell_front-door/motion/config',
      'homeassistant/sensor/doorbell_front-door/temperature/config',
      'homeassistant/sensor/doorbell_front-door/light/config',
      'homeassistant/sensor/doorbell_front-door/health/config',
      'homeassistant/image/doorbell_front-door/snapshot/config',
    ]
    await eventually(() => configTopics.every((t) => seen.has(t)), 'discovery configs', 5000)
    const pressConfig = JSON.parse(String(seen.get(configTopics[0] as string)))
    expect(pressConfig).toMatchObject({
      event_types: ['press'],
      device_class: 'doorbell',
      state_topic: topics.homeAssistantState('front-door', 'press'),
      unique_id: 'doorbell_front-door_press',
      device: { identifiers: ['doorbell_front-door'] },
      availability: [{ topic: topics.status('front-door') }],
    })
    const imageConfig = JSON.parse(String(seen.get(configTopics[5] as string)))
    expect(imageConfig.image_topic).toBe(topics.homeAssistantState('front-door', 'snapshot'))
    await eventually(
      () => seen.get(topics.homeAssistantState('front-door', 'temperature')),
      'temperature',
      5000,
    )
    expect(String(seen.get(topics.homeAssistantState('front-door', 'temperature')))).toBe('23.5')
    expect(seen.get(topics.homeAssistantState('front-door', 'snapshot'))?.subarray(0, 2)).toEqual(
      Buffer.from([0xff, 0xd8]),
    )

    // A live press arrives as an event on the press state topic.
    const next = press('front-door', 3)
    await publishEnvelope(device, next)
    await eventually(
      () => {
        const value = seen.get(topics.homeAssistantState('front-door', 'press'))
        return value && JSON.parse(String(value)).id === next.id
      },
      'press event',
      5000,
    )
  })
})

/** A discovery publishing into a list of [topic, payload] instead of a broker. */
function recorder(): { sent: [string, string][]; discovery: HomeAssistantDiscovery } {
  const sent: [string, string][] = []
  const discovery = new HomeAssistantDiscovery({
    publish: async (topic, payload) => {
      sent.push([topic, payload.toString('utf8')])
    },
    onError: () => {},
  })
  return { sent, discovery }
}

describe('Home Assistant sensor state throttle', () => {
  it('publishes a burst of readings as the first and, a second later, the latest', async () => {
    vi.useFakeTimers()
    try {
      const { sent, discovery } = recorder()
      const stored = [20, 21, 22].map((celsius, seq) => ({
        ...reading('front-door', seq, celsius),
        receivedAtMs: 0,
      }))
      discovery.onStored(stored)
      const temperature = topics.homeAssistantState('front-door', 'temperature')
      expect(sent.filter(([t]) => t === temperature)).toEqual([[temperature, '20']])
      await vi.advanceTimersByTimeAsync(1000)
      expect(sent.filter(([t]) => t === temperature)).toEqual([
        [temperature, '20'],
        [temperature, '22'],
      ])
      discovery.close()
    } finally {
      vi.useRealTimers()
    }
  })
})

describe('Home Assistant discovery of a withdrawn device', () => {
  it('is not announced again by the last will that follows its withdrawal', () => {
    const { sent, discovery } = recorder()
    discovery.onDevices(['front-door'])
    discovery.onStored([{ ...reading('front-door', 0, 20), receivedAtMs: 0 }])
    discovery.onDevices([])
    sent.length = 0
    discovery.onHealth({
      deviceId: 'front-door',
      state: 'offline',
      reason: 'last_will',
      atMs: 1,
      lastSeenMs: 0,
    })
    discovery.onStored([{ ...reading('front-door', 1, 21), receivedAtMs: 1 }])
    expect(sent).toEqual([])
    discovery.close()
  })

  it('drops a held-back reading of a device withdrawn before it was sent', async () => {
    vi.useFakeTimers()
    try {
      const { sent, discovery } = recorder()
      discovery.onDevices(['front-door'])
      const temperature = topics.homeAssistantState('front-door', 'temperature')
      discovery.onStored(
        [20, 21].map((celsius, seq) => ({ ...reading('front-door', seq, celsius), receivedAtMs: 0 })),
      )
      discovery.onDevices([])
      await vi.advanceTimersByTimeAsync(1000)
      expect(sent.filter(([t]) => t === temperature)).toEqual([
        [temperature, '20'],
        [temperature, ''],
      ])
      discovery.close()
    } finally {
      vi.useRealTimers()
    }
  })
})
