import { once } from 'node:events'
import { type AddressInfo, createServer, type Socket } from 'node:net'
import { Aedes } from 'aedes'
import mqtt, { type MqttClient } from 'mqtt'
import { createEnvelope, decodeBatch, decodeEvent, parseTopic, topics } from '../shared/protocol/index.js'

/** A real aedes broker on 127.0.0.1, port 0, for the agent benchmarks. */
export async function startBenchBroker(): Promise<{ url: string; close(): Promise<void> }> {
  const broker = await Aedes.createBroker()
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    socket.setNoDelay(true)
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    broker.handle(socket)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return {
    url: `mqtt://127.0.0.1:${port}`,
    async close() {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await new Promise<void>((resolve) => broker.close(() => resolve()))
    },
  }
}

/**
 * The collector's ack path as agreed in docs/protocol.md, without storage: every event or batch is
 * acked at once with an ack envelope on the device's ack topic. It measures the agent, not a store.
 */
export async function startBenchAcker(url: string): Promise<{ stored: Set<string>; client: MqttClient }> {
  const client = await mqtt.connectAsync(url, { clientId: `bench-acker-${process.pid}`, reconnectPeriod: 0 })
  ;(client.stream as Socket).setNoDelay?.(true)
  const stored = new Set<string>()
  client.on('message', (topic, payload) => {
    const parsed = parseTopic(topic)
    if (parsed.kind !== 'event' && parsed.kind !== 'batch') return
    const expect = {
      deviceId: parsed.deviceId,
      ...(parsed.eventClass ? { eventClass: parsed.eventClass } : {}),
    }
    const envelopes = parsed.kind === 'batch' ? decodeBatch(payload, expect) : [decodeEvent(payload, expect)]
    for (const e of envelopes) stored.add(e.id)
    const ack = createEnvelope({
      deviceId: parsed.deviceId,
      seq: 0,
      type: 'ack',
      payload: { ids: envelopes.map((e) => e.id), rejected: [] },
    })
    void client.publishAsync(topics.ack(parsed.deviceId), Buffer.from(JSON.stringify(ack)), { qos: 1 })
  })
  await client.subscribeAsync([topics.allDevices('event'), topics.allDevices('batch')], { qos: 1 })
  return { stored, client }
}

/** The q-quantile (0..1) of values, nearest rank. */
export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN
}

/** The median of values. */
export function median(values: readonly number[]): number {
  return quantile(values, 0.5)
}

/** Waits until check() is true, polling every 5 ms, or throws after deadlineMs. */
export async function until(check: () => boolean, what: string, deadlineMs = 120_000): Promise<void> {
  const start = Date.now()
  while (!check()) {
    if (Date.now() - start > deadlineMs) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}
