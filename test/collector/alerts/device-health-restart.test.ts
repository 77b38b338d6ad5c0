import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { MqttClient } from 'mqtt'
import { afterEach, describe, expect, it } from 'vitest'
import type { CollectorEvent } from '../../../collector/main.js'
import { type ComposedCollector, startCollector } from '../../../collector/main.js'
import { FileIdentityRegistry } from '../../../collector/registry/file-identity-registry.js'
import { isDoorbellError } from '../../../shared/errors.js'
import { eventually } from '../../support/eventually.js'
import { addDevice, reading, tempDir, testConfig } from '../collector-harness.js'
import { connectDevice, publishEnvelope, type Receiver, startReceiver } from './alerts-harness.js'

const offlineAfterMs = 1500
const checkIntervalMs = 100
const apiToken = 'operator-token-0123456789'

interface HealthRow {
  deviceId: string
  status: string
  lastSeenAt: string | null
  offlineSince: string | null
}

/** The webhook alerts of one kind and device, as received. */
function alertsOf(hook: Receiver, kind: string, deviceId: string): { atMs: number; body: string }[] {
  return hook.requests
    .map((r) => ({ atMs: r.atMs, alert: JSON.parse(r.body.toString('utf8')) as Record<string, unknown> }))
    .filter(({ alert }) => alert.kind === kind && alert.deviceId === deviceId)
    .map(({ atMs, alert }) => ({ atMs, body: String(alert.body) }))
}

