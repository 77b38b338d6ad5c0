import { createECDH, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { type AddressInfo, createServer, type Server } from 'node:net'
import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import webPush from 'web-push'
import { isPublicAddress } from '../../../collector/alerts/public-endpoint.js'
import { type ComposedCollector, startCollector } from '../../../collector/main.js'
import { eventually } from '../../support/eventually.js'
import { httpLogin, httpRequest } from '../../support/http-client.js'
import { addDevice, metric, press, tempDir, testConfig } from '../collector-harness.js'
import {
  connectDevice,
  publishEnvelope,
  type Receiver,
  startAlertingScenario,
  startReceiver,
} from './alerts-harness.js'

const ownerPassword = 'correct horse battery'
const ua = createECDH('prime256v1')
ua.generateKeys()
const keys = { p256dh: ua.getPublicKey().toString('base64url'), auth: randomBytes(16).toString('base64url') }

/** A TCP listener that only counts the connections it gets (a service inside the network). */
async function connectionCounter(): Promise<{ port: number; count(): number; close(): Promise<void> }> {
  let count = 0
  const server: Server = createServer((socket) => {
    count += 1
    socket.destroy()
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    port: (server.address() as AddressInfo).port,
    count: () => count,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}

describe('push endpoints are public https only', () => {
  const dir = tempDir('push-ssrf')
  let running: ComposedCollector
  let device: MqttClient
  let inside: Receiver
  let counter: Awaited<ReturnType<typeof connectionCounter>>
  let session: { cookie: string; csrf: string }

  beforeAll(async () => {
    inside = await startReceiver([404])
    counter = await connectionCounter()
    const secret = await addDevice(dir.path, 'front-door')
    running = await startCollector(
      testConfig(dir.path, {
        alerts: {
          channels: [
            {
              kind: 'webpush',
              name: 'push',
              vapid: { subject: 'mailto:ops@example.org', ...webPush.generateVAPIDKeys() },
            },
          ],
          users: [{ name: 'alice', channels: ['push'], cooldownMs: 0 }],
          retry: { attempts: 1, timeoutMs: 1000 },
        },
      }),
    )
    await running.stores.homeowners.add('alice', ownerPassword, 'owner')
    session = await httpLogin(running.httpPort ?? 0, 'alice', ownerPassword)
    device = await connectDevice(running.mqttPort, 'front-door', secret)
  })
  afterAll(async () => {
    await device?.endAsync()
    await running?.close()
    await inside?.close()
    await counter?.close()
    dir.cleanup()
  })

  const register = (endpoint: string) =>
    httpRequest(running.httpPort ?? 0, '/api/push/subscriptions', {
      headers: { cookie: session.cookie, 'x-csrf-token': session.csrf },
      body: { user: 'alice', subscription: { endpoint, keys } },
    })

  it('a session cannot register a push endpoint on loopback, private, link-local or other inside addresses', async () => {
    const port = counter.port
    const endpoints = [
      `${inside.url}/push/probe`,
      `https://127.0.0.1:${port}/push`,
      `https://localhost:${port}/push`,
      'https://10.1.2.3/push',
      'https://192.168.1.1/push',
      'https://169.254.169.254/latest/meta-data',
      'https://100.64.0.1/push',
      'https://224.0.0.1/push',
      `https://[::1]:${port}/push`,
      'https://[fd00::1]/push',
      'https://[fe80::1]/push',
      `https://[::ffff:127.0.0.1]:${port}/push`,
    ]
    const answers = []
    for (const endpoint of endpoints) answers.push({ endpoint, status: (await register(endpoint)).status })
    const accepted = answers.filter((a) => a.status !== 400)
    console.log(`PUSH-SSRF registrations accepted=${accepted.length} of ${endpoints.length}`)
    expect(accepted).toEqual([])
    expect(await running.stores.pushSubscriptions.all()).toEqual([])
    expect(await metric(running, 'doorbell_alerts_push_endpoints_refused_total', 'at="registration"')).toBe(
      endpoints.length,
    )
    expect((await register('https://93.184.215.14/push')).status).toBe(201)
    await running.stores.pushSubscriptions.remove('https://93.184.215.14/push')
  })

  it('a push endpoint whose name resolves to loopback at send time gets no connection', async () => {
    // As if the name had pointed at a public address when it was registered (DNS can change).
    await running.stores.pushSubscriptions.add({
      user: 'alice',
      endpoint: `https://localhost:${counter.port}/push`,
      keys,
      createdAtMs: Date.now(),
    })
    await publishEnvelope(device, press('front-door', 1))
    await eventually(
      async () => (await metric(running, 'doorbell_alerts_push_endpoints_refused_total', 'at="send"')) >= 1,
      'the send refused',
      5000,
    )
    await running.alerts.whenIdle()
    console.log(`PUSH-SSRF send-time connections=${counter.count()}`)
    expect(counter.count()).toBe(0)
    expect(inside.requests).toEqual([])
  })
})

describe('alert channels never follow a redirect', () => {
  it('a webhook or ntfy server answering 302 to an inside address sends nothing there', async () => {
    const scenario = await startAlertingScenario(
      'alerts-redirect',
      { bouncer: [302], target: [200] },
      (r) => ({
        channels: [
          { kind: 'webhook', name: 'hook', url: `${r.bouncer.url}/hook`, secret: 'a'.repeat(32) },
          { kind: 'ntfy', name: 'ntfy', serverUrl: r.bouncer.url, topic: 'door' },
        ],
        users: [{ name: 'alice', channels: ['hook', 'ntfy'], cooldownMs: 0 }],
        retry: { attempts: 2, initialMs: 10, maxMs: 20 },
      }),
    )
    try {
      scenario.receivers.bouncer.replyHeaders = { location: `${scenario.receivers.target.url}/internal` }
      await publishEnvelope(scenario.device, press('front-door', 1))
      await eventually(() => scenario.receivers.bouncer.requests.length >= 2, 'both channels tried', 5000)
      await scenario.running.alerts.whenIdle()
      console.log(`REDIRECT target-requests=${scenario.receivers.target.requests.length}`)
      expect(scenario.receivers.target.requests).toEqual([])
      // A 3xx is final: not retried.
      expect(scenario.receivers.bouncer.requests).toHaveLength(2)
    } finally {
      await scenario.close()
    }
  })
})

describe('isPublicAddress', () => {
  it('accepts global unicast and refuses every inside range, also v4-mapped', () => {
    for (const a of ['93.184.215.14', '8.8.8.8', '2606:4700::1111', '::ffff:8.8.8.8']) {
      expect(isPublicAddress(a), a).toBe(true)
    }
    for (const a of [
      '127.0.0.1',
      '10.0.0.1',
      '172.16.0.1',
      '192.168.0.1',
      '169.254.1.1',
      '100.64.0.1',
      '224.0.0.1',
      '0.0.0.0',
      '255.255.255.255',
      '192.0.2.1',
      '::1',
      '::',
      'fe80::1',
      'fd00::1',
      'ff02::1',
      '::ffff:127.0.0.1',
      '::ffff:10.0.0.1',
      '64:ff9b::7f00:1',
      '2002:7f00:1::',
      'not an address',
    ]) {
      expect(isPublicAddress(a), a).toBe(false)
    }
  })
})
