import { type ChildProcess, spawn } from 'node:child_process'
import type { MqttClient } from 'mqtt'
import { afterEach, describe, expect, it } from 'vitest'
import { discoveryConfigTopics } from '../../../collector/alerts/home-assistant-entities.js'
import { type ComposedCollector, startCollector } from '../../../collector/main.js'
import { FileIdentityRegistry } from '../../../collector/registry/file-identity-registry.js'
import { topics } from '../../../shared/protocol/index.js'
import { eventually } from '../../support/eventually.js'
import { addDevice, reading, run, tempDir, testConfig } from '../collector-harness.js'
import { connectDevice, publishEnvelope } from './alerts-harness.js'

/** One message as mosquitto_sub prints it with `-F '%r %l %t'`: retain flag, payload bytes, topic. */
interface Seen {
  readonly isRetained: boolean
  readonly bytes: number
  readonly topic: string
}

function parseLines(stdout: string): Seen[] {
  return stdout
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => {
      const [retain, bytes, topic] = line.split(' ')
      return { isRetained: retain === '1', bytes: Number(bytes), topic: topic ?? '' }
    })
}

/** mosquitto_sub arguments for Home Assistant's read-only service user. */
function haArgs(port: number, secret: string, clientId: string): string[] {
  return [
    ...['-h', '127.0.0.1', '-p', String(port), '-u', 'homeassistant', '-P', secret, '-i', clientId],
    ...['-q', '1', '-V', 'mqttv311', '-F', '%r %l %t'],
  ]
}

