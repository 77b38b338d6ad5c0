/**
 * Agent benchmark: press latency from a simulated GPIO edge to the collector's ack, agent RSS
 * and idle CPU, and outbox drain time after 24 h offline. Everything on loopback with a real aedes
 * broker and an acker that acks at once, so the numbers are the agent's. Prints a markdown table.
 * Run: npm run build && node dist/bench/agent-latency.js
 */
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { pathToFileURL } from 'node:url'
import { stringify } from 'yaml'
import { type RunningAgent, startAgent } from '../agent/agent.js'
import { SystemClock } from '../agent/clock/clock.js'
import { type AgentConfig, agentConfigSchema } from '../agent/config/agent-config.js'
import { createSimulatedHardware, type SimulatedHardware } from '../agent/hardware.js'
import { LevelOutboxStore } from '../agent/outbox/level-outbox-store.js'
import { MemoryOutboxStore } from '../agent/outbox/memory-outbox-store.js'
import { Outbox, type RecordInput } from '../agent/outbox/outbox.js'
import type { OutboxStore } from '../agent/outbox/outbox-store.js'
import { createEnvelope, topics } from '../shared/protocol/index.js'
import { median, quantile, startBenchCollectorProcess, until } from './agent-bench-harness.js'
import { emitFigures } from './bench-figures.js'

const runs = Number(process.env.BENCH_RUNS ?? 3)
const presses = Number(process.env.BENCH_PRESSES ?? 100)
/** 24 h of readings: temperature + light every 30 s, health every 60 s, motion and sound in between. */
const offlineReadings = Number(process.env.BENCH_OFFLINE_READINGS ?? 70_000)

function benchConfig(url: string, dataDir: string): AgentConfig {
  return agentConfigSchema.parse({
    deviceId: 'bench-door',
    mqtt: { url, reconnectInitialMs: 50, reconnectMaxMs: 500 },
    dataDir,
    gpio: { button: { line: 17, debounceMs: 0 } },
    sensors: { temperature: { intervalMs: 3_600_000 }, light: { intervalMs: 3_600_000 } },
    health: { intervalMs: 3_600_000 },
    ...(process.env.BENCH_MEDIUM_WINDOW
      ? { outbox: { mediumWindow: Number(process.env.BENCH_MEDIUM_WINDOW) } }
      : {}),
    logLevel: 'silent',
  })
}

async function withAgent<T>(
  store: (dir: string) => OutboxStore,
  fn: (agent: RunningAgent, hardware: SimulatedHardware) => Promise<T>,
): Promise<T> {
  const collector = await startBenchCollectorProcess()
  const dir = await mkdtemp(join(tmpdir(), 'agent-bench-'))
  const clock = new SystemClock()
  const hardware = createSimulatedHardware(clock)
  const agent = await startAgent(benchConfig(collector.url, dir), { hardware, clock, store: store(dir) })
  try {
    await until(() => agent.uplink.isOnline && agent.outbox.depth().totalBytes === 0, 'agent online and idle')
    return await fn(agent, hardware)
  } finally {
    await agent.close()
    await collector.close()
    await rm(dir, { recursive: true, force: true })
  }
}

/** Presses the simulated button and resolves with ms from the edge until the ack removed the event. */
function pressToAckMs(agent: RunningAgent, hardware: SimulatedHardware): Promise<number> {
  return new Promise((resolve) => {
    const startMs = performance.now()
    let id: string | undefined
    const onRecorded = (e: { id: string; type: string }) => {
      if (e.type === 'button.press') id = e.id
    }
    const onRemoved = () => {
      if (id === undefined || agent.outbox.has(id)) return
      agent.off('recorded', onRecorded)
      agent.outbox.off('removed', onRemoved)
      resolve(performance.now() - startMs)
    }
    agent.on('recorded', onRecorded)
    agent.outbox.on('removed', onRemoved)
    hardware.button.pulse(1)
  })
}

