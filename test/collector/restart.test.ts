import { type ChildProcess, spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import mqtt, { type MqttClient } from 'mqtt'
import { afterAll, describe, expect, it } from 'vitest'
import { LevelEventStore } from '../../collector/store/level-event-store.js'
import { type Envelope, encodeBatch, encodeEvent, topics } from '../../shared/protocol/index.js'
import { eventually } from '../support/eventually.js'
import { addDevice, press, reading, tempDir } from './collector-harness.js'

const mainJs = join(import.meta.dirname, '..', '..', 'dist', 'collector', 'main.js')

function startChild(config: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [mainJs, '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] })
  return new Promise((resolve, reject) => {
    let buffer = ''
    const timer = setTimeout(() => reject(new Error('collector did not get ready')), 15_000)
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString()
      const line = buffer.split('\n').find((l) => l.includes('collector ready'))
      if (line) {
        clearTimeout(timer)
        resolve({ child, port: (JSON.parse(line) as { mqttPort: number }).mqttPort })
      }
    })
    child.once('exit', (code) => reject(new Error(`collector exited early with ${code}`)))
  })
}

async function connectAgent(port: number, secret: string, acked: Set<string>): Promise<MqttClient> {
  const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, {
    clientId: 'porch',
    username: 'porch',
    password: secret,
    clean: false,
    reconnectPeriod: 0,
  })
  client.on('error', () => {})
  client.on('message', (_topic, message) => {
    const ack = JSON.parse(message.toString()) as { payload: { ids: string[] } }
    for (const id of ack.payload.ids) acked.add(id)
  })
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve())
    client.once('error', reject)
  })
  await client.subscribeAsync(topics.ack('porch'), { qos: 1 })
  return client
}

function send(client: MqttClient, events: readonly Envelope[]): void {
  for (let i = 0; i < events.length; i += 50) {
    const slice = events.slice(i, i + 50)
    const readings = slice.filter((e) => e.class === 'medium')
    const presses = slice.filter((e) => e.class === 'high')
    if (readings.length > 0)
      client.publish(topics.batch('porch', 'medium'), encodeBatch(readings), { qos: 1 })
    for (const e of presses) client.publish(topics.event('porch', 'high'), encodeEvent(e), { qos: 1 })
  }
}

describe('restart safety', () => {
  const dir = tempDir('collector-restart')
  const children: ChildProcess[] = []

  afterAll(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL')
    dir.cleanup()
  })

  it('loses no acknowledged event and stores none twice across repeated kill -9 and restarts', async () => {
    const dataDir = join(dir.path, 'data')
    const secret = await addDevice(dataDir, 'porch')
    const config = join(dir.path, 'collector.yaml')
    writeFileSync(
      config,
      `dataDir: ${dataDir}\nhost: 127.0.0.1\nlogLevel: info\nmqtt: { port: 0, wsPort: null }\nhttp: { port: null }\n` +
        'limits: { devicePublishesPerS: 100000, devicePublishBurst: 100000 }\n',
    )
    const events: Envelope[] = []
    for (let seq = 0; seq < 4000; seq++)
      events.push(seq % 40 === 0 ? press('porch', seq) : reading('porch', seq))

    // Three lives ended by kill -9 at different moments, then a last one that runs to the end. In each
    // life the agent resends everything it has no ack for, plus some acked events (it may not know).
    const acknowledged = new Set<string>()
    for (const killAfterAcks of [300, 1500, 2800, Number.POSITIVE_INFINITY]) {
      const life = await startChild(config)
      children.push(life.child)
      const ackedNow = new Set<string>()
      const agent = await connectAgent(life.port, secret, ackedNow)
      const unacked = events.filter((e) => !acknowledged.has(e.id))
      const resentAcked = events.filter((e) => acknowledged.has(e.id)).slice(0, 100)
      send(agent, [...unacked, ...resentAcked])
      if (Number.isFinite(killAfterAcks)) {
        await eventually(() => acknowledged.size + ackedNow.size >= killAfterAcks, 'acks before kill', 20_000)
        life.child.kill('SIGKILL')
        await new Promise((resolve) => life.child.once('exit', resolve))
        agent.end(true)
      } else {
        await eventually(() => unacked.every((e) => ackedNow.has(e.id)), 'all acks', 30_000)
        await agent.endAsync()
        life.child.kill('SIGTERM')
        await new Promise((resolve) => life.child.once('exit', resolve))
      }
      for (const id of ackedNow) acknowledged.add(id)
      // Between lives: every id acked so far is in the store the killed process left behind.
      const between = await LevelEventStore.open({ path: join(dataDir, 'events'), isSyncWrite: false })
      try {
        const present = await between.findExisting(
          [...acknowledged].map((id) => ({ deviceId: 'porch', id })),
          [],
        )
        expect(present.size).toBe(acknowledged.size)
      } finally {
        await between.close()
      }
    }
    expect(acknowledged.size).toBe(events.length)

    const store = await LevelEventStore.open({ path: join(dataDir, 'events'), isSyncWrite: false })
    try {
      const stored: string[] = []
      let cursor: string | undefined
      do {
        const page = await store.queryEvents({
          deviceId: 'porch',
          limit: 1000,
          ...(cursor ? { cursor } : {}),
        })
        stored.push(...page.items.map((e) => e.id))
        cursor = page.nextCursor
      } while (cursor)
      const storedSet = new Set(stored)
      expect(stored.length).toBe(storedSet.size)
      expect(storedSet.size).toBe(events.length)
      expect(stored).toEqual(events.map((e) => e.id).sort())
    } finally {
      await store.close()
    }
  }, 90_000)
})
