import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { MqttClient } from 'mqtt'
import { FileIdentityRegistry } from '../collector/registry/file-identity-registry.js'
import { newEventId, topics } from '../shared/protocol/index.js'
import { type BenchBroker, type BrokerKind, startBenchBroker } from './bench-brokers.js'
import { type BenchFigure, emitFigures } from './bench-figures.js'
import { connectBenchDevice } from './mqtt-device.js'

/**
 * Ingest throughput of QoS 1 medium-class readings from N simulated devices.
 * Three brokers, each in its own process, the clients in this one:
 *   collector  the built doorbell-collector, measured to the ack envelope (event durably in Level)
 *   aedes      bare aedes 1.2 in memory, measured to PUBACK
 *   mosquitto  Debian's mosquitto, persistence off, TCP_NODELAY on, measured to PUBACK
 * Each client keeps a window of unacknowledged messages in flight. Prints a markdown table.
 */

const devices = Number(process.env.BENCH_DEVICES ?? 10)
const windowPerDevice = Number(process.env.BENCH_WINDOW ?? 200)
const runs = Number(process.env.BENCH_RUNS ?? 3)
const throughputMs = Number(process.env.BENCH_SECONDS ?? 5) * 1000
const warmupMs = Number(process.env.BENCH_WARMUP_MS ?? 1000)
const latencyRatePerS = 5000
const latencyMs = 3000

type Kind = BrokerKind

/** The brokers of bench-brokers.ts, the collector with the device rate limits lifted. */
function startBroker(kind: Kind, dir: string): Promise<BenchBroker> {
  return startBenchBroker(kind, {
    dir,
    collectorConfig: ['limits: { devicePublishesPerS: 1000000, devicePublishBurst: 1000000 }'],
  })
}

interface Device {
  readonly id: string
  readonly client: MqttClient
  outstanding: number
  seq: number
  acked: number
  /** Publish time of each id, for latency. */
  readonly sentAt: Map<string, number>
}

const capturedAt = new Date().toISOString()

function reading(deviceId: string, seq: number): { id: string; payload: string } {
  const id = newEventId()
  // A template, not createEnvelope: the client side must not be the bottleneck.
  const payload = `{"v":1,"id":"${id}","deviceId":"${deviceId}","seq":${seq},"class":"medium","type":"temperature","capturedAt":"${capturedAt}","payload":{"celsius":21.5,"sensor":"bme280-${seq % 4}"}}`
  return { id, payload }
}

async function connectDevices(kind: Kind, port: number, secrets: Map<string, string>): Promise<Device[]> {
  const list: Device[] = []
  for (let i = 0; i < devices; i++) {
    const id = `bench-${i}`
    const client = await connectBenchDevice(port, id, secrets.get(id) ?? 'x')
    const device: Device = { id, client, outstanding: 0, seq: 0, acked: 0, sentAt: new Map() }
    if (kind === 'collector') {
      await client.subscribeAsync(topics.ack(id), { qos: 1 })
    }
    list.push(device)
  }
  return list
}

interface Measure {
  onAck: (device: Device, ids: string[]) => void
}

function publish(kind: Kind, device: Device, measure: Measure): void {
  const { id, payload } = reading(device.id, device.seq++)
  device.outstanding += 1
  device.sentAt.set(id, performance.now())
  device.client.publish(topics.event(device.id, 'medium'), payload, { qos: 1 }, (err) => {
    if (err || kind === 'collector') return
    measure.onAck(device, [id])
  })
}

function wireAcks(kind: Kind, list: Device[], measure: Measure): void {
  if (kind !== 'collector') return
  for (const device of list) {
    device.client.on('message', (_topic, message) => {
      const ack = JSON.parse(message.toString()) as { payload: { ids: string[] } }
      measure.onAck(device, ack.payload.ids)
    })
  }
}

async function measureThroughput(kind: Kind, list: Device[], durationMs = throughputMs): Promise<number> {
  let isRunning = true
  let acked = 0
  const measure: Measure = {
    onAck(device, ids) {
      device.outstanding -= ids.length
      for (const id of ids) device.sentAt.delete(id)
      acked += ids.length
      while (isRunning && device.outstanding < windowPerDevice) publish(kind, device, measure)
    },
  }
  wireAcks(kind, list, measure)
  const started = performance.now()
  for (const device of list) while (device.outstanding < windowPerDevice) publish(kind, device, measure)
  await new Promise((resolve) => setTimeout(resolve, durationMs))
  const count = acked
  const elapsedMs = performance.now() - started
  isRunning = false
  // Let the in-flight window drain so the next measurement starts clean.
  const deadline = Date.now() + 10_000
  while (list.some((d) => d.outstanding > 0) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 50))
  for (const device of list) device.client.removeAllListeners('message')
  return (count / elapsedMs) * 1000
}

