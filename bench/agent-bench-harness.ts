import type { Socket } from 'node:net'
import mqtt, { type MqttClient } from 'mqtt'
import { createEnvelope, decodeBatch, decodeEvent, parseTopic, topics } from '../shared/protocol/index.js'
import { startLoopbackBroker } from './loopback-broker.js'

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

/**
 * Runs the broker and the acker in a child process (this file with --serve), so the agent under test
 * has its event loop to itself, as on a Pi talking to a collector on another machine.
 */
export async function startBenchCollectorProcess(): Promise<{ url: string; close(): Promise<void> }> {
  const { spawn } = await import('node:child_process')
  const { createInterface } = await import('node:readline')
  const child = spawn(process.execPath, [new URL(import.meta.url).pathname, '--serve'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const url = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`bench collector exited with ${code}`)))
    if (!child.stdout) throw new Error('no stdout')
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.startsWith('READY ')) resolve(line.slice(6))
    })
  })
  return {
    url,
    async close() {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      await exited
    },
  }
}

if (process.argv[2] === '--serve' && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const broker = await startLoopbackBroker()
  await startBenchAcker(broker.url)
  process.stdout.write(`READY ${broker.url}\n`)
  process.on('SIGTERM', () => process.exit(0))
}
