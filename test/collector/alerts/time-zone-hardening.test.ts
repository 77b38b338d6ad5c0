import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ComposedCollector, startCollector } from '../../../collector/main.js'
import { eventually } from '../../support/eventually.js'
import { httpLogin, httpRequest } from '../../support/http-client.js'
import { addDevice, metric, press, tempDir, testConfig } from '../collector-harness.js'
import { connectDevice, publishEnvelope, type Receiver, startReceiver } from './alerts-harness.js'

const password = 'owner password 1'

describe('time zones', () => {
  const dir = tempDir('time-zone-hardening')
  let running: ComposedCollector
  let device: MqttClient
  let hook: Receiver
  let session: { cookie: string; csrf: string }

  beforeAll(async () => {
    hook = await startReceiver([200])
    // Settings saved by an earlier version that did not check zones: bob's can never be applied.
    mkdirSync(join(dir.path, 'dashboard'), { recursive: true })
    writeFileSync(
      join(dir.path, 'dashboard', 'user-settings.json'),
      JSON.stringify({
        users: {
          bob: {
            channels: ['hook'],
            kinds: ['press'],
            quietHours: { start: '00:00', end: '23:59', timeZone: 'Mars/Olympus_Mons', allowKinds: [] },
          },
        },
      }),
    )
    const secret = await addDevice(dir.path, 'front-door')
    running = await startCollector(
      testConfig(dir.path, {
        alerts: {
          channels: [{ kind: 'webhook', name: 'hook', url: `${hook.url}/hook`, secret: 'a'.repeat(32) }],
          users: [
            { name: 'bob', channels: ['hook'], cooldownMs: 0 },
            { name: 'alice', channels: ['hook'], cooldownMs: 0 },
          ],
        },
      }),
    )
    await running.stores.homeowners.add('alice', password, 'owner')
    session = await httpLogin(running.httpPort ?? 0, 'alice', password)
    device = await connectDevice(running.mqttPort, 'front-door', secret)
  })
  afterAll(async () => {
    await device?.endAsync()
    await running?.close()
    await hook?.close()
    dir.cleanup()
  })

  it("one user's unresolvable time zone does not stop the other users' alerts", async () => {
    await publishEnvelope(device, press('front-door', 1))
    const request = await eventually(() => hook.requests[0], "alice's alert", 5000)
    expect(JSON.parse(request.body.toString('utf8'))).toMatchObject({ recipient: 'alice', kind: 'press' })
    expect(await metric(running, 'doorbell_alerts_routing_failures_total')).toBe(1)
  })

  it('a time zone that does not exist is refused with 400 naming the field, in settings and statistics', async () => {
    const port = running.httpPort ?? 0
    const headers = { cookie: session.cookie, 'x-csrf-token': session.csrf }
    const quiet = await httpRequest(port, '/api/settings', {
      method: 'PUT',
      headers,
      body: {
        channels: [],
        kinds: ['press'],
        quietHours: { start: '22:00', end: '07:00', timeZone: 'Europe/Nowhere', allowKinds: [] },
      },
    })
    expect(quiet.status).toBe(400)
    expect(quiet.body).toMatch(/quietHours\.timeZone/)
    const stats = await httpRequest(port, '/api/stats/visitors?timeZone=bad', { headers })
    expect(stats.status).toBe(400)
    expect(stats.body).toMatch(/timeZone/)
  })
})
