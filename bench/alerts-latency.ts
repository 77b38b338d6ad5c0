/**
 * Alerts benchmark: latency from a simulated press to the channel receiver, end to end on
 * loopback: the real agent program (--simulate) publishes the press, the real collector program stores it
 * and pushes it through its webhook channel to a local receiver in this process. Latency is the
 * receiver's arrival time minus the press's capture time on the device (same machine, same clock).
 * Scenarios: alone, and under ~1k msgs/s of medium-class background load from extra MQTT.js clients
 * acting as other devices. Prints a markdown table beside the Google Home doorbell bar (2000 ms).
 * Alone it sends BENCH_PRESSES (default 200) presses a run, under load BENCH_LOAD_PRESSES (default 40);
 * beside them, the time of a 256-byte write plus fdatasync in the same temporary folder (the disk both
 * programs fsync on), measured in this process between the runs: two of those are the physical floor.
 * Run: npm run build && node dist/bench/alerts-latency.js   (BENCH_RUNS, BENCH_PRESSES, BENCH_LOAD_RATE,
 * BENCH_SCENARIOS=alone to skip the loaded one, BENCH_AGENT_MEDIA=off for an agent without its simulated
 * camera, BENCH_AGENT_NODE_FLAGS for the agent's node flags; TMPDIR=/dev/shm puts both programs' stores on tmpfs, which takes the disk out of the figure)
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import mqtt, { type MqttClient } from 'mqtt'
import { stringify } from 'yaml'
import { FileIdentityRegistry } from '../collector/registry/file-identity-registry.js'
import { createEnvelope, encodeEvent, topics } from '../shared/protocol/index.js'
import { median, quantile } from './agent-bench-harness.js'
import { type BenchFigure, emitFigures } from './bench-figures.js'

const runs = Number(process.env.BENCH_RUNS ?? 3)
const pressesAlone = Number(process.env.BENCH_PRESSES ?? 200)
const pressesUnderLoad = Number(process.env.BENCH_LOAD_PRESSES ?? 40)
const scenarios = (process.env.BENCH_SCENARIOS ?? 'alone,load').split(',')
const pressGapMs = Number(process.env.BENCH_PRESS_GAP_MS ?? 150)
const loadRatePerS = Number(process.env.BENCH_LOAD_RATE ?? 1000)
const loadDevices = 10
const warmupPresses = 3
/** Google Home doorbell bar: press to notification. */
const referenceMs = 2000
const dist = new URL('..', import.meta.url).pathname
/** Node flags for the agent program, e.g. those of its systemd unit; none by default. */
const agentNodeFlags = (process.env.BENCH_AGENT_NODE_FLAGS ?? '').split(' ').filter(Boolean)

