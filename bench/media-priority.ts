/**
 * Media priority benchmark: the latency from a simulated press to the event being stored by
 * the collector while a 10 MB clip uploads over a 1 Mbit/s uplink, beside two references measured in the
 * same run: the same latency on an idle link, and a naive upload that hands every chunk of the clip to
 * the connection at once (no pacing). The agent runs in its own network namespace joined to this one by a
 * veth pair shaped with tbf (the recipe of ../shared/tools/netns-link.sh: root needed); without netns it
 * falls back to a loopback TCP proxy limited to 1 Mbit/s, and says so.
 * Run: npm run build && node dist/bench/media-priority.js   (BENCH_PRESSES, BENCH_CLIP_MB, BENCH_RATE_KBIT)
 */
import { execFileSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { startAgent } from '../agent/agent.js'
import { SystemClock } from '../agent/clock/clock.js'
import { agentConfigSchema } from '../agent/config/agent-config.js'
import { createSimulatedHardware } from '../agent/hardware.js'
import { createMediaDeps } from '../agent/media/create-media.js'
import { collectorConfig } from '../collector/config.js'
import { startCollector } from '../collector/main.js'
import { FileIdentityRegistry } from '../collector/registry/file-identity-registry.js'
import { newEventId } from '../shared/protocol/index.js'
import { median, quantile, until } from './agent-bench-harness.js'
import { emitFigures } from './bench-figures.js'
import { startShapedProxy } from './shaped-tcp-proxy.js'

const MiB = 1024 * 1024
const presses = Number(process.env.BENCH_PRESSES ?? 20)
const clipBytes = Math.round(Number(process.env.BENCH_CLIP_MB ?? 10) * MiB)
const rateKbit = Number(process.env.BENCH_RATE_KBIT ?? 1000)
const deviceId = 'bench-door'

type Scenario = 'idle' | 'paced' | 'naive'

interface AgentOptions {
  readonly url: string
  readonly secret: string
  readonly dataDir: string
  readonly scenario: Scenario
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** The agent side, run in the namespace: presses while the clip uploads, one `PRESS id atMs` line each. */
async function agentMain(options: AgentOptions): Promise<void> {
  const naive = {
    maxInFlightChunks: 4096,
    maxInFlightBytes: 1024 * MiB,
    maxQueuedBytes: 1024 * MiB,
    maxChunksPerS: 1000,
  }
  const config = agentConfigSchema.parse({
    deviceId,
    // A long keepalive: behind 10 MB of naive chunks a PINGRESP would take minutes.
    mqtt: { url: options.url, password: options.secret, keepaliveS: 600, reconnectInitialMs: 200 },
    dataDir: options.dataDir,
    gpio: { button: { line: 17, debounceMs: 0 } },
    sensors: { temperature: { intervalMs: 3_600_000 }, light: { intervalMs: 3_600_000 } },
    health: { intervalMs: 3_600_000 },
    outbox: { ackTimeoutMs: 600_000 },
    media: {
      enabled: false, // no camera: the clip is a prepared 10 MB file, so only the upload is measured
      microphone: { enabled: false },
      ...(options.scenario === 'naive' ? { upload: naive } : {}),
    },
    logLevel: 'silent',
  })
  const clock = new SystemClock()
  const hardware = createSimulatedHardware(clock)
  const agent = await startAgent(config, { hardware, clock, media: createMediaDeps(config) })
  await until(() => agent.uplink.isOnline, 'agent online', 30_000)
  let chunksSent = 0
  agent.sender.on('sent', (eventClass, count) => {
    if (eventClass === 'low') chunksSent += count
  })
  let chunkCount = 0
  let clipId = ''
  if (options.scenario !== 'idle' && agent.media) {
    clipId = newEventId()
    const path = join(agent.media.service.store.dir, `${clipId}.mp4`)
    writeFileSync(path, randomBytes(clipBytes))
    const now = Date.now()
    const stored = await agent.media.enqueueClip({
      clipId,
      path,
      bytes: clipBytes,
      startedAtMs: now - 60_000,
      durationMs: 60_000,
      prerollMs: 5000,
      hasAudio: false,
      triggerAtMs: now - 55_000,
    })
    chunkCount = stored?.upload.description.chunkCount ?? 0
    // Under way: paced, a few chunks acked; naive, every chunk handed to the connection (+ the manifest).
    const target = options.scenario === 'naive' ? chunkCount : 5
    await until(() => chunksSent >= target, 'upload under way', 120_000)
  }
  for (let i = 0; i < presses; i++) {
    const recorded = new Promise<string>((resolve) => {
      const listener = (e: { id: string; type: string }) => {
        if (e.type !== 'button.press') return
        agent.off('recorded', listener)
        resolve(e.id)
      }
      agent.on('recorded', listener)
    })
    const atMs = Date.now()
    hardware.button.pulse(20)
    process.stdout.write(`PRESS ${await recorded} ${atMs}\n`)
    // Paced and idle: one press at a time. Naive: they would each wait minutes, so do not wait for acks.
    if (options.scenario !== 'naive') await until(() => agent.outbox.depth().count.high === 0, 'ack', 120_000)
    await sleep(300 + Math.random() * 400)
  }
  await until(() => agent.outbox.depth().count.high === 0, 'every press acked', 300_000)
  const acked = clipId ? (agent.media?.service.store.get(clipId)?.upload.ackedCount ?? 0) : 0
  process.stdout.write(`CLIP ${acked} ${chunkCount}\n`)
  await agent.close()
  process.stdout.write('DONE\n')
  process.exit(0)
}

/** The link the agent talks over: a shaped veth into a namespace, or the loopback proxy fallback. */
interface Link {
  readonly description: string
  readonly collectorHost: string
  /** The agent's URL for a collector port (a proxy port in the fallback). */
  url(port: number): Promise<string>
  /** argv prefix that runs a command on the agent's side. */
  readonly exec: readonly string[]
  close(): Promise<void>
}

async function openLink(): Promise<Link> {
  const ns = `mp${process.pid}`.slice(0, 10)
  const index = String(20 + (process.pid % 200))
  const script =
    process.env.NETNS_LINK ?? fileURLToPath(new URL('../../../shared/tools/netns-link.sh', import.meta.url))
  const env = { ...process.env, NETNS_INDEX: index }
  try {
    if (process.getuid?.() !== 0) throw new Error('not root')
    execFileSync(script, ['up', ns, `${rateKbit}kbit`], { env, stdio: 'pipe' })
    const down = () => execFileSync(script, ['down', ns], { env, stdio: 'pipe' })
    process.once('exit', () => {
      try {
        down()
      } catch {
        // already down
      }
    })
    return {
      description: `network namespace ${ns}, veth shaped with tbf at ${rateKbit} kbit/s (netns-link.sh)`,
      collectorHost: `198.18.${index}.1`,
      url: async (port) => `mqtt://198.18.${index}.1:${port}`,
      exec: ['ip', 'netns', 'exec', ns],
      close: async () => {
        down()
      },
    }
  } catch (err) {
    const reason = (err as Error).message.split('\n')[0]
    const proxies: { close(): Promise<void> }[] = []
    return {
      description: `loopback TCP proxy limited to ${rateKbit} kbit/s (netns unavailable: ${reason})`,
      collectorHost: '127.0.0.1',
      url: async (port) => {
        const proxy = await startShapedProxy(port, (rateKbit * 1000) / 8)
        proxies.push(proxy)
        return proxy.url
      },
      exec: [],
      close: async () => {
        await Promise.all(proxies.map((p) => p.close()))
      },
    }
  }
}

interface ScenarioResult {
  readonly latenciesMs: number[]
  readonly clipAcked: number
  readonly chunkCount: number
}

async function runScenario(link: Link, scenario: Scenario): Promise<ScenarioResult> {
  const dir = await mkdtemp(join(tmpdir(), `media-priority-${scenario}-`))
  const collectorDir = join(dir, 'collector')
  const secret = await new FileIdentityRegistry(collectorDir).addDevice(deviceId)
  const storedAtMs = new Map<string, number>()
  const collector = await startCollector(
    collectorConfig({
      dataDir: collectorDir,
      host: link.collectorHost,
      mqtt: { port: 0, wsPort: null },
      http: { port: null },
      logLevel: 'silent',
    }),
    { forwarders: [{ name: 'probe', forward: async (e) => void storedAtMs.set(e.id, Date.now()) }] },
  )
  const pressedAtMs = new Map<string, number>()
  let clip = { acked: 0, count: 0 }
  try {
    const options: AgentOptions = {
      url: await link.url(collector.mqttPort),
      secret,
      dataDir: join(dir, 'agent'),
      scenario,
    }
    const [file, ...args] = [
      ...link.exec,
      process.execPath,
      fileURLToPath(import.meta.url),
      '--agent',
      JSON.stringify(options),
    ]
    const child = spawn(file as string, args, { stdio: ['ignore', 'pipe', 'inherit'] })
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
    if (!child.stdout) throw new Error('no stdout')
    createInterface({ input: child.stdout }).on('line', (line) => {
      const [kind, a, b] = line.split(' ')
      if (kind === 'PRESS' && a && b) pressedAtMs.set(a, Number(b))
      if (kind === 'CLIP') clip = { acked: Number(a), count: Number(b) }
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), 10 * 60_000)
    const code = await exited
    clearTimeout(timer)
    if (code !== 0) throw new Error(`${scenario} agent exited with ${code}`)
    await until(() => [...pressedAtMs.keys()].every((id) => storedAtMs.has(id)), 'every press stored', 30_000)
  } finally {
    await collector.close()
    await rm(dir, { recursive: true, force: true })
  }
  const latenciesMs = [...pressedAtMs].map(([id, atMs]) => (storedAtMs.get(id) ?? Number.NaN) - atMs)
  return { latenciesMs, clipAcked: clip.acked, chunkCount: clip.count }
}

async function main(): Promise<void> {
  const link = await openLink()
  const results = new Map<Scenario, ScenarioResult>()
  try {
    for (const scenario of ['idle', 'paced', 'naive'] as const)
      results.set(scenario, await runScenario(link, scenario))
  } finally {
    await link.close()
  }
  const idleP99 = quantile(results.get('idle')?.latenciesMs ?? [], 0.99)
  const rows: [string, Scenario][] = [
    ['idle link (reference)', 'idle'],
    [`${clipBytes / MiB} MB clip uploading, paced (ours)`, 'paced'],
    [`${clipBytes / MiB} MB clip, every chunk at once (naive reference)`, 'naive'],
  ]
  process.stdout.write(
    `Link: ${link.description}. ${presses} presses per scenario, press -> stored at the collector.\n\n`,
  )
  process.stdout.write(
    '| scenario | presses | p50 ms | p99 ms | max ms | p99 - idle p99 ms | clip chunks acked when the presses were done |\n',
  )
  process.stdout.write('|---|---|---|---|---|---|---|\n')
  for (const [label, scenario] of rows) {
    const r = results.get(scenario)
    if (!r) continue
    const p99 = quantile(r.latenciesMs, 0.99)
    const progress = scenario === 'idle' ? '-' : `${r.clipAcked} / ${r.chunkCount}`
    process.stdout.write(
      `| ${label} | ${r.latenciesMs.length} | ${median(r.latenciesMs).toFixed(0)} | ${p99.toFixed(0)} | ${Math.max(...r.latenciesMs).toFixed(0)} | ${scenario === 'idle' ? '-' : (p99 - idleP99).toFixed(0)} | ${progress} |\n`,
    )
  }
  const pacedP99 = quantile(results.get('paced')?.latenciesMs ?? [], 0.99)
  const naiveP99 = quantile(results.get('naive')?.latenciesMs ?? [], 0.99)
  const idleP50 = median(results.get('idle')?.latenciesMs ?? [])
  const pacedP50 = median(results.get('paced')?.latenciesMs ?? [])
  emitFigures('media-priority', [
    {
      name: 'press->stored p50, clip uploading',
      value: pacedP50,
      unit: 'ms',
      better: 'lower',
      reference: 'idle link',
      referenceValue: idleP50,
    },
    {
      name: 'press->stored p99, clip uploading',
      value: pacedP99,
      unit: 'ms',
      better: 'lower',
      reference: 'idle link',
      referenceValue: idleP99,
    },
    {
      name: 'press->stored p99, paced vs naive upload',
      value: pacedP99,
      unit: 'ms',
      better: 'lower',
      reference: 'naive upload',
      referenceValue: naiveP99,
    },
  ])
  process.stdout.write(
    `\nTarget p99 under load <= idle p99 + 250 ms: ${pacedP99 <= idleP99 + 250 ? 'met' : 'NOT met'} (${pacedP99.toFixed(0)} vs ${(idleP99 + 250).toFixed(0)}); naive p99 / paced p99 = ${(naiveP99 / pacedP99).toFixed(1)}x\n`,
  )
}

if (process.argv[2] === '--agent') await agentMain(JSON.parse(process.argv[3] ?? '{}') as AgentOptions)
else await main()
