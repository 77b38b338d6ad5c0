import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { createECDH, randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import tls from 'node:tls'
import type { MqttClient } from 'mqtt'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import webPush from 'web-push'
import { type ComposedCollector, startCollector } from '../../../collector/main.js'
import { eventually } from '../../support/eventually.js'
import { netnsUnavailableReason, removeStaleNetns, TestNetns } from '../../system/support/test-netns.js'
import { addDevice, press, tempDir, testConfig } from '../collector-harness.js'
import { connectDevice, publishEnvelope } from './alerts-harness.js'

/**
 * A push service on a public address, as Web Push endpoints must be: a namespace of its own holding
 * that address, routed from here through its veth, with a certificate this test trusts.
 */
const pushAddress = '45.33.200.10'
const pushPort = 8443
const nsPrefix = 'dbpush'
const nsIndex = 100 + (process.pid % 20)
const skipReason = netnsUnavailableReason()

/** The push service: answers 201 to every POST and prints a line per TLS handshake and per request. */
const serverScript = `
import { createServer } from 'node:https'
import { readFileSync } from 'node:fs'
const [key, cert, host, port] = process.argv.slice(1)
const server = createServer({ key: readFileSync(key), cert: readFileSync(cert), keepAliveTimeout: 60000 }, (req, res) => {
  req.resume()
  req.on('end', () => { console.log('request ' + req.url); res.writeHead(201).end() })
})
server.on('secureConnection', () => console.log('handshake'))
server.listen(Number(port), host, () => console.log('listening'))
`

const ua = createECDH('prime256v1')
ua.generateKeys()
const keys = { p256dh: ua.getPublicKey().toString('base64url'), auth: randomBytes(16).toString('base64url') }

describe.skipIf(skipReason !== undefined)('web push connections to the push service', () => {
  const dir = tempDir('push-reuse')
  const ns = new TestNetns(`${nsPrefix}${process.pid}a`, nsIndex)
  const defaultCas = tls.getCACertificates('default')
  let server: ChildProcess
  const lines: string[] = []
  let running: ComposedCollector | undefined
  let device: MqttClient | undefined

  beforeAll(async () => {
    removeStaleNetns(nsPrefix, () => nsIndex)
    ns.up()
    ns.exec('ip', 'addr', 'add', `${pushAddress}/32`, 'dev', ns.nsInterface)
    // The route goes with the veth when the namespace is removed.
    execFileSync('ip', ['route', 'replace', `${pushAddress}/32`, 'via', ns.nsIp], { stdio: 'pipe' })
    const key = join(dir.path, 'push.key')
    const cert = join(dir.path, 'push.crt')
    execFileSync(
      'openssl',
      [
        ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
        ...['-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=push service'],
        ...['-addext', `subjectAltName=IP:${pushAddress}`],
      ],
      { stdio: 'pipe' },
    )
    tls.setDefaultCACertificates([...defaultCas, readFileSync(cert, 'utf8')])
    server = spawn(
      ...([
        'ip',
        [
          ...['netns', 'exec', ns.name, process.execPath, '--input-type=module', '-e', serverScript],
          ...[key, cert, pushAddress, String(pushPort)],
        ],
      ] as const),
      { stdio: ['ignore', 'pipe', 'inherit'] },
    )
    createInterface({ input: server.stdout as NodeJS.ReadableStream }).on('line', (line) => lines.push(line))
    await eventually(() => lines.includes('listening'), 'the push service listening', 10_000)
  })
  afterEach(async () => {
    await device?.endAsync()
    await running?.close()
    device = undefined
    running = undefined
  })
  afterAll(() => {
    server?.kill()
    tls.setDefaultCACertificates(defaultCas)
    ns.down()
    dir.cleanup()
  })

  /** Starts a collector whose web push channel keeps connections as `connections` says, and sends two presses. */
  async function pushTwice(connections: { idleMs?: number }): Promise<{ handshakes: number }> {
    lines.length = 0
    const data = join(dir.path, `collector-${connections.idleMs ?? 'default'}`)
    const secret = await addDevice(data, 'front-door')
    running = await startCollector(
      testConfig(data, {
        alerts: {
          channels: [
            {
              kind: 'webpush',
              name: 'push',
              vapid: { subject: 'mailto:ops@example.org', ...webPush.generateVAPIDKeys() },
              connections,
            },
          ],
          users: [{ name: 'alice', channels: ['push'], cooldownMs: 0 }],
          retry: { attempts: 1, timeoutMs: 2000 },
        },
      }),
    )
    await running.stores.pushSubscriptions.add({
      user: 'alice',
      endpoint: `https://${pushAddress}:${pushPort}/push/alice-phone`,
      keys,
      createdAtMs: Date.now(),
    })
    device = await connectDevice(running.mqttPort, 'front-door', secret)
    for (const n of [1, 2]) {
      await publishEnvelope(device, press('front-door', n))
      await eventually(
        () => lines.filter((l) => l.startsWith('request ')).length >= n,
        `push ${n} at the push service`,
        5000,
      )
    }
    return { handshakes: lines.filter((l) => l === 'handshake').length }
  }

  it('a second press is pushed over the connection the first opened, without a new TLS handshake', async () => {
    const { handshakes } = await pushTwice({})
    console.log(`PUSH-REUSE default handshakes=${handshakes} for 2 pushes`)
    expect(handshakes).toBe(1)
  })

  it('with connections.idleMs 0 every push opens its own connection', async () => {
    const { handshakes } = await pushTwice({ idleMs: 0 })
    console.log(`PUSH-REUSE idleMs=0 handshakes=${handshakes} for 2 pushes`)
    expect(handshakes).toBe(2)
  })
})
