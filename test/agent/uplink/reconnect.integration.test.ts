import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterEach, describe, expect, it } from 'vitest'
import { type RunningAgent, startAgent } from '../../../agent/agent.js'
import { SystemClock } from '../../../agent/clock/clock.js'
import { createSimulatedHardware, type SimulatedHardware } from '../../../agent/hardware.js'
import { type LoopbackBroker, startLoopbackBroker } from '../../../bench/loopback-broker.js'
import { type ShapedProxy, startShapedProxy } from '../../../bench/shaped-tcp-proxy.js'
import { eventually } from '../../support/eventually.js'
import { testAgentConfig } from '../support/agent-config.js'
import { TestAcker } from '../support/test-acker.js'

describe('agent uplink against a real aedes broker and a test acker', () => {
  let broker: LoopbackBroker
  let proxy: ShapedProxy
  let acker: TestAcker
  let agent: RunningAgent | undefined
  let dataDir: string

  async function start(): Promise<{ agent: RunningAgent; hardware: SimulatedHardware }> {
    broker = await startLoopbackBroker()
    proxy = await startShapedProxy(broker.port)
    acker = await TestAcker.start(broker.url)
    dataDir = await mkdtemp(join(tmpdir(), 'agent-it-'))
    const clock = new SystemClock()
    const hardware = createSimulatedHardware(clock)
    const config = testAgentConfig({
      dataDir,
      mqtt: { url: proxy.url },
      gpio: { button: { line: 17, debounceMs: 0 } },
    })
    agent = await startAgent(config, { hardware, clock })
    await eventually(() => agent?.uplink.isOnline === true, 'online')
    return { agent, hardware }
  }

  afterEach(async () => {
    await agent?.close()
    agent = undefined
    await acker?.close()
    await proxy?.close()
    await broker?.close()
    await rm(dataDir, { recursive: true, force: true })
  })

  it('publishes the retained online status and the press, and forgets the press on the ack', async () => {
    const { agent, hardware } = await start()
    hardware.button.pulse(5)
    await eventually(() => acker.storedOf('high').length === 1, 'press stored')
    await eventually(() => agent.outbox.depth().count.high === 0, 'press acked')
    expect(acker.statuses).toContainEqual({ deviceId: 'front-door', state: 'online' })
    // An outside client that connects later still sees the retained presence.
    // Async: the broker runs in this process, a sync child would block it.
    const { stdout: retained } = await promisify(execFile)(
      'mosquitto_sub',
      [
        '-h',
        '127.0.0.1',
        '-p',
        String(broker.port),
        '-t',
        'doorbell/v1/front-door/status',
        '-C',
        '1',
        '-W',
        '5',
      ],
      { encoding: 'utf8' },
    )
    expect(JSON.parse(retained)).toMatchObject({
      type: 'status',
      deviceId: 'front-door',
      payload: { state: 'online' },
    })
  })

  it('after an outage delivers every event exactly once, high before medium', async () => {
    const { agent, hardware } = await start()
    await eventually(() => agent.outbox.depth().totalBytes === 0, 'startup readings acked')
    const storedBefore = acker.stored.size
    proxy.cut()
    await eventually(() => !agent.uplink.isOnline, 'offline')
    const arrivalsBefore = acker.arrivals.length
    for (let i = 0; i < 5; i++) {
      hardware.temperature.celsius = 20 + i
      await agent.sampleNow()
      hardware.button.pulse(1)
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    await agent.batcher.flush()
    await eventually(() => agent.outbox.depth().count.high === 5, 'presses stored offline')
    expect(acker.arrivals.length).toBe(arrivalsBefore)
    proxy.heal()
    await eventually(() => agent.outbox.depth().totalBytes === 0, 'drained after reconnect')
    const afterOutage = acker.arrivals.slice(arrivalsBefore)
    const firstMedium = afterOutage.findIndex((e) => e.class === 'medium')
    const lastHigh = afterOutage.map((e) => e.class).lastIndexOf('high')
    expect(lastHigh).toBeLessThan(firstMedium)
    const stored = [...acker.stored.values()]
    expect(stored.length - storedBefore).toBe(afterOutage.length)
    const seqs = stored.map((e) => e.seq).sort((a, b) => a - b)
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1))
    expect(acker.storedOf('high')).toHaveLength(5)
  })

  it('receives acks the collector sent while the device was away (persistent session)', async () => {
    const { agent, hardware } = await start()
    await eventually(() => agent.outbox.depth().totalBytes === 0, 'startup readings acked')
    acker.isAcking = false
    hardware.button.pulse(1)
    await eventually(() => acker.storedOf('high').length === 1, 'press stored')
    proxy.cut()
    await eventually(() => !agent.uplink.isOnline, 'offline')
    const [press] = acker.storedOf('high')
    const { createEnvelope, topics } = await import('../../../shared/protocol/index.js')
    const mqtt = await import('mqtt')
    const collector = await mqtt.connectAsync(broker.url, { clientId: 'late-acker' })
    const ack = createEnvelope({
      deviceId: 'front-door',
      seq: 0,
      type: 'ack',
      payload: { ids: [press?.id ?? ''] },
    })
    await collector.publishAsync(topics.ack('front-door'), Buffer.from(JSON.stringify(ack)), { qos: 1 })
    await collector.endAsync()
    proxy.heal()
    await eventually(() => agent.outbox.depth().count.high === 0, 'queued ack delivered')
    expect(acker.arrivals.filter((e) => e.id === press?.id).length).toBeLessThanOrEqual(2)
  })
})