/** backlog: readings recorded at once before the presses; streamPerSec: readings recorded during them. */
async function latencyRun(
  store: (dir: string) => OutboxStore,
  load: { backlog: number; streamPerSec: number },
): Promise<number[]> {
  return withAgent(store, async (agent, hardware) => {
    for (let i = 0; i < load.backlog; i += 500) await agent.outbox.record(readings(i, 500))
    let isStreaming = load.streamPerSec > 0
    const stream = (async () => {
      for (let i = 0; isStreaming; i += 100) {
        await agent.outbox.record(readings(i, 100))
        await new Promise((resolve) => setTimeout(resolve, 100_000 / load.streamPerSec))
      }
    })()
    const samples: number[] = []
    for (let i = 0; i < presses; i++) {
      samples.push(await pressToAckMs(agent, hardware))
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    isStreaming = false
    await stream
    return samples
  })
}

function readings(from: number, count: number): RecordInput[] {
  const t0 = Date.now() - 86_400_000
  return Array.from({ length: count }, (_, k) => {
    const i = from + k
    return i % 2 === 0
      ? {
          type: 'temperature',
          payload: { celsius: 15 + (i % 100) / 10, sensor: '28-0316a279d4ff' },
          capturedAtMs: t0 + i * 1234,
        }
      : { type: 'light', payload: { lux: i % 5000, sensor: 'bh1750@1/0x23' }, capturedAtMs: t0 + i * 1234 }
  })
}

/** Fills a Level outbox with a day of readings the way the batcher writes them, then drains it. */
async function drainRun(): Promise<{ drainMs: number; writes: number; bytes: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'agent-drain-'))
  const outbox = new Outbox({
    store: new LevelOutboxStore({ directory: join(dir, 'outbox') }),
    deviceId: 'bench-door',
    maxBytes: 512 * 1024 * 1024,
  })
  await outbox.open()
  let writes = 0
  for (let i = 0; i < offlineReadings; i += 50) {
    await outbox.record(readings(i, Math.min(50, offlineReadings - i)))
    writes++
  }
  const bytes = outbox.depth().totalBytes
  await outbox.close()
  const collector = await startBenchCollectorProcess()
  const clock = new SystemClock()
  const startMs = performance.now()
  const agent = await startAgent(benchConfig(collector.url, dir), {
    hardware: createSimulatedHardware(clock),
    clock,
  })
  try {
    await until(() => agent.outbox.depth().count.medium === 0, 'drain', 600_000)
    return { drainMs: performance.now() - startMs, writes, bytes }
  } finally {
    await agent.close()
    await collector.close()
    await rm(dir, { recursive: true, force: true })
  }
}

/** The floor: the same readings published by a bare MQTT.js client in 500-envelope batches, acked likewise. */
async function rawDrainRun(): Promise<number> {
  const collector = await startBenchCollectorProcess()
  const mqtt = await import('mqtt')
  const client = await mqtt.connectAsync(collector.url, { clientId: 'bench-raw', reconnectPeriod: 0 })
  const batches: Buffer[] = []
  for (let i = 0; i < offlineReadings; i += 500) {
    const envelopes = readings(i, Math.min(500, offlineReadings - i)).map((r, k) =>
      createEnvelope({ deviceId: 'bench-door', seq: i + k + 1, ...r } as Parameters<
        typeof createEnvelope
      >[0]),
    )
    batches.push(Buffer.from(JSON.stringify(envelopes)))
  }
  let acked = 0
  client.on('message', (_t, payload) => {
    acked += (JSON.parse(String(payload)) as { payload: { ids: string[] } }).payload.ids.length
  })
  await client.subscribeAsync(topics.ack('bench-door'), { qos: 1 })
  const startMs = performance.now()
  await Promise.all(
    batches.map((b) => client.publishAsync(topics.batch('bench-door', 'medium'), b, { qos: 1 })),
  )
  await until(() => acked >= offlineReadings, 'raw acks', 600_000)
  const ms = performance.now() - startMs
  await client.endAsync(true)
  await collector.close()
  return ms
}

async function procStats(pid: number): Promise<{ rssKiB: number; cpuTicks: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? []
  return {
    rssKiB: Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN),
    cpuTicks: Number(stat[11]) + Number(stat[12]),
  }
}