describe('Home Assistant discovery of devices leaving the registry', () => {
  let running: ComposedCollector | undefined
  const devices: MqttClient[] = []
  const watchers: ChildProcess[] = []
  let cleanup: (() => void) | undefined

  afterEach(async () => {
    for (const watcher of watchers) watcher.kill()
    watchers.length = 0
    await Promise.all(devices.map((c) => c.endAsync()))
    devices.length = 0
    await running?.close()
    running = undefined
    cleanup?.()
  })

  /** Home Assistant connected throughout: every message it receives, as it arrives. */
  function watch(port: number, secret: string): Seen[] {
    const seen: Seen[] = []
    const child = spawn('mosquitto_sub', [
      ...haArgs(port, secret, 'homeassistant:live'),
      ...['-t', 'homeassistant/#', '-t', 'doorbell/v1/+/ha/#', '-W', '60'],
    ])
    watchers.push(child)
    let partial = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      const text = partial + chunk
      const end = text.lastIndexOf('\n') + 1
      partial = text.slice(end)
      seen.push(...parseLines(text.slice(0, end)))
    })
    return seen
  }

  /** A Home Assistant that subscribes now: the first `count` messages it gets (retained and live). */
  async function freshSubscriber(port: number, secret: string, filter: string, count: number) {
    const result = await run('mosquitto_sub', [
      ...haArgs(port, secret, `homeassistant:fresh-${Date.now()}`),
      ...['-t', filter, '-C', String(count), '-W', '5'],
    ])
    return parseLines(result.stdout)
  }

  /** A data folder with two doorbells, front-door and back-door, and Home Assistant's service user. */
  async function register(prefix: string) {
    const dir = tempDir(prefix)
    cleanup = dir.cleanup
    const secrets = new Map([
      ['front-door', await addDevice(dir.path, 'front-door')],
      ['back-door', await addDevice(dir.path, 'back-door')],
    ])
    const registry = new FileIdentityRegistry(dir.path)
    return { dir, secrets, registry, haSecret: await registry.addUser('homeassistant') }
  }

  /** Starts the collector and has each device publish a reading, so it is announced. */
  async function startWithDevices(dataDir: string, secrets: Map<string, string>): Promise<number> {
    running = await startCollector(testConfig(dataDir))
    const port = running.mqttPort
    for (const [deviceId, secret] of secrets) {
      const device = await connectDevice(port, deviceId, secret)
      devices.push(device)
      await publishEnvelope(device, reading(deviceId, 0, 20))
    }
    await running.flush()
    return port
  }

  it('clears a disabled device from Home Assistant and announces it again when re-enabled', async () => {
    const { dir, secrets, registry, haSecret } = await register('alerts-ha-withdraw')
    const port = await startWithDevices(dir.path, secrets)
    const live = watch(port, haSecret)
    const frontConfigs = discoveryConfigTopics('front-door')
    const configured = (topic: string): boolean => live.some((s) => s.topic === topic && s.bytes > 0)
    await eventually(() => frontConfigs.every(configured), 'the configs of front-door', 5000)
    const temperature = topics.homeAssistantState('front-door', 'temperature')
    await eventually(() => configured(temperature), 'the temperature of front-door', 5000)

    // `doorbell-admin devices disable front-door`: the registry file changes under the running collector.
    await registry.setDeviceDisabled('front-door', true)
    const cleared = (topic: string): boolean => live.some((s) => s.topic === topic && s.bytes === 0)
    await eventually(() => frontConfigs.every(cleared), 'empty configs for front-door', 8000)
    expect(cleared(temperature)).toBe(true)
    expect(live.some((s) => s.topic.includes('back-door') && s.bytes === 0)).toBe(false)

    // A Home Assistant subscribing now finds back-door retained and front-door only as empty configs.
    const fresh = await freshSubscriber(port, haSecret, 'homeassistant/#', 12)
    expect(fresh.filter((s) => s.isRetained && s.bytes > 0).map((s) => s.topic)).toEqual(
      expect.arrayContaining(discoveryConfigTopics('back-door')),
    )
    expect(fresh.filter((s) => s.topic.includes('front-door'))).toEqual(
      expect.arrayContaining(frontConfigs.map((topic) => ({ isRetained: false, bytes: 0, topic }))),
    )
    expect(fresh.some((s) => s.topic.includes('front-door') && (s.isRetained || s.bytes > 0))).toBe(false)
    const states = await run('mosquitto_sub', [
      ...haArgs(port, haSecret, 'homeassistant:states'),
      ...['-t', 'doorbell/v1/front-door/ha/#', '--retained-only', '-W', '1'],
    ])
    expect(states.stdout).toBe('')

    // `doorbell-admin devices enable front-door`: the configs return, retained.
    await registry.setDeviceDisabled('front-door', false)
    const configCount = (): number => live.filter((s) => frontConfigs.includes(s.topic) && s.bytes > 0).length
    await eventually(() => configCount() >= 2 * frontConfigs.length, 'configs of front-door again', 8000)
    const again = await freshSubscriber(port, haSecret, 'homeassistant/+/doorbell_front-door/#', 6)
    expect(again.filter((s) => s.isRetained && s.bytes > 0).map((s) => s.topic)).toEqual(
      expect.arrayContaining(frontConfigs),
    )
  })

  it('clears at start a device removed while the collector was down, for Home Assistant subscribing later', async () => {
    const { dir, secrets, registry, haSecret } = await register('alerts-ha-restart')
    await startWithDevices(dir.path, secrets)
    await Promise.all(devices.map((c) => c.endAsync()))
    devices.length = 0
    await running?.close()

    // `doorbell-admin devices remove front-door` while the collector is down.
    await registry.removeDevice('front-door')
    running = await startCollector(testConfig(dir.path))
    const port = running.mqttPort

    // Home Assistant reconnects after the restart: back-door is announced again before it is next seen,
    // and front-door, which Home Assistant still holds, comes as empty configs.
    const fresh = await freshSubscriber(port, haSecret, 'homeassistant/#', 12)
    expect(fresh.filter((s) => s.isRetained && s.bytes > 0).map((s) => s.topic)).toEqual(
      expect.arrayContaining(discoveryConfigTopics('back-door')),
    )
    expect(fresh.filter((s) => s.topic.includes('front-door'))).toEqual(
      expect.arrayContaining(
        discoveryConfigTopics('front-door').map((topic) => ({ isRetained: false, bytes: 0, topic })),
      ),
    )
    expect(fresh).toHaveLength(12)
  })
})