/** Starts a built program and resolves with its parsed ready log line. */
async function startProgram(
  script: string,
  args: string[],
  readyMsg: string,
  nodeFlags: string[] = [],
): Promise<{ child: ChildProcess; ready: Record<string, unknown> }> {
  const child = spawn(process.execPath, [...nodeFlags, join(dist, script), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} not ready`)), 30_000)
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)))
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      try {
        const entry = JSON.parse(line) as Record<string, unknown>
        if (entry.msg === readyMsg) {
          clearTimeout(timer)
          resolve(entry)
        }
      } catch {
        // not a log line
      }
    })
  })
  return { child, ready }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return
  const exited = once(child, 'exit')
  child.kill('SIGTERM')
  await exited
}

/** Background load: devices publishing medium readings at ratePerS in total, paced every 10 ms. */
async function startLoad(port: number, secrets: Map<string, string>, ratePerS: number) {
  const clients: MqttClient[] = []
  for (const [deviceId, secret] of secrets) {
    clients.push(
      await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
        clientId: deviceId,
        username: deviceId,
        password: secret,
        reconnectPeriod: 0,
      }),
    )
  }
  const seqs = new Map<string, number>()
  let sent = 0
  const started = Date.now()
  const timer = setInterval(() => {
    const due = Math.floor(((Date.now() - started) / 1000) * ratePerS) - sent
    for (let i = 0; i < due; i++) {
      const client = clients[sent % clients.length] as MqttClient
      const deviceId = client.options.clientId as string
      const seq = seqs.get(deviceId) ?? 0
      seqs.set(deviceId, seq + 1)
      const envelope = createEnvelope({
        deviceId,
        seq,
        type: 'temperature',
        payload: { celsius: 20 + (seq % 10) / 10, sensor: 'bench' },
      })
      client.publish(topics.event(deviceId, 'medium'), encodeEvent(envelope), { qos: 1 })
      sent += 1
    }
  }, 10)
  return {
    rate: () => (sent / (Date.now() - started)) * 1000,
    async close() {
      clearInterval(timer)
      await Promise.all(clients.map((c) => c.endAsync()))
    },
  }
}

/** Times of `count` 256-byte writes each followed by fdatasync, in ms, in a fresh file under tmpdir(). */
function fsyncTimesMs(count: number): number[] {
  const dir = mkdtempSync(join(tmpdir(), 'fsync-probe-'))
  const fd = openSync(join(dir, 'probe'), 'w')
  const block = Buffer.alloc(256, 1)
  const times: number[] = []
  try {
    for (let i = 0; i < count; i++) {
      const startedAt = performance.now()
      writeSync(fd, block)
      fdatasyncSync(fd)
      times.push(performance.now() - startedAt)
    }
  } finally {
    closeSync(fd)
    rmSync(dir, { recursive: true, force: true })
  }
  return times
}

async function oneRun(withLoad: boolean): Promise<{ latencies: number[]; loadRate: number }> {
  const presses = withLoad ? pressesUnderLoad : pressesAlone
  const dir = await mkdtemp(join(tmpdir(), 'alerts-bench-'))
  const arrivals = new Map<string, number>()
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const at = Date.now()
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        id: string
        capturedAt: string
        isUpdate: boolean
      }
      if (!body.isUpdate) arrivals.set(body.id, at - Date.parse(body.capturedAt))
      res.writeHead(200).end()
    })
  })
  receiver.listen(0, '127.0.0.1')
  await once(receiver, 'listening')
  const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`
  const collectorDir = join(dir, 'collector')
  const registry = new FileIdentityRegistry(collectorDir)
  const secret = await registry.addDevice('bench-door')
  const loadSecrets = new Map<string, string>()
  for (let i = 0; i < loadDevices; i++) loadSecrets.set(`load-${i}`, await registry.addDevice(`load-${i}`))
  const collectorFile = join(dir, 'collector.yaml')
  await writeFile(
    collectorFile,
    stringify({
      dataDir: collectorDir,
      host: '127.0.0.1',
      mqtt: { port: 0, wsPort: null },
      http: { port: 0 },
      logLevel: 'info',
      limits: { devicePublishesPerS: 1000, devicePublishBurst: 5000 },
      alerts: {
        channels: [{ kind: 'webhook', name: 'hook', url: hookUrl, secret: 'bench-secret-0123456789' }],
        users: [{ name: 'bench', channels: ['hook'], cooldownMs: 0 }],
      },
    }),
  )
  const collector = await startProgram('collector/main.js', ['--config', collectorFile], 'collector ready')
  const port = Number(collector.ready.mqttPort)
  const agentFile = join(dir, 'agent.yaml')
  await writeFile(
    agentFile,
    stringify({
      deviceId: 'bench-door',
      mqtt: { url: `mqtt://127.0.0.1:${port}`, username: 'bench-door', password: secret },
      dataDir: join(dir, 'agent'),
      gpio: { button: { line: 17, debounceMs: 0 } },
      logLevel: 'info',
      ...(process.env.BENCH_AGENT_MEDIA === 'off'
        ? { media: { enabled: false, microphone: { enabled: false } }, live: { enabled: false } }
        : {}),
    }),
  )
  const agent = await startProgram(
    'agent/main.js',
    ['--simulate', '--config', agentFile],
    'agent ready',
    agentNodeFlags,
  )
  const control = `http://127.0.0.1:${Number(agent.ready.controlPort)}`
  const load = withLoad ? await startLoad(port, loadSecrets, loadRatePerS) : undefined
  try {
    if (load) await new Promise((resolve) => setTimeout(resolve, 2000))
    // Warm-up presses (first webhook connection, JIT) are not counted.
    for (let i = 0; i < warmupPresses; i++) {
      await fetch(`${control}/button/press`, {
        method: 'POST',
        body: '{}',
        headers: { 'content-type': 'application/json' },
      })
      await new Promise((resolve) => setTimeout(resolve, pressGapMs))
    }
    const ids: string[] = []
    for (let i = 0; i < presses; i++) {
      const res = await fetch(`${control}/button/press`, {
        method: 'POST',
        body: '{}',
        headers: { 'content-type': 'application/json' },
      })
      const body = (await res.json()) as { id?: string }
      if (body.id) ids.push(body.id)
      await new Promise((resolve) => setTimeout(resolve, pressGapMs))
    }
    const deadline = Date.now() + 30_000
    while (ids.some((id) => !arrivals.has(id)) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    const missing = ids.filter((id) => !arrivals.has(id)).length
    if (missing > 0) process.stderr.write(`${missing} presses never reached the receiver\n`)
    return { latencies: ids.flatMap((id) => arrivals.get(id) ?? []), loadRate: load?.rate() ?? 0 }
  } finally {
    await load?.close()
    await stop(agent.child)
    await stop(collector.child)
    receiver.closeAllConnections()
    receiver.close()
    await rm(dir, { recursive: true, force: true })
  }
}

const rows: string[] = []
const figures: BenchFigure[] = []
const fsyncs: number[] = []
for (const withLoad of [false, true]) {
  if (!scenarios.includes(withLoad ? 'load' : 'alone')) continue
  const p50s: number[] = []
  const p99s: number[] = []
  const maxes: number[] = []
  const rates: number[] = []
  let count = 0
  for (let run = 0; run < runs; run++) {
    const { latencies, loadRate } = await oneRun(withLoad)
    p50s.push(quantile(latencies, 0.5))
    p99s.push(quantile(latencies, 0.99))
    maxes.push(Math.max(...latencies))
    rates.push(loadRate)
    count += latencies.length
    fsyncs.push(...fsyncTimesMs(200))
    process.stderr.write(
      `run ${run + 1}/${runs} ${withLoad ? 'under load' : 'alone'}: ${latencies.length} presses, p50 ${quantile(latencies, 0.5)} ms, p99 ${quantile(latencies, 0.99)} ms, max ${Math.max(...latencies)} ms\n`,
    )
  }
  const p99 = median(p99s)
  const scenario = withLoad ? 'under load' : 'alone'
  const bar = { reference: 'Google Home doorbell bar', referenceValue: referenceMs }
  figures.push(
    { name: `press->webhook p50, ${scenario}`, value: median(p50s), unit: 'ms', better: 'lower', ...bar },
    { name: `press->webhook p99, ${scenario}`, value: p99, unit: 'ms', better: 'lower', ...bar },
    { name: `press->webhook max, ${scenario}`, value: median(maxes), unit: 'ms', better: 'lower', ...bar },
  )
  rows.push(
    `| ${withLoad ? `under ${Math.round(median(rates))} msgs/s medium load (${loadDevices} devices)` : 'alone'} | ${count} | ${median(p50s)} | ${p99} (${Math.min(...p99s)}-${Math.max(...p99s)}) | ${median(maxes)} | ${referenceMs} | ${(p99 / referenceMs).toFixed(3)} |`,
  )
}
const fsyncP50 = quantile(fsyncs, 0.5)
const fsyncP99 = quantile(fsyncs, 0.99)
figures.push({
  name: 'fsync (256 B + fdatasync) p99, same disk',
  value: fsyncP99,
  unit: 'ms',
  better: 'lower',
})
process.stdout.write(
  [
    `Press to webhook receiver, real agent (--simulate) and collector programs on loopback, fsync on; medians of ${runs} runs (${pressesAlone} presses a run alone, ${pressesUnderLoad} under load, after ${warmupPresses} uncounted warm-up presses), ${pressGapMs} ms apart. Latency in whole ms (capture time is an ISO timestamp).`,
    '',
    '| scenario | presses | p50 ms | p99 ms (per-run min-max) | max ms (median of runs) | Google Home doorbell bar (ms, press to notification) | p99 / bar |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    `fsync on the same disk (256 B write + fdatasync, ${fsyncs.length} between the runs): p50 ${fsyncP50.toFixed(2)} ms, p99 ${fsyncP99.toFixed(2)} ms, max ${Math.max(...fsyncs).toFixed(2)} ms. A press takes two (agent outbox, collector commit) plus two loopback hops and the webhook POST.`,
    '',
  ].join('\n'),
)
emitFigures('alerts-latency', figures)