/** RSS and CPU of a child process over windowMs after warmupMs (CPU in % of one core; 100 ticks/s). */
async function measureIdle(
  args: string[],
  warmupMs: number,
  windowMs: number,
): Promise<{ rssMiB: number; cpuPct: number }> {
  const child = spawn(process.execPath, args, { stdio: 'ignore' })
  try {
    await new Promise((resolve) => setTimeout(resolve, warmupMs))
    const a = await procStats(child.pid ?? 0)
    await new Promise((resolve) => setTimeout(resolve, windowMs))
    const b = await procStats(child.pid ?? 0)
    return { rssMiB: b.rssKiB / 1024, cpuPct: ((b.cpuTicks - a.cpuTicks) / 100 / (windowMs / 1000)) * 100 }
  } finally {
    child.kill('SIGTERM')
    await new Promise((resolve) => child.once('exit', resolve))
  }
}

async function idleRun(): Promise<{
  agent: { rssMiB: number; cpuPct: number }
  bare: { rssMiB: number; cpuPct: number }
}> {
  const collector = await startBenchCollectorProcess()
  const dir = await mkdtemp(join(tmpdir(), 'agent-idle-'))
  const configFile = join(dir, 'agent.yaml')
  await writeFile(
    configFile,
    stringify({
      deviceId: 'idle-door',
      mqtt: { url: collector.url },
      dataDir: join(dir, 'data'),
      logLevel: 'warn',
    }),
  )
  const main = new URL('../agent/main.js', import.meta.url).pathname
  const windowMs = Number(process.env.BENCH_IDLE_WINDOW_MS ?? 20_000)
  const warmupMs = Number(process.env.BENCH_IDLE_WARMUP_MS ?? 20_000)
  try {
    // Both at once, after V8's post-start GC (about 16 s in) has run: steady state, not start-up.
    const [agent, bare] = await Promise.all([
      measureIdle([main, '--simulate', '--config', configFile], warmupMs, windowMs),
      measureIdle(['-e', 'setInterval(() => {}, 1000)'], warmupMs, windowMs),
    ])
    return { agent, bare }
  } finally {
    await collector.close()
    await rm(dir, { recursive: true, force: true })
  }
}

const fmt = (ms: number) => ms.toFixed(2)

