import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import mqtt, { type MqttClient } from 'mqtt'
import type { CollectorEvent } from '../../../collector/main.js'
import { type ComposedCollector, startCollector } from '../../../collector/main.js'
import { createEnvelope, type Envelope, encodeEvent, topics } from '../../../shared/protocol/index.js'
import { addDevice, tempDir, testConfig } from '../collector-harness.js'

/** One request a local receiver got. */
export interface ReceivedRequest {
  readonly method: string
  readonly url: string
  readonly headers: IncomingHttpHeaders
  readonly body: Buffer
  readonly atMs: number
}

/** A local HTTP receiver on 127.0.0.1 (webhook, ntfy or push service stand-in). */
export interface Receiver {
  readonly url: string
  readonly requests: ReceivedRequest[]
  /** Status codes answered in turn; after the list runs out, the last one (default 200). */
  statuses: number[]
  /** Time before each answer (a slow channel). */
  delayMs: number
  /** Headers sent with every answer (e.g. a redirect's Location). */
  replyHeaders: Record<string, string>
  close(): Promise<void>
}

/** Starts a receiver that records every request and answers from `statuses`. */
export async function startReceiver(statuses: number[] = [200]): Promise<Receiver> {
  const requests: ReceivedRequest[] = []
  const receiver: Receiver = {
    url: '',
    requests,
    statuses,
    delayMs: 0,
    replyHeaders: {},
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      requests.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
        atMs: Date.now(),
      })
      const status =
        receiver.statuses.length > 1 ? (receiver.statuses.shift() as number) : (receiver.statuses[0] ?? 200)
      res.writeHead(status, { 'content-type': 'application/json', ...receiver.replyHeaders }).end('{}')
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  ;(receiver as { url: string }).url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return receiver
}

/** A device connected to the collector with MQTT.js, publishing envelopes as the agent would. */
export async function connectDevice(
  port: number,
  deviceId: string,
  secret: string,
  options: { hasLastWill?: boolean } = {},
): Promise<MqttClient> {
  return mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
    clientId: deviceId,
    username: deviceId,
    password: secret,
    reconnectPeriod: 0,
    protocolVersion: 4,
    // The agent's last will: its retained status goes offline when the connection drops.
    ...(options.hasLastWill
      ? {
          will: {
            topic: topics.status(deviceId),
            payload: Buffer.from('{"state":"offline"}'),
            qos: 1,
            retain: true,
          },
        }
      : {}),
  })
}

/** Publishes one envelope on its class topic. */
export async function publishEnvelope(client: MqttClient, envelope: Envelope): Promise<void> {
  await client.publishAsync(topics.event(envelope.deviceId, envelope.class), encodeEvent(envelope), {
    qos: 1,
  })
}

/** A snapshot envelope relating to an event. */
export function snapshotOf(deviceId: string, seq: number, relatesTo: string): Envelope {
  const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4, 0xff, 0xd9])
  return createEnvelope({
    deviceId,
    seq,
    type: 'snapshot',
    payload: {
      relatesTo,
      contentType: 'image/jpeg',
      bytes: jpeg.length,
      sha256: createHash('sha256').update(jpeg).digest('hex'),
      data: jpeg.toString('base64'),
    },
  })
}

/** A real alerting collector, its local receivers and the front-door device connected over MQTT. */
export interface AlertingScenario<R extends string> {
  readonly dir: string
  readonly running: ComposedCollector
  readonly device: MqttClient
  readonly receivers: Record<R, Receiver>
  /** Every event the alert service reported. */
  readonly events: CollectorEvent[]
  /** Disconnects the device, closes the collector and the receivers, and removes the data folder. */
  close(): Promise<void>
}

/**
 * Starts one receiver per entry of receiverStatuses (answering those statuses), then the collector with
 * the alerts section built from the receivers, then connects front-door; on a failure on the way, what
 * was started is closed again.
 */
export async function startAlertingScenario<R extends string>(
  prefix: string,
  receiverStatuses: Record<R, number[]>,
  alerts: (receivers: Record<R, Receiver>) => Record<string, unknown>,
): Promise<AlertingScenario<R>> {
  const dir = tempDir(prefix)
  const started: Receiver[] = []
  const events: CollectorEvent[] = []
  let running: ComposedCollector | undefined
  let device: MqttClient | undefined
  const close = async (): Promise<void> => {
    await device?.endAsync()
    await running?.close()
    await Promise.all(started.map((r) => r.close()))
    dir.cleanup()
  }
  try {
    const receivers = {} as Record<R, Receiver>
    for (const [name, statuses] of Object.entries(receiverStatuses) as [R, number[]][]) {
      receivers[name] = await startReceiver(statuses)
      started.push(receivers[name])
    }
    const deviceSecret = await addDevice(dir.path, 'front-door')
    running = await startCollector(testConfig(dir.path, { alerts: alerts(receivers) }), {
      onEvent: (event) => events.push(event),
    })
    device = await connectDevice(running.mqttPort, 'front-door', deviceSecret)
    return { dir: dir.path, running, device, receivers, events, close }
  } catch (err) {
    await close()
    throw err
  }
}
