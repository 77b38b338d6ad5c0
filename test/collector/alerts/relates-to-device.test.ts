import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually } from '../../support/eventually.js'
import { addDevice, metric, press } from '../collector-harness.js'
import {
  type AlertingScenario,
  connectDevice,
  publishEnvelope,
  snapshotOf,
  startAlertingScenario,
} from './alerts-harness.js'

describe('notification updates come from the press device', () => {
  let scenario: AlertingScenario<'hook'>

  beforeAll(async () => {
    scenario = await startAlertingScenario('relates-to-device', { hook: [200] }, (r) => ({
      channels: [{ kind: 'webhook', name: 'hook', url: `${r.hook.url}/hook`, secret: 'a'.repeat(32) }],
      users: [{ name: 'alice', channels: ['hook'], cooldownMs: 0 }],
    }))
  })
  afterAll(async () => {
    await scenario?.close()
  })

  it("a device's snapshot cannot replace another device's press notification", async () => {
    const { running, device, receivers } = scenario
    const garageSecret = await addDevice(scenario.dir, 'garage')
    const garage = await connectDevice(running.mqttPort, 'garage', garageSecret)
    try {
      const bell = press('front-door', 1)
      await publishEnvelope(device, bell)
      await eventually(() => receivers.hook.requests.length >= 1, 'the press alert', 5000)
      // The garage names the front door's press; then the front door's own snapshot follows.
      await publishEnvelope(garage, snapshotOf('garage', 1, bell.id))
      await running.flush()
      await running.alerts.whenIdle()
      await publishEnvelope(device, snapshotOf('front-door', 2, bell.id))
      await eventually(() => receivers.hook.requests.length >= 2, 'the front door update', 5000)
      await running.flush()
      await running.alerts.whenIdle()
      const bodies = receivers.hook.requests.map(
        (r) => JSON.parse(r.body.toString('utf8')) as { tag: string; deviceId: string; isUpdate: boolean },
      )
      const updates = bodies.filter((b) => b.isUpdate)
      console.log(
        `RELATES-TO updates of the press from garage=${updates.filter((b) => b.deviceId === 'garage').length}`,
      )
      expect(updates.map((b) => b.deviceId)).toEqual(['front-door'])
      expect(await metric(running, 'doorbell_alerts_suppressed_total', 'reason="foreign_device"')).toBe(1)
    } finally {
      await garage.endAsync()
    }
  })
})
