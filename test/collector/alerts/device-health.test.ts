import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { DeviceHealthMonitor } from '../../../collector/alerts/device-health-monitor.js'
import { type ComposedCollector, startCollector } from '../../../collector/main.js'
import {
  type AgentProcess,
  startAgentProcess,
  writeAgentConfigFile,
} from '../../agent/support/agent-process.js'
import { eventually } from '../../support/eventually.js'
import { addDevice, tempDir, testConfig } from '../collector-harness.js'
import { type Receiver, startReceiver } from './alerts-harness.js'

const thresholds = { offlineAfterMs: 10_000, minDiskFreeBytes: 1000, maxOutboxEvents: 100 }
const health = {
  uptimeS: 5,
  version: '0.1.0',
  cpuTempC: 45,
  diskFreeBytes: 10_000,
  outbox: { high: 0, medium: 0, low: 0 },
  outboxBytes: 0,
  wifiRssiDbm: -50,
}

describe('device health monitor', () => {
  it('goes offline when heartbeats stop and back online on the next event', () => {
    const monitor = new DeviceHealthMonitor(thresholds)
    expect(monitor.seen('front-door', 0, health)).toBeUndefined()
    expect(monitor.status('front-door', 1000)?.status).toBe('ok')
    expect(monitor.check(10_000)).toEqual([])
    expect(monitor.check(10_001)).toMatchObject([
      { deviceId: 'front-door', state: 'offline', reason: 'heartbeat_timeout' },
    ])
    expect(monitor.check(20_000)).toEqual([])
    expect(monitor.status('front-door', 20_000)).toMatchObject({
      status: 'offline',
      offlineSince: new Date(10_001).toISOString(),
    })
    expect(monitor.seen('front-door', 21_000)).toMatchObject({ state: 'online', reason: 'event' })
  })

  it('goes offline at once on the last will and reports problems that make a device not OK', () => {
    const monitor = new DeviceHealthMonitor(thresholds)
    monitor.seen('front-door', 0, { ...health, diskFreeBytes: 10, outbox: { high: 0, medium: 500, low: 0 } })
    expect(monitor.status('front-door', 0)).toMatchObject({
      status: 'degraded',
      problems: ['disk_low', 'outbox_backlog'],
    })
    expect(monitor.presence('front-door', 'offline', 5)).toMatchObject({
      state: 'offline',
      reason: 'last_will',
    })
    expect(monitor.presence('front-door', 'offline', 6)).toBeUndefined()
    expect(monitor.presence('front-door', 'online', 7)).toMatchObject({ state: 'online', reason: 'status' })
  })
})

describe('device health monitor across restarts', () => {
  const iso = (ms: number) => new Date(ms).toISOString()

  it('keeps a device that was offline before the restart offline since then, and alerts only its return', () => {
    const before = new DeviceHealthMonitor(thresholds)
    before.seen('front-door', 0, health)
    expect(before.check(10_001)).toHaveLength(1)
    const after = new DeviceHealthMonitor(thresholds)
    after.restore(before.records(), 50_000)
    expect(after.check(100_000)).toEqual([])
    expect(after.status('front-door', 50_000)).toMatchObject({
      status: 'offline',
      offlineSince: iso(10_001),
      lastSeenAt: iso(0),
      health,
      lastHealthAt: iso(0),
    })
    expect(after.seen('front-door', 100_001)).toMatchObject({ state: 'online', reason: 'event' })
  })

  it('gives a device that was online offlineAfterMs of grace from the restart, then reports when it was last seen', () => {
    const before = new DeviceHealthMonitor(thresholds)
    before.seen('front-door', 0, health)
    const after = new DeviceHealthMonitor(thresholds)
    after.restore(before.records(), 50_000)
    expect(after.status('front-door', 50_000)).toMatchObject({ lastSeenAt: iso(0), offlineSince: null })
    expect(after.check(60_000)).toEqual([])
    expect(after.check(60_001)).toMatchObject([
      { deviceId: 'front-door', state: 'offline', reason: 'heartbeat_timeout', lastSeenMs: 0 },
    ])
  })

  it('reports a registered device that never shows up, and forgets a device no longer registered', () => {
    const monitor = new DeviceHealthMonitor(thresholds)
    monitor.seen('old-door', 0)
    expect(monitor.watch(['front-door'], 1000)).toBe(true)
    expect(monitor.watch(['front-door'], 2000)).toBe(false)
    expect(monitor.statuses(1000)).toMatchObject([
      { deviceId: 'front-door', status: 'degraded', problems: ['no_recent_health'], lastSeenAt: null },
    ])
    expect(monitor.check(11_000)).toEqual([])
    expect(monitor.check(11_001)).toEqual([
      {
        deviceId: 'front-door',
        state: 'offline',
        reason: 'heartbeat_timeout',
        atMs: 11_001,
        lastSeenMs: null,
      },
    ])
    expect(monitor.records()).toEqual([
      {
        deviceId: 'front-door',
        isOnline: false,
        lastSeenMs: null,
        offlineSinceMs: 11_001,
        health: null,
        lastHealthMs: null,
      },
    ])
  })
})

describe('device health end to end', () => {
  let running: ComposedCollector | undefined
  let agent: AgentProcess | undefined
  let hook: Receiver | undefined
  let cleanup: (() => void) | undefined

  afterEach(async () => {
    if (agent && agent.child.exitCode === null) await agent.kill9()
    await running?.close()
    await hook?.close()
    cleanup?.()
    running = undefined
    agent = undefined
  })

  it('alerts offline when the real agent is killed with -9, back online when it returns, and serves the status', async () => {
    const dir = tempDir('alerts-health')
    cleanup = dir.cleanup
    hook = await startReceiver()
    const collectorDir = join(dir.path, 'collector')
    const secret = await addDevice(collectorDir, 'front-door')
    const apiToken = 'operator-token-0123456789'
    running = await startCollector(
      testConfig(collectorDir, {
        http: { port: 0, apiToken },
        alerts: {
          channels: [{ kind: 'webhook', name: 'hook', url: hook.url, secret: 'webhook-secret-0123456789' }],
          users: [{ name: 'alice', channels: ['hook'], kinds: ['offline', 'online'] }],
          health: { offlineAfterMs: 60_000, checkIntervalMs: 200 },
        },
      }),
    )
    const file = await writeAgentConfigFile(
      dir.path,
      { url: `mqtt://127.0.0.1:${running.mqttPort}`, secret },
      { health: { intervalMs: 1000 } },
    )
    agent = await startAgentProcess(file)
    const api = `http://127.0.0.1:${running.httpPort}/api/devices/health`
    const statusOf = async () => {
      const res = await fetch(api, { headers: { authorization: `Bearer ${apiToken}` } })
      return ((await res.json()) as { devices: { deviceId: string; status: string }[] }).devices[0]
    }
    await eventually(async () => (await statusOf())?.status === 'ok', 'device OK', 10_000)
    expect((await fetch(api)).status).toBe(401)

    await agent.kill9()
    const offline = await eventually(
      () => hook?.requests.find((r) => JSON.parse(r.body.toString('utf8')).kind === 'offline'),
      'offline alert',
      10_000,
    )
    expect(JSON.parse(offline.body.toString('utf8'))).toMatchObject({
      deviceId: 'front-door',
      kind: 'offline',
    })
    expect((await statusOf())?.status).toBe('offline')

    agent = await startAgentProcess(file)
    await eventually(
      () => hook?.requests.find((r) => JSON.parse(r.body.toString('utf8')).kind === 'online'),
      'back-online notice',
      10_000,
    )
  })
})