/** Runs every measurement and returns the markdown table. */
export async function run(): Promise<string> {
  const level = (dir: string) => new LevelOutboxStore({ directory: join(dir, 'outbox') })
  const memory = () => new MemoryOutboxStore()
  const busy = { backlog: 20_000, streamPerSec: 5_000 }
  const scenarios: Array<[string, (dir: string) => OutboxStore, { backlog: number; streamPerSec: number }]> =
    [
      ['Level outbox (fsync per press), idle link', level, { backlog: 0, streamPerSec: 0 }],
      ['reference: memory outbox (no disk), idle link', memory, { backlog: 0, streamPerSec: 0 }],
      ['Level outbox, 20k backlog + 5k readings/s streaming', level, busy],
    ]
  const lines = [`| measure | agent | reference | ratio |`, `| --- | --- | --- | --- |`]
  const latency: Record<string, { p50: number; p99: number }> = {}
  for (const [name, store, load] of scenarios) {
    const p50s: number[] = []
    const p99s: number[] = []
    for (let r = 0; r < runs; r++) {
      const samples = await latencyRun(store, load)
      p50s.push(quantile(samples, 0.5))
      p99s.push(quantile(samples, 0.99))
    }
    latency[name] = { p50: median(p50s), p99: median(p99s) }
  }
  const durable = latency[scenarios[0]?.[0] ?? ''] ?? { p50: 0, p99: 0 }
  const ref = latency[scenarios[1]?.[0] ?? ''] ?? { p50: 0, p99: 0 }
  const loaded = latency[scenarios[2]?.[0] ?? ''] ?? { p50: 0, p99: 0 }
  lines.push(
    `| press edge -> ack p50 (ms), idle | ${fmt(durable.p50)} | ${fmt(ref.p50)} (memory outbox) | ${(durable.p50 / ref.p50).toFixed(2)}x |`,
    `| press edge -> ack p99 (ms), idle | ${fmt(durable.p99)} | ${fmt(ref.p99)} (memory outbox) | ${(durable.p99 / ref.p99).toFixed(2)}x |`,
    `| press edge -> ack p50 (ms), 20k backlog + 5k readings/s | ${fmt(loaded.p50)} | ${fmt(durable.p50)} (idle) | ${(loaded.p50 / durable.p50).toFixed(2)}x |`,
    `| press edge -> ack p99 (ms), 20k backlog + 5k readings/s | ${fmt(loaded.p99)} | ${fmt(durable.p99)} (idle) | ${(loaded.p99 / durable.p99).toFixed(2)}x |`,
  )
  const drains: number[] = []
  const raws: number[] = []
  let writes = 0
  let bytes = 0
  for (let r = 0; r < runs; r++) {
    const d = await drainRun()
    drains.push(d.drainMs)
    writes = d.writes
    bytes = d.bytes
    raws.push(await rawDrainRun())
  }
  const drainMs = median(drains)
  const rawMs = median(raws)
  lines.push(
    `| drain ${offlineReadings} readings (${(bytes / 1048576).toFixed(1)} MiB, ${writes} outbox writes) until all acked (s) | ${(drainMs / 1000).toFixed(2)} | ${(rawMs / 1000).toFixed(2)} (bare MQTT.js, 500/batch) | ${(drainMs / rawMs).toFixed(2)}x |`,
  )
  const idle = [] as Awaited<ReturnType<typeof idleRun>>[]
  for (let r = 0; r < runs; r++) idle.push(await idleRun())
  const rss = median(idle.map((i) => i.agent.rssMiB))
  const bareRss = median(idle.map((i) => i.bare.rssMiB))
  const cpu = median(idle.map((i) => i.agent.cpuPct))
  const bareCpu = median(idle.map((i) => i.bare.cpuPct))
  lines.push(
    `| agent RSS, --simulate, idle (MiB) | ${rss.toFixed(1)} | ${bareRss.toFixed(1)} (bare node) | ${(rss / bareRss).toFixed(2)}x |`,
    `| agent CPU, --simulate, idle (% of a core) | ${cpu.toFixed(2)} | ${bareCpu.toFixed(2)} (bare node) | - |`,
  )
  emitFigures('agent-latency', [
    {
      name: 'press->ack p50, idle link',
      value: durable.p50,
      unit: 'ms',
      better: 'lower',
      reference: 'memory outbox',
      referenceValue: ref.p50,
    },
    {
      name: 'press->ack p99, idle link',
      value: durable.p99,
      unit: 'ms',
      better: 'lower',
      reference: 'memory outbox',
      referenceValue: ref.p99,
    },
    {
      name: 'press->ack p50, backlog + 5k/s',
      value: loaded.p50,
      unit: 'ms',
      better: 'lower',
      reference: 'idle link',
      referenceValue: durable.p50,
    },
    {
      name: 'press->ack p99, backlog + 5k/s',
      value: loaded.p99,
      unit: 'ms',
      better: 'lower',
      reference: 'idle link',
      referenceValue: durable.p99,
    },
    {
      name: `drain ${offlineReadings} readings`,
      value: drainMs / 1000,
      unit: 's',
      better: 'lower',
      reference: 'naive upload (bare MQTT.js)',
      referenceValue: rawMs / 1000,
    },
    {
      name: 'agent RSS idle',
      value: rss,
      unit: 'MiB',
      better: 'lower',
      reference: 'bare node',
      referenceValue: bareRss,
    },
    {
      name: 'agent CPU idle',
      value: cpu,
      unit: '% core',
      better: 'lower',
      reference: 'bare node',
      referenceValue: bareCpu,
    },
  ])
  return [
    `Agent benchmark: medians of ${runs} runs, ${presses} presses per run, loopback, aedes 1.2 and an acker in a second process, node ${process.version}.`,
    '',
    ...lines,
  ].join('\n')
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  run()
    .then((table) => {
      process.stdout.write(`${table}\n`)
      process.exit(0)
    })
    .catch((err: unknown) => {
      process.stderr.write(`${String((err as Error).stack ?? err)}\n`)
      process.exit(1)
    })
}
