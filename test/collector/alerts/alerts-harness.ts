import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import mqtt, { type MqttClient } from 'mqtt'
import { createEnvelope, type Envelope, encodeEvent, topics } from '../../../shared/protocol/index.js'

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
      res.writeHead(status, { 'content-type': 'application/json' }).end('{}')
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