async function measureLatency(kind: Kind, list: Device[]): Promise<{ p50: number; p99: number }> {
  const samples: number[] = []
  const measure: Measure = {
    onAck(device, ids) {
      const nowMs = performance.now()
      device.outstanding -= ids.length
      for (const id of ids) {
        const sent = device.sentAt.get(id)
        if (sent !== undefined) samples.push(nowMs - sent)
        device.sentAt.delete(id)
      }
    },
  }
  wireAcks(kind, list, measure)
  const intervalMs = 10
  const perTick = (latencyRatePerS * intervalMs) / 1000
  let sent = 0
  const started = performance.now()
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const due = Math.floor(((performance.now() - started) / 1000) * latencyRatePerS)
      while (sent < due) {
        const device = list[sent % list.length] as Device
        publish(kind, device, measure)
        sent += 1
      }
      if (performance.now() - started >= latencyMs) {
        clearInterval(timer)
        resolve()
      }
    }, intervalMs)
    void perTick
  })
  const deadline = Date.now() + 5000
  while (list.some((d) => d.outstanding > 0) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 20))
  for (const device of list) device.client.removeAllListeners('message')
  samples.sort((a, b) => a - b)
  const at = (q: number): number =>
    samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? Number.NaN
  return { p50: at(0.5), p99: at(0.99) }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-ingest-'))
  const registry = new FileIdentityRegistry(join(dir, 'data'))
  const secrets = new Map<string, string>()
  for (let i = 0; i < devices; i++) secrets.set(`bench-${i}`, await registry.addDevice(`bench-${i}`))
  // BENCH_ONLY also names benchmarks (npm run bench): only broker names in it pick brokers.
  const allKinds: Kind[] = ['collector', 'aedes', 'mosquitto']
  const picked = allKinds.filter((k) => process.env.BENCH_ONLY?.split(',').includes(k))
  const kinds = picked.length > 0 ? picked : allKinds
  const results = new Map<Kind, { rates: number[]; p50: number[]; p99: number[]; cpuPerK: number[] }>()
  for (const kind of kinds) results.set(kind, { rates: [], p50: [], p99: [], cpuPerK: [] })
  try {
    for (let run = 0; run < runs; run++) {
      for (const kind of kinds) {
        const broker = await startBroker(kind, dir)
        const list = await connectDevices(kind, broker.port, secrets)
        // Warm-up (not counted): every broker gets its JIT and buffers warm before the measurement.
        await measureThroughput(kind, list, warmupMs)
        const cpuBefore = broker.cpuMs()
        const rate = await measureThroughput(kind, list)
        const cpuPerK = (broker.cpuMs() - cpuBefore) / ((rate * throughputMs) / 1000 / 1000)
        const latency = await measureLatency(kind, list)
        const result = results.get(kind)
        result?.rates.push(rate)
        result?.p50.push(latency.p50)
        result?.p99.push(latency.p99)
        result?.cpuPerK.push(cpuPerK)
        await Promise.all(list.map((d) => d.client.endAsync(true)))
        await broker.stop()
        process.stderr.write(
          `run ${run + 1}/${runs} ${kind}: ${Math.round(rate)} msgs/s, cpu ${cpuPerK.toFixed(0)} ms/1k, p50 ${latency.p50.toFixed(1)} ms, p99 ${latency.p99.toFixed(1)} ms\n`,
        )
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  const aedesRate = median(results.get('aedes')?.rates ?? [])
  const lines = [
    `Ingest of QoS 1 medium readings: ${devices} devices, window ${windowPerDevice} per device, ${warmupMs / 1000} s warm-up then ${throughputMs / 1000} s per run, median of ${runs} runs; latency at ${latencyRatePerS} msgs/s for ${latencyMs / 1000} s.`,
    '',
    '| broker | measured to | msgs/s (median) | vs bare aedes (ratio of medians) | vs bare aedes (median of per-run ratios) | per-run ratios (min-max) | broker CPU ms per 1k msgs | p50 ms @5k/s | p99 ms @5k/s |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
  ]
  const figures: BenchFigure[] = []
  const aedesResult = results.get('aedes')
  for (const kind of kinds) {
    const r = results.get(kind)
    if (!r) continue
    const rate = median(r.rates)
    const reference = kind === 'aedes' ? undefined : 'bare aedes'
    const refOf = (value: number) => (reference ? { reference, referenceValue: value } : {})
    figures.push(
      { name: `ingest ${kind} msgs/s`, value: rate, unit: 'msgs/s', better: 'higher', ...refOf(aedesRate) },
      {
        name: `ingest ${kind} p99 @5k/s`,
        value: median(r.p99),
        unit: 'ms',
        better: 'lower',
        ...refOf(median(aedesResult?.p99 ?? [])),
      },
      {
        name: `ingest ${kind} CPU per 1k msgs`,
        value: median(r.cpuPerK),
        unit: 'ms',
        better: 'lower',
        ...refOf(median(aedesResult?.cpuPerK ?? [])),
      },
    )
    const to = kind === 'collector' ? 'ack envelope (stored, fsynced)' : 'PUBACK'
    // Runs of the three brokers alternate, so the ratio within a run is less exposed to load from other
    // processes drifting over the whole benchmark.
    const aedesRates = results.get('aedes')?.rates ?? []
    const ratios = r.rates.map((value, i) => value / (aedesRates[i] ?? Number.NaN))
    const range = `${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)}x`
    lines.push(
      `| ${kind} | ${to} | ${Math.round(rate)} | ${(rate / aedesRate).toFixed(2)}x | ${median(ratios).toFixed(2)}x | ${range} | ${median(r.cpuPerK).toFixed(0)} | ${median(r.p50).toFixed(1)} | ${median(r.p99).toFixed(1)} |`,
    )
  }
  process.stdout.write(`${lines.join('\n')}\n`)
  emitFigures('collector-ingest', figures)
}

await main()
