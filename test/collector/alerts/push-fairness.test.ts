import { createECDH, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { type AddressInfo, createServer, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import webPush from 'web-push'
import { type ComposedCollector, startCollector } from '../../../collector/main.js'
import { eventually } from '../../support/eventually.js'
import { httpLogin, httpRequest } from '../../support/http-client.js'
import { addDevice, metric, press, tempDir, testConfig } from '../collector-harness.js'
import { connectDevice, publishEnvelope, type Receiver, startReceiver } from './alerts-harness.js'

const deadEndpoints = 50
const presses = 5

/** A push service that accepts connections and never answers (a browser long gone behind a dead proxy). */
async function blackHole(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

function browserKeys(): { p256dh: string; auth: string } {
  const ua = createECDH('prime256v1')
  ua.generateKeys()
  return { p256dh: ua.getPublicKey().toString('base64url'), auth: randomBytes(16).toString('base64url') }
}

describe('push delivery per user', () => {
  const dir = tempDir('push-fairness')
  let running: ComposedCollector
  let pushService: Receiver
  let dead: Awaited<ReturnType<typeof blackHole>>

  beforeAll(async () => {
    pushService = await startReceiver([201])
    dead = await blackHole()
    running = await startCollector(
      testConfig(dir.path, {
        alerts: {
          channels: [
            {
              kind: 'webpush',
              name: 'push',
              vapid: { subject: 'mailto:ops@example.org', ...webPush.generateVAPIDKeys() },
              timeoutMs: 1000,
            },
          ],
          // The viewer first, so each press queues the viewer's delivery ahead of the owner's.
          users: [
            { name: 'bob', channels: ['push'], cooldownMs: 0 },
            { name: 'alice', channels: ['push'], cooldownMs: 0 },
          ],
          // The stand-ins are plain http on loopback.
          pushEndpoints: 'any',
          retry: { attempts: 1, timeoutMs: 1000 },
        },
      }),
    )
    await running.stores.homeowners.add('alice', 'owner password 1', 'owner')
    await running.stores.homeowners.add('bob', 'viewer password 1', 'viewer')
  })
  afterAll(async () => {
    await running?.close()
    await pushService?.close()
    await dead?.close()
    dir.cleanup()
  })

  const register = (session: { cookie: string; csrf: string }, user: string, endpoint: string) =>
    httpRequest(running.httpPort ?? 0, '/api/push/subscriptions', {
      headers: { cookie: session.cookie, 'x-csrf-token': session.csrf },
      body: { user, subscription: { endpoint, keys: browserKeys() } },
    })

  it("a viewer's dead push endpoints do not delay the owner's doorbell push", async () => {
    const port = running.httpPort ?? 0
    const bob = await httpLogin(port, 'bob', 'viewer password 1')
    const alice = await httpLogin(port, 'alice', 'owner password 1')
    for (let i = 0; i < deadEndpoints; i++) {
      expect((await register(bob, 'bob', `${dead.url}/bob/${i}`)).status).toBe(201)
    }
    expect((await register(alice, 'alice', `${pushService.url}/alice`)).status).toBe(201)
    const bobHolds = (await running.stores.pushSubscriptions.forUser('bob')).length
    console.log(`PUSH-CAP viewer registered=${deadEndpoints} held=${bobHolds}`)
    expect(bobHolds).toBe(10)
    expect(await metric(running, 'doorbell_alerts_push_subscriptions_evicted_total')).toBe(deadEndpoints - 10)

    const secret = await addDevice(dir.path, 'front-door')
    const device = await connectDevice(running.mqttPort, 'front-door', secret)
    try {
      const sentAtMs: number[] = []
      for (let seq = 1; seq <= presses; seq++) {
        sentAtMs.push(Date.now())
        await publishEnvelope(device, press('front-door', seq))
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      await eventually(() => pushService.requests.length >= presses, "the owner's pushes", 15_000)
      const latenciesMs = pushService.requests.map((r, i) => r.atMs - (sentAtMs[i] ?? 0))
      console.log(`PUSH-OWNER latencies ms=${latenciesMs.join(',')}`)
      // The high class's SLA (alerts.sla.high, 1 s).
      expect(Math.max(...latenciesMs)).toBeLessThan(1000)
    } finally {
      await device.endAsync()
    }
  })
})
