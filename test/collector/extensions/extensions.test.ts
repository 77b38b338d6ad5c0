import mqtt from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CollectorEvent, ComposedCollector } from '../../../collector/main.js'
import { encodeEvent, topics } from '../../../shared/protocol/index.js'
import { addDevice, metric, press, startCollector, tempDir, testConfig } from '../collector-harness.js'

describe('collector extensions', () => {
  const dir = tempDir('collector-extensions')
  const events: CollectorEvent[] = []
  const stopped: string[] = []
  const storedAfter: string[] = []
  let collector: ComposedCollector
  let secret: string

  beforeAll(async () => {
    secret = await addDevice(dir.path, 'porch')
    collector = await startCollector(testConfig(dir.path), {
      onEvent: (event) => events.push(event),
      extensions: [
        {
          name: 'faulty',
          start: ({ bus }) =>
            bus.on('stored', () => {
              throw new Error('faulty extension')
            }),
          stop: () => void stopped.push('faulty'),
        },
        {
          name: 'last',
          start: ({ bus }) => bus.on('stored', (e) => void storedAfter.push(...e.events.map((x) => x.id))),
          stop: () => void stopped.push('last'),
        },
      ],
    })
  })
  afterAll(async () => {
    await collector?.close()
    dir.cleanup()
  })

  it('stores, acks and serves a press although an extension’s listener throws, and reports and counts it', async () => {
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${collector.mqttPort}`, {
      clientId: 'porch',
      username: 'porch',
      password: secret,
      reconnectPeriod: 0,
    })
    try {
      const bell = press('porch', 1)
      await client.publishAsync(topics.event('porch', 'high'), encodeEvent(bell), { qos: 1 })
      await collector.flush()
      expect((await collector.store.getEvent(bell.id))?.type).toBe('button.press')
      const failed = events.find((e) => e.kind === 'listener_failed')
      expect(failed).toMatchObject({ listener: 'faulty', event: 'stored' })
      expect(
        await metric(
          collector,
          'doorbell_collector_listener_failures_total',
          'listener="faulty",event="stored"',
        ),
      ).toBe(1)
      // The listener subscribed after the faulty one still saw the press.
      expect(storedAfter).toEqual([bell.id])
    } finally {
      await client.endAsync()
    }
  })

  it('stops the extensions in the reverse order of their start', async () => {
    await collector.close()
    expect(stopped).toEqual(['last', 'faulty'])
    expect(events.filter((e) => e.kind === 'stopping')).toHaveLength(1)
  })
})
