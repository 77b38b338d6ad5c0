import { type IncomingMessage, request } from 'node:http'
import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ComposedCollector, startCollector } from '../../../collector/main.js'
import { encodeEvent, topics } from '../../../shared/protocol/index.js'
import { eventually } from '../../support/eventually.js'
import { httpLogin } from '../../support/http-client.js'
import { addDevice, connectDevice, metric, press, tempDir, testConfig } from '../collector-harness.js'

/** One open live stream over a real socket: what it received and whether the server ended it. */
interface OpenStream {
  readonly text: () => string
  readonly isOpen: () => boolean
  close(): void
}

function openStream(port: number, cookie: string): Promise<OpenStream> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/api/events/stream', agent: false, headers: { cookie } },
      (res: IncomingMessage) => {
        let text = ''
        let isOpen = res.statusCode === 200
        res.setEncoding('utf8')
        res.on('data', (part: string) => {
          text += part
        })
        res.on('end', () => {
          isOpen = false
        })
        res.on('close', () => {
          isOpen = false
        })
        resolve({ text: () => text, isOpen: () => isOpen, close: () => req.destroy() })
      },
    )
    req.on('error', reject)
    req.end()
  })
}

describe('live stream caps', () => {
  const dir = tempDir('live-stream-caps')
  let running: ComposedCollector
  let device: MqttClient
  const streams: OpenStream[] = []

  beforeAll(async () => {
    const secret = await addDevice(dir.path, 'porch')
    running = await startCollector(testConfig(dir.path))
    await running.stores.homeowners.add('alice', 'owner password 1', 'owner')
    await running.stores.homeowners.add('bob', 'viewer password 1', 'viewer')
    ;({ client: device } = await connectDevice(running.mqttPort, 'porch', secret))
  })
  afterAll(async () => {
    for (const stream of streams) stream.close()
    await device?.endAsync()
    await running?.close()
    dir.cleanup()
  })

  const open = async (cookie: string): Promise<OpenStream> => {
    const stream = await openStream(running.httpPort ?? 0, cookie)
    streams.push(stream)
    return stream
  }

  it("100 streams of one session do not close the owner's live timeline", async () => {
    const port = running.httpPort ?? 0
    const alice = await httpLogin(port, 'alice', 'owner password 1')
    const bob = await httpLogin(port, 'bob', 'viewer password 1')
    const owners = await open(alice.cookie)
    const bobs: OpenStream[] = []
    for (let i = 0; i < 100; i++) bobs.push(await open(bob.cookie))
    await eventually(() => bobs.filter((s) => s.isOpen()).length <= 4, "bob's streams capped", 5000)
    const bobOpen = bobs.filter((s) => s.isOpen()).length
    console.log(`SSE owner-open=${owners.isOpen()} bob-open=${bobOpen} of 100`)
    expect(owners.isOpen()).toBe(true)
    expect(bobOpen).toBe(4)
    expect(await metric(running, 'doorbell_dashboard_streams_evicted_total', 'reason="session"')).toBe(96)

    const bell = press('porch', 1)
    await device.publishAsync(topics.event('porch', 'high'), encodeEvent(bell), { qos: 1 })
    await eventually(() => owners.text().includes(bell.id), "the press on the owner's stream", 5000)
  })

  it("one user's sessions together hold at most limits.liveStreams.perUser streams", async () => {
    const port = running.httpPort ?? 0
    const before = await metric(running, 'doorbell_dashboard_streams_evicted_total', 'reason="user"')
    const sessions = [
      await httpLogin(port, 'bob', 'viewer password 1'),
      await httpLogin(port, 'bob', 'viewer password 1'),
      await httpLogin(port, 'bob', 'viewer password 1'),
    ]
    const opened: OpenStream[] = []
    for (const session of sessions) for (let i = 0; i < 4; i++) opened.push(await open(session.cookie))
    // Bob's first session still holds 4 from the test before: 16 streams asked for, 10 kept.
    await eventually(
      async () =>
        (await metric(running, 'doorbell_dashboard_streams_evicted_total', 'reason="user"')) - before >= 6,
      "bob's oldest streams closed",
      5000,
    )
    expect(running.dashboard.hub?.clientCount).toBe(11)
  })
})
