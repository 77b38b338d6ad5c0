import { afterEach, describe, expect, it } from 'vitest'
import { collectorConfig } from '../../../collector/config.js'
import { createEnvelope } from '../../../shared/protocol/index.js'
import { eventually } from '../../support/eventually.js'
import { metric, press } from '../collector-harness.js'
import { type AlertingScenario, publishEnvelope, startAlertingScenario } from './alerts-harness.js'

const secret = 'webhook-secret-0123456789'

describe('SLA violations, operator alerts and analytics end to end', () => {
  let scenario: AlertingScenario<'home' | 'ops'> | undefined

  afterEach(async () => {
    await scenario?.close()
    scenario = undefined
  })

  async function start(alerts: Record<string, unknown>) {
    scenario = await startAlertingScenario('alerts-sla', { home: [200], ops: [200] }, ({ home, ops }) => ({
      channels: [
        { kind: 'webhook', name: 'home', url: home.url, secret },
        { kind: 'webhook', name: 'ops', url: ops.url, secret },
      ],
      users: [{ name: 'alice', channels: ['home'] }],
      operatorChannels: ['ops'],
      ...alerts,
    }))
    const { receivers, running, device } = scenario
    return { ...receivers, running, device }
  }

  it('counts a press delivered later than its target, and tells the operator once', async () => {
    const { home, ops, device, running } = await start({ sla: { high: { targetMs: 1 } } })
    // Captured 2 s ago on the device (e.g. the press waited in the outbox).
    const late = createEnvelope({
      deviceId: 'front-door',
      seq: 0,
      type: 'button.press',
      payload: {},
      capturedAtMs: Date.now() - 2000,
    })
    await publishEnvelope(device, late)
    await publishEnvelope(device, press('front-door', 1))
    const note = await eventually(() => ops.requests[0], 'operator alert', 5000)
    expect(JSON.parse(note.body.toString('utf8'))).toMatchObject({ kind: 'sla', recipient: 'operator' })
    await eventually(() => home.requests.length >= 1, 'homeowner alert', 5000)
    await running.alerts.whenIdle()
    const collector = running
    expect(
      await metric(collector, 'doorbell_alerts_sla_violations_total', 'class="high",channel="home"'),
    ).toBeGreaterThanOrEqual(1)
    expect(ops.requests).toHaveLength(1)
  })

  it('measures the medium storage SLA and raises a temperature anomaly alert', async () => {
    const { home, device, running } = await start({
      users: [{ name: 'alice', channels: ['home'], kinds: ['temperature'] }],
    })
    const base = Date.now() - 10 * 60_000
    for (let i = 0; i < 5; i++) {
      const reading = createEnvelope({
        deviceId: 'front-door',
        seq: i,
        type: 'temperature',
        payload: { celsius: 21, sensor: 'bme280' },
        capturedAtMs: base + i * 60_000,
      })
      await publishEnvelope(device, reading)
    }
    const fire = createEnvelope({
      deviceId: 'front-door',
      seq: 5,
      type: 'temperature',
      payload: { celsius: 35, sensor: 'bme280' },
      capturedAtMs: base + 5 * 60_000,
    })
    await publishEnvelope(device, fire)
    const hit = await eventually(() => home.requests[0], 'temperature alert', 5000)
    expect(JSON.parse(hit.body.toString('utf8'))).toMatchObject({
      kind: 'temperature',
      deviceId: 'front-door',
    })
    const collector = running
    expect(
      await metric(collector, 'doorbell_alerts_sla_latency_seconds_count', 'class="medium",channel="store"'),
    ).toBe(6)
  })

  it('rejects a user that names a channel that does not exist', () => {
    expect(() => collectorConfig({ alerts: { users: [{ name: 'alice', channels: ['nowhere'] }] } })).toThrow(
      /no channel named nowhere/,
    )
  })
})