describe('device health across a collector restart', () => {
  let running: ComposedCollector | undefined
  let hook: Receiver | undefined
  let cleanup: (() => void) | undefined
  const clients: MqttClient[] = []

  afterEach(async () => {
    for (const client of clients.splice(0)) client.end(true)
    await running?.close()
    await hook?.close()
    cleanup?.()
    running = undefined
  })

  async function setUp(prefix: string): Promise<{ dataDir: string; hook: Receiver }> {
    const dir = tempDir(prefix)
    cleanup = dir.cleanup
    hook = await startReceiver()
    return { dataDir: dir.path, hook }
  }

  async function start(dataDir: string, onAlertEvent?: (event: CollectorEvent) => void) {
    running = await startCollector(
      testConfig(dataDir, {
        http: { port: 0, apiToken },
        alerts: {
          channels: [
            { kind: 'webhook', name: 'hook', url: hook?.url ?? '', secret: 'webhook-secret-0123456789' },
          ],
          // No cooldown: a second offline alert for the same device must show.
          users: [{ name: 'alice', channels: ['hook'], kinds: ['offline', 'online'], cooldownMs: 0 }],
          health: { offlineAfterMs, checkIntervalMs },
        },
      }),
      onAlertEvent ? { onEvent: onAlertEvent } : {},
    )
    return running
  }

  async function healthRows(): Promise<HealthRow[]> {
    const res = await fetch(`http://127.0.0.1:${running?.httpPort}/api/devices/health`, {
      headers: { authorization: `Bearer ${apiToken}` },
    })
    return ((await res.json()) as { devices: HealthRow[] }).devices
  }

  /** A device connected with its last will, as the agent connects; it publishes one reading. */
  async function deviceSends(deviceId: string, secret: string, seq: number): Promise<MqttClient> {
    const client = await connectDevice(running?.mqttPort ?? 0, deviceId, secret, {
      hasLastWill: true,
    })
    client.on('error', () => {})
    clients.push(client)
    await publishEnvelope(client, reading(deviceId, seq))
    await eventually(
      async () => (await healthRows()).find((d) => d.deviceId === deviceId && d.lastSeenAt !== null),
      `${deviceId} seen`,
      10_000,
    )
    return client
  }

  /** Lets several health checks run and every delivery finish, so an extra alert would have arrived. */
  async function settle(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 5 * checkIntervalMs))
    await running?.alerts.whenIdle()
  }

  it('reports a device that never comes back after the restart offline once, after the threshold', async () => {
    const { dataDir, hook } = await setUp('health-restart')
    const secret = await addDevice(dataDir, 'front-door')
    await addDevice(dataDir, 'garage')
    await start(dataDir)
    await deviceSends('front-door', secret, 1)
    const seenBefore = (await healthRows()).find((d) => d.deviceId === 'front-door')?.lastSeenAt
    // The device is still connected: the last will the broker publishes as it closes is not a fault.
    await running?.close()
    expect(alertsOf(hook, 'offline', 'front-door')).toEqual([])
    const garageAlerts = alertsOf(hook, 'offline', 'garage').length
    // While the collector is down: a doorbell is registered, another removed.
    await addDevice(dataDir, 'side-door')
    await new FileIdentityRegistry(dataDir).removeDevice('garage')

    const restartedAtMs = Date.now()
    await start(dataDir)
    expect(await healthRows()).toMatchObject([
      { deviceId: 'front-door', lastSeenAt: seenBefore, offlineSince: null },
      { deviceId: 'side-door', lastSeenAt: null, offlineSince: null },
    ])
    await eventually(
      () =>
        alertsOf(hook, 'offline', 'front-door').length > 0 &&
        alertsOf(hook, 'offline', 'side-door').length > 0,
      'offline alerts of both doorbells',
      10_000,
    )
    await settle()
    const frontDoor = alertsOf(hook, 'offline', 'front-door')
    expect(frontDoor).toHaveLength(1)
    expect(frontDoor[0]?.atMs).toBeGreaterThanOrEqual(restartedAtMs + offlineAfterMs)
    expect(frontDoor[0]?.body).toContain(`Not heard from since ${seenBefore}`)
    expect(alertsOf(hook, 'offline', 'side-door')).toHaveLength(1)
    expect(alertsOf(hook, 'offline', 'garage')).toHaveLength(garageAlerts)
    expect((await healthRows()).map((d) => [d.deviceId, d.status])).toEqual([
      ['front-door', 'offline'],
      ['side-door', 'offline'],
    ])
  })

  it('remembers a device reported offline before the restart: no second offline alert, one back-online notice', async () => {
    const { dataDir, hook } = await setUp('health-restart-offline')
    const secret = await addDevice(dataDir, 'front-door')
    await start(dataDir)
    const device = await deviceSends('front-door', secret, 1)
    device.stream.destroy()
    await eventually(() => alertsOf(hook, 'offline', 'front-door').length === 1, 'offline alert', 10_000)
    const offlineSince = (await healthRows()).find((d) => d.deviceId === 'front-door')?.offlineSince
    expect(offlineSince).not.toBeNull()
    await running?.close()
    // Registered while the collector is down and never seen: its offline alert shows the threshold passed.
    await addDevice(dataDir, 'sentinel')

    await start(dataDir)
    expect((await healthRows()).find((d) => d.deviceId === 'front-door')).toMatchObject({
      status: 'offline',
      offlineSince,
    })
    await eventually(() => alertsOf(hook, 'offline', 'sentinel').length > 0, 'the sentinel offline', 10_000)
    await settle()
    expect(alertsOf(hook, 'offline', 'front-door')).toHaveLength(1)

    await deviceSends('front-door', secret, 2)
    await eventually(() => alertsOf(hook, 'online', 'front-door').length > 0, 'back-online notice', 10_000)
    await settle()
    expect(alertsOf(hook, 'online', 'front-door')).toHaveLength(1)
    expect((await healthRows()).find((d) => d.deviceId === 'front-door')?.status).not.toBe('offline')
  })

  it('starts with a corrupt health file, reports it, and keeps watching devices', async () => {
    const { dataDir, hook } = await setUp('health-corrupt')
    const secret = await addDevice(dataDir, 'front-door')
    const file = join(dataDir, 'alerts', 'device-health.json')
    mkdirSync(join(dataDir, 'alerts'))
    writeFileSync(file, '{"version":1,"devices":[{"deviceId":')
    const events: CollectorEvent[] = []
    await start(dataDir, (event) => events.push(event))
    const invalid = events.find((e) => e.kind === 'health_state_invalid')
    expect(invalid && isDoorbellError(invalid.err, 'HEALTH_STATE_INVALID')).toBe(true)
    expect(await healthRows()).toMatchObject([{ deviceId: 'front-door', lastSeenAt: null }])
    // The registered device was written at once: the file is valid again.
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ version: 1 })

    await deviceSends('front-door', secret, 1)
    expect((await healthRows())[0]?.status).not.toBe('offline')
    await eventually(() => alertsOf(hook, 'offline', 'front-door').length > 0, 'offline alert', 10_000)
  })
})
